//! Typed object pools: a `TypedPool<T, H>` hands out `PoolBox<T, H>`s and `PoolArc<T, H>`s
//! whose storage is a slot of a `pool::Pool`, in frames reached through a physical window.
//!
//! A `PoolBox` owns its `T` like a `Box<T>`: dropping it drops the value and frees the slot
//! (and, when its page empties past the idle limit, the page's frame). A `PoolArc` is the
//! reference-counted kind, like `Arc<T>`: the last one to drop drops the value and frees the
//! slot, which takes the pool's lock and the frame allocator — so code that must not take
//! them (the kernel's context-switch path) must never hold the last one. Allocation never
//! touches the heap once the pool has its page descriptors.
//!
//! Invariants, on which the `unsafe` here rests:
//! - a typed pool owns its `Pool` (made on first use, for `T`'s size and alignment, and never
//!   replaced), so every slot it hands out is one of its own, big and aligned enough for `T`,
//!   and handed out to no one else until freed;
//! - a slot is reached only through the host's window (`PhysWindow`'s contract makes the
//!   frame valid memory that no Rust reference aliases), and only through the one box or the
//!   arcs that own it;
//! - a slot is freed exactly once, after its value was dropped exactly once.
//!
//! What the kernel around the pools supplies is a `PoolHost`: the window, the frame
//! allocator, what to shut out while a pool's lock is held, how to spin for it. Lock order:
//! a pool's lock → the host's frame allocator.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::PAGE_SIZE;
use crate::frame_allocator::{FrameAllocator, OutOfFrames};
use crate::phys::PhysWindow;
use crate::pool::{Pool, PoolSlot, PoolStats};

/// Empty pages a typed pool keeps before giving frames back.
const MAX_IDLE_PAGES: u64 = 1;

/// What typed pools need from the kernel they live in.
pub trait PoolHost: 'static {
    /// The window onto the frames the host's allocator hands out.
    type Window: PhysWindow + Sync + 'static;
    /// How to wait for a pool's lock (the kernel answers TLB shootdowns meanwhile).
    type Relax: spin::RelaxStrategy;

    fn window() -> &'static Self::Window;
    /// Runs `work` with the frame allocator that `Window`'s contract speaks of.
    fn with_frames<R>(work: impl FnOnce(&mut FrameAllocator) -> R) -> R;
    /// Runs `work` with whatever could spin for a pool's lock on this CPU shut out (the
    /// kernel masks interrupts, so that a box may be dropped in an interrupt handler).
    fn shielded<R>(work: impl FnOnce() -> R) -> R;
    /// Whether to refuse this allocation as if out of frames (fault injection).
    fn refuses_allocation() -> bool {
        false
    }
    /// Told once of each pool, at its first allocation (for listings of every pool).
    fn register(_pool: &'static dyn PoolCounters) {}
}

/// What a listing of pools needs from one.
pub trait PoolCounters: Sync {
    fn name(&self) -> &'static str;
    fn stats(&self) -> PoolStats;
}

/// A pool of `T`s; declare one as a `static`.
pub struct TypedPool<T, H: PoolHost> {
    name: &'static str,
    pool: spin::Once<spin::mutex::SpinMutex<Pool, H::Relax>>,
    registered: AtomicBool,
    _objects: PhantomData<fn() -> T>,
}

impl<T, H: PoolHost> PoolCounters for TypedPool<T, H> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn stats(&self) -> PoolStats {
        self.locked(|pool| pool.stats())
    }
}

impl<T, H: PoolHost> TypedPool<T, H> {
    pub const fn new(name: &'static str) -> Self {
        Self { name, pool: spin::Once::new(), registered: AtomicBool::new(false), _objects: PhantomData }
    }

    fn locked<R>(&self, work: impl FnOnce(&mut Pool) -> R) -> R {
        let pool = self.pool.call_once(|| {
            spin::mutex::SpinMutex::new(Pool::new(self.name, size_of::<T>(), align_of::<T>(), MAX_IDLE_PAGES))
        });
        H::shielded(|| work(&mut pool.lock()))
    }

    fn register_once(&'static self) {
        if !self.registered.swap(true, Ordering::AcqRel) {
            H::register(self);
        }
    }

    /// Moves `value` into a fresh slot.
    pub fn allocate(&'static self, value: T) -> Result<PoolBox<T, H>, OutOfFrames> {
        self.register_once();
        let (slot, pointer) = self.take_slot()?;
        // SAFETY: the slot is `size_of::<T>()` bytes or more at `align_of::<T>()` (the pool
        // was built for T), inside a frame the window maps, and handed out to no one else.
        unsafe { pointer.write(value) };
        Ok(PoolBox { pool: self, slot: Some(slot), pointer })
    }

    /// A free slot and where the window shows it.
    fn take_slot(&self) -> Result<(PoolSlot, NonNull<T>), OutOfFrames> {
        if H::refuses_allocation() {
            return Err(OutOfFrames);
        }
        let (slot, address) = self.locked(|pool| {
            let slot = H::with_frames(|frames| pool.allocate(frames))?;
            let address = pool.address(&slot);
            Ok::<_, OutOfFrames>((slot, address))
        })?;
        let page = address & !(PAGE_SIZE - 1);
        let pointer = H::window().frame_pointer(page).wrapping_add((address - page) as usize).cast::<T>();
        Ok((slot, NonNull::new(pointer).expect("mm: pool slot at a null address")))
    }

    /// Frees `slot`, whose value has been dropped.
    fn give_back(&self, slot: PoolSlot) {
        let freed = self.locked(|pool| H::with_frames(|frames| pool.free(frames, slot)));
        if let Err(error) = freed {
            panic!("mm: pool {} refused a slot it handed out ({error:?})", self.name);
        }
    }

    /// Gives the pool's empty pages back to the frame allocator (for leak checks).
    pub fn release_idle_pages(&self) {
        self.locked(|pool| H::with_frames(|frames| pool.release_idle_pages(frames)));
    }
}

/// A `T` living in a pool slot.
pub struct PoolBox<T: 'static, H: PoolHost> {
    pool: &'static TypedPool<T, H>,
    /// `None` only while being dropped.
    slot: Option<PoolSlot>,
    pointer: NonNull<T>,
}

// SAFETY: a `PoolBox<T>` owns its `T` exclusively, like `Box<T>`; sending it sends the `T`.
unsafe impl<T: Send, H: PoolHost> Send for PoolBox<T, H> {}
// SAFETY: shared access to a `PoolBox<T>` only gives `&T`.
unsafe impl<T: Sync, H: PoolHost> Sync for PoolBox<T, H> {}

impl<T, H: PoolHost> Deref for PoolBox<T, H> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `pointer` holds an initialised `T` owned by this box until it drops.
        unsafe { self.pointer.as_ref() }
    }
}

impl<T, H: PoolHost> DerefMut for PoolBox<T, H> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.pointer.as_mut() }
    }
}

impl<T: core::fmt::Debug, H: PoolHost> core::fmt::Debug for PoolBox<T, H> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        (**self).fmt(formatter)
    }
}

impl<T, H: PoolHost> Drop for PoolBox<T, H> {
    fn drop(&mut self) {
        // SAFETY: the value is initialised and dropped exactly once, here, before its slot
        // is given back.
        unsafe { self.pointer.drop_in_place() };
        let slot = self.slot.take().expect("mm: pool box dropped twice");
        self.pool.give_back(slot);
    }
}

/// What a `PoolArc<T>` keeps in its slot: the count and the slot handle beside the value.
pub struct Counted<T> {
    references: AtomicUsize,
    /// The handle to give back when the count reaches zero; read out exactly once, then.
    slot: PoolSlot,
    value: T,
}

/// A reference-counted `T` in a pool slot (see the module doc).
pub struct PoolArc<T: 'static, H: PoolHost> {
    pool: &'static TypedPool<Counted<T>, H>,
    pointer: NonNull<Counted<T>>,
}

// SAFETY: like `Arc<T>`: sending or sharing a `PoolArc<T>` shares the `T`.
unsafe impl<T: Send + Sync, H: PoolHost> Send for PoolArc<T, H> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync, H: PoolHost> Sync for PoolArc<T, H> {}

impl<T, H: PoolHost> TypedPool<Counted<T>, H> {
    /// Moves `value` into a fresh slot with one reference; gives it back when no frame
    /// is left for a slot.
    pub fn allocate_shared(&'static self, value: T) -> Result<PoolArc<T, H>, T> {
        self.register_once();
        let Ok((slot, pointer)) = self.take_slot() else {
            return Err(value);
        };
        let counted = Counted { references: AtomicUsize::new(1), slot, value };
        // SAFETY: as in `allocate`: a fresh slot sized and aligned for `Counted<T>`.
        unsafe { pointer.write(counted) };
        Ok(PoolArc { pool: self, pointer })
    }
}

impl<T, H: PoolHost> PoolArc<T, H> {
    fn counted(&self) -> &Counted<T> {
        // SAFETY: the slot holds an initialised `Counted<T>` while any `PoolArc` to it lives.
        unsafe { self.pointer.as_ref() }
    }

    /// Whether two `PoolArc`s share one value.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.pointer == other.pointer
    }

    /// References alive now.
    pub fn reference_count(this: &Self) -> usize {
        this.counted().references.load(Ordering::Acquire)
    }

    /// The pool and the slot, keeping this reference alive without a `PoolArc` holding it:
    /// `from_raw` must take it back exactly once.
    pub(crate) fn into_raw(this: Self) -> (&'static TypedPool<Counted<T>, H>, NonNull<Counted<T>>) {
        let parts = (this.pool, this.pointer);
        core::mem::forget(this);
        parts
    }

    /// Takes back a reference `into_raw` gave out.
    ///
    /// # Safety
    /// `pool` and `pointer` came from `into_raw`, and this is the one `from_raw` for them.
    pub(crate) unsafe fn from_raw(
        pool: &'static TypedPool<Counted<T>, H>,
        pointer: NonNull<Counted<T>>,
    ) -> Self {
        Self { pool, pointer }
    }
}

impl<T, H: PoolHost> Clone for PoolArc<T, H> {
    fn clone(&self) -> Self {
        self.counted().references.fetch_add(1, Ordering::Relaxed);
        Self { pool: self.pool, pointer: self.pointer }
    }
}

impl<T, H: PoolHost> Deref for PoolArc<T, H> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.counted().value
    }
}

impl<T: core::fmt::Debug, H: PoolHost> core::fmt::Debug for PoolArc<T, H> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        (**self).fmt(formatter)
    }
}

impl<T, H: PoolHost> Drop for PoolArc<T, H> {
    fn drop(&mut self) {
        if self.counted().references.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        core::sync::atomic::fence(Ordering::Acquire);
        // SAFETY: this was the last reference, so nothing else reads the slot: the handle is
        // read out once, and the value dropped once, before the slot is given back.
        let slot = unsafe {
            let counted = self.pointer.as_ptr();
            let slot = core::ptr::addr_of!((*counted).slot).read();
            core::ptr::addr_of_mut!((*counted).value).drop_in_place();
            slot
        };
        self.pool.give_back(slot);
    }
}

/// A host for the host tests: simulated RAM and an allocator behind a `std` mutex. Tests
/// that count frames hold `serial()` so that no other test allocates meanwhile.
#[cfg(test)]
pub(crate) mod test_host {
    use std::sync::{LazyLock, Mutex, MutexGuard};

    use super::PoolHost;
    use crate::frame_allocator::FrameAllocator;
    use crate::phys::simulated::SimulatedRam;

    static RAM: LazyLock<SimulatedRam> = LazyLock::new(|| SimulatedRam::new(0x10_0000, 64));
    static FRAMES: LazyLock<Mutex<FrameAllocator>> =
        LazyLock::new(|| Mutex::new(FrameAllocator::new(core::iter::once(RAM.range()))));
    static SERIAL: Mutex<()> = Mutex::new(());

    pub struct TestHost;

    impl PoolHost for TestHost {
        type Window = SimulatedRam;
        type Relax = spin::relax::Spin;

        fn window() -> &'static SimulatedRam {
            &RAM
        }

        fn with_frames<R>(work: impl FnOnce(&mut FrameAllocator) -> R) -> R {
            work(&mut FRAMES.lock().unwrap())
        }

        fn shielded<R>(work: impl FnOnce() -> R) -> R {
            work()
        }
    }

    pub fn serial() -> MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn pool_frames() -> u64 {
        TestHost::with_frames(|frames| frames.stats().owned_by(crate::frame_allocator::FrameOwner::Pool))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::test_host::{TestHost, pool_frames, serial};
    use super::*;

    /// A value that counts its drops and checks its bytes survive in the slot.
    #[derive(Debug)]
    struct Tracked {
        pattern: [u64; 16],
        drops: &'static AtomicUsize,
    }

    impl Tracked {
        fn pattern(seed: u64) -> [u64; 16] {
            core::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u64))
        }

        fn new(seed: u64, drops: &'static AtomicUsize) -> Self {
            Self { pattern: Self::pattern(seed), drops }
        }

        fn intact(&self, seed: u64) -> bool {
            self.pattern == Self::pattern(seed)
        }
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn boxes_keep_their_values_apart_and_give_every_slot_and_frame_back() {
        static POOL: TypedPool<Tracked, TestHost> = TypedPool::new("boxes");
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let _serial = serial();
        let before = pool_frames();
        let boxes: Vec<_> = (0..100).map(|seed| POOL.allocate(Tracked::new(seed, &DROPS)).unwrap()).collect();
        assert!(pool_frames() > before, "100 objects of 136 bytes need pages");
        assert!(boxes.iter().enumerate().all(|(seed, value)| value.intact(seed as u64)));
        let stats = POOL.stats();
        assert_eq!(stats.objects_in_use, 100);
        drop(boxes);
        assert_eq!(DROPS.load(Ordering::SeqCst), 100, "each value dropped once");
        assert_eq!(POOL.stats().objects_in_use, 0);
        POOL.release_idle_pages();
        assert_eq!(pool_frames(), before, "every frame back");
    }

    #[test]
    fn a_box_may_be_mutated_in_place() {
        static POOL: TypedPool<[u64; 8], TestHost> = TypedPool::new("mutable");
        let _serial = serial();
        let mut value = POOL.allocate([0; 8]).unwrap();
        value[3] = 42;
        assert_eq!(value[3], 42);
    }

    #[test]
    fn an_arc_drops_its_value_once_when_the_last_reference_goes() {
        static POOL: TypedPool<Counted<Tracked>, TestHost> = TypedPool::new("arcs");
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let _serial = serial();
        let first = POOL.allocate_shared(Tracked::new(7, &DROPS)).unwrap();
        let clones: Vec<_> = (0..10).map(|_| first.clone()).collect();
        assert_eq!(PoolArc::reference_count(&first), 11);
        assert!(clones.iter().all(|clone| PoolArc::ptr_eq(clone, &first) && clone.intact(7)));
        drop(clones);
        assert_eq!(DROPS.load(Ordering::SeqCst), 0, "dropped while a reference lives");
        assert_eq!(POOL.stats().objects_in_use, 1);
        drop(first);
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
        assert_eq!(POOL.stats().objects_in_use, 0);
    }

    #[test]
    fn arcs_dropped_on_many_threads_drop_the_value_once() {
        static POOL: TypedPool<Counted<Tracked>, TestHost> = TypedPool::new("shared-arcs");
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let _serial = serial();
        for round in 0..50 {
            let value = POOL.allocate_shared(Tracked::new(round, &DROPS)).unwrap();
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let mine = value.clone();
                    std::thread::spawn(move || assert!(mine.intact(round)))
                })
                .collect();
            drop(value);
            threads.into_iter().for_each(|thread| thread.join().unwrap());
            assert_eq!(DROPS.load(Ordering::SeqCst), round as usize + 1);
        }
        assert_eq!(POOL.stats().objects_in_use, 0);
    }

    #[test]
    fn allocation_fails_cleanly_when_frames_run_out() {
        static POOL: TypedPool<[u8; 4096], TestHost> = TypedPool::new("page-sized");
        static SHARED: TypedPool<Counted<[u8; 2048]>, TestHost> = TypedPool::new("half-pages");
        let _serial = serial();
        let before = pool_frames();
        let mut held = Vec::new();
        while let Ok(page) = POOL.allocate([1; 4096]) {
            held.push(page);
        }
        assert!(!held.is_empty());
        let refused = SHARED.allocate_shared([2; 2048]);
        assert_eq!(refused.err(), Some([2; 2048]), "the value comes back");
        drop(held);
        POOL.release_idle_pages();
        SHARED.release_idle_pages();
        assert_eq!(pool_frames(), before);
    }
}
