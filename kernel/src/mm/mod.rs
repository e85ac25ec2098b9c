//! The kernel's memory glue over the `mm` crate and the hardware layer: the frame
//! allocator behind its lock, kernel stacks, typed pools, address spaces, TLB shootdowns
//! and the `meminfo` snapshot.
//!
//! Boot order (`init`): the boot-time tables are sized from usable RAM (`mm::sizing`: the
//! thread limit, the heap, the stack region); the hardware layer takes over from the
//! bootloader (`hardware::boot::take_over`: the start-up page for application processors
//! taken out of usable RAM, the heap mapped with boot-time frames); the frame allocator
//! then takes over every frame the boot source did not hand out (those stay the heap's and
//! the boot page tables' for good, counted as `boot_frames`); last, the kernel stack
//! region's page tables are made.

pub mod device_memory;
pub mod frames;
pub mod heap;
pub mod low_memory;
pub mod meminfo;
pub mod pool;
pub mod shootdown;
pub mod spaces;
pub mod stacks;
pub use hardware::window;

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader::BootInfo;
use mm::frame_allocator::FrameAllocator;
use mm::sizing::BootSizing;

static BOOT_FRAMES: AtomicU64 = AtomicU64::new(0);
static SIZING: conquer_once::spin::OnceCell<BootSizing> = conquer_once::spin::OnceCell::uninit();

/// What the boot-time tables were sized for: the thread limit, the heap, the stack region.
pub fn sizing() -> BootSizing {
    *SIZING.get().expect("mm: sizing read before mm::init")
}

/// Physical address of the kernel's root page table (the boot CR3).
pub fn kernel_root() -> u64 {
    hardware::paging::kernel_root()
}

/// Frames taken at boot for the heap and its page tables, never freed.
pub fn boot_frames() -> u64 {
    BOOT_FRAMES.load(Ordering::Relaxed)
}

/// Hands the bootloader's information to the hardware layer, which records where all of
/// physical memory is mapped (`window`). First thing at boot: the console reaches the VGA
/// screen through it.
pub fn init_window(boot_info: &'static BootInfo) {
    hardware::boot::init_window(boot_info);
}

/// Sets up the heap, the frame allocator and the kernel stack region. After `init_window`.
pub fn init() {
    heap::report_calls();
    let usable_bytes = hardware::boot::usable_ranges().map(|range| range.end - range.start).sum();
    let sizing = *SIZING.get_or_init(|| BootSizing::for_ram(usable_bytes, crate::arch::MAX_CPUS));
    let taken = hardware::boot::take_over(sizing.heap_bytes as usize);
    BOOT_FRAMES.store(taken.boot_frames, Ordering::Relaxed);
    frames::init(FrameAllocator::new(taken.remaining.iter().copied()));
    let stack_tables = stacks::init(sizing.stack_slots);
    log::info!(
        "mm: {} MiB usable; up to {} threads; heap {} KiB; {} boot frames; {} frames free; stack region tables {}; physical window at {:#x}",
        usable_bytes / (1024 * 1024),
        sizing.max_threads,
        heap::size() / 1024,
        boot_frames(),
        frames::stats().free,
        stack_tables,
        window::window().offset()
    );
}
