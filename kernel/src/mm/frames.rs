//! The kernel's physical frame allocator (`mm::frame_allocator`) behind a lock.
//!
//! Lock rule: taken with interrupts masked, since frees may happen wherever a last
//! reference drops. Lock order: `stacks` → `frames` (never the other way round).

use conquer_once::spin::OnceCell;
use mm::frame_allocator::{FrameAllocator, FrameStats};
use x86_64::instructions::interrupts::without_interrupts;

use crate::sync::SpinLock;

static FRAMES: OnceCell<SpinLock<FrameAllocator>> = OnceCell::uninit();

pub(super) fn init(allocator: FrameAllocator) {
    FRAMES.init_once(|| SpinLock::new(allocator));
}

/// Runs `work` with the frame allocator locked and interrupts masked.
pub fn with_frames<R>(work: impl FnOnce(&mut FrameAllocator) -> R) -> R {
    let frames = FRAMES.get().expect("mm: frame allocator used before mm::init");
    without_interrupts(|| work(&mut frames.lock()))
}

/// Current frame counts.
pub fn stats() -> FrameStats {
    with_frames(|frames| frames.stats())
}
