//! The physical frame allocator: a bitmap over usable RAM, with an owner kind per frame.
//!
//! Why a bitmap and not a buddy allocator: one bit per frame makes "is this frame
//! allocated?" a single test, so a double free or a free of a frame never handed out is
//! always detected and reported (`FreeError`), never absorbed; with the owner byte kept per
//! frame, a free under the wrong owner is caught too and the per-owner counters stay exact.
//! Allocation scans 64 frames per word from a rotating hint, which is quick at the sizes
//! Lethe runs at (256 MiB is 1,024 words). Contiguous runs (kernel stacks) are found by a
//! scan that starts where the last run ended and steps over full words 64 frames at a
//! time, wrapping to the start only when the rest is taken: a scan from frame 0 each time
//! walked every frame of every live stack, so making a thread cost more the more threads
//! there were (found by the benchmark with 10,000 live threads). A buddy allocator would
//! find large runs faster, which Lethe does not need.
//!
//! Invariants (checked by the proptest in this file):
//! - a frame is handed out at most once until it is freed;
//! - `free + Σ by_owner == total` at all times;
//! - freeing everything returns the allocator to its initial counts.
//!
//! Not locked: the kernel wraps it in its own lock (`kernel::mm::frames`).

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::PAGE_SIZE;
use crate::boot_frames::PhysRange;

/// Who holds a frame, for accounting and for checking frees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum FrameOwner {
    PageTable = 0,
    UserPage = 1,
    KernelStack = 2,
    Heap = 3,
    Pool = 4,
}

impl FrameOwner {
    pub const ALL: [FrameOwner; 5] = [
        FrameOwner::PageTable,
        FrameOwner::UserPage,
        FrameOwner::KernelStack,
        FrameOwner::Heap,
        FrameOwner::Pool,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FrameOwner::PageTable => "page-table",
            FrameOwner::UserPage => "user-page",
            FrameOwner::KernelStack => "kernel-stack",
            FrameOwner::Heap => "heap",
            FrameOwner::Pool => "pool",
        }
    }
}

/// Owner byte of a free frame.
const FREE: u8 = 0xfe;
/// Owner byte of a frame inside the covered span that is not usable RAM.
const UNUSABLE: u8 = 0xff;

/// Why a free was refused. The allocator is unchanged when a free is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeError {
    /// The address is not the start of a 4 KiB frame.
    Misaligned { address: u64 },
    /// The frame is not usable RAM this allocator manages.
    NotManaged { address: u64 },
    /// The frame is free already: a double free, or a free of a frame never handed out.
    NotAllocated { address: u64 },
    /// The frame belongs to another owner.
    WrongOwner { address: u64, owner: FrameOwner, claimed: FrameOwner },
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FreeError::Misaligned { address } => write!(f, "frame free of misaligned address {address:#x}"),
            FreeError::NotManaged { address } => write!(f, "frame free of unmanaged address {address:#x}"),
            FreeError::NotAllocated { address } => {
                write!(f, "double free: frame {address:#x} is not allocated")
            }
            FreeError::WrongOwner { address, owner, claimed } => write!(
                f,
                "frame {address:#x} belongs to {} but was freed as {}",
                owner.name(),
                claimed.name()
            ),
        }
    }
}

/// No frame (or no run of frames) is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfFrames;

/// Frame counts, all in frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameStats {
    pub total: u64,
    pub free: u64,
    pub by_owner: [u64; FrameOwner::ALL.len()],
}

impl FrameStats {
    pub fn used(&self) -> u64 {
        self.total - self.free
    }

    pub fn owned_by(&self, owner: FrameOwner) -> u64 {
        self.by_owner[owner as usize]
    }
}

/// The allocator. See the module doc.
pub struct FrameAllocator {
    /// Physical address of the frame that bit 0 stands for.
    base: u64,
    /// One bit per frame: set = allocated or unusable.
    bitmap: Vec<u64>,
    /// One byte per frame: its `FrameOwner`, `FREE` or `UNUSABLE`.
    owners: Vec<u8>,
    /// Word where the next search starts.
    hint: usize,
    /// Frame where the next search for a contiguous run starts.
    run_hint: usize,
    stats: FrameStats,
    /// Frames held by more than one holder (pages shared across address spaces): the
    /// number of holders beyond the first. A frame is freed when its last holder lets go.
    extra_references: alloc::collections::BTreeMap<u64, u32>,
    /// Asked before each allocation whether to refuse it as if memory had run out (the
    /// kernel's fault injection); `None`: never refuse.
    refusal: Option<fn() -> bool>,
}

impl FrameAllocator {
    /// An allocator over the whole frames of `ranges` (ascending, disjoint), all free.
    pub fn new(ranges: impl Iterator<Item = PhysRange> + Clone) -> Self {
        let whole = ranges
            .map(|range| (range.start.next_multiple_of(PAGE_SIZE), range.end & !(PAGE_SIZE - 1)))
            .filter(|(start, end)| start < end);
        let base = whole.clone().map(|(start, _)| start).min().unwrap_or(0);
        let end = whole.clone().map(|(_, end)| end).max().unwrap_or(0);
        let frames = ((end - base) / PAGE_SIZE) as usize;
        let mut allocator = Self {
            base,
            bitmap: vec![u64::MAX; frames.div_ceil(64)],
            owners: vec![UNUSABLE; frames],
            hint: 0,
            run_hint: 0,
            stats: FrameStats::default(),
            extra_references: alloc::collections::BTreeMap::new(),
            refusal: None,
        };
        for (start, end) in whole {
            for address in (start..end).step_by(PAGE_SIZE as usize) {
                let index = allocator.index_of(address);
                allocator.clear_bit(index);
                allocator.owners[index] = FREE;
                allocator.stats.total += 1;
                allocator.stats.free += 1;
            }
        }
        allocator
    }

    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    /// Makes every allocation ask `refuse` first, and fail with `OutOfFrames` if it says so.
    pub fn set_refusal(&mut self, refuse: fn() -> bool) {
        self.refusal = Some(refuse);
    }

    fn refused(&self) -> bool {
        self.refusal.is_some_and(|refuse| refuse())
    }

    /// One frame for `owner`; returns its physical address.
    pub fn allocate(&mut self, owner: FrameOwner) -> Result<u64, OutOfFrames> {
        if self.refused() {
            return Err(OutOfFrames);
        }
        let words = self.bitmap.len();
        for step in 0..words {
            let word = (self.hint + step) % words;
            let bits = self.bitmap[word];
            if bits != u64::MAX {
                let index = word * 64 + bits.trailing_ones() as usize;
                self.hint = word;
                self.take(index, owner);
                return Ok(self.address_of(index));
            }
        }
        Err(OutOfFrames)
    }

    /// `count` physically contiguous frames for `owner`; returns the first one's address.
    pub fn allocate_contiguous(&mut self, count: usize, owner: FrameOwner) -> Result<u64, OutOfFrames> {
        assert!(count > 0, "mm: contiguous allocation of zero frames");
        if self.refused() {
            return Err(OutOfFrames);
        }
        let frames = self.owners.len();
        let start = self.run_hint.min(frames);
        let run_start = self.find_run(start, frames, count).or_else(|| self.find_run(0, frames, count));
        let run_start = run_start.ok_or(OutOfFrames)?;
        for frame in run_start..run_start + count {
            self.take(frame, owner);
        }
        self.run_hint = run_start + count;
        Ok(self.address_of(run_start))
    }

    /// The first frame of `count` free frames in a row within `from..to`, if there are.
    fn find_run(&self, from: usize, to: usize, count: usize) -> Option<usize> {
        let mut index = from;
        let mut run_start = from;
        let mut run_length = 0;
        while index < to {
            if index.is_multiple_of(64) && self.bitmap[index / 64] == u64::MAX {
                run_length = 0;
                index += 64;
                continue;
            }
            if self.bit(index) {
                run_length = 0;
            } else {
                if run_length == 0 {
                    run_start = index;
                }
                run_length += 1;
                if run_length == count {
                    return Some(run_start);
                }
            }
            index += 1;
        }
        None
    }

    /// Frees the frame at `address`, which `owner` holds.
    pub fn free(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError> {
        let index = self.check_allocated(address, owner)?;
        self.give_back(index, owner);
        Ok(())
    }

    /// Frees `count` frames from `address`, all held by `owner`; all or none.
    pub fn free_contiguous(
        &mut self,
        address: u64,
        count: usize,
        owner: FrameOwner,
    ) -> Result<(), FreeError> {
        for frame in 0..count as u64 {
            self.check_allocated(address + frame * PAGE_SIZE, owner)?;
        }
        for frame in 0..count as u64 {
            let index = self.index_of(address + frame * PAGE_SIZE);
            self.give_back(index, owner);
        }
        Ok(())
    }

    /// One more holder for the allocated frame at `address` (held by `owner`).
    pub fn add_reference(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError> {
        self.check_allocated(address, owner)?;
        *self.extra_references.entry(address).or_insert(0) += 1;
        Ok(())
    }

    /// A holder of the frame at `address` lets go; the last one frees it. Returns whether
    /// the frame was freed.
    pub fn drop_reference(&mut self, address: u64, owner: FrameOwner) -> Result<bool, FreeError> {
        self.check_allocated(address, owner)?;
        match self.extra_references.get_mut(&address) {
            Some(count) if *count > 1 => {
                *count -= 1;
                Ok(false)
            }
            Some(_) => {
                self.extra_references.remove(&address);
                if self.extra_references.is_empty() {
                    // Give back the node an emptied B-tree keeps, so counts return exactly.
                    self.extra_references = alloc::collections::BTreeMap::new();
                }
                Ok(false)
            }
            None => {
                self.free(address, owner)?;
                Ok(true)
            }
        }
    }

    /// The owner of the frame at `address`, if it is allocated.
    pub fn owner_of(&self, address: u64) -> Option<FrameOwner> {
        let index = self.managed_index(address)?;
        FrameOwner::ALL.into_iter().find(|owner| *owner as u8 == self.owners[index])
    }

    fn check_allocated(&self, address: u64, claimed: FrameOwner) -> Result<usize, FreeError> {
        if !address.is_multiple_of(PAGE_SIZE) {
            return Err(FreeError::Misaligned { address });
        }
        let index = self.managed_index(address).ok_or(FreeError::NotManaged { address })?;
        match self.owners[index] {
            FREE => Err(FreeError::NotAllocated { address }),
            UNUSABLE => Err(FreeError::NotManaged { address }),
            byte if byte == claimed as u8 => Ok(index),
            _ => Err(FreeError::WrongOwner { address, owner: self.owner_of(address).unwrap(), claimed }),
        }
    }

    fn managed_index(&self, address: u64) -> Option<usize> {
        let offset = address.checked_sub(self.base)?;
        let index = (offset / PAGE_SIZE) as usize;
        (index < self.owners.len() && self.owners[index] != UNUSABLE).then_some(index)
    }

    fn take(&mut self, index: usize, owner: FrameOwner) {
        debug_assert_eq!(self.owners[index], FREE);
        self.bitmap[index / 64] |= 1 << (index % 64);
        self.owners[index] = owner as u8;
        self.stats.free -= 1;
        self.stats.by_owner[owner as usize] += 1;
    }

    fn give_back(&mut self, index: usize, owner: FrameOwner) {
        self.clear_bit(index);
        self.owners[index] = FREE;
        self.stats.free += 1;
        self.stats.by_owner[owner as usize] -= 1;
    }

    fn bit(&self, index: usize) -> bool {
        self.bitmap[index / 64] & (1 << (index % 64)) != 0
    }

    fn clear_bit(&mut self, index: usize) {
        self.bitmap[index / 64] &= !(1 << (index % 64));
    }

    fn index_of(&self, address: u64) -> usize {
        ((address - self.base) / PAGE_SIZE) as usize
    }

    fn address_of(&self, index: usize) -> u64 {
        self.base + index as u64 * PAGE_SIZE
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    const RAM: [PhysRange; 2] =
        [PhysRange { start: 0x1000, end: 0x9f000 }, PhysRange { start: 0x100000, end: 0x300000 }];

    fn allocator() -> FrameAllocator {
        FrameAllocator::new(RAM.iter().copied())
    }

    #[test]
    fn only_usable_frames_are_counted_and_handed_out() {
        let mut frames = allocator();
        let total = frames.stats().total;
        assert_eq!(total, (0x9f000 - 0x1000) / PAGE_SIZE + (0x300000 - 0x100000) / PAGE_SIZE);
        for _ in 0..total {
            let address = frames.allocate(FrameOwner::UserPage).unwrap();
            assert!(RAM.iter().any(|r| (r.start..r.end).contains(&address)), "{address:#x} is not RAM");
        }
        assert_eq!(frames.allocate(FrameOwner::UserPage), Err(OutOfFrames));
    }

    #[test]
    fn a_refused_allocation_fails_as_out_of_frames_and_takes_nothing() {
        let mut frames = allocator();
        frames.set_refusal(|| true);
        let before = frames.stats();
        assert_eq!(frames.allocate(FrameOwner::UserPage), Err(OutOfFrames));
        assert_eq!(frames.allocate_contiguous(4, FrameOwner::KernelStack), Err(OutOfFrames));
        assert_eq!(frames.stats(), before);
        frames.set_refusal(|| false);
        assert!(frames.allocate(FrameOwner::UserPage).is_ok());
    }

    #[test]
    fn a_double_free_is_reported_and_changes_nothing() {
        let mut frames = allocator();
        let address = frames.allocate(FrameOwner::Heap).unwrap();
        frames.free(address, FrameOwner::Heap).unwrap();
        let before = frames.stats();
        assert_eq!(frames.free(address, FrameOwner::Heap), Err(FreeError::NotAllocated { address }));
        assert_eq!(frames.stats(), before);
    }

    #[test]
    fn freeing_a_frame_never_handed_out_or_outside_ram_is_reported() {
        let mut frames = allocator();
        assert_eq!(frames.free(0x2000, FrameOwner::Heap), Err(FreeError::NotAllocated { address: 0x2000 }));
        assert_eq!(frames.free(0xa0000, FrameOwner::Heap), Err(FreeError::NotManaged { address: 0xa0000 }));
        assert_eq!(frames.free(0x2001, FrameOwner::Heap), Err(FreeError::Misaligned { address: 0x2001 }));
    }

    #[test]
    fn a_free_under_the_wrong_owner_is_reported() {
        let mut frames = allocator();
        let address = frames.allocate(FrameOwner::PageTable).unwrap();
        assert_eq!(
            frames.free(address, FrameOwner::UserPage),
            Err(FreeError::WrongOwner {
                address,
                owner: FrameOwner::PageTable,
                claimed: FrameOwner::UserPage
            })
        );
        assert_eq!(frames.stats().owned_by(FrameOwner::PageTable), 1);
    }

    #[test]
    fn contiguous_runs_skip_holes_and_allocated_frames() {
        let mut frames = allocator();
        let single = frames.allocate(FrameOwner::Pool).unwrap();
        let run = frames.allocate_contiguous(4, FrameOwner::KernelStack).unwrap();
        assert!(run > single);
        for frame in 0..4 {
            assert_eq!(frames.owner_of(run + frame * PAGE_SIZE), Some(FrameOwner::KernelStack));
        }
        // A run longer than the low range must come from the high one.
        let long = frames.allocate_contiguous(0x9e, FrameOwner::KernelStack).unwrap();
        assert_eq!(long, 0x100000);
        frames.free_contiguous(run, 4, FrameOwner::KernelStack).unwrap();
        assert_eq!(frames.stats().owned_by(FrameOwner::KernelStack), 0x9e);
    }

    #[test]
    fn contiguous_runs_go_on_after_the_last_one_and_wrap_around_to_freed_runs() {
        let mut frames = allocator();
        let first = frames.allocate_contiguous(4, FrameOwner::KernelStack).unwrap();
        let second = frames.allocate_contiguous(4, FrameOwner::KernelStack).unwrap();
        frames.free_contiguous(first, 4, FrameOwner::KernelStack).unwrap();
        let third = frames.allocate_contiguous(4, FrameOwner::KernelStack).unwrap();
        assert!(third > second, "the search went back over runs it had passed");
        let mut runs = alloc::vec![second, third];
        while let Ok(run) = frames.allocate_contiguous(4, FrameOwner::KernelStack) {
            runs.push(run);
        }
        assert!(runs.contains(&first), "a freed run below the hint was never handed out again");
        assert!(frames.stats().free < 4 * 2, "runs were left unfound");
    }

    #[test]
    fn a_shared_frame_is_freed_by_its_last_holder_only() {
        let mut frames = allocator();
        let baseline = frames.stats();
        let frame = frames.allocate(FrameOwner::UserPage).unwrap();
        frames.add_reference(frame, FrameOwner::UserPage).unwrap();
        frames.add_reference(frame, FrameOwner::UserPage).unwrap();
        assert_eq!(frames.drop_reference(frame, FrameOwner::UserPage), Ok(false));
        assert_eq!(frames.drop_reference(frame, FrameOwner::UserPage), Ok(false));
        assert_eq!(frames.owner_of(frame), Some(FrameOwner::UserPage));
        assert_eq!(frames.drop_reference(frame, FrameOwner::UserPage), Ok(true));
        assert_eq!(frames.stats(), baseline);
        assert_eq!(
            frames.drop_reference(frame, FrameOwner::UserPage),
            Err(FreeError::NotAllocated { address: frame })
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Allocate(u8),
        AllocateRun(u8, u8),
        Free(usize),
        DoubleFree(usize),
    }

    fn owner(n: u8) -> FrameOwner {
        FrameOwner::ALL[n as usize % FrameOwner::ALL.len()]
    }

    proptest! {
        #[test]
        fn frames_are_never_handed_out_twice_and_counts_stay_consistent(
            ops in proptest::collection::vec(
                prop_oneof![
                    (0u8..5).prop_map(Op::Allocate),
                    (1u8..9, 0u8..5).prop_map(|(n, o)| Op::AllocateRun(n, o)),
                    any::<usize>().prop_map(Op::Free),
                    any::<usize>().prop_map(Op::DoubleFree),
                ],
                1..300,
            )
        ) {
            let mut frames = allocator();
            let initial = frames.stats();
            let mut held: HashMap<u64, FrameOwner> = HashMap::new();
            let mut freed: Vec<(u64, FrameOwner)> = Vec::new();
            for op in ops {
                match op {
                    Op::Allocate(o) => {
                        if let Ok(address) = frames.allocate(owner(o)) {
                            prop_assert!(held.insert(address, owner(o)).is_none(), "{:#x} handed out twice", address);
                        }
                    }
                    Op::AllocateRun(n, o) => {
                        if let Ok(first) = frames.allocate_contiguous(n as usize, owner(o)) {
                            for frame in 0..n as u64 {
                                let address = first + frame * PAGE_SIZE;
                                prop_assert!(held.insert(address, owner(o)).is_none(), "{:#x} handed out twice", address);
                            }
                        }
                    }
                    Op::Free(pick) if !held.is_empty() => {
                        let mut addresses: Vec<u64> = held.keys().copied().collect();
                        addresses.sort();
                        let address = addresses[pick % addresses.len()];
                        let o = held.remove(&address).unwrap();
                        prop_assert_eq!(frames.free(address, o), Ok(()));
                        freed.push((address, o));
                    }
                    Op::DoubleFree(pick) if !freed.is_empty() => {
                        let (address, o) = freed[pick % freed.len()];
                        if !held.contains_key(&address) {
                            prop_assert_eq!(frames.free(address, o), Err(FreeError::NotAllocated { address }));
                        }
                    }
                    _ => {}
                }
                let stats = frames.stats();
                prop_assert_eq!(stats.free + stats.by_owner.iter().sum::<u64>(), stats.total);
                prop_assert_eq!(stats.used(), held.len() as u64);
                for o in FrameOwner::ALL {
                    prop_assert_eq!(stats.owned_by(o), held.values().filter(|h| **h == o).count() as u64);
                }
            }
            for (address, o) in held.drain() {
                prop_assert_eq!(frames.free(address, o), Ok(()));
            }
            prop_assert_eq!(frames.stats(), initial);
        }
    }
}
