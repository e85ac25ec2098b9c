//! Resource usage (`wait4`'s and `getrusage`'s `struct rusage`): CPU time, settled when a
//! thread leaves its process — before the process can become a zombie, so a parent's
//! wait sees the child's whole time — and passed to the parent when it collects the child.
//!
//! Only the two times are kept (`ru_utime`, `ru_stime`); Linux's other fields are zero.

use abi::types::{Rusage, Timeval};

use crate::sched::cpu_time::CpuTime;

/// What a process has used: its own threads' time (those that left) and that of the
/// children it collected, with their collected descendants (Linux's `RUSAGE_CHILDREN`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub own: CpuTime,
    pub children: CpuTime,
}

/// `time` as Linux's `struct rusage`: the two times, the other counters zero.
pub fn rusage(time: CpuTime) -> Rusage {
    Rusage {
        user_time: Timeval::from_nanos(time.user_ns),
        system_time: Timeval::from_nanos(time.system_ns),
        ..Rusage::default()
    }
}
