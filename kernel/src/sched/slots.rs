//! The thread-slot table: a fixed table, made at boot, with one entry per thread that can
//! exist at once — like a kernel's proc table.
//!
//! Each slot holds what the context-switch path needs to reach a thread without borrowing
//! from it: the thread's CPU context (`hardware::context::Context`: its stack, saved stack
//! pointer and whether a CPU is on it), its off-CPU event and a one-place hand-off cell
//! through which the switch path gives its reference to the dead thread to the teardown
//! task. Being in a static table, all three outlive every thread, so the switch path can
//! use them after it has let go of the thread (R7, R1).
//!
//! The table has `max_threads()` slots, set at boot from RAM (`mm::sizing`, Linux's rule:
//! kernel stacks take at most an eighth of it). Slots are claimed at spawn (lock-free
//! pop; none left → `EAGAIN`, R8) and released by
//! the teardown task once everything of the thread is freed; a released slot's event is
//! rearmed for its next thread.
//!
//! The free list is pushed and popped with interrupts off. The queue is lock-free but not
//! wait-free: a pop that has taken a place but not yet marked it done makes pushes to that
//! place spin: were a thread preempted in that window while every CPU ran a reaper
//! spinning in such a push with preemption off, no CPU would ever get to finish the pop.

use alloc::boxed::Box;

use conquer_once::spin::OnceCell;
use crossbeam_queue::ArrayQueue;
use executor::OneShotEvent;
use hardware::context::Context;
use x86_64::instructions::interrupts::without_interrupts;

use super::switch::OffCpu;
use super::thread::{self, Thread};
use crate::mm::pool::Handoff;

/// Threads that can exist at once (dead ones count until torn down), set at boot.
pub fn max_threads() -> usize {
    crate::mm::sizing().max_threads
}

/// What the switch path reaches by slot number.
pub struct ThreadSlot {
    /// Fired by the switch path once the slot's thread is off its CPU for good.
    pub off_cpu: OneShotEvent<OffCpu>,
    /// The switch path's reference to the dead thread, for its teardown task.
    pub handoff: Handoff<Thread>,
    /// Where the slot's thread runs: its kernel stack, its saved stack pointer, whether a
    /// CPU is on it. Installed at spawn (adopted, for a CPU's boot thread), retired by the
    /// teardown, which takes the stack back to free it.
    pub context: Context,
}

struct Table {
    slots: Box<[ThreadSlot]>,
    free: ArrayQueue<u32>,
}

static TABLE: OnceCell<Table> = OnceCell::uninit();

pub(super) fn init() {
    TABLE.init_once(|| {
        let slots = (0..max_threads()).map(|_| ThreadSlot {
            off_cpu: OneShotEvent::new(),
            handoff: Handoff::new(thread::pool()),
            context: Context::vacant(),
        });
        let free = ArrayQueue::new(max_threads());
        for slot in 0..max_threads() as u32 {
            free.push(slot).expect("sched: slot free list sized wrong");
        }
        Table { slots: slots.collect(), free }
    });
}

fn table() -> &'static Table {
    TABLE.get().expect("sched: thread slots used before sched::init")
}

/// Slot `index`.
pub fn slot(index: u32) -> &'static ThreadSlot {
    &table().slots[index as usize]
}

/// A free slot, or `None` when `max_threads()` threads exist.
pub(super) fn claim() -> Option<u32> {
    if crate::fault_injection::refuses(crate::fault_injection::Kind::ThreadSlot) {
        return None;
    }
    without_interrupts(|| table().free.pop())
}

/// Gives back the slot of a torn-down thread, rearming its event for the next one.
pub(super) fn release(index: u32) {
    let slot = slot(index);
    assert!(slot.handoff.is_empty(), "sched: slot {index} released with a thread still handed over");
    slot.off_cpu.rearm();
    release_unused(index);
}

/// Gives back a slot whose thread never ran (spawn failed half-way).
pub(super) fn release_unused(index: u32) {
    if without_interrupts(|| table().free.push(index)).is_err() {
        panic!("sched: thread slot {index} released twice; R4 broken");
    }
}

/// Threads that exist: running, runnable, blocked, or dead and not yet torn down.
pub fn in_use() -> usize {
    max_threads() - table().free.len()
}

#[cfg(test)]
mod tests {
    use hardware::context::RetireError;

    use super::*;

    #[test_case]
    fn r1_the_stack_of_the_running_thread_cannot_be_taken() {
        let me = super::super::cpu::current_thread();
        assert_eq!(slot(me.slot).context.retire().err(), Some(RetireError::OnCpu));
    }

    #[test_case]
    fn r4_a_stack_is_handed_back_once_and_a_vacant_context_has_none() {
        let index = claim().expect("a free slot");
        let context = &slot(index).context;
        assert_eq!(context.retire().err(), Some(RetireError::Vacant));
        let stack = crate::mm::stacks::allocate("test").expect("a stack");
        let top = stack.top();
        context.install(stack, super::super::switch::thread_start).expect("a vacant context takes a stack");
        assert_eq!(context.stack_top(), top);
        assert!(!context.is_on_cpu());
        let refused = crate::mm::stacks::allocate("test").expect("a stack");
        let refused =
            context.install(refused, super::super::switch::thread_start).expect_err("one stack at a time");
        crate::mm::stacks::free(refused);
        let stack = context.retire().expect("an off-CPU context gives its stack back");
        assert_eq!(stack.top(), top);
        assert_eq!(context.retire().err(), Some(RetireError::Vacant), "handed back once");
        crate::mm::stacks::free(stack);
        release_unused(index);
    }
}
