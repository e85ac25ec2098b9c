//! What reaping has done, as `lethe_reaping_stats` and the bounds tests read it: how many
//! threads are dead but not yet freed and the most there were, the kernel memory they
//! hold, and a log of each thread's exit-to-freed latency.
//!
//! `died` is called by `teardown::die`, in the dying thread with interrupts off, just
//! before its point of no return; `freed` by `teardown::tear_down` once the stack and the
//! slot are given back, under every strategy. Both are a few atomic operations on static
//! memory — no lock, no allocation (R3, R7) — so they may run in any context.
//!
//! The latency log is a fixed ring of `LATENCY_LOG_CAPACITY` atomics in the kernel image
//! (nothing to make, nothing to fail): a teardown claims an entry with one `fetch_add` on
//! the count of latencies logged and stores into it. A reader copying while a teardown
//! stores may see that entry's value from the lap before; a statistic can bear that.
//!
//! The memory a dead thread holds is a constant, `DEAD_THREAD_BYTES`: its kernel stack,
//! the guard page below it (address space, no frame) and its control block in the
//! `threads` pool; its slot-table entry is made at boot for every thread that may exist
//! and is not counted. So the bytes held are the count of dead threads times that constant,
//! and their peak the peak count times it.

use core::sync::atomic::{AtomicU64, Ordering};

use super::thread::Thread;
use crate::mm::pool::Counted;

/// Entries in the latency log: the most recent teardowns it keeps — more than any run of
/// `stormbench exitfreed` asks for (500), and small: the log is in the kernel image's
/// zeroed data, for which the bootloader takes frames from RAM below 1 MiB, and at 16,384
/// entries (128 KiB) it left no page there to start the application processors with, so
/// every `-smp 4` boot ran on one CPU (tests/smp.rs fails so).
pub const LATENCY_LOG_CAPACITY: usize = 1024;

/// Kernel bytes one dead thread holds until it is torn down.
pub const DEAD_THREAD_BYTES: u64 =
    mm::sizing::THREAD_STACK_BYTES + mm::PAGE_SIZE + core::mem::size_of::<Counted<Thread>>() as u64;

static DEAD: AtomicU64 = AtomicU64::new(0);
static PEAK_DEAD: AtomicU64 = AtomicU64::new(0);
static LOGGED: AtomicU64 = AtomicU64::new(0);
static LONGEST_NS: AtomicU64 = AtomicU64::new(0);
static LOG: [AtomicU64; LATENCY_LOG_CAPACITY] = [const { AtomicU64::new(0) }; LATENCY_LOG_CAPACITY];

/// A thread has died: one more dead thread not yet freed.
pub(super) fn died() {
    let dead = DEAD.fetch_add(1, Ordering::Relaxed) + 1;
    PEAK_DEAD.fetch_max(dead, Ordering::Relaxed);
}

/// A dead thread's stack and slot are free, `latency_ns` after it died.
pub(super) fn freed(latency_ns: u64) {
    DEAD.fetch_sub(1, Ordering::Relaxed);
    let entry = LOGGED.fetch_add(1, Ordering::Relaxed) as usize % LATENCY_LOG_CAPACITY;
    LOG[entry].store(latency_ns, Ordering::Relaxed);
    LONGEST_NS.fetch_max(latency_ns, Ordering::Relaxed);
}

/// Creations refused with EAGAIN while dead threads still awaited teardown
/// (`reclaim::with_room` gave up on them).
static REFUSED_WHILE_DEAD_WAITED: AtomicU64 = AtomicU64::new(0);

/// A creation was refused although dead threads awaited teardown.
pub(super) fn refused_while_dead_waited() {
    REFUSED_WHILE_DEAD_WAITED.fetch_add(1, Ordering::Relaxed);
}

/// Creations refused with EAGAIN while dead threads awaited teardown, since boot: the
/// refusals reaping is to blame for (a limit held by live threads is not).
pub fn refusals_while_dead_waited() -> u64 {
    REFUSED_WHILE_DEAD_WAITED.load(Ordering::Relaxed)
}

/// Threads dead and not yet freed, now.
pub fn dead_threads() -> u64 {
    DEAD.load(Ordering::Relaxed)
}

/// The most threads dead and not yet freed at once since the last `reset_peaks`.
pub fn peak_dead_threads() -> u64 {
    PEAK_DEAD.load(Ordering::Relaxed)
}

/// Exit-to-freed latencies logged since the last `reset_peaks`.
pub fn latencies_logged() -> u64 {
    LOGGED.load(Ordering::Relaxed)
}

/// The longest exit-to-freed latency, in ns, since the last `reset_peaks`.
pub fn longest_latency_ns() -> u64 {
    LONGEST_NS.load(Ordering::Relaxed)
}

/// The log indices of the most recent `wanted` latencies the log still holds (fewer if it
/// holds fewer), oldest first; read each with `latency`.
pub fn recent_latencies(wanted: usize) -> core::ops::Range<u64> {
    let logged = latencies_logged();
    let count = logged.min(LATENCY_LOG_CAPACITY as u64).min(wanted as u64);
    logged - count..logged
}

/// The latency (ns) logged at `index`, as `recent_latencies` gives the indices.
pub fn latency(index: u64) -> u64 {
    LOG[(index % LATENCY_LOG_CAPACITY as u64) as usize].load(Ordering::Relaxed)
}

/// Starts the peaks, the longest latency and the latency log afresh: the peak of dead
/// threads from the number dead now.
pub fn reset_peaks() {
    PEAK_DEAD.store(dead_threads(), Ordering::Relaxed);
    LONGEST_NS.store(0, Ordering::Relaxed);
    LOGGED.store(0, Ordering::Relaxed);
}
