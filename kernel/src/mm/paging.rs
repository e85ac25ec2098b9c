//! Page tables: the active level-4 table reached through the physical-memory window, a
//! frame allocator for them backed by `mm::boot_frames`, and `edit_kernel_root` for the few
//! mappings the kernel adds to its root after boot (device registers, the AP start-up page).
//!
//! Lock order: the kernel-root edit lock → `frames`; both are taken with interrupts masked.

use mm::boot_frames::{BootFrames, PhysRange};
use mm::frame_allocator::FrameOwner;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::structures::paging::{FrameAllocator, OffsetPageTable, PageTable, PhysFrame, Size4KiB};
use x86_64::{PhysAddr, VirtAddr};

use super::{frames, kernel_root, window::window};
use crate::sync::SpinLock;

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

/// Frames for new page tables from the frame allocator (owner `PageTable`), for mappings
/// made through `edit_kernel_root`; such tables are never freed.
pub struct TableFrames<'a>(&'a mut mm::frame_allocator::FrameAllocator);

// SAFETY: the frame allocator hands out each free frame once, and a frame given to a page
// table stays allocated (owner `PageTable`) for good.
unsafe impl FrameAllocator<Size4KiB> for TableFrames<'_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let address = self.0.allocate(FrameOwner::PageTable).ok()?;
        Some(PhysFrame::containing_address(PhysAddr::new(address)))
    }
}

/// Serializes edits of the kernel root's tables after boot.
static KERNEL_ROOT_EDITS: SpinLock<()> = SpinLock::new(());

/// Runs `work` on the kernel root's tables, with frames for new tables, interrupts masked,
/// the edit lock and the frame allocator held. For mappings below existing root entries
/// only: `work` must not add or change a root entry, since address spaces copied the kernel
/// root's upper half when they were made, and must not touch the heap's or the stack
/// region's mappings.
pub fn edit_kernel_root<R>(work: impl FnOnce(&mut OffsetPageTable<'_>, &mut TableFrames<'_>) -> R) -> R {
    without_interrupts(|| {
        let _edit = KERNEL_ROOT_EDITS.lock();
        frames::with_frames(|allocator| {
            let root = window().virtual_address(kernel_root()) as *mut PageTable;
            // Address-space creation reads the upper-half root entries; the stack region writes
            // its own tables.
            // SAFETY: the window maps the kernel root for good; the edit lock makes this the
            // only handle that writes through it, and the readers above touch nothing it may.
            let mut tables = unsafe { OffsetPageTable::new(&mut *root, VirtAddr::new(window().offset())) };
            work(&mut tables, &mut TableFrames(allocator))
        })
    })
}
