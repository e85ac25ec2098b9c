//! The reaping strategies' numbers, as `lethe_reaping` takes and returns them, and the
//! counters `lethe_reaping_stats` reports.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A teardown task awaiting the off-CPU event (Lethe's design, the default).
pub const FUTURE: u64 = 0;
/// One global reaper kernel thread (NetBSD 1998, OpenBSD).
pub const REAPER: u64 = 1;
/// One reaper kernel thread per CPU (OpenBSD 2024).
pub const PERCPU_REAPER: u64 = 2;
/// What `lethe_reaping` takes to only read the current strategy.
pub const QUERY: u64 = u64::MAX;

/// `lethe_reaping_stats`'s flag: after copying, reset the peaks, the longest latency and the
/// latency log (the running totals are never reset: callers take differences).
pub const RESET_PEAKS: u64 = 1;

/// What reaping has done, as `lethe_reaping_stats` writes it. Totals count since boot;
/// peaks, the longest latency and `latencies_logged` since the last `RESET_PEAKS`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ReapingStats {
    /// Threads torn down by each strategy's driver, indexed by strategy number.
    pub reaped_by: [u64; 3],
    /// Threads that have died (`exit`) and whose stack and slot are not yet freed.
    pub dead_threads: u64,
    pub peak_dead_threads: u64,
    /// Kernel memory those dead threads hold: each its kernel stack, its guard page and
    /// its control block (`dead_thread_bytes` each).
    pub dead_bytes: u64,
    pub peak_dead_bytes: u64,
    /// The bytes one dead thread holds until it is torn down.
    pub dead_thread_bytes: u64,
    /// Context switches on every CPU.
    pub context_switches: u64,
    /// Teardowns run on the CPU the thread last ran on (where it died), and elsewhere.
    pub torn_down_on_dying_cpu: u64,
    pub torn_down_elsewhere: u64,
    /// Exit-to-freed latencies logged (the log keeps the most recent `latency_log_capacity`).
    pub latencies_logged: u64,
    pub latency_log_capacity: u64,
    /// The longest exit-to-freed latency logged, in ns.
    pub longest_latency_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C programs (`user/c/stormbench-musl.c`) declare the structure as fourteen
    /// `uint64_t`s in this order.
    #[test]
    fn reaping_stats_are_fourteen_u64s_in_declaration_order() {
        assert_eq!(core::mem::size_of::<ReapingStats>(), 14 * 8);
        assert_eq!(core::mem::offset_of!(ReapingStats, dead_threads), 3 * 8);
        assert_eq!(core::mem::offset_of!(ReapingStats, context_switches), 8 * 8);
        assert_eq!(core::mem::offset_of!(ReapingStats, longest_latency_ns), 13 * 8);
    }
}
