//! Resource limits (`prlimit64`, `getrlimit`, `setrlimit`) and the count of a user's tasks
//! that `RLIMIT_NPROC` bounds.
//!
//! Lethe has one user, uid 0, so the user's tasks are every user thread that exists —
//! running, blocked, or dead and not yet torn down: a thread counts until its teardown
//! frees its stack (R8), so a create/join loop stays under a limit only because exited
//! threads are torn down promptly (R5). As in Linux, `RLIMIT_NPROC` counts threads, not
//! processes, and is checked at fork and clone; unlike Linux it binds uid 0 too (there
//! are no capabilities to exempt it), so a process can bound what it and its descendants
//! create. The system-wide limits (`sched::slots::max_threads()`, `MAX_PROCESSES`) hold
//! whatever a process sets.
//!
//! Counting is a `sched::TaskCharge`, taken against the creator's limit at fork and clone,
//! carried by the thread, and dropped by its teardown.

pub use abi::resource::{RLIM_INFINITY, RLIM_NLIMITS, RLIMIT_NPROC, RLIMIT_STACK};

/// One resource's limit: `soft` is enforced, `hard` is the ceiling for raising it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub soft: u64,
    pub hard: u64,
}

/// Why a limit could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitError {
    /// No such resource, or `soft` above `hard` (EINVAL).
    Invalid,
}

/// A process's limits, copied to its children at fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits([Limit; RLIM_NLIMITS]);

impl Limits {
    /// What a program the kernel starts gets: no limits but the stack's real size.
    pub fn initial(stack_bytes: u64) -> Self {
        let mut limits = [Limit { soft: RLIM_INFINITY, hard: RLIM_INFINITY }; RLIM_NLIMITS];
        limits[RLIMIT_STACK] = Limit { soft: stack_bytes, hard: stack_bytes };
        Limits(limits)
    }

    pub fn get(&self, resource: usize) -> Option<Limit> {
        self.0.get(resource).copied()
    }

    /// Sets `resource`'s limit, returning the old one.
    pub fn set(&mut self, resource: usize, limit: Limit) -> Result<Limit, LimitError> {
        let slot = self.0.get_mut(resource).ok_or(LimitError::Invalid)?;
        if limit.soft > limit.hard {
            return Err(LimitError::Invalid);
        }
        Ok(core::mem::replace(slot, limit))
    }

    /// The most tasks the user may have for this process to make another.
    pub fn task_limit(&self) -> u64 {
        self.0[RLIMIT_NPROC].soft
    }
}
