//! Hooks for the loom model of the wake/poll handshake (`tests/loom.rs`); loom builds only.
//!
//! They drive the real `Task::schedule` and `Task::claim_for_poll` — the code under test —
//! without building a `Waker`, which loom's `Arc` cannot back.

use alloc::boxed::Box;

use crate::executor::Executor;
use crate::sync::Arc;
use crate::task::{Task, TaskId};

/// One task and its executor, stripped to the handshake.
pub struct Handshake {
    executor: Executor,
    task: Arc<Task>,
}

impl Handshake {
    /// A task that has just been spawned: queued, never polled.
    pub fn new_queued() -> Self {
        let executor = Executor::new(4);
        let task =
            Arc::new(Task::new_queued(TaskId(1), "model", Box::pin(async {}), executor.shared().clone()));
        executor.shared().ready.push(task.clone());
        Self { executor, task }
    }

    /// The waker side: `Task::schedule`.
    pub fn wake(&self) {
        Task::schedule(&self.task);
    }

    /// The executor side up to the poll: pop the task (if queued) and claim it.
    pub fn pop_and_claim(&self) -> bool {
        match self.executor.shared().ready.pop() {
            Some(task) => {
                task.claim_for_poll();
                true
            }
            None => false,
        }
    }

    /// Entries in the ready queue.
    pub fn queued_entries(&self) -> usize {
        self.executor.shared().ready.len()
    }
}

impl Drop for Handshake {
    /// Queued tasks and their executor refer to each other; the kernel never drops an
    /// executor, but a model must end with no `Arc` alive, so it empties the queue.
    fn drop(&mut self) {
        while self.executor.shared().ready.pop().is_some() {}
    }
}
