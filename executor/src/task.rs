//! A task: one spawned future, its identity, and the state word that makes wakes cheap and
//! lets one CPU at a time poll it.
//!
//! A task belongs to no CPU. A wake queues it on the ready queue of the CPU the wake runs
//! on; any CPU may pop it from there (its own queue, or another's when it steals). The
//! state word keeps every task in at most one queue, and polled by at most one CPU:
//!
//! ```text
//!          wake: push on the                 a CPU pops it
//!          waking CPU's queue                (claim_for_poll)
//!   IDLE ─────────────────────► QUEUED ─────────────────────► RUNNING ──wake──► NOTIFIED
//!    ▲                            ▲                              │                  │
//!    └── poll Pending, no wake since (end_poll) ─────────────────┘                  │
//!                                 └── poll Pending: the poller queues it again on ──┘
//!                                     its own CPU's queue (end_poll)
//!   RUNNING or NOTIFIED ── poll Ready (mark_finished) ──► DONE: wakes do nothing
//! ```
//!
//! A wake during a poll does not queue the task (another CPU could pop it and poll it while
//! the first still does); it marks it `NOTIFIED`, and the poller queues it again once its
//! poll is over. So a queue entry exists only in `QUEUED`, a poller only in `RUNNING` or
//! `NOTIFIED`, and the future's lock is never contended.
//!
//! The wake/poll handshake: every transition is a read-modify-write on `state`, a wake that
//! changes nothing included (it writes the value it read back), so all of them are totally
//! ordered on it and each reads the one before, with Acquire/Release:
//!
//! ```text
//!   waker side (any context)              poller side (task context)
//!   ------------------------              --------------------------
//!   publish the event the future          pop; state QUEUED → RUNNING         (claim_for_poll)
//!     waits for (Release)                 poll the future: it reads the event (Acquire)
//!   state: IDLE → QUEUED (then push),     state: RUNNING → IDLE, or
//!     RUNNING → NOTIFIED, else unchanged         NOTIFIED → QUEUED and push (end_poll)
//! ```
//!
//! A wake ordered before the claim is read by the claim, which then sees its event, and so
//! does the poll; one between the claim and the end of the poll makes the end queue the
//! task again; one after the end finds `IDLE` and queues it. No wake is lost. A wake that
//! only loaded the state, or Relaxed orderings, would allow the lost wakeup;
//! `tests/loom.rs` finds it.
//!
//! Called from: `schedule` from any context, including interrupt handlers and the switch
//! path (it neither allocates nor blocks); everything else from the polling loop.

use alloc::boxed::Box;
use core::fmt;
use core::future::Future;
use core::pin::Pin;

use crate::executor::Shared;
use crate::sync::{Arc, AtomicU8, Ordering};
use crate::trace::TaskEvent;

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A task's number: unique within its executor, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Not queued, not being polled: a wake queues it.
const IDLE: u8 = 0;
/// In a ready queue (exactly one entry), or about to be pushed to one.
const QUEUED: u8 = 1;
/// Being polled by one CPU; in no queue.
const RUNNING: u8 = 2;
/// Being polled, and woken since the poll began: queued again when the poll ends.
const NOTIFIED: u8 = 3;
/// Completed; wakes do nothing.
const DONE: u8 = 4;

/// How a poll that returned `Pending` ended.
pub(crate) enum PollEnd {
    /// Nothing woke the task during the poll: it waits for a wake.
    Parked,
    /// A wake came during the poll: the poller must queue it again.
    Requeue,
}

pub(crate) struct Task {
    pub(crate) id: TaskId,
    pub(crate) name: &'static str,
    /// The future; `None` once it has completed. Locked only by the CPU that claimed the
    /// task, which the state word makes the only poller, so the lock is never contended.
    pub(crate) future: spin::Mutex<Option<BoxFuture>>,
    /// `IDLE`, `QUEUED`, `RUNNING`, `NOTIFIED` or `DONE`; see the module doc.
    state: AtomicU8,
    pub(crate) shared: Arc<Shared>,
}

impl Task {
    /// A new task, counted as queued: the caller must push it to a ready queue.
    pub(crate) fn new_queued(id: TaskId, name: &'static str, future: BoxFuture, shared: Arc<Shared>) -> Self {
        Self { id, name, future: spin::Mutex::new(Some(future)), state: AtomicU8::new(QUEUED), shared }
    }

    /// Wake: queue the task on this CPU's ready queue if it is idle, mark it if it is being
    /// polled, do nothing if it is queued or finished.
    pub(crate) fn schedule(task: &Arc<Task>) {
        let before = task
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                Some(match state {
                    IDLE => QUEUED,
                    RUNNING => NOTIFIED,
                    unchanged => unchanged,
                })
            })
            .unwrap_or_else(|state| state);
        task.shared.trace(task, TaskEvent::Wake { queued: matches!(before, IDLE | RUNNING) });
        if before == IDLE {
            task.shared.push_ready(task.shared.current_queue(), task.clone());
        }
    }

    /// Called after popping the task and before polling it: from here on a wake marks the
    /// task instead of queueing it. Panics if the task was not queued.
    pub(crate) fn claim_for_poll(&self) {
        let before = self.state.swap(RUNNING, Ordering::AcqRel);
        assert_eq!(before, QUEUED, "executor: popped a task that was not queued");
    }

    /// Called once a poll returned `Pending` and the future's lock is released.
    pub(crate) fn end_poll(&self) -> PollEnd {
        match self.state.compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => PollEnd::Parked,
            Err(NOTIFIED) => {
                let before = self.state.swap(QUEUED, Ordering::AcqRel);
                assert_eq!(before, NOTIFIED, "executor: a task changed state under its poller");
                PollEnd::Requeue
            }
            Err(other) => panic!("executor: a polled task was in state {other}, not running"),
        }
    }

    /// Called once the future has completed and been dropped: later wakes do nothing.
    pub(crate) fn mark_finished(&self) {
        let before = self.state.swap(DONE, Ordering::AcqRel);
        assert!(matches!(before, RUNNING | NOTIFIED), "executor: a task finished without being polled");
    }
}

impl alloc::task::Wake for Task {
    fn wake(self: Arc<Self>) {
        Task::schedule(&self);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        Task::schedule(self);
    }
}
