//! `meminfo`: every memory counter in one snapshot, for tests, tracing and the shell.
//!
//! `Display` prints one machine-readable line:
//! `meminfo frames_total=.. frames_free=.. page-table=.. user-page=.. kernel-stack=.. heap=..
//! pool=.. boot_frames=.. heap_bytes=.. heap_size=.. kernel_stacks=..`

use core::fmt;

use mm::frame_allocator::{FrameOwner, FrameStats};

use super::{frames, heap, stacks};

/// All memory counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemInfo {
    pub frames: FrameStats,
    /// Frames taken at boot (heap and its page tables), never freed.
    pub boot_frames: u64,
    pub heap: heap::HeapStats,
    pub kernel_stacks: u32,
}

/// Takes the snapshot.
pub fn snapshot() -> MemInfo {
    MemInfo {
        frames: frames::stats(),
        boot_frames: super::boot_frames(),
        heap: heap::stats(),
        kernel_stacks: stacks::in_use(),
    }
}

impl fmt::Display for MemInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "meminfo frames_total={} frames_free={}", self.frames.total, self.frames.free)?;
        for owner in FrameOwner::ALL {
            write!(f, " {}={}", owner.name(), self.frames.owned_by(owner))?;
        }
        write!(
            f,
            " boot_frames={} heap_bytes={} heap_size={} kernel_stacks={}",
            self.boot_frames, self.heap.used, self.heap.size, self.kernel_stacks
        )
    }
}
