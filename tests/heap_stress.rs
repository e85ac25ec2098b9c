//! Heap stress: 100,000 boxes of mixed sizes allocated and freed, usage back to its start.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;

use kernel::mm::heap;

kernel::qemu_test_main!();

/// A box of `size` bytes whose contents can be checked later.
fn filled_box(size: usize, seed: u8) -> Box<[u8]> {
    (0..size).map(|i| seed.wrapping_add(i as u8)).collect()
}

#[test_case]
fn hundred_thousand_mixed_boxes_leave_the_heap_as_it_was() {
    const BOXES: usize = 100_000;
    const LIVE: usize = 256;
    let before = heap::bytes_in_use();
    {
        let mut live: Vec<Option<Box<[u8]>>> = Vec::with_capacity(LIVE);
        live.resize_with(LIVE, || None);
        // A cheap LCG picks sizes (8 B to 4 KiB) and which live box to replace.
        let mut state: u32 = 0x2545_f491;
        for n in 0..BOXES {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let size = 8 << ((state >> 8) % 10);
            let slot = (state >> 20) as usize % LIVE;
            if let Some(old) = live[slot].take() {
                let seed = old[0];
                assert!(
                    old.iter().enumerate().all(|(i, &b)| b == seed.wrapping_add(i as u8)),
                    "heap corrupted a box"
                );
            }
            live[slot] = Some(filled_box(size, n as u8));
        }
    }
    assert_eq!(heap::bytes_in_use(), before, "heap usage did not return to its starting value");
}

#[test_case]
fn an_allocation_larger_than_the_heap_fails_cleanly() {
    let mut values: Vec<u8> = Vec::new();
    assert!(values.try_reserve_exact(heap::size() * 2).is_err());
}
