//! The reaping strategies' numbers, as `lethe_reaping` takes and returns them.

/// A teardown task awaiting the off-CPU event (Lethe's design, the default).
pub const FUTURE: u64 = 0;
/// One global reaper kernel thread (NetBSD 1998, OpenBSD).
pub const REAPER: u64 = 1;
/// One reaper kernel thread per CPU (OpenBSD 2024).
pub const PERCPU_REAPER: u64 = 2;
/// What `lethe_reaping` takes to only read the current strategy.
pub const QUERY: u64 = u64::MAX;
