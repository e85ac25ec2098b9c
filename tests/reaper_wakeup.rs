//! The reaper threads as their kernels run them: a reaper has kernel priority, so it is
//! run ahead of every ordinary thread, and its wake-up preempts the ordinary thread it
//! finds running instead of waiting for that CPU's next tick (a reschedule IPI, to the CPU
//! itself or to another). With every CPU saturated by spinning threads, a dead thread's
//! stack is still freed within a couple of ticks of its exit, and within half a tick of an
//! exit made just after a tick; a wake-up that finds preemption disabled is served when the
//! section ends. Run under the `reaper` and `percpu-reaper` strategies.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests_under_reaper_strategies)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use alloc::vec::Vec;
use core::hint::spin_loop;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kernel::arch::cpu::read_tsc;
use kernel::sched::{self, block_on, cpu, slots};
use kernel::traps::irq;
use kernel::{time, watchdog};

kernel::qemu_test_main!();

/// Threads that spin beside the dying ones: more than the CPUs of any run, so no CPU idles.
const SPINNERS: u64 = 16;

static STOP_SPINNING: AtomicBool = AtomicBool::new(false);
static SPINNING: AtomicU64 = AtomicU64::new(0);

/// Starts `count` threads that never yield or block, each running `spin` until told to
/// stop, and returns once each has started.
fn saturate_every_cpu(count: u64, spin: fn()) -> Vec<sched::JoinHandle> {
    STOP_SPINNING.store(false, Ordering::SeqCst);
    SPINNING.store(0, Ordering::SeqCst);
    let spinners = (0..count)
        .map(|_| {
            sched::spawn("spinner", move || {
                SPINNING.fetch_add(1, Ordering::SeqCst);
                while !STOP_SPINNING.load(Ordering::Relaxed) {
                    spin();
                }
            })
            .expect("spawn failed")
        })
        .collect();
    while SPINNING.load(Ordering::SeqCst) < count {
        sched::yield_now();
    }
    spinners
}

fn spin_for(cycles: u64) {
    let end = read_tsc() + cycles;
    while read_tsc() < end {
        spin_loop();
    }
}

/// An eighth of a tick with preemption disabled, then a 160th of a tick with it enabled: a
/// tick or a reschedule IPI finds preemption disabled twenty times in twenty-one.
fn spin_mostly_without_preemption() {
    sched::without_preemption(|| spin_for(tick_cycles() / 8));
    spin_for(tick_cycles() / 160);
}

fn stop_spinning(spinners: Vec<sched::JoinHandle>) {
    STOP_SPINNING.store(true, Ordering::SeqCst);
    for spinner in spinners {
        block_on(spinner.torn_down());
    }
}

/// TSC cycles in one timer tick.
fn tick_cycles() -> u64 {
    time::tsc_hz() / u64::from(time::TICK_HZ)
}

/// Reschedule IPIs received by every CPU since boot (a CPU's own self-IPIs included).
fn reschedule_ipis() -> u64 {
    cpu::online().map(|cpu| irq::reschedule_ipis_received(cpu.id())).sum()
}

/// Spawns a thread that runs `entry` and exits, waits until it is torn down, and returns
/// the TSC cycles from its exit to its stack being freed. No other thread exits meanwhile
/// (the spinners outlive it), so the kernel's latest exit-to-teardown time is its own.
fn exit_to_teardown_cycles(entry: fn()) -> u64 {
    let dying = sched::spawn("dying", entry).expect("spawn failed");
    block_on(dying.torn_down());
    sched::last_exit_to_teardown_cycles()
}

/// Exits just after a tick: the thread spins until its CPU's tick count moves, which under
/// saturation means a tick preempted it and it has just got its CPU back, so that CPU's
/// next tick is about a whole tick away.
fn exit_just_after_a_tick() {
    let started_at = watchdog::ticks_of(cpu::this_cpu_index());
    while watchdog::ticks_of(cpu::this_cpu_index()) == started_at {
        spin_loop();
    }
}

#[test_case]
fn a_dead_threads_stack_is_freed_within_two_ticks_of_its_exit_beside_sixteen_spinning_threads() {
    const DEATHS: usize = 8;
    let threads_before = slots::in_use();
    let spinners = saturate_every_cpu(SPINNERS, spin_loop);
    let mut latencies: Vec<u64> = (0..DEATHS).map(|_| exit_to_teardown_cycles(|| {})).collect();
    stop_spinning(spinners);
    assert_eq!(slots::in_use(), threads_before, "a thread was not torn down");
    latencies.sort_unstable();
    let micros = |cycles: u64| cycles * 1_000_000 / time::tsc_hz();
    let second_slowest = latencies[DEATHS - 2];
    kernel::serial_println!(
        "reaper wakeup: exit to teardown of {DEATHS} beside {SPINNERS} spinners: median {} us, slowest {} us",
        micros(latencies[DEATHS / 2]),
        micros(latencies[DEATHS - 1])
    );
    // All but the slowest: a QEMU whose host thread is not running for a while stalls one
    // exit now and then, which is not the reaper's doing. A reaper behind the spinners
    // makes every exit wait a tick per spinner on its CPU.
    assert!(
        second_slowest <= 2 * tick_cycles(),
        "stacks were freed up to {} us after their thread's exit, more than two ticks: the reaper waited behind the spinners",
        micros(second_slowest)
    );
}

#[test_case]
fn a_woken_reaper_preempts_the_spinning_thread_before_that_cpus_next_tick() {
    const DEATHS: usize = 7;
    let threads_before = slots::in_use();
    let spinners = saturate_every_cpu(SPINNERS, spin_loop);
    let ipis_before = reschedule_ipis();
    let mut latencies: Vec<u64> =
        (0..DEATHS).map(|_| exit_to_teardown_cycles(exit_just_after_a_tick)).collect();
    let ipis = reschedule_ipis() - ipis_before;
    stop_spinning(spinners);
    assert_eq!(slots::in_use(), threads_before, "a thread was not torn down");
    latencies.sort_unstable();
    let micros = |cycles: u64| cycles * 1_000_000 / time::tsc_hz();
    let median = latencies[DEATHS / 2];
    kernel::serial_println!(
        "reaper wakeup: exit to teardown of {DEATHS} exits just after a tick: median {} us, slowest {} us, {ipis} reschedule IPIs",
        micros(median),
        micros(latencies[DEATHS - 1])
    );
    // The median, not the slowest: a CPU of a QEMU whose host thread is not running takes
    // its IPI late, and such a stall is not the reaper's doing. Waiting for the tick would
    // make every exit here wait half a tick or more.
    assert!(
        median < tick_cycles() / 2,
        "stacks were freed a median {} us after an exit just after a tick: the reaper waited for a tick",
        micros(median)
    );
    assert!(
        ipis >= DEATHS as u64,
        "{ipis} reschedule IPIs for {DEATHS} reaper wake-ups beside spinning threads: the wake-ups preempted nothing"
    );
}

#[test_case]
fn a_reaper_woken_where_preemption_is_disabled_runs_when_the_section_ends() {
    const DEATHS: usize = 7;
    let threads_before = slots::in_use();
    // The global reaper goes where it last ran unless a CPU is idle. One exit while this
    // (boot, pinned) thread spins on CPU 0 sends it to an idle CPU other than CPU 0, if
    // there is one; the exits below happen on CPU 0, so at -smp 2 and more their wake-ups
    // reach the reaper's CPU by IPI, inside a section without preemption (at -smp 1, and for
    // a per-CPU reaper, they are the CPU's own, taken between sections).
    let first = sched::spawn("dying", || {}).expect("spawn failed");
    while slots::in_use() > threads_before {
        spin_loop();
    }
    drop(first);
    let spinners = saturate_every_cpu(u64::from(cpu::online_count()), spin_mostly_without_preemption);
    let mut latencies: Vec<u64> = (0..DEATHS).map(|_| exit_to_teardown_cycles(|| {})).collect();
    stop_spinning(spinners);
    assert_eq!(slots::in_use(), threads_before, "a thread was not torn down");
    latencies.sort_unstable();
    let micros = |cycles: u64| cycles * 1_000_000 / time::tsc_hz();
    let median = latencies[DEATHS / 2];
    kernel::serial_println!(
        "reaper wakeup: exit to teardown of {DEATHS} exits beside threads mostly without preemption: median {} us, slowest {} us",
        micros(median),
        micros(latencies[DEATHS - 1])
    );
    // Waiting instead for a tick that finds preemption enabled (one in twenty-one) would
    // make most exits wait many ticks; the sections are an eighth of a tick long, and the
    // rest of the bound is for a QEMU whose CPUs' host threads take turns.
    assert!(
        median < tick_cycles(),
        "stacks were freed a median {} us after their exit: a reaper woken during a section without preemption waited for a tick",
        micros(median)
    );
}
