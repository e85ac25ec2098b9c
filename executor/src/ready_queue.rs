//! The ready queue: tasks that have been woken and wait to be polled.
//!
//! Bounded and lock-free (`crossbeam_queue::ArrayQueue`), so a push never allocates: it is
//! called from interrupt handlers and from the context-switch path. A pop can spin while a
//! push it overtook completes, so both run inside the platform's critical section
//! (`critical`), which on one CPU keeps an interrupt from landing between the two. Its capacity equals the executor's task limit, and a task occupies at most one
//! entry (the `queued` flag in `task.rs`), so a push cannot find the queue full unless that
//! rule was broken — which is reported, never ignored.
//!
//! Under `--cfg loom` the queue is a loom mutex around a `VecDeque`, so that loom sees
//! every access to it.

use crate::critical::{self, CriticalSection};
use crate::sync::Arc;
use crate::task::Task;

#[cfg(not(loom))]
pub(crate) struct ReadyQueue {
    entries: crossbeam_queue::ArrayQueue<Arc<Task>>,
    critical: Option<CriticalSection>,
}

#[cfg(not(loom))]
impl ReadyQueue {
    pub(crate) fn with_capacity(capacity: usize, critical: Option<CriticalSection>) -> Self {
        Self { entries: crossbeam_queue::ArrayQueue::new(capacity), critical }
    }

    pub(crate) fn push(&self, task: Arc<Task>) {
        if critical::run(self.critical, || self.entries.push(task)).is_err() {
            panic!("executor: ready queue overflow: a task was queued twice or a slot leaked");
        }
    }

    pub(crate) fn pop(&self) -> Option<Arc<Task>> {
        critical::run(self.critical, || self.entries.pop())
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(loom)]
pub(crate) struct ReadyQueue {
    entries: loom::sync::Mutex<alloc::collections::VecDeque<Arc<Task>>>,
    capacity: usize,
}

#[cfg(loom)]
impl ReadyQueue {
    pub(crate) fn with_capacity(capacity: usize, _critical: Option<CriticalSection>) -> Self {
        Self { entries: loom::sync::Mutex::new(Default::default()), capacity }
    }

    pub(crate) fn push(&self, task: Arc<Task>) {
        let mut entries = self.entries.lock().unwrap();
        assert!(entries.len() < self.capacity, "executor: ready queue overflow");
        entries.push_back(task);
    }

    pub(crate) fn pop(&self) -> Option<Arc<Task>> {
        self.entries.lock().unwrap().pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}
