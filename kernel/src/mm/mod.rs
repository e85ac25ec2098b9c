//! The kernel's memory glue: the physical window, boot-time page tables and heap, then the
//! frame allocator, kernel stacks and the `meminfo` snapshot, all over the `mm` crate.
//!
//! Boot order (`init`): the boot-time tables are sized from usable RAM (`mm::sizing`: the
//! thread limit, the heap, the stack region); the start-up page for application processors
//! is taken out of usable RAM (`low_memory`); the heap is mapped with frames from `mm::boot_frames`; the frame
//! allocator then takes over every frame the boot source did not hand out (those stay the
//! heap's and the boot page tables' for good, counted as `boot_frames`); last, the kernel
//! stack region's page tables are made.
//!
//! One of the two places in the kernel crate where `unsafe` is allowed (with `arch`).
#![allow(unsafe_code)]

pub mod device_memory;
pub mod frames;
pub mod heap;
pub mod low_memory;
pub mod meminfo;
pub mod paging;
pub mod pool;
pub mod shootdown;
pub mod spaces;
pub mod stacks;
pub use hardware::window;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use bootloader::BootInfo;
use bootloader::bootinfo::MemoryRegionType;
use mm::boot_frames::PhysRange;
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

/// Usable RAM as the bootloader reports it.
pub fn usable_ranges(boot_info: &'static BootInfo) -> impl Iterator<Item = PhysRange> + Clone + 'static {
    boot_info
        .memory_map
        .iter()
        .filter(|region| region.region_type == MemoryRegionType::Usable)
        .map(|region| PhysRange { start: region.range.start_addr(), end: region.range.end_addr() })
}

/// Records where the bootloader mapped physical memory (`window`). First thing at boot:
/// the console reaches the VGA screen through it.
pub fn init_window(boot_info: &'static BootInfo) {
    // SAFETY: the bootloader maps all physical memory at `physical_memory_offset` (the
    // `map_physical_memory` feature) for the kernel's lifetime.
    unsafe { window::init(boot_info.physical_memory_offset) };
}

/// Sets up the heap, the frame allocator and the kernel stack region. After `init_window`.
pub fn init(boot_info: &'static BootInfo) {
    hardware::paging::record_kernel_root();
    // SAFETY: as above, and this is the only page-table handle created.
    let mut mapper = unsafe { paging::kernel_page_table(boot_info.physical_memory_offset) };
    let usable_bytes = usable_ranges(boot_info).map(|range| range.end - range.start).sum();
    let sizing = *SIZING.get_or_init(|| BootSizing::for_ram(usable_bytes, crate::arch::MAX_CPUS));
    let usable = low_memory::reserve_start_up_page(usable_ranges(boot_info));
    // SAFETY: the ranges are usable RAM as the bootloader reports it (less the start-up page);
    // nothing else allocates from them until the frame allocator takes the rest, below.
    let mut boot = unsafe { paging::BootFrameAllocator::new(usable) };
    // SAFETY: `mapper` is the active page table and `boot` hands out unused RAM; the heap
    // range is mapped nowhere else.
    unsafe { heap::init(&mut mapper, &mut boot, sizing.heap_bytes as usize) };
    BOOT_FRAMES.store(boot.handed_out(), Ordering::Relaxed);
    let remaining: Vec<PhysRange> = boot.into_remaining().collect();
    frames::init(FrameAllocator::new(remaining.iter().copied()));
    let stack_tables = stacks::init(sizing.stack_slots);
    log::info!(
        "mm: {} MiB usable; up to {} threads; heap {} KiB; {} boot frames; {} frames free; stack region tables {}; physical window at {:#x}",
        usable_bytes / (1024 * 1024),
        sizing.max_threads,
        heap::size() / 1024,
        boot_frames(),
        frames::stats().free,
        stack_tables,
        boot_info.physical_memory_offset
    );
}
