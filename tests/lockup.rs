//! The lockup detector (`kernel::watchdog`): a CPU that keeps preemption disabled past the
//! threshold is reported once per threshold, with a RIP and a backtrace through the function
//! that spins; a CPU that reaches scheduling points is never reported; and, with two CPUs or
//! more, a CPU that spins with interrupts masked is reported by the CPU that watches it.
//! `scripts/test` also symbolizes this boot's report (`scripts/symbolize`) and looks for
//! `spin_for_own_ticks` in it.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

use kernel::arch::cpu;
use kernel::{sched, watchdog};

/// A threshold shorter than the default, to keep the boot short.
const THRESHOLD_SECONDS: u64 = 2;

/// Bytes of code from a small function's start within which its own addresses lie.
const SMALL_FUNCTION_BYTES: u64 = 0x200;

kernel::qemu_test_main!({
    watchdog::set_threshold_seconds(THRESHOLD_SECONDS);
});

/// Spins until this CPU has taken `ticks` more timer interrupts. The caller keeps it on
/// one CPU (preemption or interrupts off, or the boot thread, which is pinned).
#[inline(never)]
fn spin_for_own_ticks(ticks: u64) {
    let cpu = cpu::id();
    let end = watchdog::ticks_of(cpu) + ticks;
    while watchdog::ticks_of(cpu) < end {
        core::hint::spin_loop();
    }
}

/// Spins for `ticks` of this CPU's ticks with preemption disabled: a soft lockup.
#[inline(never)]
fn stay_without_preemption(ticks: u64) {
    sched::without_preemption(|| spin_for_own_ticks(ticks));
}

/// Stuck and silent-timer reports about every online CPU.
fn all_reports() -> u64 {
    (0..kernel::smp::cpus_online())
        .map(|cpu| watchdog::stuck_reports(cpu) + watchdog::silent_reports(cpu))
        .sum()
}

fn lies_in(function: u64, address: u64) -> bool {
    (function..function + SMALL_FUNCTION_BYTES).contains(&address)
}

#[test_case]
fn a_cpu_spinning_with_preemption_disabled_is_reported_once_per_threshold_with_its_backtrace() {
    let cpu = cpu::id();
    let threshold = watchdog::threshold_ticks();
    let before = watchdog::stuck_reports(cpu);
    let heap_uses_before = kernel::mm::heap::forbidden_calls();
    stay_without_preemption(threshold * 3 / 2);
    let reports = watchdog::stuck_reports(cpu) - before;
    assert_eq!(reports, 1, "lockup: {reports} reports of a CPU stuck for 1.5 thresholds, want 1");
    assert_eq!(kernel::mm::heap::forbidden_calls(), heap_uses_before, "lockup: the report touched the heap");
    let stuck = watchdog::last_stuck(cpu).expect("lockup: a report was counted but not recorded");
    let frames = stuck.backtrace.return_addresses();
    let spin = spin_for_own_ticks as *const () as u64;
    let stay = stay_without_preemption as *const () as u64;
    assert!(
        lies_in(spin, stuck.rip) || frames.iter().any(|&address| lies_in(spin, address)),
        "lockup: neither rip {:#x} nor frames {frames:x?} are in spin_for_own_ticks at {spin:#x}",
        stuck.rip
    );
    assert!(
        frames.iter().any(|&address| lies_in(stay, address)),
        "lockup: no frame of {frames:x?} returns into stay_without_preemption at {stay:#x}"
    );
}

#[test_case]
fn a_cpu_that_reaches_scheduling_points_is_never_reported() {
    let before = all_reports();
    spin_for_own_ticks(watchdog::threshold_ticks() * 3 / 2);
    let reports = all_reports() - before;
    assert_eq!(reports, 0, "lockup: {reports} reports while every CPU could schedule, want 0");
}

#[test_case]
fn a_cpu_spinning_with_interrupts_masked_is_reported_by_its_watcher() {
    let online = kernel::smp::cpus_online();
    if online < 2 {
        kernel::serial_println!("  (one CPU: no other CPU watches its timer)");
        return;
    }
    let cpu = cpu::id();
    // CPU i watches CPU i + 1, the last one the first.
    let watcher = (cpu + online - 1) % online;
    let before = watchdog::silent_reports(cpu);
    let give_up_at = watchdog::ticks_of(watcher) + 2 * watchdog::threshold_ticks();
    x86_64::instructions::interrupts::without_interrupts(|| {
        while watchdog::silent_reports(cpu) == before && watchdog::ticks_of(watcher) < give_up_at {
            core::hint::spin_loop();
        }
    });
    let reports = watchdog::silent_reports(cpu) - before;
    assert_eq!(
        reports, 1,
        "lockup: cpu {watcher} made {reports} reports of cpu {cpu}'s silent timer, want 1"
    );
}
