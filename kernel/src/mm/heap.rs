//! The kernel heap: `linked_list_allocator` over a fixed virtual range, with bytes-in-use
//! counted.
//!
//! Lock rule: the heap's spin lock is held with interrupts disabled, so an interrupt
//! handler may allocate or free (a waker dropped in an interrupt can free its task) without
//! deadlocking against the code it interrupted.
//!
//! Code that must not touch the heap at all — the switch path (R7) — runs inside
//! `forbidding_heap`; any allocation or free there is counted, for tests to assert none.
//!
//! Why `linked_list_allocator`: it is maintained by rust-osdev, small enough to read in one
//! sitting, and reports bytes in use (`used()`) itself, which the leak checks rely on. It is
//! first-fit over a free list, so its cost grows with fragmentation; that is acceptable
//! because the objects Lethe creates and destroys at high rates (threads, teardown tasks,
//! processes) come from fixed-size pools (`mm::pool`), not from the heap.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{NonNull, null_mut};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use linked_list_allocator::Heap;

use crate::sched::cpu::MAX_CPUS;
use crate::sync::SpinLock;
use x86_64::VirtAddr;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::structures::paging::{FrameAllocator, Mapper, Page, PageTableFlags, Size4KiB};

/// Start of the heap's virtual range.
pub const HEAP_START: u64 = 0xffff_c000_0000_0000;
/// The heap's range ends here at the latest: the device region starts 1 GiB above its start.
pub const HEAP_MAX_SIZE: usize = 1 << 30;

/// Size of the heap, set once at boot (`mm::sizing`).
static SIZE: AtomicUsize = AtomicUsize::new(0);

/// Size of the heap.
pub fn size() -> usize {
    SIZE.load(Ordering::Relaxed)
}

struct KernelHeap(SpinLock<Heap>);

/// Whether code that must not touch the heap is running, per CPU.
static FORBIDDEN: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Allocations and frees made while `FORBIDDEN` was set on their CPU, since boot.
static FORBIDDEN_CALLS: AtomicU64 = AtomicU64::new(0);

fn forbidden_here() -> &'static AtomicBool {
    &FORBIDDEN[crate::sched::cpu::this_cpu_index() as usize]
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

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(SpinLock::new(Heap::empty()));

// SAFETY: allocation and free go through `linked_list_allocator::Heap`, which returns
// blocks of the requested layout inside its region, under a lock with interrupts masked.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_call();
        crate::fault_injection::note_heap_call();
        self.0.lock().allocate_first_fit(layout).map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        let Some(pointer) = NonNull::new(pointer) else {
            return;
        };
        note_call();
        // SAFETY: `GlobalAlloc`'s contract: `pointer` came from `alloc` with this layout.
        without_interrupts(|| unsafe { self.0.lock().deallocate(pointer, layout) });
    }
}

/// Heap usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    pub size: usize,
    pub used: usize,
}

/// Current usage.
pub fn stats() -> HeapStats {
    {
        let heap = HEAP.0.lock();
        HeapStats { size: heap.size(), used: heap.used() }
    }
}

/// Bytes allocated and not yet freed.
pub fn bytes_in_use() -> usize {
    stats().used
}

/// Maps `size` bytes (whole pages) of the heap's range to fresh frames and hands them to
/// the allocator.
///
/// # Safety
/// `mapper` must be the active page table, `frames` must hand out unused RAM, and nothing
/// else may map or use the heap's range. Call once.
pub(super) unsafe fn init(
    mapper: &mut impl Mapper<Size4KiB>,
    frames: &mut impl FrameAllocator<Size4KiB>,
    size: usize,
) {
    assert!(size <= HEAP_MAX_SIZE, "mm: a heap of {size} bytes overruns its range");
    let first = Page::<Size4KiB>::containing_address(VirtAddr::new(HEAP_START));
    let last = Page::containing_address(VirtAddr::new(HEAP_START + size as u64 - 1));
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
    for page in Page::range_inclusive(first, last) {
        let frame = frames.allocate_frame().expect("mm: out of memory while mapping the heap");
        // SAFETY: by this function's contract the heap range is used by nothing else and the
        // frame is unused RAM.
        unsafe { mapper.map_to(page, frame, flags, frames) }.expect("mm: heap page already mapped").flush();
    }
    // SAFETY: the range was just mapped writable through the active page table (contract)
    // and belongs to the heap alone.
    without_interrupts(|| unsafe { HEAP.0.lock().init(HEAP_START as *mut u8, size) });
    SIZE.store(size, Ordering::Relaxed);
}
