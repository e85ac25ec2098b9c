//! SMP bring-up: every processor of the MADT comes online with its own CPU index, takes
//! IPIs, and the boot CPU's local APIC timer ticks at `time::TICK_HZ`; and teardown work
//! across CPUs: a thread's teardown becomes ready on the CPU it died on, and an idle CPU
//! steals it from a busy one. Runs at whatever
//! `-smp` QEMU gets: `cargo ktest --test smp` boots one CPU, `cargo ktest --test smp --
//! -smp 4` four.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kernel::arch::{acpi, apic, cpu, vectors};
use kernel::sched::reaping;
use kernel::sched::thread::ThreadState;
use kernel::traps::irq;
use kernel::{println, sched, smp, time};

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
    static READING: AtomicU64 = AtomicU64::new(0);
    for index in 0..sched::cpu::online_count() {
        READING.store(0, Ordering::SeqCst);
        let before = cpu::read_tsc();
        let reader =
            sched::spawn_pinned("read-tsc", index, || READING.store(cpu::read_tsc(), Ordering::SeqCst))
                .expect("spawning a thread pinned to another CPU");
        assert!(
            within_a_second(|| READING.load(Ordering::SeqCst) != 0),
            "CPU {index} did not run the thread"
        );
        let after = cpu::read_tsc();
        let reading = READING.load(Ordering::SeqCst);
        assert!(
            (before..=after).contains(&reading),
            "CPU {index}'s TSC read {reading}, outside the boot CPU's {before}..={after}"
        );
        sched::block_on(reader.torn_down());
    }
}

/// Threads that die on CPU k (pinned there) are torn down on CPU k: the off-CPU event the
/// switch path fires there makes the teardown ready on CPU k's queue, and CPU k, going idle,
/// polls its own queue first. Were the teardown tied to the CPU that made the thread (the
/// boot CPU, which waits here), none would be.
#[test_case]
fn a_thread_is_torn_down_on_the_cpu_it_died_on() {
    const ROUNDS: u64 = 16;
    let cpus = sched::cpu::online_count();
    if cpus < 2 {
        println!("smp: one CPU, so every thread dies and is torn down on it: nothing to check");
        return;
    }
    let on_before = reaping::torn_down_on_dying_cpu();
    let elsewhere_before = reaping::torn_down_elsewhere();
    for _ in 0..ROUNDS {
        for index in 1..cpus {
            let handle = sched::spawn_pinned("dies-there", index, || {}).expect("spawn failed");
            sched::block_on(handle.torn_down());
        }
    }
    let on_dying_cpu = reaping::torn_down_on_dying_cpu() - on_before;
    let elsewhere = reaping::torn_down_elsewhere() - elsewhere_before;
    println!("smp: {on_dying_cpu} thread(s) torn down on the CPU they died on, {elsewhere} elsewhere");
    assert!(
        on_dying_cpu + elsewhere >= ROUNDS * u64::from(cpus - 1),
        "{} threads died and only {} were torn down",
        ROUNDS * u64::from(cpus - 1),
        on_dying_cpu + elsewhere
    );
    // The boot CPU may steal one now and then (it polls when it blocks); most stay put.
    assert!(
        on_dying_cpu * 4 >= (on_dying_cpu + elsewhere) * 3,
        "only {on_dying_cpu} of {} teardowns ran on the CPU their thread died on",
        on_dying_cpu + elsewhere
    );
}

/// Threads that die on a CPU which then stays busy — a thread spinning there with
/// preemption disabled, so that CPU polls nothing — are torn down all the same, by the
/// other CPUs stealing their teardowns from its queue. Were a teardown tied to one CPU's
/// executor (here the busy CPU made the threads), they would wait for the spinner to stop.
#[test_case]
fn an_idle_cpu_steals_teardown_work_from_a_busy_one() {
    const DYING: usize = 8;
    /// How long the busy CPU stays busy at most, in the boot CPU's ticks (well below the
    /// lockup detector's threshold).
    const BUSY_TICKS: u64 = 150;
    static ALL_DEAD: AtomicBool = AtomicBool::new(false);
    static RELEASE: AtomicBool = AtomicBool::new(false);
    static TIMED_OUT: AtomicBool = AtomicBool::new(false);
    let cpus = sched::cpu::online_count();
    if cpus < 2 {
        println!("smp: one CPU, so no other CPU can steal: nothing to check");
        return;
    }
    let busy_cpu = cpus - 1;
    ALL_DEAD.store(false, Ordering::SeqCst);
    RELEASE.store(false, Ordering::SeqCst);
    TIMED_OUT.store(false, Ordering::SeqCst);
    let handed_back: Arc<spin::Mutex<Vec<sched::JoinHandle>>> = Arc::default();
    let handoff = handed_back.clone();
    let elsewhere_before = reaping::torn_down_elsewhere();
    let busy = sched::spawn_pinned("busy", busy_cpu, move || {
        let dying: Vec<_> = (0..DYING)
            .map(|_| sched::spawn_pinned("dies-on-busy", busy_cpu, || {}).expect("spawn failed"))
            .collect();
        // They run and die here, one after another, while this thread yields to them.
        while dying.iter().any(|handle| handle.thread().state() != ThreadState::Dead) {
            sched::yield_now();
        }
        *handoff.lock() = dying;
        // No preemption: no tick polls tasks here, and no switch happens.
        sched::without_preemption(|| {
            ALL_DEAD.store(true, Ordering::SeqCst);
            let deadline = time::ticks() + BUSY_TICKS;
            while !RELEASE.load(Ordering::SeqCst) {
                if time::ticks() >= deadline {
                    TIMED_OUT.store(true, Ordering::SeqCst);
                    break;
                }
                core::hint::spin_loop();
            }
        });
    })
    .expect("spawn failed");
    while !ALL_DEAD.load(Ordering::SeqCst) {
        sched::yield_now();
    }
    let dying = core::mem::take(&mut *handed_back.lock());
    for handle in dying {
        sched::block_on(handle.torn_down());
    }
    let stolen = reaping::torn_down_elsewhere() - elsewhere_before;
    RELEASE.store(true, Ordering::SeqCst);
    sched::block_on(busy.torn_down());
    println!("smp: {stolen} of {DYING} teardowns run away from busy CPU {busy_cpu}");
    assert!(
        !TIMED_OUT.load(Ordering::SeqCst),
        "the teardowns waited for busy CPU {busy_cpu}: no other CPU stole them"
    );
    assert!(stolen >= 1, "no teardown ran on another CPU than busy CPU {busy_cpu}");
}
