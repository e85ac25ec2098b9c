//! Kernel object pools: objects get distinct, intact storage; dropping a box drops its
//! value and frees its slot; emptied pages go back, so frame counts return exactly.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use kernel::mm::meminfo;
use kernel::mm::pool::{KernelPool, PoolCounters};

kernel::qemu_test_main!();

static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// A kernel-object-sized value that checks its own contents and counts its drops.
#[derive(Debug)]
struct Object {
    id: u64,
    payload: [u64; 24],
}

impl Object {
    fn new(id: u64) -> Self {
        Self { id, payload: [id.wrapping_mul(0x9e37_79b9_7f4a_7c15); 24] }
    }

    fn intact(&self) -> bool {
        self.payload.iter().all(|word| *word == self.id.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

static OBJECTS: KernelPool<Object> = KernelPool::new("test-objects");

/// Asserts that memory is as it was (`held` leaves out the pool's descriptor table, which
/// grows to the high-water mark by design).
fn assert_all_came_back(before: meminfo::Held) {
    OBJECTS.release_idle_pages();
    assert_eq!(meminfo::snapshot().held(), before, "the pool kept frames or leaked heap");
}

#[test_case]
fn ten_thousand_objects_are_distinct_intact_and_all_come_back() {
    const OBJECTS_HELD: u64 = 10_000;
    let before = meminfo::snapshot().held();
    let dropped_before = DROPPED.load(Ordering::Relaxed);
    {
        let boxes: Vec<_> = (0..OBJECTS_HELD)
            .map(|id| OBJECTS.allocate(Object::new(id)).expect("pool out of frames"))
            .collect();
        assert!(
            boxes.iter().enumerate().all(|(id, object)| object.id == id as u64 && object.intact()),
            "objects overlap"
        );
        let stats = OBJECTS.stats();
        assert_eq!(stats.objects_in_use, OBJECTS_HELD);
        assert_eq!(stats.pages(), OBJECTS_HELD.div_ceil(stats.objects_per_page as u64));
    }
    assert_eq!(
        DROPPED.load(Ordering::Relaxed) - dropped_before,
        OBJECTS_HELD as usize,
        "values were not dropped"
    );
    assert_eq!(OBJECTS.stats().objects_in_use, 0);
    assert_all_came_back(before);
}

#[test_case]
fn alloc_free_churn_keeps_at_most_one_idle_page() {
    let before = meminfo::snapshot().held();
    for id in 0..100_000 {
        let object = OBJECTS.allocate(Object::new(id)).expect("pool out of frames");
        assert!(object.intact());
    }
    assert!(OBJECTS.stats().pages() <= 1);
    assert_all_came_back(before);
}

#[test_case]
fn meminfo_lists_the_pool_with_its_counters() {
    let object = OBJECTS.allocate(Object::new(7)).expect("pool out of frames");
    let info = meminfo::snapshot();
    let listed = info.pools.iter().flatten().find(|(name, _)| *name == "test-objects");
    let (_, stats) = listed.expect("the pool is not in meminfo");
    assert_eq!(stats.objects_in_use, 1);
    kernel::serial_println!("{info}");
    drop(object);
    OBJECTS.release_idle_pages();
}

static SHARED: KernelPool<kernel::mm::pool::Counted<Object>> = KernelPool::new("test-shared");

#[test_case]
fn a_shared_object_is_dropped_once_when_its_last_reference_goes() {
    let before = meminfo::snapshot().held();
    let dropped_before = DROPPED.load(Ordering::Relaxed);
    let first = SHARED.allocate_shared(Object::new(3)).expect("pool out of frames");
    let clones: Vec<_> = (0..10).map(|_| first.clone()).collect();
    assert_eq!(kernel::mm::pool::PoolArc::reference_count(&first), 11);
    assert!(clones.iter().all(|clone| kernel::mm::pool::PoolArc::ptr_eq(clone, &first) && clone.intact()));
    drop(clones);
    assert_eq!(DROPPED.load(Ordering::Relaxed), dropped_before, "dropped while referenced");
    drop(first);
    assert_eq!(DROPPED.load(Ordering::Relaxed), dropped_before + 1);
    assert_eq!(SHARED.stats().objects_in_use, 0);
    SHARED.release_idle_pages();
    let after = meminfo::snapshot().held();
    assert_eq!(after.frames, before.frames);
}

#[test_case]
fn a_handoff_cell_holds_one_reference_and_gives_it_back_exactly_once() {
    use kernel::mm::pool::Handoff;
    use kernel::mm::pool::PoolArc;
    let dropped_before = DROPPED.load(Ordering::Relaxed);
    let cell = Handoff::new(&SHARED);
    let first = SHARED.allocate_shared(Object::new(5)).expect("pool out of frames");
    let second = SHARED.allocate_shared(Object::new(6)).expect("pool out of frames");
    assert!(cell.is_empty() && cell.take().is_none());
    assert!(cell.put(first.clone()).is_ok());
    assert_eq!(PoolArc::reference_count(&first), 2, "the cell keeps its reference");
    let refused = cell.put(second.clone()).expect_err("a full cell took a second reference");
    assert!(PoolArc::ptr_eq(&refused, &second));
    drop(refused);
    let taken = cell.take().expect("the cell lost its reference");
    assert!(PoolArc::ptr_eq(&taken, &first) && taken.intact());
    assert!(cell.is_empty() && cell.take().is_none(), "a reference taken twice");
    drop(taken);
    assert_eq!(PoolArc::reference_count(&first), 1);
    assert!(cell.put(second).is_ok());
    drop(cell);
    assert_eq!(DROPPED.load(Ordering::Relaxed), dropped_before + 1, "a cell dropped full kept its reference");
    drop(first);
    assert_eq!(DROPPED.load(Ordering::Relaxed), dropped_before + 2);
    SHARED.release_idle_pages();
}
