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
use core::sync::atomic::{AtomicBool, Ordering};

use mm::frame_allocator::OutOfFrames;
use mm::phys::PhysWindow;
use mm::pool::{Pool, PoolSlot, PoolStats};
use x86_64::instructions::interrupts::without_interrupts;

use super::frames::with_frames;
use super::window::window;

/// Empty pages a kernel pool keeps before giving frames back.
const MAX_IDLE_PAGES: u64 = 1;

/// Pools `meminfo` can list; one more is still usable, just not listed (and logged).
pub const MAX_POOLS: usize = 16;

/// What `meminfo` needs from a pool.
pub trait PoolCounters: Sync {
    fn name(&self) -> &'static str;
    fn stats(&self) -> PoolStats;
}

static REGISTRY: spin::Mutex<[Option<&'static dyn PoolCounters>; MAX_POOLS]> =
    spin::Mutex::new([None; MAX_POOLS]);

fn register(pool: &'static dyn PoolCounters) {
    let registered = without_interrupts(|| {
        let mut registry = REGISTRY.lock();
        let free = registry.iter_mut().find(|entry| entry.is_none());
        free.map(|entry| *entry = Some(pool)).is_some()
    });
    if !registered {
        log::warn!("mm: pool {} not listed in meminfo: more than {MAX_POOLS} pools", pool.name());
    }
}

/// Every registered pool's name and counters.
pub fn all_stats() -> [Option<(&'static str, PoolStats)>; MAX_POOLS] {
    let pools = without_interrupts(|| *REGISTRY.lock());
    pools.map(|pool| pool.map(|pool| (pool.name(), pool.stats())))
}

/// A pool of `T`s; declare one as a `static`.
pub struct KernelPool<T> {
    name: &'static str,
    pool: spin::Once<spin::Mutex<Pool>>,
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
            spin::Mutex::new(Pool::new(self.name, size_of::<T>(), align_of::<T>(), MAX_IDLE_PAGES))
        });
        without_interrupts(|| work(&mut pool.lock()))
    }

    /// Moves `value` into a fresh slot.
    pub fn allocate(&'static self, value: T) -> Result<PoolBox<T>, OutOfFrames> {
        if !self.registered.swap(true, Ordering::AcqRel) {
            register(self);
        }
        let (slot, address) = self.locked(|pool| {
            let slot = with_frames(|frames| pool.allocate(frames))?;
            let address = pool.address(&slot);
            Ok::<_, OutOfFrames>((slot, address))
        })?;
        let page = address & !(mm::PAGE_SIZE - 1);
        let pointer = window().frame_pointer(page).wrapping_add((address - page) as usize).cast::<T>();
        let pointer = NonNull::new(pointer).expect("mm: pool slot at a null address");
        // SAFETY: the slot is `size_of::<T>()` bytes or more at `align_of::<T>()` (the pool
        // was built for T), inside a frame the window maps, and handed out to no one else.
        unsafe { pointer.write(value) };
        Ok(PoolBox { pool: self, slot: Some(slot), pointer })
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
        let freed = self.pool.locked(|pool| with_frames(|frames| pool.free(frames, slot)));
        if let Err(error) = freed {
            panic!("mm: pool {} refused a slot its box owned ({error:?}); R4 broken", self.pool.name);
        }
    }
}
