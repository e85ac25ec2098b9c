//! `meminfo`: every memory counter in one snapshot, for tests, tracing and the shell.
//!
//! `Display` prints one machine-readable line:
//! `meminfo frames_total=.. frames_free=.. page-table=.. user-page=.. kernel-stack=.. heap=..
//! pool=.. boot_frames=.. heap_bytes=.. heap_size=.. kernel_stacks=.. pool.NAME=IN_USE/PAGES ..`
//!
//! `MemInfo::held` keeps only what is held right now (no running totals), which is what a
//! leak check compares before and after a workload. Pools' page-descriptor tables grow to
//! their high-water mark and stay (they are reused); their bytes are left out of `held`'s
//! heap count and shown per pool in `MemInfo`, so a leak check is exact.

use core::fmt;

use mm::frame_allocator::{FrameOwner, FrameStats};
use mm::pool::PoolStats;

use super::{frames, heap, pool, stacks};

/// All memory counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemInfo {
    pub frames: FrameStats,
    /// Frames taken at boot (heap and its page tables), never freed.
    pub boot_frames: u64,
    pub heap: heap::HeapStats,
    pub kernel_stacks: u32,
    pub pools: [Option<(&'static str, PoolStats)>; pool::MAX_POOLS],
}

/// What a `MemInfo` says is held: the part a leak check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub frames: FrameStats,
    /// Heap bytes in use, less the pools' descriptor tables.
    pub heap_bytes: usize,
    pub kernel_stacks: u32,
    /// Per pool holding anything: objects in use, pages.
    pub pools: [Option<(&'static str, u64, u64)>; pool::MAX_POOLS],
}

impl MemInfo {
    pub fn held(&self) -> Held {
        let pool_metadata: usize = self.pools.iter().flatten().map(|(_, stats)| stats.metadata_bytes).sum();
        Held {
            frames: self.frames,
            heap_bytes: self.heap.used - pool_metadata,
            kernel_stacks: self.kernel_stacks,
            pools: self.pools.map(|pool| {
                pool.filter(|(_, stats)| stats.objects_in_use > 0 || stats.pages() > 0)
                    .map(|(name, stats)| (name, stats.objects_in_use, stats.pages()))
            }),
        }
    }
}

/// Takes the snapshot, retired kernel stacks given back first (`stacks::release_retired`)
/// so that the counts are exact.
pub fn snapshot() -> MemInfo {
    stacks::release_retired();
    MemInfo {
        pools: pool::all_stats(),
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
        )?;
        for (name, stats) in self.pools.iter().flatten() {
            write!(f, " pool.{name}={}/{}", stats.objects_in_use, stats.pages())?;
        }
        Ok(())
    }
}
