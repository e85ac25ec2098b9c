//! The ready queues: one per CPU, of tasks that have been woken and wait to be polled, and
//! the order in which a CPU takes them — its own queue first, then, when that is empty, the
//! other CPUs' queues in turn from the next one on (stealing), so thieves spread out.
//!
//! Each queue is bounded and lock-free (`crossbeam_queue::ArrayQueue`), so a push never
//! allocates: it is called from interrupt handlers and from the context-switch path. A pop
//! can spin while a push it overtook completes, so both run inside the platform's critical
//! section (`critical`), which on one CPU keeps an interrupt from landing between the two;
//! a push on another CPU runs in that CPU's critical section and so completes promptly.
//! Each queue's capacity equals the executor's task limit, and a task has at most one entry
//! in all the queues together (the state word in `task.rs`), so a push cannot find a queue
//! full unless that rule was broken — which is reported, never ignored.
//!
//! Under `--cfg loom` a queue is a loom mutex around a `VecDeque`, so that loom sees every
//! access to it.

use alloc::boxed::Box;

#[cfg(not(loom))]
use crate::critical;
use crate::critical::CriticalSection;
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

/// Every CPU's ready queue.
pub(crate) struct ReadyQueues {
    queues: Box<[ReadyQueue]>,
}

impl ReadyQueues {
    /// `count` queues of `capacity` entries each.
    pub(crate) fn new(count: usize, capacity: usize, critical: Option<CriticalSection>) -> Self {
        Self { queues: (0..count).map(|_| ReadyQueue::with_capacity(capacity, critical)).collect() }
    }

    /// How many queues (CPUs) there are.
    pub(crate) fn count(&self) -> usize {
        self.queues.len()
    }

    /// Queues `task` on queue `queue`.
    pub(crate) fn push(&self, queue: usize, task: Arc<Task>) {
        self.queue(queue).push(task);
    }

    /// The next task for CPU `cpu`: the first of its own queue, else the first found on the
    /// other queues, from the next CPU's on.
    pub(crate) fn pop_for(&self, cpu: usize) -> Option<Arc<Task>> {
        let count = self.count();
        self.queue(cpu).pop().or_else(|| (1..count).find_map(|step| self.queues[(cpu + step) % count].pop()))
    }

    /// Entries in every queue together.
    pub(crate) fn len(&self) -> usize {
        self.queues.iter().map(ReadyQueue::len).sum()
    }

    /// Entries in queue `queue`.
    pub(crate) fn len_of(&self, queue: usize) -> usize {
        self.queue(queue).len()
    }

    fn queue(&self, queue: usize) -> &ReadyQueue {
        let count = self.count();
        self.queues
            .get(queue)
            .unwrap_or_else(|| panic!("executor: no ready queue {queue}: there are {count}"))
    }
}
