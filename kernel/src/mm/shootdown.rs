//! TLB shootdown: a change to a mapping other CPUs may cache is flushed from their TLBs,
//! through an IPI, before the caller goes on.
//!
//! One request at a time, system-wide: the initiator takes `BUSY`, publishes the range and
//! the set of CPUs that still owe a flush (`OWED`, one bit per CPU), sends each of them
//! `TLB_SHOOTDOWN_VECTOR`, and spins until `OWED` is empty. A target flushes and clears its
//! bit in the IPI handler — or earlier, in `serve_pending`, which every spin here (for
//! `BUSY`, for `OWED`) and every spin for a kernel lock (`sync::SpinLock`) calls: a CPU
//! waiting with interrupts masked still answers, so two initiators, or an initiator and a
//! CPU spinning on a lock it holds, never wait for each other.
//!
//! Rules for callers: no lock held that another CPU may spin on without serving
//! shootdowns (every `SpinLock` serves; the drivers' and executor's leaf locks are never
//! held here); the range and `OWED` are read only while the target's bit is set, so a late
//! IPI (its bit already served) does nothing. Callable from thread, task or interrupt
//! context; with one CPU online it only flushes locally and sends nothing.

use core::ops::Range;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::spaces::loaded_roots;
use crate::arch::cpu::id as this_cpu_index;
use crate::arch::tlb;

/// CPUs as bits (bit N = CPU N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSet(u64);

impl CpuSet {
    /// Every online CPU (`spaces::note_cpu_online`) but the caller's.
    pub fn all_others() -> Self {
        let me = this_cpu_index();
        CpuSet(loaded_roots().filter(|&(cpu, _)| cpu != me).fold(0, |set, (cpu, _)| set | 1 << cpu))
    }

    /// Every online CPU but the caller's that has the address space `root` loaded. A CPU
    /// that loads it after the caller changed the tables reads them fresh (loading a root
    /// flushes its non-global entries): `spaces` publishes the root (SeqCst) before loading.
    pub fn others_with_root(root: u64) -> Self {
        let me = this_cpu_index();
        CpuSet(
            loaded_roots()
                .filter(|&(cpu, loaded)| cpu != me && loaded == root)
                .fold(0, |set, (cpu, _)| set | 1 << cpu),
        )
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }
}

static BUSY: AtomicBool = AtomicBool::new(false);
static START: AtomicU64 = AtomicU64::new(0);
static END: AtomicU64 = AtomicU64::new(0);
/// CPUs that still owe a flush of `START..END`.
static OWED: AtomicU64 = AtomicU64::new(0);

/// Flushes the pages of `range` from this CPU's TLB and from those of `targets`, and
/// returns once all have.
pub fn flush(range: Range<u64>, targets: CpuSet) {
    // Fence the caller's page-table writes before the targets are chosen and told.
    core::sync::atomic::fence(Ordering::SeqCst);
    tlb::flush_pages(range.clone());
    if targets.is_empty() {
        return;
    }
    while BUSY.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        serve_pending();
        core::hint::spin_loop();
    }
    START.store(range.start, Ordering::Relaxed);
    END.store(range.end, Ordering::Relaxed);
    OWED.store(targets.0, Ordering::Release);
    for index in (0..64).filter(|index| targets.0 & (1 << index) != 0) {
        crate::arch::apic::send_ipi(index, crate::arch::vectors::TLB_SHOOTDOWN_VECTOR);
    }
    while OWED.load(Ordering::Acquire) != 0 {
        serve_pending();
        core::hint::spin_loop();
    }
    BUSY.store(false, Ordering::Release);
}

/// Makes this CPU's flush if a request owes one: from the IPI handler, and from every spin
/// that may wait on an initiator.
pub fn serve_pending() {
    let bit = 1u64 << this_cpu_index();
    if OWED.load(Ordering::Acquire) & bit == 0 {
        return;
    }
    tlb::flush_pages(START.load(Ordering::Relaxed)..END.load(Ordering::Relaxed));
    OWED.fetch_and(!bit, Ordering::AcqRel);
}
