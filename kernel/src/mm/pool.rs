//! The kernel's object pools: `mm::typed_pool` over the kernel's physical window and frame
//! allocator (`KernelPoolHost`), plus the registry through which `meminfo` lists them.
//!
//! `KernelPool<T>` hands out `PoolBox<T>`s (owned, like `Box`) and, for a
//! `KernelPool<Counted<T>>`, `PoolArc<T>`s (shared, like `Arc`); `Handoff<T>` passes a
//! `PoolArc<T>` from one context to another with one atomic exchange. What they guarantee
//! is in `mm::typed_pool` and `mm::handoff`; the kernel adds:
//! - a pool's lock is taken with interrupts masked and answers TLB shootdowns while it
//!   spins (as every `sync::SpinLock`), so a box may be dropped in any context but the
//!   switch path, which must never drop the last reference of a `PoolArc`;
//! - every pool object is a `fault_injection::Kind::Pool` allocation;
//! - every pool registers itself on first use in a fixed table (no allocation) that
//!   `meminfo` reads, so the snapshot lists each pool's counters.
//!
//! Lock order: the registry → a pool's lock → `frames`.

use mm::frame_allocator::FrameAllocator;
use mm::pool::PoolStats;
pub use mm::typed_pool::{Counted, PoolCounters};
use mm::typed_pool::{PoolHost, TypedPool};

use super::frames::with_frames;
use super::window::{OffsetWindow, window};
use crate::sync::{AnswerShootdowns, InterruptsMasked, SpinLock};

/// Pools `meminfo` can list; one more is still usable, just not listed (and logged).
pub const MAX_POOLS: usize = 16;

/// The kernel as the host of its pools (see the module doc).
pub struct KernelPoolHost;

impl PoolHost for KernelPoolHost {
    type Window = OffsetWindow;
    type Relax = AnswerShootdowns;

    fn window() -> &'static OffsetWindow {
        window()
    }

    fn with_frames<R>(work: impl FnOnce(&mut FrameAllocator) -> R) -> R {
        with_frames(work)
    }

    fn shielded<R>(work: impl FnOnce() -> R) -> R {
        let _masked = InterruptsMasked::new();
        work()
    }

    fn refuses_allocation() -> bool {
        crate::fault_injection::refuses(crate::fault_injection::Kind::Pool)
    }

    fn register(pool: &'static dyn PoolCounters) {
        register(pool);
    }
}

/// A pool of `T`s; declare one as a `static`.
pub type KernelPool<T> = TypedPool<T, KernelPoolHost>;
/// A `T` in a kernel pool's slot, owned.
pub type PoolBox<T> = mm::typed_pool::PoolBox<T, KernelPoolHost>;
/// A `T` in a kernel pool's slot, reference counted.
pub type PoolArc<T> = mm::typed_pool::PoolArc<T, KernelPoolHost>;
/// A one-place, lock-free cell passing a `PoolArc<T>` between contexts.
pub type Handoff<T> = mm::handoff::Handoff<T, KernelPoolHost>;

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
