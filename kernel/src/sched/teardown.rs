//! A thread's death: `die`, and its teardown — Lethe's reaping, as a future.
//!
//! The thread half of the exit protocol drawn in `process::exit`: `die` (Running → Dead)
//! is the dead thread's last act; the switch path (`switch::finish_switch`, Dead →
//! OffCpu) hands it over; the teardown here (OffCpu → TornDown) frees what it ran on.
//!
//! The teardown task is spawned with its thread (so exit never allocates, R3). It awaits
//! the off-CPU event of the thread's slot — fired by the switch path once the thread has
//! left its CPU for good — takes the switch path's reference back, and only then runs the
//! teardown body: free the stack (poisoned on free), give the slot back and the user's
//! task charge (the thread counts drop here, R8) and announce the thread torn down. The
//! reapers of `reaping` run the same body. The control block goes when the last reference
//! to it does. Both ends count for `reaping_stats` (a death, a thread freed and how long
//! after) and `reaping` (whether the teardown ran on the CPU the thread died on).
//!
//! The off-CPU event's wake makes the teardown task ready on the CPU the thread died on
//! (`tasks`); an idle CPU may steal it from there.

use core::sync::atomic::{AtomicU64, Ordering};

use hardware::context::RetireError;

use super::cpu::{this_cpu, try_this_cpu};
use super::reaping;
use super::thread::{Thread, ThreadState, TornDown};
use super::{reaping_stats, slots};
use crate::mm::pool::PoolArc;
use crate::mm::stacks;

/// Ends the calling thread. Never returns: the thread is switched away from for good and
/// its teardown task, or a reaper, frees the rest.
pub fn die() -> ! {
    x86_64::instructions::interrupts::disable();
    let cpu = this_cpu();
    let me = cpu.current();
    assert!(!cpu.is_permanent(&me), "sched: the boot and idle threads never exit");
    me.exit_tsc.store(crate::arch::cpu::read_tsc(), Ordering::Relaxed);
    reaping_stats::died();
    me.set_state(ThreadState::Dead);
    crate::trace::thread_event(&me, "exit");
    drop(me);
    // NOTE: WE ARE NO LONGER ALLOWED TO SLEEP! From here on: no await, no allocation, no
    // lock a task may hold. The next switch is this thread's last; the switch path hands
    // it to its teardown task, made at spawn, or to a reaper's dead list.
    super::switch::schedule();
    panic!("sched: a dead thread was switched back to");
}

/// How a dead thread reached the code that tears it down.
pub(super) enum Via {
    /// Its slot: the switch path fired the off-CPU event (the `Future` strategy).
    OffCpuEvent,
    /// A reaper's dead list: the switch path pushed it there once it was off its CPU, and
    /// the slot's event never fired.
    DeadList,
}

/// The teardown task of `thread`, made with it (the `Future` strategy).
pub(super) async fn off_cpu_then_tear_down(thread: PoolArc<Thread>) {
    let slot = slots::slot(thread.slot);
    slot.off_cpu.wait().await;
    let handed_over = slot.handoff.take().expect("sched: the switch path handed no thread over");
    assert!(PoolArc::ptr_eq(&handed_over, &thread), "sched: a slot handed over another thread");
    drop(handed_over);
    tear_down(thread, Via::OffCpuEvent);
}

/// The teardown body every reaping strategy runs: frees the stack of `dead`, which has left
/// its CPU for good, gives its slot back and announces it torn down. Runs in task context
/// or on a reaper thread with preemption disabled (it takes the stack allocator's lock).
pub(super) fn tear_down(dead: PoolArc<Thread>, via: Via) {
    crate::trace::thread_event(&dead, "teardown");
    // R1, checked where the stack is freed: the thread is dead, off its CPU (its event has
    // fired, or the switch path put it on a dead list after switching away), and it is not
    // running here.
    assert_eq!(dead.state(), ThreadState::Dead, "sched: tearing down a thread that is not dead");
    if let Some(cpu) = try_this_cpu() {
        assert!(!PoolArc::ptr_eq(&cpu.current(), &dead), "sched: tearing down the running thread");
    }
    let slot = slots::slot(dead.slot);
    match via {
        Via::OffCpuEvent => {
            assert!(slot.off_cpu.has_fired(), "sched: tearing down a thread still on its CPU")
        }
        Via::DeadList => assert!(
            !slot.off_cpu.has_fired() && slot.handoff.is_empty(),
            "sched: a reaper-strategy thread went through its slot"
        ),
    }
    let stack = match slot.context.retire() {
        Ok(stack) => stack,
        Err(RetireError::OnCpu) => panic!("sched: tearing down a thread a CPU is still on; R1 broken"),
        Err(RetireError::Vacant) => panic!("sched: a thread torn down twice; R4 broken"),
    };
    stacks::free(stack);
    drop(dead.task_charge.lock().take());
    crate::trace::thread_event(&dead, "stack-freed");
    let exit_to_freed_cycles = record_exit_latency(&dead);
    match via {
        Via::OffCpuEvent => slots::release(dead.slot),
        Via::DeadList => slots::release_unused(dead.slot),
    }
    reaping_stats::freed(cycles_to_nanos(exit_to_freed_cycles));
    let dying_cpu = dead.last_cpu.load(Ordering::Relaxed);
    reaping::count_teardown_place(try_this_cpu().is_some_and(|cpu| cpu.id() == dying_cpu));
    // Counted before the event fires (R8): a joiner that sees its thread torn down finds it
    // in the count, on any CPU.
    reaping::count_reaped(dead.strategy());
    crate::trace::thread_event(&dead, "torn-down");
    // Interrupts off, as the event's rule asks: a joiner that sees it firing polls again
    // until it has fired.
    x86_64::instructions::interrupts::without_interrupts(|| dead.torn_down.fire(TornDown::new()));
}

/// TSC cycles from the last thread's exit to its stack being freed.
static LAST_EXIT_TO_TEARDOWN_CYCLES: AtomicU64 = AtomicU64::new(0);

fn record_exit_latency(thread: &Thread) -> u64 {
    let cycles = crate::arch::cpu::read_tsc().saturating_sub(thread.exit_tsc.load(Ordering::Relaxed));
    LAST_EXIT_TO_TEARDOWN_CYCLES.store(cycles, Ordering::Relaxed);
    cycles
}

fn cycles_to_nanos(cycles: u64) -> u64 {
    (u128::from(cycles) * 1_000_000_000 / u128::from(crate::time::tsc_hz().max(1))) as u64
}

/// TSC cycles between the most recent thread exit and its stack being freed.
pub fn last_exit_to_teardown_cycles() -> u64 {
    LAST_EXIT_TO_TEARDOWN_CYCLES.load(Ordering::Relaxed)
}
