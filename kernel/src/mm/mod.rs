//! The kernel's memory glue: page tables through the bootloader's physical-memory window,
//! boot-time frames from `mm::boot_frames`, and the kernel heap.
//!
//! One of the two places in the kernel crate where `unsafe` is allowed (with `arch`).
#![allow(unsafe_code)]

pub mod heap;
pub mod paging;

use bootloader::BootInfo;
use bootloader::bootinfo::MemoryRegionType;
use mm::boot_frames::PhysRange;

/// Usable RAM as the bootloader reports it.
pub fn usable_ranges(boot_info: &'static BootInfo) -> impl Iterator<Item = PhysRange> + 'static {
    boot_info
        .memory_map
        .iter()
        .filter(|region| region.region_type == MemoryRegionType::Usable)
        .map(|region| PhysRange { start: region.range.start_addr(), end: region.range.end_addr() })
}

/// Maps and initialises the kernel heap.
pub fn init(boot_info: &'static BootInfo) {
    // SAFETY: the bootloader maps all physical memory at `physical_memory_offset` (the
    // `map_physical_memory` feature) and this is the only page-table handle created.
    let mut mapper = unsafe { paging::kernel_page_table(boot_info.physical_memory_offset) };
    // SAFETY: the ranges are what the bootloader reports as usable RAM, and nothing else
    // allocates from them.
    let mut frames = unsafe { paging::BootFrameAllocator::new(usable_ranges(boot_info)) };
    // SAFETY: `mapper` is the active page table and `frames` hands out unused RAM; the heap
    // range is mapped nowhere else.
    unsafe { heap::init(&mut mapper, &mut frames) };
    log::info!("mm: heap of {} KiB mapped, {} boot frames used", heap::HEAP_SIZE / 1024, frames.handed_out());
}
