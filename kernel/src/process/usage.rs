//! Resource usage (`wait4`'s and `getrusage`'s `struct rusage`): CPU time, settled when a
//! thread leaves its process — before the process can become a zombie, so a parent's
//! wait sees the child's whole time — and passed to the parent when it collects the child.
//!
//! Only the two times are kept (`ru_utime`, `ru_stime`); Linux's other fields are zero.

use crate::sched::cpu_time::CpuTime;

/// What a process has used: its own threads' time (those that left) and that of the
/// children it collected, with their collected descendants (Linux's `RUSAGE_CHILDREN`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub own: CpuTime,
    pub children: CpuTime,
}

/// Size of Linux's `struct rusage`.
pub const RUSAGE_SIZE: usize = 144;

/// `time` as Linux's `struct rusage`: two `struct timeval`s, then zeros.
pub fn rusage_bytes(time: CpuTime) -> [u8; RUSAGE_SIZE] {
    let mut bytes = [0u8; RUSAGE_SIZE];
    for (at, nanoseconds) in [(0, time.user_ns), (16, time.system_ns)] {
        let seconds = nanoseconds / 1_000_000_000;
        let microseconds = nanoseconds % 1_000_000_000 / 1_000;
        bytes[at..at + 8].copy_from_slice(&seconds.to_le_bytes());
        bytes[at + 8..at + 16].copy_from_slice(&microseconds.to_le_bytes());
    }
    bytes
}
