//! A task: one spawned future, its identity, and the `queued` flag that makes wakes cheap.
//!
//! The `queued` flag is the whole wake/poll handshake:
//!
//! ```text
//!   waker side (any context)              executor side (task context)
//!   ------------------------              ----------------------------
//!   publish the event the future          pop the task from the ready queue
//!     waits for (Release)                 queued.swap(false, AcqRel)   (claim_for_poll)
//!   queued.swap(true, AcqRel)             poll the future: it reads the event (Acquire)
//!   if it was false: push to the queue
//! ```
//!
//! Both sides use read-modify-writes on `queued`, so they are totally ordered on it: either
//! the wake's swap comes second (it reads `false` and queues the task again), or the claim
//! comes second (it reads the wake's `true` and, being Acquire, sees the event the waker
//! published before it), so the poll that follows sees the event. A plain store for the
//! claim, or Relaxed orderings, allow the lost wakeup; `tests/loom.rs` finds it.
//!
//! A finished task keeps `queued == true` forever, so wakes after completion do nothing.
//!
//! Called from: `schedule` from any context, including interrupt handlers (it neither
//! allocates nor blocks); everything else from the executor's polling loop.

use alloc::boxed::Box;
use core::fmt;
use core::future::Future;
use core::pin::Pin;

use crate::executor::Shared;
use crate::sync::{Arc, Ordering};
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

pub(crate) struct Task {
    pub(crate) id: TaskId,
    pub(crate) name: &'static str,
    /// The future; `None` once it has completed. Locked only by the polling loop, and a
    /// task is in the ready queue at most once, so the lock is never contended.
    pub(crate) future: spin::Mutex<Option<BoxFuture>>,
    /// True while the task sits in the ready queue, and forever after it completes.
    queued: crate::sync::AtomicBool,
    pub(crate) shared: Arc<Shared>,
}

impl Task {
    /// A new task, counted as queued: the caller must push it to the ready queue.
    pub(crate) fn new_queued(id: TaskId, name: &'static str, future: BoxFuture, shared: Arc<Shared>) -> Self {
        Self {
            id,
            name,
            future: spin::Mutex::new(Some(future)),
            queued: crate::sync::AtomicBool::new(true),
            shared,
        }
    }

    /// Wake: queue the task unless it is already queued or finished.
    pub(crate) fn schedule(task: &Arc<Task>) {
        let already_queued = task.queued.swap(true, Ordering::AcqRel);
        task.shared.trace(task, TaskEvent::Wake { queued: !already_queued });
        if !already_queued {
            task.shared.push_ready(task.clone());
        }
    }

    /// Called after popping the task and before polling it: from here on a wake queues the
    /// task again. Returns whether the task had been queued (it must have been).
    pub(crate) fn claim_for_poll(&self) -> bool {
        self.queued.swap(false, Ordering::AcqRel)
    }

    /// Called once the future has completed and been dropped. Returns true when a wake
    /// during the final poll left an entry for this task in the ready queue: that entry
    /// then still holds the task's slot, released when it is popped.
    pub(crate) fn mark_finished(&self) -> bool {
        self.queued.swap(true, Ordering::AcqRel)
    }
}

#[cfg(not(loom))]
impl alloc::task::Wake for Task {
    fn wake(self: Arc<Self>) {
        Task::schedule(&self);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        Task::schedule(self);
    }
}
