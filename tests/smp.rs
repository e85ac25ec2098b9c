//! SMP bring-up: every processor of the MADT comes online with its own CPU index, takes
//! IPIs, and the boot CPU's local APIC timer ticks at `time::TICK_HZ`. Runs at whatever
//! `-smp` QEMU gets: `cargo ktest --test smp` boots one CPU, `cargo ktest --test smp --
//! -smp 4` four.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

use kernel::arch::{acpi, apic, cpu, vectors};
use kernel::smp;
use kernel::time;
use kernel::traps::irq;

kernel::qemu_test_main!();

/// Spins until `done` or one second has passed (by the TSC); returns whether `done`.
fn within_a_second(done: impl Fn() -> bool) -> bool {
    let deadline = time::nanos_since_boot() + 1_000_000_000;
    while !done() {
        if time::nanos_since_boot() >= deadline {
            return done();
        }
        core::hint::spin_loop();
    }
    true
}

#[test_case]
fn every_processor_of_the_madt_comes_online() {
    assert_eq!(smp::cpus_online(), acpi::topology().cpu_count());
}

#[test_case]
fn every_cpu_schedules_with_its_own_index() {
    let count = acpi::topology().cpu_count();
    assert_eq!(cpu::id(), 0, "the boot CPU is CPU 0");
    assert!(
        within_a_second(|| kernel::sched::cpu::online_count() == count),
        "not every CPU entered the scheduler"
    );
    for index in 0..count {
        let scheduler = kernel::sched::cpu::cpu(index).expect("an online CPU has no scheduler state");
        assert_eq!(scheduler.id(), index, "CPU {index} registered under another index");
    }
}

#[test_case]
fn a_reschedule_ipi_reaches_every_cpu_including_the_sender() {
    for index in 0..acpi::topology().cpu_count() {
        let before = irq::reschedule_ipis_received(index);
        apic::send_ipi(index, vectors::RESCHEDULE_VECTOR);
        assert!(
            within_a_second(|| irq::reschedule_ipis_received(index) == before + 1),
            "CPU {index} did not take the reschedule IPI exactly once"
        );
    }
}

#[test_case]
fn a_tlb_shootdown_ipi_reaches_every_cpu() {
    for index in 0..acpi::topology().cpu_count() {
        let before = irq::tlb_shootdown_ipis_received(index);
        apic::send_ipi(index, vectors::TLB_SHOOTDOWN_VECTOR);
        assert!(
            within_a_second(|| irq::tlb_shootdown_ipis_received(index) == before + 1),
            "CPU {index} did not take the TLB-shootdown IPI exactly once"
        );
    }
}

/// Measured against the PIT, which the APIC timer was calibrated with but which runs
/// independently of it (the TSC's rate was measured against the tick, so it would not do).
#[test_case]
fn the_boot_cpu_timer_ticks_at_tick_hz() {
    const PIT_WAITS: u64 = 8;
    let count = hardware::drivers::pit::count_for_micros(50_000);
    let start = time::ticks();
    for _ in 0..PIT_WAITS {
        hardware::drivers::pit::spin_for(count);
    }
    let ticks = time::ticks() - start;
    let expected =
        PIT_WAITS * hardware::drivers::pit::micros_for_count(count) * u64::from(time::TICK_HZ) / 1_000_000;
    assert!(
        (expected / 2..=expected * 2).contains(&ticks),
        "{ticks} ticks while the PIT measured {expected} ticks' time"
    );
}

#[test_case]
fn no_local_apic_reported_an_error() {
    assert_eq!(irq::apic_errors(), 0);
}

/// Every CPU's TSC reads the same clock: a reading taken on CPU k after the boot CPU's
/// first reading and before its second lies between them. The kernel's monotonic clock and
/// CPU-time accounting read the TSC of whatever CPU a thread is on, so a thread that moved
/// between CPUs whose TSCs disagreed would see time jump.
#[test_case]
fn every_cpu_reads_the_same_tsc() {
    use core::sync::atomic::{AtomicU64, Ordering};
    static READING: AtomicU64 = AtomicU64::new(0);
    for index in 0..kernel::sched::cpu::online_count() {
        READING.store(0, Ordering::SeqCst);
        let before = cpu::read_tsc();
        let executor = kernel::tasks::executor_of(index).expect("an online CPU has no executor");
        executor
            .spawn("read-tsc", async { READING.store(cpu::read_tsc(), Ordering::SeqCst) })
            .expect("spawning on another CPU's executor");
        assert!(within_a_second(|| READING.load(Ordering::SeqCst) != 0), "CPU {index} did not run the task");
        let after = cpu::read_tsc();
        let reading = READING.load(Ordering::SeqCst);
        assert!(
            (before..=after).contains(&reading),
            "CPU {index}'s TSC read {reading}, outside the boot CPU's {before}..={after}"
        );
    }
}
