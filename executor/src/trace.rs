//! Task tracing: one record per task event, handed to a sink the kernel provides.
//!
//! The executor knows nothing of clocks, CPUs or consoles; the sink adds the timestamp and
//! CPU number and prints the machine-readable line. Tracing is switched on and off at run
//! time (`Executor::set_tracing`); when off, an event costs one Relaxed load.
//!
//! Called from: any context a task event happens in — `Wake` also from interrupt handlers,
//! so a sink must not block on a lock that an interrupted context may hold.

use core::fmt;

use crate::task::TaskId;

/// What happened to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEvent {
    /// The task was created and queued.
    Spawn,
    /// The task was woken; `queued` says whether that will have it polled again: it queued
    /// the task, or marked it to be queued again when the poll under way ends (false when
    /// it was queued already, or had finished).
    Wake { queued: bool },
    /// The executor is about to poll the task.
    PollBegin,
    /// The poll returned; `ready` when the future completed.
    PollEnd { ready: bool },
    /// The task's future has been dropped; its slot is given back right after.
    Complete,
}

impl fmt::Display for TaskEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskEvent::Spawn => f.write_str("spawn"),
            TaskEvent::Wake { queued } => write!(f, "wake queued={}", u8::from(*queued)),
            TaskEvent::PollBegin => f.write_str("poll-begin"),
            TaskEvent::PollEnd { ready } => write!(f, "poll-end ready={}", u8::from(*ready)),
            TaskEvent::Complete => f.write_str("complete"),
        }
    }
}

/// One traced event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceRecord {
    pub task: TaskId,
    pub name: &'static str,
    pub event: TaskEvent,
}

/// Where trace records go. A plain function so that it can be called from an interrupt
/// handler without touching the heap.
pub type TraceSink = fn(&TraceRecord);
