//! `Handoff`: a one-place, lock-free cell through which one context gives a `PoolArc` to
//! another — the kernel's switch path's reference to a dead thread, on its way to the
//! teardown task.
//!
//! `put` and `take` are one atomic exchange each on one pointer: no lock, no allocation, so
//! a context that may take neither can put. The cell holds references of one pool, named
//! when it is made, so it stores only the pointer (16 bytes a cell). A cell dropped full
//! drops its reference.
//!
//! Invariant: a non-null pointer in the cell is one reference, given up by
//! `PoolArc::into_raw` from this cell's pool, that only the cell owns; the exchange that
//! takes it out makes its taker the only one.

use core::marker::PhantomData;
use core::ptr::{NonNull, null_mut};
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::typed_pool::{Counted, PoolArc, PoolHost, TypedPool};

pub struct Handoff<T: 'static, H: PoolHost> {
    pool: &'static TypedPool<Counted<T>, H>,
    /// A reference given by `PoolArc::into_raw`, owned by the cell; null when empty.
    pointer: AtomicPtr<Counted<T>>,
    /// The cell passes a `PoolArc<T>` between contexts: it is `Send`/`Sync` when that is.
    _holds: PhantomData<PoolArc<T, H>>,
}

impl<T, H: PoolHost> Handoff<T, H> {
    /// An empty cell for references of `pool`.
    pub const fn new(pool: &'static TypedPool<Counted<T>, H>) -> Self {
        Self { pool, pointer: AtomicPtr::new(null_mut()), _holds: PhantomData }
    }

    /// Puts `value` into the cell, or gives it back if the cell is full. Panics if `value`
    /// is not of this cell's pool.
    pub fn put(&self, value: PoolArc<T, H>) -> Result<(), PoolArc<T, H>> {
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
    pub fn take(&self) -> Option<PoolArc<T, H>> {
        let pointer = NonNull::new(self.pointer.swap(null_mut(), Ordering::AcqRel))?;
        // SAFETY: a non-null pointer in the cell was stored by `put` from `into_raw` with
        // this cell's pool, and the swap made this call its only taker.
        Some(unsafe { PoolArc::from_raw(self.pool, pointer) })
    }

    pub fn is_empty(&self) -> bool {
        self.pointer.load(Ordering::Acquire).is_null()
    }
}

impl<T, H: PoolHost> Drop for Handoff<T, H> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::typed_pool::PoolCounters;
    use crate::typed_pool::test_host::{TestHost, serial};

    #[derive(Debug)]
    struct Object(&'static AtomicUsize);

    impl Drop for Object {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_cell_holds_one_reference_and_gives_it_back_exactly_once() {
        static POOL: TypedPool<Counted<Object>, TestHost> = TypedPool::new("handoff");
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let _serial = serial();
        let cell = Handoff::new(&POOL);
        let first = POOL.allocate_shared(Object(&DROPS)).unwrap();
        let second = POOL.allocate_shared(Object(&DROPS)).unwrap();
        assert!(cell.is_empty());
        cell.put(first.clone()).unwrap();
        assert!(!cell.is_empty());
        assert_eq!(PoolArc::reference_count(&first), 2, "the cell keeps its reference");
        let refused = cell.put(second.clone()).unwrap_err();
        assert!(PoolArc::ptr_eq(&refused, &second), "a full cell gives the new reference back");
        drop(refused);
        let taken = cell.take().unwrap();
        assert!(PoolArc::ptr_eq(&taken, &first));
        assert!(cell.take().is_none(), "taken once");
        drop(taken);
        assert_eq!(PoolArc::reference_count(&first), 1);
        cell.put(second).unwrap();
        drop(cell);
        assert_eq!(DROPS.load(Ordering::SeqCst), 1, "a cell dropped full drops its reference");
        drop(first);
        assert_eq!(DROPS.load(Ordering::SeqCst), 2);
    }

    #[test]
    #[should_panic(expected = "another pool")]
    fn a_reference_of_another_pool_is_refused() {
        static MINE: TypedPool<Counted<u64>, TestHost> = TypedPool::new("mine");
        static OTHER: TypedPool<Counted<u64>, TestHost> = TypedPool::new("other");
        let _serial = serial();
        let cell = Handoff::new(&MINE);
        let _ = cell.put(OTHER.allocate_shared(1).unwrap());
    }

    #[test]
    fn references_passed_between_threads_arrive_once_each() {
        static POOL: TypedPool<Counted<u64>, TestHost> = TypedPool::new("relay");
        static CELL: Handoff<u64, TestHost> = Handoff::new(&POOL);
        let _serial = serial();
        const COUNT: u64 = 10_000;
        let giver = std::thread::spawn(|| {
            for value in 0..COUNT {
                let mut reference = POOL.allocate_shared(value).unwrap();
                while let Err(back) = CELL.put(reference) {
                    reference = back;
                    std::hint::spin_loop();
                }
            }
        });
        let mut expected = 0;
        while expected < COUNT {
            if let Some(reference) = CELL.take() {
                assert_eq!(*reference, expected, "a reference lost, duplicated or reordered");
                assert_eq!(PoolArc::reference_count(&reference), 1);
                expected += 1;
            }
        }
        giver.join().unwrap();
        assert_eq!(POOL.stats().objects_in_use, 0);
    }
}
