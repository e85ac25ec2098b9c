//! How a CPU idles: the executor's view of interrupt control, with the scheduler's say in
//! it.
//!
//! `sti; hlt` back to back, so an interrupt arriving after the idle check ends the halt
//! instead of being slept through; a CPU with runnable threads gives itself to them instead
//! of halting; polling runs with preemption off.

use x86_64::instructions::interrupts;

/// The executor's view of interrupt control on this CPU.
pub struct InterruptControl;

impl executor::Platform for InterruptControl {
    fn disable_interrupts(&self) {
        interrupts::disable();
    }

    fn enable_interrupts(&self) {
        interrupts::enable();
    }

    fn enable_interrupts_and_halt(&self) {
        let Some(cpu) = super::cpu::try_this_cpu() else {
            interrupts::enable_and_hlt();
            return;
        };
        // With threads waiting for a CPU, give this one to them instead of halting.
        if cpu.has_runnable() {
            super::yield_now();
            interrupts::enable();
            return;
        }
        // `sti` takes effect after the next instruction, so no interrupt fits between the
        // two: one that is pending (a reschedule IPI sent after the CPU said it halts) is
        // taken during `hlt` and ends it.
        cpu.halt_unless_work(interrupts::enable_and_hlt);
        interrupts::enable();
    }

    fn around_poll<R>(&self, poll: impl FnOnce() -> R) -> R {
        super::without_preemption(poll)
    }
}
