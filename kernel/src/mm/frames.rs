//! The kernel's physical frame allocator (`mm::frame_allocator`) behind a lock.
//!
//! Lock rule: taken with interrupts masked, since frees may happen wherever a last
//! reference drops. Lock order: `stacks` → `frames` (never the other way round).

use conquer_once::spin::OnceCell;
use mm::frame_allocator::{FrameAllocator, FrameOwner, FrameStats, FreeError, OutOfFrames};
use mm::frame_source::FrameSource;

use crate::sync::SpinLock;

static FRAMES: OnceCell<SpinLock<FrameAllocator>> = OnceCell::uninit();

pub(super) fn init(mut allocator: FrameAllocator) {
    allocator.set_refusal(crate::fault_injection::refuses_frame);
    FRAMES.init_once(|| SpinLock::new(allocator));
}

/// Runs `work` with the frame allocator locked and interrupts masked.
pub fn with_frames<R>(work: impl FnOnce(&mut FrameAllocator) -> R) -> R {
    let frames = FRAMES.get().expect("mm: frame allocator used before mm::init");
    work(&mut frames.lock())
}

/// Current frame counts.
pub fn stats() -> FrameStats {
    with_frames(|frames| frames.stats())
}

/// The allocator as a `FrameSource` locked for each call only: for page-table work that
/// zeroes or copies frames between allocations (mapping fresh pages, fork's copy), which
/// then runs with the lock free and interrupts on (`mm::frame_source`).
pub struct LockedFrames;

impl FrameSource for LockedFrames {
    fn allocate(&mut self, owner: FrameOwner) -> Result<u64, OutOfFrames> {
        with_frames(|frames| frames.allocate(owner))
    }

    fn free(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError> {
        with_frames(|frames| frames.free(address, owner))
    }

    fn add_reference(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError> {
        with_frames(|frames| frames.add_reference(address, owner))
    }

    fn drop_reference(&mut self, address: u64, owner: FrameOwner) -> Result<bool, FreeError> {
        with_frames(|frames| frames.drop_reference(address, owner))
    }
}
