//! `Handoff`: a one-place, lock-free cell through which one context gives a `PoolArc` to
//! another — the switch path's reference to a dead thread, on its way to the teardown task.
//!
//! `put` and `take` are one atomic exchange each on one pointer: no lock, no allocation, so
//! the switch path may put (R7). The cell holds references of one pool, named when it is
//! made, so it stores only the pointer (16 bytes a cell; one per possible thread). A cell
//! dropped full drops its reference.

use core::marker::PhantomData;
use core::ptr::{NonNull, null_mut};
use core::sync::atomic::{AtomicPtr, Ordering};

use super::pool::{Counted, KernelPool, PoolArc};

pub struct Handoff<T: 'static> {
    pool: &'static KernelPool<Counted<T>>,
    /// A reference given by `PoolArc::into_raw`, owned by the cell; null when empty.
    pointer: AtomicPtr<Counted<T>>,
    /// The cell passes a `PoolArc<T>` between contexts: it is `Send`/`Sync` when that is.
    _holds: PhantomData<PoolArc<T>>,
}

impl<T> Handoff<T> {
    /// An empty cell for references of `pool`.
    pub const fn new(pool: &'static KernelPool<Counted<T>>) -> Self {
        Self { pool, pointer: AtomicPtr::new(null_mut()), _holds: PhantomData }
    }

    /// Puts `value` into the cell, or gives it back if the cell is full. Panics if `value`
    /// is not of this cell's pool.
    pub fn put(&self, value: PoolArc<T>) -> Result<(), PoolArc<T>> {
        let (pool, pointer) = PoolArc::into_raw(value);
        assert!(core::ptr::eq(pool, self.pool), "mm: a hand-off cell given a reference of another pool");
        match self.pointer.compare_exchange(null_mut(), pointer.as_ptr(), Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            // SAFETY: `pool` and `pointer` came from `into_raw` just above and were not
            // stored, so this takes that reference back, once.
            Err(_) => Err(unsafe { PoolArc::from_raw(pool, pointer) }),
        }
    }

    /// Takes the reference out of the cell, if it holds one.
    pub fn take(&self) -> Option<PoolArc<T>> {
        let pointer = NonNull::new(self.pointer.swap(null_mut(), Ordering::AcqRel))?;
        // SAFETY: a non-null pointer in the cell was stored by `put` from `into_raw` with
        // this cell's pool, and the swap made this call its only taker.
        Some(unsafe { PoolArc::from_raw(self.pool, pointer) })
    }

    pub fn is_empty(&self) -> bool {
        self.pointer.load(Ordering::Acquire).is_null()
    }
}

impl<T> Drop for Handoff<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}
