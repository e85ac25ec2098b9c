//! Scheduler benchmarks on QEMU, run under each reaping strategy and printed as `bench sched`
//! lines: the cost of a thread
//! switch, thread create + exit + teardown per second, and the latency from a thread's exit
//! to its stack being freed (median and p99). Each checks that every thread was torn down
//! and memory came back, so the run can fail; the numbers are for reading.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests_under_every_strategy)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::arch::cpu::read_tsc;
use kernel::sched::{self, block_on, slots};
use kernel::time;

kernel::qemu_test_main!();

fn nanos(cycles: u64) -> u64 {
    (u128::from(cycles) * 1_000_000_000 / u128::from(time::tsc_hz())) as u64
}

fn strategy() -> &'static str {
    sched::reaping::strategy().name()
}

#[test_case]
fn thread_switch() {
    const YIELDS: u64 = 10_000;
    static FIRST_START: AtomicU64 = AtomicU64::new(0);
    FIRST_START.store(0, Ordering::SeqCst);
    let ping_pong = || {
        let _ = FIRST_START.compare_exchange(0, read_tsc(), Ordering::SeqCst, Ordering::SeqCst);
        for _ in 0..YIELDS {
            sched::yield_now();
        }
    };
    let before = kernel::testing::held();
    let threads_before = slots::in_use();
    let a = sched::spawn("ping", ping_pong).expect("spawn failed");
    let b = sched::spawn("pong", ping_pong).expect("spawn failed");
    block_on(a.torn_down());
    let end = read_tsc();
    block_on(b.torn_down());
    assert_eq!(slots::in_use(), threads_before, "a ping-pong thread was not torn down");
    assert_eq!(kernel::testing::held(), before);
    let switches = 2 * YIELDS;
    let per_switch = nanos(end - FIRST_START.load(Ordering::SeqCst)) / switches;
    kernel::serial_println!(
        "bench sched strategy={} name=thread_switch switches={switches} ns_per_switch={per_switch}",
        strategy()
    );
}

#[test_case]
fn thread_create_exit_teardown() {
    const CYCLES: usize = 1_000;
    let before = kernel::testing::held();
    let threads_before = slots::in_use();
    let mut latencies = Vec::with_capacity(CYCLES);
    let switches_before = sched::cpu::this_cpu().switches();
    let start = read_tsc();
    for _ in 0..CYCLES {
        let handle = sched::spawn("bench", || {}).expect("spawn failed");
        block_on(handle.torn_down());
        latencies.push(sched::last_exit_to_teardown_cycles());
    }
    let elapsed = nanos(read_tsc() - start);
    let switches = sched::cpu::this_cpu().switches() - switches_before;
    latencies.sort_unstable();
    let median = nanos(latencies[CYCLES / 2]);
    let p99 = nanos(latencies[CYCLES * 99 / 100]);
    kernel::serial_println!(
        "bench sched strategy={} name=thread_create_exit_teardown cycles={CYCLES} ns_per_cycle={} per_second={}",
        strategy(),
        elapsed / CYCLES as u64,
        CYCLES as u64 * 1_000_000_000 / elapsed.max(1)
    );
    kernel::serial_println!(
        "bench sched strategy={} name=exit_to_teardown median_ns={median} p99_ns={p99}",
        strategy()
    );
    kernel::serial_println!(
        "bench sched strategy={} name=switches_per_thread_exit cycles={CYCLES} switches_per_cycle={:.2}",
        strategy(),
        switches as f64 / CYCLES as f64
    );
    drop(latencies);
    assert_eq!(slots::in_use(), threads_before);
    assert_eq!(kernel::testing::held(), before);
}
