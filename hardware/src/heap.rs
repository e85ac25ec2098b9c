//! The kernel heap: `linked_list_allocator` over a fixed virtual range, the global
//! allocator of the kernel image, with bytes in use counted.
//!
//! Why `linked_list_allocator`: it is maintained by rust-osdev, small enough to read in one
//! sitting, and reports bytes in use (`used()`) itself, which the leak checks rely on. It is
//! first-fit over a free list, so its cost grows with fragmentation; that is acceptable
//! because the objects the kernel creates and destroys at high rates come from fixed-size
//! pools (`mm::typed_pool`), not from the heap.
//!
//! Lock rule: the heap's lock is held with interrupts masked, so an interrupt handler may
//! allocate or free (a waker dropped in an interrupt can free its task) without deadlocking
//! against the code it interrupted. It is a leaf: nothing is taken, and nothing waited for,
//! while it is held.
//!
//! The kernel may register hooks run on every allocation and on every free, outside the
//! lock (`set_hooks`): it counts calls made where the heap is forbidden, and allocations a
//! fault injector may fail.
//!
//! Called from: anywhere, through `alloc`; `boot::take_over` maps and hands over the range.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{NonNull, null_mut};
use core::sync::atomic::{AtomicUsize, Ordering};

use conquer_once::spin::OnceCell;
use linked_list_allocator::Heap;
use x86_64::instructions::interrupts::without_interrupts;

/// Start of the heap's virtual range.
pub const HEAP_START: u64 = 0xffff_c000_0000_0000;
/// The heap's range ends here at the latest: the device region starts 1 GiB above its start.
pub const HEAP_MAX_SIZE: usize = 1 << 30;

/// Size of the heap, set once at boot.
static SIZE: AtomicUsize = AtomicUsize::new(0);

/// What the kernel runs on each allocation, and on each free.
struct Hooks {
    on_allocate: fn(),
    on_free: fn(),
}

static HOOKS: OnceCell<Hooks> = OnceCell::uninit();

struct KernelHeap(spin::Mutex<Heap>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(spin::Mutex::new(Heap::empty()));

/// Runs `on_allocate` on every allocation and `on_free` on every free from now on; once.
pub fn set_hooks(on_allocate: fn(), on_free: fn()) {
    HOOKS.init_once(|| Hooks { on_allocate, on_free });
}

// SAFETY: allocation and free go through `linked_list_allocator::Heap`, which returns
// blocks of the requested layout inside its region (mapped for good by `init`), under a
// lock held with interrupts masked.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(hooks) = HOOKS.get() {
            (hooks.on_allocate)();
        }
        without_interrupts(|| self.0.lock().allocate_first_fit(layout).map_or(null_mut(), NonNull::as_ptr))
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        let Some(pointer) = NonNull::new(pointer) else {
            return;
        };
        if let Some(hooks) = HOOKS.get() {
            (hooks.on_free)();
        }
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
    without_interrupts(|| {
        let heap = HEAP.0.lock();
        HeapStats { size: heap.size(), used: heap.used() }
    })
}

/// Size of the heap.
pub fn size() -> usize {
    SIZE.load(Ordering::Relaxed)
}

/// Hands `HEAP_START..HEAP_START + size`, mapped writable just before, to the allocator.
///
/// # Safety
/// The range must be mapped writable for good and used by nothing else. Call once.
pub(crate) unsafe fn init(size: usize) {
    // SAFETY: the caller's contract.
    without_interrupts(|| unsafe { HEAP.0.lock().init(HEAP_START as *mut u8, size) });
    SIZE.store(size, Ordering::Relaxed);
}
