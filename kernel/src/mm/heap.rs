//! The kernel heap's rules above the allocator (`hardware::heap`, which holds the allocator
//! and its lock rule): code that must not touch the heap at all — the switch path (R7) —
//! runs inside `forbidding_heap`, and any allocation or free there is counted, for tests to
//! assert none; every allocation is also counted for fault injection. Both through the
//! hooks the heap runs on each call, registered before the heap exists.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub use hardware::heap::{HeapStats, size, stats};

use crate::arch::MAX_CPUS;

/// Whether code that must not touch the heap is running, per CPU.
static FORBIDDEN: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Allocations and frees made while `FORBIDDEN` was set on their CPU, since boot.
static FORBIDDEN_CALLS: AtomicU64 = AtomicU64::new(0);

fn forbidden_here() -> &'static AtomicBool {
    &FORBIDDEN[crate::arch::cpu::id() as usize]
}

fn note_call() {
    if forbidden_here().load(Ordering::Relaxed) {
        FORBIDDEN_CALLS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `work` on this CPU, counting every allocation or free it makes as a broken rule.
pub fn forbidding_heap<R>(work: impl FnOnce() -> R) -> R {
    let forbidden = forbidden_here();
    let outer = forbidden.swap(true, Ordering::Relaxed);
    let result = work();
    forbidden.store(outer, Ordering::Relaxed);
    result
}

/// Allocations and frees made inside `forbidding_heap` since boot: 0 unless a rule broke.
pub fn forbidden_calls() -> u64 {
    FORBIDDEN_CALLS.load(Ordering::Relaxed)
}

/// What every allocation reports: counted if the heap is forbidden here, and a heap call
/// fault injection counts.
fn on_allocate() {
    note_call();
    crate::fault_injection::note_heap_call();
}

/// Makes the heap report its calls here (`hardware::heap::set_hooks`); before the heap is
/// made (`mm::init`).
pub(super) fn report_calls() {
    hardware::heap::set_hooks(on_allocate, note_call);
}

/// Bytes allocated and not yet freed.
pub fn bytes_in_use() -> usize {
    stats().used
}
