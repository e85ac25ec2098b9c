//! Page tables: the active level-4 table reached through the physical-memory window, and a
//! frame allocator for them backed by `mm::boot_frames`.

use mm::boot_frames::{BootFrames, PhysRange};
use x86_64::structures::paging::{FrameAllocator, OffsetPageTable, PageTable, PhysFrame, Size4KiB};
use x86_64::{PhysAddr, VirtAddr};

/// The active page table, seen through the window at `physical_memory_offset`.
///
/// # Safety
/// All physical memory must be mapped at `physical_memory_offset`, and the caller must not
/// create a second handle to the same tables while this one is in use.
pub unsafe fn kernel_page_table(physical_memory_offset: u64) -> OffsetPageTable<'static> {
    let offset = VirtAddr::new(physical_memory_offset);
    let (level_4_frame, _) = x86_64::registers::control::Cr3::read();
    let level_4_table = offset + level_4_frame.start_address().as_u64();
    let level_4_table: *mut PageTable = level_4_table.as_mut_ptr();
    // SAFETY: the caller guarantees the window maps the frame CR3 points at, and that this
    // is the only reference to it.
    unsafe { OffsetPageTable::new(&mut *level_4_table, offset) }
}

/// Frames for page tables and the heap during boot.
pub struct BootFrameAllocator<I: Iterator<Item = PhysRange>> {
    frames: BootFrames<I>,
}

impl<I: Iterator<Item = PhysRange>> BootFrameAllocator<I> {
    /// # Safety
    /// `ranges` must be usable RAM that nothing else uses or will use while frames from it
    /// are in use, ascending and disjoint.
    pub unsafe fn new(ranges: I) -> Self {
        Self { frames: BootFrames::new(ranges) }
    }

    pub fn handed_out(&self) -> u64 {
        self.frames.handed_out()
    }

    /// The frames not handed out, for the frame allocator that takes over.
    pub fn into_remaining(self) -> impl Iterator<Item = PhysRange> {
        self.frames.into_remaining()
    }
}

// SAFETY: `BootFrames` hands out each frame of its ranges once, and `new`'s contract makes
// those ranges unused RAM.
unsafe impl<I: Iterator<Item = PhysRange>> FrameAllocator<Size4KiB> for BootFrameAllocator<I> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        self.frames.allocate().map(|address| PhysFrame::containing_address(PhysAddr::new(address)))
    }
}
