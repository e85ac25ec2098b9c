//! Device registers mapped uncached in the kernel half: the local and I/O APICs' register
//! pages (`arch::apic`, `arch::ioapic`).
//!
//! The physical window maps all memory write-back (the bootloader's 2 MiB pages carry no
//! cache-control bits), but device registers must be accessed uncached, every read and
//! write reaching the device in program order. Each device page gets its own 4 KiB mapping
//! here with PCD and PWT set: uncached under every PAT setting the kernel runs with (the
//! firmware's MTRRs normally make these ranges uncached too; the window's aliases of them
//! are never used).
//!
//! Invariants: the region lies inside the heap's root entry (384), which exists from boot,
//! so the root is never changed and every address space — each copies the kernel root's
//! upper-half entries when it is made — sees mappings added later. Mappings are never
//! removed. Lock order: the kernel-root edit lock → `frames` (`paging::edit_kernel_root`).
//!
//! Called from: boot code, in task context.

use mm::PAGE_SIZE;
use x86_64::structures::paging::{Mapper, Page, PageTableFlags, PhysFrame, Size4KiB};
use x86_64::{PhysAddr, VirtAddr};

use super::heap::{HEAP_MAX_SIZE, HEAP_START};
use super::paging::edit_kernel_root;
use crate::sync::SpinLock;

/// Start of the device region: 1 GiB above the heap, in the same root entry.
const REGION_START: u64 = HEAP_START + HEAP_MAX_SIZE as u64;
/// Pages the region holds.
const REGION_PAGES: u64 = 16;

/// Pages of the region mapped so far; guarded by the kernel-root edit lock's critical
/// section (only `map_uncached` touches it, from inside `edit_kernel_root`).
static PAGES_USED: SpinLock<u64> = SpinLock::new(0);

/// Maps the page holding `physical` uncached and returns the virtual address of `physical`
/// in it.
pub fn map_uncached(physical: u64) -> u64 {
    let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(physical));
    let flags = PageTableFlags::PRESENT
        | PageTableFlags::WRITABLE
        | PageTableFlags::NO_CACHE
        | PageTableFlags::WRITE_THROUGH
        | PageTableFlags::NO_EXECUTE;
    let page_start = edit_kernel_root(|tables, table_frames| {
        let mut used = PAGES_USED.lock();
        assert!(*used < REGION_PAGES, "mm: the device region is full ({REGION_PAGES} pages)");
        let page_start = REGION_START + *used * PAGE_SIZE;
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(page_start));
        // SAFETY: the page is a fresh one of the device region, used by nothing else; the
        // frame holds device registers, which no allocator hands out.
        unsafe { tables.map_to(page, frame, flags, table_frames) }
            .expect("mm: a device-region page was mapped twice")
            .flush();
        *used += 1;
        page_start
    });
    page_start + (physical - frame.start_address().as_u64())
}
