//! The interrupt control the idle loop needs from the machine it runs on.
//!
//! Lost-wakeup rule: the idle loop checks "nothing to do" with interrupts disabled and then
//! enables them and halts in one step (`sti; hlt` on x86: an interrupt that arrives after
//! `sti` is taken only after `hlt` has begun, and ends it). An interrupt that wakes a task
//! between the check and the halt therefore ends the halt instead of being slept through.

/// Interrupt control for `Executor::run_until`.
pub trait Platform {
    /// Disables interrupts on this CPU.
    fn disable_interrupts(&self);
    /// Enables interrupts on this CPU.
    fn enable_interrupts(&self);
    /// Enables interrupts and halts until the next interrupt, with no window between the
    /// two in which an interrupt could be taken before the halt begins.
    fn enable_interrupts_and_halt(&self);

    /// Runs one round of polling. A kernel wraps it to keep the CPU from being preempted
    /// while a task holds its locks; the default just polls.
    fn around_poll<R>(&self, poll: impl FnOnce() -> R) -> R {
        poll()
    }
}
