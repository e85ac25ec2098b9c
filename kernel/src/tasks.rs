//! The kernel's executor: one per CPU in time, one for the boot CPU today.
//!
//! The timer interrupt advances its clock (`Executor::tick`, lock-free); the boot CPU's idle
//! loop (`run_until`) polls it and halts with the lost-wakeup-free protocol of
//! `executor::Platform`. Spawning is allowed from interrupt context: the kernel heap masks
//! interrupts while it is held, and the ready queue never allocates.

use conquer_once::spin::OnceCell;
use executor::{Executor, SpawnError, TaskId};

use crate::arch::cpu::InterruptControl;

/// Tasks alive at once, at most; also the ready queue's capacity.
pub const MAX_TASKS: usize = 16 * 1024;

/// Tasks polled per round of the idle loop before timers are checked again.
pub const POLL_BUDGET: usize = 64;

static EXECUTOR: OnceCell<Executor> = OnceCell::uninit();

/// Creates the executor (it allocates its ready queue).
pub fn init() {
    EXECUTOR.init_once(|| {
        Executor::with_config(executor::Config {
            max_tasks: MAX_TASKS,
            trace_sink: Some(crate::trace::task_event),
            critical_section: Some(with_interrupts_masked),
        })
    });
}

/// The executor's critical section: on one CPU, masking interrupts keeps the timer
/// interrupt's polling from landing inside a ready-queue operation or the timer lock.
fn with_interrupts_masked(work: &mut dyn FnMut()) {
    x86_64::instructions::interrupts::without_interrupts(work);
}

/// The boot CPU's executor. Panics before `init`.
pub fn executor() -> &'static Executor {
    EXECUTOR.get().expect("tasks: executor used before tasks::init")
}

/// The executor, or `None` before `init` (for interrupt handlers that may fire early).
pub fn try_executor() -> Option<&'static Executor> {
    EXECUTOR.get()
}

/// Spawns a task on the executor.
pub fn spawn<F>(name: &'static str, future: F) -> Result<TaskId, SpawnError>
where
    F: core::future::Future<Output = ()> + Send + 'static,
{
    executor().spawn(name, future)
}

/// Polls tasks, halting the CPU when none is ready, until `done` returns true.
pub fn run_until(done: impl FnMut() -> bool) {
    executor().run_until(&InterruptControl, POLL_BUDGET, done);
}
