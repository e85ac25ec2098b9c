//! The count of user tasks that `RLIMIT_NPROC` bounds (`process::limits`): a `TaskCharge`
//! is taken atomically against a limit (check and increment in one `fetch_update`, so
//! concurrent forks cannot overshoot), carried by the thread, and dropped by its teardown
//! (R8). Dropping it is one atomic decrement, so the teardown body may do it on a reaper
//! with preemption off.

use core::sync::atomic::{AtomicUsize, Ordering};

/// Tasks of uid 0 that exist: user threads from creation to teardown.
static USER_TASKS: AtomicUsize = AtomicUsize::new(0);

/// User threads that exist now, dead ones not yet torn down included.
pub fn user_tasks() -> usize {
    USER_TASKS.load(Ordering::Acquire)
}

/// One user task counted; the count drops when this is dropped (by the thread's teardown,
/// or by a creation that failed half-way).
#[derive(Debug)]
pub struct TaskCharge(());

impl TaskCharge {
    /// Counts a new task if fewer than `limit` exist, or `None` (EAGAIN).
    pub fn take(limit: u64) -> Option<TaskCharge> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        USER_TASKS
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tasks| (tasks < limit).then_some(tasks + 1))
            .ok()
            .map(|_| TaskCharge(()))
    }
}

impl Drop for TaskCharge {
    fn drop(&mut self) {
        USER_TASKS.fetch_sub(1, Ordering::AcqRel);
    }
}
