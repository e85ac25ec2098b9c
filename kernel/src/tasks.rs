//! The kernel's executors: one per CPU, each polled only by its own CPU.
//!
//! Tasks are pinned: a task lives on the executor of the CPU that spawned it and is polled
//! only there, so a task's locks are never taken by two pollers at once and `run_ready`'s
//! no-re-entry rule is per CPU. Waking is global: a waker fired on any CPU pushes the task
//! onto its own executor's lock-free ready queue (a remote enqueue), and the executor's
//! push hook (`sched::cpu::kick`) sends that CPU a reschedule IPI if it is halted. Pinning
//! rather than stealing keeps a teardown task next to the thread-creation path that made
//! it, and costs nothing in balance: every CPU polls its executor at each tick, in its idle
//! loop and at voluntary switches.
//!
//! One clock: the boot CPU's tick advances its executor's timers, which are the kernel's
//! (`time::ticks`, `sleep`); the other executors' clocks stay at 0, so every sleep goes
//! through `sleep`, whatever CPU its task or thread runs on (ticks of separate CPUs drift
//! apart under an emulator that does not run every vCPU all the time). Spawning is allowed from interrupt context: the kernel
//! heap masks interrupts while it is held, and the ready queue never allocates.

use conquer_once::spin::OnceCell;
use executor::{Executor, PushHook, SpawnError, TaskId};

use crate::sched::cpu::{MAX_CPUS, this_cpu_index};
use crate::sched::idle::InterruptControl;

/// Tasks alive at once on one CPU's executor besides one teardown task per possible
/// thread (a CPU may make every thread).
pub const SPARE_TASKS: usize = 1024;

/// The task limit is never below this (what it was before it grew with the thread limit).
pub const MIN_TASKS: usize = 16 * 1024;

/// Tasks alive at once on one CPU's executor, at most; also its ready queue's capacity:
/// the thread limit (every thread's teardown task may sit on one CPU) and `SPARE_TASKS`.
pub fn max_tasks() -> usize {
    (crate::mm::sizing().max_threads + SPARE_TASKS).max(MIN_TASKS)
}

/// Tasks polled per round of the idle loop before timers are checked again.
pub const POLL_BUDGET: usize = 64;

static EXECUTORS: [OnceCell<Executor>; MAX_CPUS] = [const { OnceCell::uninit() }; MAX_CPUS];

/// Creates the boot CPU's executor (it allocates its ready queue) and makes its clock the
/// kernel's (`time::set_clock`).
pub fn init() {
    init_cpu(0);
    crate::time::set_clock(clock());
}

/// Creates the executor of CPU `cpu_index`, before that CPU polls or spawns anything.
pub fn init_cpu(cpu_index: u32) {
    EXECUTORS[cpu_index as usize].init_once(|| {
        Executor::with_config(executor::Config {
            max_tasks: max_tasks(),
            trace_sink: Some(crate::trace::task_event),
            critical_section: Some(with_interrupts_masked),
            push_hook: Some(PushHook { call: kick_owner, argument: cpu_index as usize }),
        })
    });
}

fn kick_owner(cpu_index: usize) {
    crate::sched::cpu::kick(cpu_index as u32);
}

/// The executor's critical section: masking interrupts keeps this CPU's timer interrupt
/// from landing inside a ready-queue operation or a timer lock it interrupted; other
/// CPUs are kept out by the queue's atomics and the timer lock itself.
fn with_interrupts_masked(work: &mut dyn FnMut()) {
    x86_64::instructions::interrupts::without_interrupts(work);
}

/// This CPU's executor. Panics before `init`.
pub fn executor() -> &'static Executor {
    executor_of(this_cpu_index()).expect("tasks: executor used before tasks::init")
}

/// CPU `cpu_index`'s executor, if it has one yet.
pub fn executor_of(cpu_index: u32) -> Option<&'static Executor> {
    EXECUTORS.get(cpu_index as usize)?.get()
}

/// This CPU's executor, or `None` before it exists (for interrupt handlers that may fire
/// early).
pub fn try_executor() -> Option<&'static Executor> {
    executor_of(this_cpu_index())
}

/// Whether tasks wait in this CPU's ready queue: a hint, since a preemptible caller may be
/// on another CPU by the time it acts on it.
pub fn ready_here() -> bool {
    try_executor().is_some_and(|executor| executor.queued_tasks() > 0)
}

/// Every executor made so far.
pub fn executors() -> impl Iterator<Item = &'static Executor> {
    EXECUTORS.iter().filter_map(OnceCell::get)
}

/// Switches task tracing (`trace::task_event`) on or off, on every CPU's executor.
pub fn set_tracing(on: bool) {
    executors().for_each(|executor| executor.set_tracing(on));
}

/// Tasks alive on all CPUs.
pub fn live_tasks() -> usize {
    executors().map(Executor::live_tasks).sum()
}

/// The kernel's clock: the boot CPU's executor, whose clock the boot CPU's tick advances.
pub fn clock() -> &'static Executor {
    executor_of(0).expect("tasks: clock read before tasks::init")
}

/// A future that completes `ticks` ticks of the kernel's clock from now. Its waker may
/// belong to any CPU's task or thread.
pub fn sleep(ticks: executor::Ticks) -> executor::Sleep {
    clock().sleep(ticks)
}

/// Heap allocations `Executor::spawn` makes: the future's box and the task.
const SPAWN_HEAP_ALLOCATIONS: usize = 2;

/// Spawns a task on this CPU's executor. Its allocations are fallible and are the
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

/// Polls this CPU's tasks, halting the CPU when none is ready, until `done` returns true.
pub fn run_until(done: impl FnMut() -> bool) {
    executor().run_until(&InterruptControl, POLL_BUDGET, done);
}
