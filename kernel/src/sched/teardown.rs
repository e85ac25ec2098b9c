//! The teardown task: Lethe's reaping, as a future.
//!
//! Spawned with its thread (so exit never allocates, R3), it awaits the off-CPU event of
//! the thread's slot — fired by the switch path once the thread has left its CPU for good —
//! and only then frees the thread's stack (poisoned on free), takes the switch path's
//! reference back, gives the slot back (the thread count drops here, R8) and announces the
//! thread torn down. The control block goes when the last reference to it does.

use core::sync::atomic::Ordering;

use super::cpu::try_this_cpu;
use super::slots;
use super::thread::{Thread, ThreadState, TornDown};
use crate::mm::pool::PoolArc;
use crate::mm::stacks;

pub(super) async fn teardown(thread: PoolArc<Thread>) {
    let slot = slots::slot(thread.slot);
    slot.off_cpu.wait().await;
    crate::trace::thread_event(&thread, "teardown");
    // R1, checked where the stack is freed: the thread is dead, its off-CPU event has fired,
    // and it is not running here.
    assert_eq!(thread.state(), ThreadState::Dead, "sched: tearing down a thread that is not dead");
    assert!(slot.off_cpu.has_fired(), "sched: tearing down a thread still on its CPU");
    if let Some(cpu) = try_this_cpu() {
        assert!(!PoolArc::ptr_eq(&cpu.current(), &thread), "sched: tearing down the running thread");
    }
    let handed_over = slot.handoff.pop().expect("sched: the switch path handed no thread over");
    assert!(PoolArc::ptr_eq(&handed_over, &thread), "sched: a slot handed over another thread");
    let stack = thread.stack.lock().take().expect("sched: a thread torn down twice; R4 broken");
    stacks::free(stack);
    crate::trace::thread_event(&thread, "stack-freed");
    record_exit_latency(&thread);
    drop(handed_over);
    slots::release(thread.slot);
    crate::trace::thread_event(&thread, "torn-down");
    thread.torn_down.fire(TornDown(()));
}

/// TSC cycles from the last thread's exit to its stack being freed.
static LAST_EXIT_TO_TEARDOWN_CYCLES: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

fn record_exit_latency(thread: &Thread) {
    let cycles = crate::arch::cpu::read_tsc().saturating_sub(thread.exit_tsc.load(Ordering::Relaxed));
    LAST_EXIT_TO_TEARDOWN_CYCLES.store(cycles, Ordering::Relaxed);
}

/// TSC cycles between the most recent thread exit and its stack being freed.
pub fn last_exit_to_teardown_cycles() -> u64 {
    LAST_EXIT_TO_TEARDOWN_CYCLES.load(Ordering::Relaxed)
}
