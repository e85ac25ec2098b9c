//! Tracing on the serial console: one machine-readable line per event, switched at run time.
//!
//! Line format (space-separated `key=value` after the word `trace`; every kind, field and
//! event is listed in `docs/tracing.md` and in `scripts/trace2perfetto`'s header, whose
//! `--check` refuses a line outside it):
//!
//! ```text
//! trace us=1234567 cpu=0 kind=task id=3 name=keyboard event=wake queued=1
//! trace us=1234570 cpu=0 kind=thread tid=12 pid=4 name=init event=exit reaped_by=task-31
//! trace us=1234575 cpu=0 kind=process pid=4 tid=12 event=zombie
//! ```
//!
//! `us` is microseconds since TSC calibration. A thread line names who tears the thread
//! down: its teardown task (`task-ID`, the same id as that task's `kind=task` lines), the
//! global `reaper` or the `percpu-reaper`; `pid=0` is a kernel thread. A process line's
//! `tid` is the thread that did it (`0`: the kernel, outside any thread). The sink runs in whatever context the event
//! happens in, interrupt handlers included; it only formats onto the serial port, which
//! masks interrupts while held.
//!
//! Tracing sits below the scheduler it traces: a thread is known here only through
//! `TracedThread`, which the scheduler's threads implement, and the running thread's id
//! through the hook `sched::init` sets (`set_current_thread`; until then a process line says
//! `tid=0`). Task tracing is switched on the executor (`tasks::set_tracing`).

use core::ops::Deref;

use executor::TraceRecord;

use crate::arch::cpu;

/// The executor's trace sink.
pub fn task_event(record: &TraceRecord) {
    crate::serial_println!(
        "trace us={} cpu={} kind=task id={} name={} event={}",
        crate::time::micros_since_boot(),
        cpu::id(),
        record.task,
        record.name,
        record.event
    );
}

static THREAD_TRACING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// What a thread line says of a thread; the scheduler's `Thread` implements it. Its methods
/// run on the switch path: they only read.
pub trait TracedThread {
    fn tid(&self) -> u64;
    /// Its process's pid; 0 for a kernel thread.
    fn pid(&self) -> u32;
    fn name(&self) -> &'static str;
    /// The id of the task that tears it down, if its reaping strategy gives it one.
    fn teardown_task(&self) -> Option<u64>;
    /// The name of its reaping strategy, which tears it down when no task does.
    fn strategy_name(&self) -> &'static str;
}

/// The running thread's id, 0 outside any thread; set once by `sched::init`.
static CURRENT_THREAD: spin::Once<fn() -> u64> = spin::Once::new();

/// Makes `current` the source of a process line's `tid`. Once, by `sched::init`.
pub fn set_current_thread(current: fn() -> u64) {
    assert!(CURRENT_THREAD.get().is_none(), "trace: the current-thread hook is set once");
    CURRENT_THREAD.call_once(|| current);
}

/// A thread lifecycle event (`spawn`, `child-tid-cleared` — its `clear_child_tid` word
/// cleared and that futex woken, what glibc's `pthread_join` waits for —, `exit`, `off-cpu`,
/// `teardown` started, `stack-freed`, `torn-down`) of the thread `thread` refers to, when
/// thread tracing is on. Called from the switch path too: it only formats onto the serial
/// port, whose lock every holder takes with interrupts off.
pub fn thread_event(thread: &impl Deref<Target: TracedThread>, event: &'static str) {
    let thread = &**thread;
    if let Some(recorder) = RECORDER.get() {
        // Lock-free and allocation-free: safe on the switch path. Full means dropped.
        let _ = recorder.push((thread.tid(), event));
    }
    if THREAD_TRACING.load(core::sync::atomic::Ordering::Relaxed) {
        let task = thread.teardown_task().unwrap_or(0);
        crate::serial_println!(
            "trace us={} cpu={} kind=thread tid={} pid={} name={} event={event} reaped_by={}{}",
            crate::time::micros_since_boot(),
            cpu::id(),
            thread.tid(),
            thread.pid(),
            thread.name(),
            if task != 0 { "task-" } else { thread.strategy_name() },
            ReapedBy(task)
        );
    }
}

/// Thread events kept for tests to read back, once `record_thread_events` has been called.
static RECORDER: conquer_once::spin::OnceCell<crossbeam_queue::ArrayQueue<(u64, &'static str)>> =
    conquer_once::spin::OnceCell::uninit();

/// Starts keeping up to `capacity` thread events (thread id, event) for `recorded_thread_events`.
pub fn record_thread_events(capacity: usize) {
    RECORDER.init_once(|| crossbeam_queue::ArrayQueue::new(capacity));
}

/// Takes the kept thread events, oldest first.
pub fn recorded_thread_events() -> alloc::vec::Vec<(u64, &'static str)> {
    let Some(recorder) = RECORDER.get() else { return alloc::vec::Vec::new() };
    core::iter::from_fn(|| recorder.pop()).collect()
}

/// The task id after `task-`, or nothing for a reaper.
struct ReapedBy(u64);

impl core::fmt::Display for ReapedBy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0 != 0 { self.0.fmt(f) } else { Ok(()) }
    }
}

/// A process lifecycle event (`exec`, `fork`, `clone`, `exit` — user memory purged —,
/// `zombie`, `detached`, `waited`, `freed` — address space and slot gone), when lifecycle
/// tracing is on.
pub fn process_event(pid: u32, event: &'static str) {
    if THREAD_TRACING.load(core::sync::atomic::Ordering::Relaxed) {
        let tid = CURRENT_THREAD.get().map_or(0, |current| current());
        crate::serial_println!(
            "trace us={} cpu={} kind=process pid={pid} tid={tid} event={event}",
            crate::time::micros_since_boot(),
            cpu::id()
        );
    }
}

/// Switches thread and process lifecycle tracing on or off.
pub fn set_thread_tracing(on: bool) {
    THREAD_TRACING.store(on, core::sync::atomic::Ordering::Relaxed);
}
