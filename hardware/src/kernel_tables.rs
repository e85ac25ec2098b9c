//! Mappings the kernel adds to its own root after boot: device registers, uncached, in a
//! region of their own, and the start-up page at its own address while application
//! processors start.
//!
//! Invariants: the device region lies inside the heap's root entry (384), which exists from
//! boot, so the root's upper half never changes and every address space — each copies the
//! kernel root's upper-half entries when it is made — sees device mappings added later.
//! Device mappings are never removed, and only frames that are not usable RAM are mapped
//! there, so no allocator-managed frame gets a second, uncached alias. The start-up page is
//! mapped in the kernel root's lower half, where the kernel keeps nothing and which user
//! address spaces never see. Page tables made for these mappings come from the frame
//! allocator (owner `PageTable`) and are never freed.
//!
//! Lock order: the caller's frame allocator → the edit lock (a leaf, interrupts masked).
//!
//! Called from: boot code, in task context.

use mm::PAGE_SIZE;
use mm::frame_allocator::FrameOwner;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

use crate::heap::{HEAP_MAX_SIZE, HEAP_START};
use crate::trampoline::StartUpPage;

/// Start of the device region: 1 GiB above the heap, in the same root entry.
const DEVICE_REGION_START: u64 = HEAP_START + HEAP_MAX_SIZE as u64;
/// Pages the region holds.
const DEVICE_REGION_PAGES: u64 = 16;

/// Pages of the device region mapped so far; the lock serializes every edit of the kernel
/// root's tables.
static EDITS: spin::Mutex<u64> = spin::Mutex::new(0);

/// Frames for new page tables from the kernel's frame allocator.
struct TableFrames<'a>(&'a mut mm::frame_allocator::FrameAllocator);

// SAFETY: the frame allocator hands out each free frame once, and a frame given to a page
// table stays allocated (owner `PageTable`) for good.
unsafe impl FrameAllocator<Size4KiB> for TableFrames<'_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let address = self.0.allocate(FrameOwner::PageTable).ok()?;
        Some(PhysFrame::containing_address(PhysAddr::new(address)))
    }
}

/// Runs `work` on the kernel root's tables with the edit lock held, interrupts masked.
fn edit<R>(work: impl FnOnce(&mut OffsetPageTable<'_>, &mut u64) -> R) -> R {
    without_interrupts(|| {
        let mut pages_used = EDITS.lock();
        let window = VirtAddr::new(crate::window::window().offset());
        let root = (window + crate::paging::kernel_root()).as_mut_ptr::<PageTable>();
        // Address-space creation reads the upper-half root entries and the stack region
        // writes its own tables: neither is touched here.
        // SAFETY: the window maps the kernel root for good; the edit lock makes this the
        // only handle that writes through it.
        let mut tables = unsafe { OffsetPageTable::new(&mut *root, window) };
        work(&mut tables, &mut pages_used)
    })
}

/// Maps the page holding device memory `physical` uncached (PCD and PWT: uncached under
/// every PAT setting the kernel runs with) and returns the virtual address of `physical`
/// in it. Panics if the page is usable RAM or the region is full.
pub fn map_uncached(physical: u64, frames: &mut mm::frame_allocator::FrameAllocator) -> u64 {
    assert!(!crate::boot::is_usable_ram(physical), "kernel_tables: {physical:#x} is RAM, not device memory");
    let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(physical));
    let flags = PageTableFlags::PRESENT
        | PageTableFlags::WRITABLE
        | PageTableFlags::NO_CACHE
        | PageTableFlags::WRITE_THROUGH
        | PageTableFlags::NO_EXECUTE;
    let page_start = edit(|tables, used| {
        assert!(
            *used < DEVICE_REGION_PAGES,
            "kernel_tables: the device region is full ({DEVICE_REGION_PAGES} pages)"
        );
        let page_start = DEVICE_REGION_START + *used * PAGE_SIZE;
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(page_start));
        // SAFETY: the page is a fresh one of the device region, used by nothing else; the
        // frame holds device registers, which no allocator hands out (checked above).
        unsafe { tables.map_to(page, frame, flags, &mut TableFrames(frames)) }
            .expect("kernel_tables: a device-region page was mapped twice")
            .flush();
        *used += 1;
        page_start
    });
    page_start + (physical - frame.start_address().as_u64())
}

/// The start-up page mapped at its own address in the kernel root; unmapped on drop.
pub struct IdentityMapping {
    page: Page<Size4KiB>,
}

/// Maps the start-up page at its own physical address in the kernel root, writable and
/// executable, until the returned guard is dropped.
pub fn identity_map(
    start_up_page: &StartUpPage,
    frames: &mut mm::frame_allocator::FrameAllocator,
) -> IdentityMapping {
    let address = start_up_page.physical();
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(address));
    let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(address));
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
    edit(|tables, _| {
        // SAFETY: the page is the start-up page, which no allocator hands out, mapped at its
        // own address in the kernel root's lower half, where the kernel keeps nothing.
        unsafe { tables.map_to(page, frame, flags, &mut TableFrames(frames)) }
            .expect("kernel_tables: the start-up page is mapped in the kernel root already")
            .flush();
    });
    IdentityMapping { page }
}

impl Drop for IdentityMapping {
    fn drop(&mut self) {
        edit(|tables, _| {
            tables
                .unmap(self.page)
                .expect("kernel_tables: the start-up page's identity mapping vanished")
                .1
                .flush();
        });
    }
}
