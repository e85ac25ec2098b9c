//! The switch path: choosing the next thread, switching to it, and — running in the next
//! context, on its own stack — dealing with the thread just left.
//!
//! `finish_switch` is the part docs/design.md calls the switch path. It reads whether the
//! previous thread was dead *before* publishing anything (Linux's finish_task_switch
//! lesson), and for a dead thread it gives its reference to the dead thread to the
//! teardown task through the thread's slot, then fires the slot's off-CPU event — or, for
//! a thread reaped by a reaper thread, pushes it on the reaper's dead list and wakes the
//! reaper — after which it never touches the dead thread again. It takes no lock an interrupt or another
//! CPU may hold (only its own CPU's, with interrupts off) and does not allocate (R7).
//!
//! Threads made with an FPU area get their x87/SSE registers saved before the switch and
//! restored in the switch path.
//!
//! Across CPUs: a thread is resumed only once its context (in its slot,
//! `hardware::context`) is off-CPU. `switch` marks the context it switches to on-CPU;
//! `finish_switch`, in the context switched to next, releases the one left
//! (`release_switched_from`, Release) — after the switch has stored the thread's stack
//! pointer and every register it pushed, and after the switch path has read what it needs
//! of the thread — and only then queues a preempted thread again. A CPU that pops a thread
//! whose context is still on-CPU (a blocked thread woken by another CPU while its own CPU
//! is still switching away from it) puts it back on its queue and runs something else — it
//! never waits, which could deadlock two CPUs each switching away from the thread the
//! other popped. The hardware layer refuses to switch to an on-CPU context, so no CPU ever
//! runs on a stack another CPU is still using (the live-thread twin of R1).
//!
//! The switch holds no reference to either thread on the stack it leaves: both move into
//! the CPU's `current` and `previous` first, and the switch reaches the contexts through
//! the static slot table. A dead thread's stack is never resumed, so a reference left
//! there would never be dropped.
//!
//! Called from: `schedule` with interrupts disabled and preemption enabled — from thread
//! context (yield, block, exit) or from the timer interrupt (preemption).

use core::sync::atomic::Ordering;

use super::cpu::{self, current_thread, this_cpu};
use super::reaping::{self, Strategy};
use super::slots;
use super::thread::{Priority, Start, Thread, ThreadState};
use crate::mm::pool::PoolArc;

/// Capability to fire an off-CPU event: only this module makes one.
pub struct OffCpu(());

impl OffCpu {
    /// Made with interrupts masked, as firing asks (`sync::debug_assert_interrupts_masked`).
    #[track_caller]
    fn new() -> Self {
        crate::sync::debug_assert_interrupts_masked();
        Self(())
    }
}

/// Switches to the next runnable thread, or returns at once if there is none and the
/// current thread can go on. Interrupts must be disabled.
pub(super) fn schedule() {
    assert!(
        !x86_64::instructions::interrupts::are_enabled(),
        "sched: schedule called with interrupts enabled"
    );
    let cpu = this_cpu();
    assert!(!cpu.preempt_disabled(), "sched: schedule called with preemption disabled");
    crate::watchdog::touch();
    let previous = cpu.take_current();
    let previous_state = previous.state();
    // A running kernel-priority thread gives way only to another (`cpu`'s module doc).
    let at_least =
        if previous_state == ThreadState::Running { previous.priority() } else { Priority::Normal };
    let next = match cpu.next_runnable(at_least) {
        // Woken before it got away: it runs on (its queue entry is the one just popped).
        Some(next) if PoolArc::ptr_eq(&next, &previous) => {
            previous.set_state(ThreadState::Running);
            cpu.set_current(previous);
            return;
        }
        Some(next) => next,
        None if previous_state == ThreadState::Running => {
            cpu.set_current(previous);
            return;
        }
        None => cpu.idle().clone(),
    };
    let next = if slots::slot(next.slot).context.is_on_cpu() {
        // Another CPU is still switching away from `next`. Waiting for it here could be
        // forever: that CPU may be waiting, just so, for `previous` (found at -smp 4 by the
        // SMP stress: two CPUs each blocked a thread, each popped the other's, and both
        // spun in here for good). `next` goes back on this CPU's queue, and this CPU keeps
        // the previous thread or runs its idle thread, which no other CPU ever runs.
        cpu.enqueue(next);
        if previous_state == ThreadState::Running {
            cpu.set_current(previous);
            return;
        }
        cpu.idle().clone()
    } else {
        next
    };
    let requeue = previous_state == ThreadState::Running && !PoolArc::ptr_eq(&previous, cpu.idle());
    if requeue {
        // At its tick or yielding, a thread goes behind every thread that waits; preempted
        // by a kernel-priority thread (a reaper), it keeps its turn, ahead of the run queue
        // as a woken thread is — a reaper's run costs nobody a time slice.
        previous.woken.store(next.priority() == Priority::Kernel, Ordering::Relaxed);
        previous.set_state(ThreadState::Runnable);
    }
    next.last_cpu.store(cpu.id(), Ordering::Relaxed);
    cpu.charge_stint(super::cpu_time::close_stint(cpu, &previous));
    cpu.note_running(PoolArc::ptr_eq(&next, cpu.idle()), next.priority(), next.woken.load(Ordering::Relaxed));
    next.set_state(ThreadState::Running);
    if let Some(fpu) = &previous.fpu {
        crate::arch::fpu::save(&mut fpu.lock());
    }
    if next.process().is_some() {
        crate::arch::user::set_fs_base(next.fs_base.load(Ordering::Relaxed));
    }
    let root = next.process().map_or_else(crate::mm::kernel_root, |process| process.page_table_root());
    // The kernel's, or the live address space of `next`'s process (the process, and so its
    // address space, outlives its threads).
    crate::mm::spaces::load_root(root);
    cpu.count_switch();
    let (from, to) = (&slots::slot(previous.slot).context, &slots::slot(next.slot).context);
    // The references move to the CPU, which keeps them across the switch: nothing on this
    // stack holds one while it is switched away from (a dead thread's never comes back).
    cpu.set_current(next);
    cpu.set_previous(previous, requeue);
    crate::arch::context::switch(from, to);
    finish_switch();
}

/// The switch path, in the context switched to. See the module doc.
pub(super) fn finish_switch() {
    let cpu = this_cpu();
    // The resumed thread's x87/SSE registers, if it has its own (a clone of `current`,
    // which keeps its own reference, so dropping it never frees anything here).
    if let Some(fpu) = &cpu.current().fpu {
        crate::arch::fpu::restore(&fpu.lock());
    }
    let Some((previous, requeue)) = cpu.take_previous() else { return };
    // Everything about the thread is read before its context is released: after that,
    // another CPU may run it, and it may die there (Linux's finish_task_switch lesson).
    if previous.state() == ThreadState::Dead {
        crate::arch::context::release_switched_from(&slots::slot(previous.slot).context);
        crate::mm::heap::forbidding_heap(|| hand_over_dead(previous));
        return;
    }
    if !requeue {
        // Blocked, or already woken and queued: a waker or a run queue entry holds another
        // reference, and until its context is released the thread cannot run, so cannot end.
        assert!(
            PoolArc::reference_count(&previous) > 1,
            "sched: switch path holds the last reference to a live thread"
        );
    }
    crate::arch::context::release_switched_from(&slots::slot(previous.slot).context);
    if requeue {
        // Back on the CPU it just left, which is awake: no IPI.
        cpu.enqueue(previous);
    }
}

/// Gives the switch path's reference to a dead thread, now off its CPU, to whatever tears
/// it down, and never touches the thread again. Must not touch the heap (R7).
fn hand_over_dead(previous: PoolArc<Thread>) {
    crate::trace::thread_event(&previous, "off-cpu");
    if previous.strategy() != Strategy::Future {
        reaping::hand_to_reaper(previous);
        return;
    }
    let slot = slots::slot(previous.slot);
    if slot.handoff.put(previous).is_err() {
        panic!("sched: a dead thread's hand-off slot was full; R4 broken");
    }
    // The last access to the dead thread's slot; the thread itself was handed over above.
    slot.off_cpu.fire(OffCpu::new());
}

/// First code a new thread runs: finish the switch that started it, then, with interrupts
/// on, run its kernel closure and exit, or enter user mode.
pub(super) extern "C" fn thread_start() -> ! {
    finish_switch();
    let start = current_thread().start.lock().take();
    x86_64::instructions::interrupts::enable();
    match start {
        Some(Start::Kernel(entry)) => entry(),
        Some(Start::User { entry, stack_pointer }) => {
            on_return_to_user();
            crate::arch::user::enter_user(entry, stack_pointer)
        }
        Some(Start::Fork(registers)) => {
            on_return_to_user();
            crate::arch::syscall::return_to_user(&registers)
        }
        None => {}
    }
    super::teardown::die()
}

/// Lets other runnable threads run; returns when this thread is scheduled again.
pub fn yield_now() {
    poll_tasks_at_voluntary_switch();
    x86_64::instructions::interrupts::without_interrupts(schedule);
}

/// Tasks a thread polls when it gives up the CPU of its own accord.
const VOLUNTARY_SWITCH_TASK_BUDGET: usize = 8;

/// A voluntary scheduler point: before a thread blocks or yields it polls a few ready
/// tasks, so that teardown keeps pace with threads that hand the CPU to each other without
/// ever leaving it idle — a process that creates and joins threads in a loop (R5). Skipped
/// inside a poll (preemption disabled), where tasks are being run already, and when no task
/// is ready (timers are the tick's to fire), which keeps a plain switch cheap.
pub(super) fn poll_tasks_at_voluntary_switch() {
    if preemption_disabled() {
        return;
    }
    // Polled with preemption off: a thread may move to another CPU at any preemption
    // point, and a CPU polls as itself (its own queue first).
    without_preemption(|| {
        if crate::tasks::any_ready() {
            crate::tasks::run_ready(VOLUNTARY_SWITCH_TASK_BUDGET);
        }
    });
}

/// Ready tasks on a CPU's own queue at which a thread woken by a death polls them on its
/// way back to user mode: a backlog, torn down as a batch.
const WOKEN_BY_EXIT_BACKLOG: usize = 8;

/// The way back to user mode (the end of a system call or of an interrupt that came from
/// user mode, a new thread's first entry): a thread that finds ready tasks on its CPU's own
/// queue — dead threads' teardowns, say — polls them before it goes on, as Linux runs
/// pending work on its exit to user mode, with interrupts enabled, preemption disabled and
/// no lock held. The switch that brought a thread here is often a death's, so the dead
/// thread is torn down within microseconds, on the CPU it died on, without a switch (a
/// reaper needs two); a new thread pays for the dead before it first runs, as FreeBSD's
/// `thread_alloc` reaps zombie threads, and a storm's threads, each starting or waking
/// where the last one died, tear it down as they go.
///
/// The exception is the thread a death woke (`Thread::woken_by_exit`: a parent collecting
/// its child, a joiner): its way back is the death's critical path, so it leaves the
/// teardown to whoever comes next (the next thread, tick, idle loop or its own next block)
/// and polls only a backlog of `WOKEN_BY_EXIT_BACKLOG`. The check is made before anything
/// else is touched, so a return with nothing ready pays two loads.
pub fn on_return_to_user() {
    let ready = crate::tasks::ready_here();
    if ready == 0 || preemption_disabled() {
        return;
    }
    let woken_by_exit = current_thread().woken_by_exit.swap(false, Ordering::Relaxed);
    if woken_by_exit && ready < WOKEN_BY_EXIT_BACKLOG {
        return;
    }
    poll_with_interrupts_enabled(crate::tasks::POLL_BUDGET);
}

/// Polls up to `budget` ready tasks as this CPU with preemption off and interrupts enabled,
/// then leaves interrupts as it found them: how teardown runs from an interrupt's tail and
/// on the way back to user mode. Preemption must be enabled on entry.
fn poll_with_interrupts_enabled(budget: usize) {
    without_preemption(|| {
        let masked = !x86_64::instructions::interrupts::are_enabled();
        x86_64::instructions::interrupts::enable();
        crate::tasks::run_ready(budget);
        if masked {
            x86_64::instructions::interrupts::disable();
        }
    });
}

/// Polls up to the idle loop's budget of this CPU's ready tasks, unless preemption is
/// disabled (inside a poll, or holding a lock a task may take); returns how many it polled.
pub(super) fn poll_ready_tasks() -> usize {
    if preemption_disabled() {
        return 0;
    }
    without_preemption(|| crate::tasks::run_ready(crate::tasks::POLL_BUDGET))
}

/// Whether the current context may not be preempted.
pub fn preemption_disabled() -> bool {
    cpu::try_this_cpu().is_some_and(|cpu| cpu.preempt_disabled())
}

/// Preemption disabled on this CPU until dropped (nothing to disable before `sched::init`).
///
/// The CPU is found and its count raised with interrupts off: between the two, a tick
/// could move the thread to another CPU, which would then run preemptible while the first
/// CPU's count stayed raised. Once raised, the thread stays put.
pub struct PreemptionOff {
    cpu: Option<&'static cpu::Cpu>,
    /// Stays on the CPU it was made on.
    _here: core::marker::PhantomData<*const ()>,
}

impl PreemptionOff {
    pub fn new() -> Self {
        let cpu = x86_64::instructions::interrupts::without_interrupts(|| {
            let cpu = cpu::try_this_cpu()?;
            cpu.disable_preemption();
            Some(cpu)
        });
        Self { cpu, _here: core::marker::PhantomData }
    }
}

impl Default for PreemptionOff {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PreemptionOff {
    fn drop(&mut self) {
        if let Some(cpu) = self.cpu {
            cpu.enable_preemption();
        }
    }
}

/// Runs `work` with preemption disabled on this CPU (see `PreemptionOff`).
pub fn without_preemption<R>(work: impl FnOnce() -> R) -> R {
    let _off = PreemptionOff::new();
    work()
}

/// The scheduler point of the timer tick, called after the interrupt is acknowledged, with
/// interrupts masked: ready tasks — teardown among them — are polled first, then the
/// running thread's time slice ends if another thread is runnable. Skipped when the
/// interrupted code disabled preemption (it may hold a lock a task takes, or be polling
/// tasks itself); the slice then ends when the code re-enables preemption.
///
/// The tasks run with interrupts enabled again and preemption disabled, as Linux runs its
/// softirqs on the way out of an interrupt: no teardown runs with interrupts masked, yet a
/// CPU that only computes still tears down within a tick of a thread's death. An interrupt
/// that lands meanwhile finds preemption disabled and only does its own short work; a
/// thread it made runnable is seen by the `schedule` that follows.
pub fn on_timer_tick(task_budget: usize) {
    if let Some(cpu) = cpu::try_this_cpu() {
        cpu.start_tick();
    }
    scheduler_point(task_budget, true);
}

/// The scheduler point of a reschedule IPI, as `on_timer_tick`'s, except that it switches
/// only if a switch is due (`Cpu::reschedule_is_due`): an IPI does not end a time slice.
pub fn on_reschedule_ipi(task_budget: usize) {
    scheduler_point(task_budget, false);
}

/// Polls tasks, then switches: always at the end of a slice (`slice_over`, a tick), else
/// only when a switch is due. With preemption disabled, asks again when it is re-enabled.
fn scheduler_point(task_budget: usize, slice_over: bool) {
    let Some(cpu) = cpu::try_this_cpu() else { return };
    if cpu.preempt_disabled() {
        cpu.defer_reschedule(slice_over);
        return;
    }
    poll_with_interrupts_enabled(task_budget);
    if slice_over || cpu.reschedule_is_due() {
        schedule();
    }
}
