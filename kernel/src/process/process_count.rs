//! The process count: how many processes exist, zombies and those still being torn down
//! included, checked atomically at fork against `MAX_PROCESSES` (R8).
//!
//! A process is counted before anything of it is made (a refused fork costs no copy) and
//! uncounted when it is dropped, after its address space is destroyed: the count drops
//! only once everything of the process is freed, not when its pid goes.

use core::sync::atomic::{AtomicUsize, Ordering};

/// Processes that can exist at once, zombies included: `fork` past it is EAGAIN (R8).
pub const MAX_PROCESSES: usize = 1024;

/// Processes that exist: counted by `ProcessCount::take`, uncounted when the process
/// holding the count is dropped.
static PROCESSES: AtomicUsize = AtomicUsize::new(0);

/// One process counted against `MAX_PROCESSES`, held by the process and given back when
/// it is dropped.
pub struct ProcessCount(());

impl ProcessCount {
    /// Counts a new process, atomically (concurrent forks cannot overshoot), or `None` when
    /// `MAX_PROCESSES` exist.
    pub(super) fn take() -> Option<ProcessCount> {
        PROCESSES
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                (count < MAX_PROCESSES).then_some(count + 1)
            })
            .ok()
            .map(|_| ProcessCount(()))
    }
}

impl Drop for ProcessCount {
    fn drop(&mut self) {
        PROCESSES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Processes that exist now, zombies and those still being torn down included.
pub fn process_count() -> usize {
    PROCESSES.load(Ordering::Acquire)
}
