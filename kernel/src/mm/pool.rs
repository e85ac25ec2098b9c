//! Typed object pools for kernel objects: `KernelPool<T>` hands out `PoolBox<T>`s whose
//! storage is a slot of an `mm::pool::Pool`, in frames reached through the physical window.
//!
//! A `PoolBox<T>` owns its `T` like a `Box<T>`: dropping it drops the value and frees the
//! slot (and, when its page empties past the idle limit, the page's frame). Allocation
//! never touches the heap once the pool has its page descriptors.
//!
//! Every pool registers itself on first use in a fixed table (no allocation) that
//! `meminfo` reads, so the snapshot lists each pool's counters.
//!
//! Lock order: the registry → a pool's lock → `frames`; all taken with interrupts masked,
//! so a box may be dropped in any context.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mm::frame_allocator::OutOfFrames;
use mm::phys::PhysWindow;
use mm::pool::{Pool, PoolSlot, PoolStats};

use super::frames::with_frames;
use super::window::window;
use crate::sync::SpinLock;

/// Empty pages a kernel pool keeps before giving frames back.
const MAX_IDLE_PAGES: u64 = 1;

/// Pools `meminfo` can list; one more is still usable, just not listed (and logged).
pub const MAX_POOLS: usize = 16;

/// What `meminfo` needs from a pool.
pub trait PoolCounters: Sync {
    fn name(&self) -> &'static str;
    fn stats(&self) -> PoolStats;
}

static REGISTRY: SpinLock<[Option<&'static dyn PoolCounters>; MAX_POOLS]> = SpinLock::new([None; MAX_POOLS]);

fn register(pool: &'static dyn PoolCounters) {
    let registered = {
        let mut registry = REGISTRY.lock();
        let free = registry.iter_mut().find(|entry| entry.is_none());
        free.map(|entry| *entry = Some(pool)).is_some()
    };
    if !registered {
        log::warn!("mm: pool {} not listed in meminfo: more than {MAX_POOLS} pools", pool.name());
    }
}

/// Every registered pool's name and counters.
pub fn all_stats() -> [Option<(&'static str, PoolStats)>; MAX_POOLS] {
    let pools = *REGISTRY.lock();
    pools.map(|pool| pool.map(|pool| (pool.name(), pool.stats())))
}

/// A pool of `T`s; declare one as a `static`.
pub struct KernelPool<T> {
    name: &'static str,
    pool: spin::Once<SpinLock<Pool>>,
    registered: AtomicBool,
    _objects: PhantomData<fn() -> T>,
}

impl<T> PoolCounters for KernelPool<T> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn stats(&self) -> PoolStats {
        self.locked(|pool| pool.stats())
    }
}

impl<T> KernelPool<T> {
    pub const fn new(name: &'static str) -> Self {
        Self { name, pool: spin::Once::new(), registered: AtomicBool::new(false), _objects: PhantomData }
    }

    fn locked<R>(&self, work: impl FnOnce(&mut Pool) -> R) -> R {
        let pool = self.pool.call_once(|| {
            SpinLock::new(Pool::new(self.name, size_of::<T>(), align_of::<T>(), MAX_IDLE_PAGES))
        });
        work(&mut pool.lock())
    }

    /// Moves `value` into a fresh slot.
    pub fn allocate(&'static self, value: T) -> Result<PoolBox<T>, OutOfFrames> {
        if !self.registered.swap(true, Ordering::AcqRel) {
            register(self);
        }
        let (slot, pointer) = self.take_slot()?;
        // SAFETY: the slot is `size_of::<T>()` bytes or more at `align_of::<T>()` (the pool
        // was built for T), inside a frame the window maps, and handed out to no one else.
        unsafe { pointer.write(value) };
        Ok(PoolBox { pool: self, slot: Some(slot), pointer })
    }

    /// A free slot and where it is.
    fn take_slot(&self) -> Result<(PoolSlot, NonNull<T>), OutOfFrames> {
        if crate::fault_injection::refuses(crate::fault_injection::Kind::Pool) {
            return Err(OutOfFrames);
        }
        let (slot, address) = self.locked(|pool| {
            let slot = with_frames(|frames| pool.allocate(frames))?;
            let address = pool.address(&slot);
            Ok::<_, OutOfFrames>((slot, address))
        })?;
        let page = address & !(mm::PAGE_SIZE - 1);
        let pointer = window().frame_pointer(page).wrapping_add((address - page) as usize).cast::<T>();
        Ok((slot, NonNull::new(pointer).expect("mm: pool slot at a null address")))
    }

    /// Frees `slot`, whose value has been dropped.
    fn give_back(&self, slot: PoolSlot) {
        let freed = self.locked(|pool| with_frames(|frames| pool.free(frames, slot)));
        if let Err(error) = freed {
            panic!("mm: pool {} refused a slot it handed out ({error:?}); R4 broken", self.name);
        }
    }

    /// Gives the pool's empty pages back to the frame allocator (for leak checks).
    pub fn release_idle_pages(&self) {
        self.locked(|pool| with_frames(|frames| pool.release_idle_pages(frames)));
    }
}

/// A `T` living in a pool slot.
pub struct PoolBox<T: 'static> {
    pool: &'static KernelPool<T>,
    /// `None` only while being dropped.
    slot: Option<PoolSlot>,
    pointer: NonNull<T>,
}

// SAFETY: a `PoolBox<T>` owns its `T` exclusively, like `Box<T>`; sending it sends the `T`.
unsafe impl<T: Send> Send for PoolBox<T> {}
// SAFETY: shared access to a `PoolBox<T>` only gives `&T`.
unsafe impl<T: Sync> Sync for PoolBox<T> {}

impl<T> Deref for PoolBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `pointer` holds an initialised `T` owned by this box until it drops.
        unsafe { self.pointer.as_ref() }
    }
}

impl<T> DerefMut for PoolBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.pointer.as_mut() }
    }
}

impl<T> Drop for PoolBox<T> {
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

/// A reference-counted `T` in a pool slot, like `Arc<T>`: the last `PoolArc` to drop drops
/// the value and frees the slot, which takes the pool's and the frame allocator's locks —
/// so code that must not take them (the context-switch path) must never hold the last one.
pub struct PoolArc<T: 'static> {
    pool: &'static KernelPool<Counted<T>>,
    pointer: NonNull<Counted<T>>,
}

// SAFETY: like `Arc<T>`: sending or sharing a `PoolArc<T>` shares the `T`.
unsafe impl<T: Send + Sync> Send for PoolArc<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for PoolArc<T> {}

impl<T> KernelPool<Counted<T>> {
    /// Moves `value` into a fresh slot with one reference; gives it back when no frame
    /// is left for a slot.
    pub fn allocate_shared(&'static self, value: T) -> Result<PoolArc<T>, T> {
        if !self.registered.swap(true, Ordering::AcqRel) {
            register(self);
        }
        let Ok((slot, pointer)) = self.take_slot() else {
            return Err(value);
        };
        let counted = Counted { references: AtomicUsize::new(1), slot, value };
        // SAFETY: as in `allocate`: a fresh slot sized and aligned for `Counted<T>`.
        unsafe { pointer.write(counted) };
        Ok(PoolArc { pool: self, pointer })
    }
}

impl<T> PoolArc<T> {
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
    pub(super) fn into_raw(this: Self) -> (&'static KernelPool<Counted<T>>, NonNull<Counted<T>>) {
        let parts = (this.pool, this.pointer);
        core::mem::forget(this);
        parts
    }

    /// Takes back a reference `into_raw` gave out.
    ///
    /// # Safety
    /// `pool` and `pointer` came from `into_raw`, and this is the one `from_raw` for them.
    pub(super) unsafe fn from_raw(
        pool: &'static KernelPool<Counted<T>>,
        pointer: NonNull<Counted<T>>,
    ) -> Self {
        Self { pool, pointer }
    }
}

impl<T> Clone for PoolArc<T> {
    fn clone(&self) -> Self {
        self.counted().references.fetch_add(1, Ordering::Relaxed);
        Self { pool: self.pool, pointer: self.pointer }
    }
}

impl<T> Deref for PoolArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.counted().value
    }
}

impl<T> Drop for PoolArc<T> {
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
