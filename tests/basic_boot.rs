//! The kernel boots: console, heap, interrupts and the tick all work after `init`.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

kernel::qemu_test_main!();

#[test_case]
fn heap_allocations_are_usable_after_init() {
    let values: alloc::vec::Vec<u64> = (0..1000).collect();
    assert_eq!(values.iter().sum::<u64>(), 999 * 1000 / 2);
}

#[test_case]
fn the_timer_ticks() {
    let start = kernel::time::ticks();
    while kernel::time::ticks() < start + 2 {
        x86_64::instructions::hlt();
    }
    assert!(kernel::time::tsc_hz() > 0, "TSC was not calibrated");
}
