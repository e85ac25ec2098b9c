//! The kernel's executor: one for every CPU, with a ready queue per CPU and stealing.
//!
//! A task belongs to no CPU. A spawn, or a wake from any context (an interrupt handler,
//! the switch path), makes the task ready on the queue of the CPU it runs on: the off-CPU
//! event the switch path fires makes a dead thread's teardown ready on the CPU the thread
//! died on, where its stack and slot were last touched. Each CPU polls its own queue first
//! and, once it is empty, steals ready tasks from the other CPUs' queues — at its idle
//! loop, its ticks and its voluntary switches — so a busy CPU's backlog goes to CPUs with
//! room instead of waiting for it. The executor lets only one CPU poll a task at a time (a
//! wake during a poll queues the task again when the poll ends), so a task's locks are
//! never contended, and `run_ready`'s no-re-entry rule is per CPU.
//!
//! Waking sends no IPI: a task becomes ready on the CPU the wake runs on, which is awake.
//! An idle CPU whose queue is empty does not halt while any queue holds a ready task
//! (`Cpu::halt_unless_work`); a halted one looks again at its next tick, so work on a busy
//! CPU's queue waits at most a tick for an idle thief. Kicking halted CPUs for every task
//! ready on a busy CPU would cost an IPI per thread exit in the common hand-off where the
//! dying thread's CPU goes on to run its joiner, which tears it down a moment later itself.
//!
//! One clock: the boot CPU's tick advances the executor's, which is the kernel's
//! (`time::ticks`, `sleep`), and every CPU's polling fires expired timers. Spawning is
//! allowed from interrupt context: the kernel heap masks interrupts while it is held, and
//! the ready queues never allocate.

use conquer_once::spin::OnceCell;
use executor::{Executor, SpawnError, TaskId};

use crate::sched::cpu::{MAX_CPUS, this_cpu_index};
use crate::sched::idle::InterruptControl;

/// Tasks alive at once besides one teardown task per possible thread.
pub const SPARE_TASKS: usize = 1024;

/// The task limit is never below this (what it was before it grew with the thread limit).
pub const MIN_TASKS: usize = 16 * 1024;

/// Tasks alive at once, all CPUs together, at most; also each CPU's ready queue's
/// capacity: the thread limit (every thread's teardown task may be ready on one CPU) and
/// `SPARE_TASKS`.
pub fn max_tasks() -> usize {
    (crate::mm::sizing().max_threads + SPARE_TASKS).max(MIN_TASKS)
}

/// Tasks polled per round of the idle loop before timers are checked again.
pub const POLL_BUDGET: usize = 64;

static EXECUTOR: OnceCell<Executor> = OnceCell::uninit();

/// Creates the executor, with a ready queue for each CPU of the machine (it allocates
/// them), and makes its clock the kernel's (`time::set_clock`). After the MADT is read.
pub fn init() {
    let cpus = (crate::arch::acpi::topology().cpu_count() as usize).min(MAX_CPUS);
    EXECUTOR.init_once(|| {
        Executor::with_config(executor::Config {
            max_tasks: max_tasks(),
            queues: cpus,
            current_queue: Some(this_cpu_queue),
            trace_sink: Some(crate::trace::task_event),
            critical_section: Some(with_interrupts_masked),
        })
    });
    crate::time::set_clock(executor());
}

/// The executor's `current_queue`: this CPU's, by its index. From any context.
fn this_cpu_queue() -> usize {
    this_cpu_index() as usize
}

/// The executor's critical section: masking interrupts keeps this CPU's timer interrupt
/// from landing inside a ready-queue operation or a timer lock it interrupted; other
/// CPUs are kept out by the queues' atomics and the timer lock itself.
fn with_interrupts_masked(work: &mut dyn FnMut()) {
    x86_64::instructions::interrupts::without_interrupts(work);
}

/// The executor. Panics before `init`.
pub fn executor() -> &'static Executor {
    try_executor().expect("tasks: executor used before tasks::init")
}

/// The executor, or `None` before it exists (for interrupt handlers that may fire early).
pub fn try_executor() -> Option<&'static Executor> {
    EXECUTOR.get()
}

/// Switches task tracing (`trace::task_event`) on or off.
pub fn set_tracing(on: bool) {
    executor().set_tracing(on);
}

/// Tasks alive, all CPUs together.
pub fn live_tasks() -> usize {
    executor().live_tasks()
}

/// Whether a task is ready on any CPU's queue: one this CPU would poll or steal.
pub fn any_ready() -> bool {
    try_executor().is_some_and(|executor| executor.queued_tasks() > 0)
}

/// A future that completes `ticks` ticks of the kernel's clock from now.
pub fn sleep(ticks: executor::Ticks) -> executor::Sleep {
    executor().sleep(ticks)
}

/// Heap allocations `Executor::spawn` makes: the future's box and the task.
const SPAWN_HEAP_ALLOCATIONS: usize = 2;

/// Spawns a task, ready on this CPU's queue. Its allocations are fallible and are the
/// `heap` kind's to fail (`fault_injection`): each is a place of its own, so that a sweep
/// counts as many places as the spawn makes heap calls.
pub fn spawn<F>(name: &'static str, future: F) -> Result<TaskId, SpawnError>
where
    F: core::future::Future<Output = ()> + Send + 'static,
{
    let refused = (0..SPAWN_HEAP_ALLOCATIONS)
        .any(|_| crate::fault_injection::refuses(crate::fault_injection::Kind::Heap));
    if refused {
        return Err(SpawnError::OutOfMemory);
    }
    executor().spawn(name, future)
}

/// Tasks ready on this CPU's own queue: a hint, since a preemptible caller may be on another
/// CPU by the time it acts on it.
pub fn ready_here() -> usize {
    try_executor().map_or(0, |executor| executor.queued_tasks_on(this_cpu_queue()))
}

/// Polls up to `budget` ready tasks as this CPU: its own queue's first, then stolen ones.
/// Call with preemption disabled (the thread must stay on this CPU while it polls as it),
/// never from inside a poll. Returns how many polls it made.
pub fn run_ready(budget: usize) -> usize {
    executor().run_ready(this_cpu_queue(), budget)
}

/// Polls tasks as whatever CPU the caller is on, halting the CPU when no task is ready on
/// any queue, until `done` returns true.
pub fn run_until(done: impl FnMut() -> bool) {
    executor().run_until(&InterruptControl, POLL_BUDGET, done);
}
