//! Kernel stacks: fixed slots in a dedicated virtual region, each an unmapped guard page
//! followed by the stack's pages.
//!
//! ```text
//!   slot n:  [ guard (unmapped) | stack page 0 | ... | stack page k-1 ]  ← top
//!            ^ region_start + n * slot_size
//! ```
//!
//! A stack grows down into its guard page, so an overflow faults instead of corrupting the
//! slot below. The stack's frames are physically contiguous (one allocation, one free).
//! Freeing a stack fills it with `POISON` before the frames go back, so a use after free
//! reads an unmistakable pattern rather than stale data; the caller flushes the freed pages
//! from the TLB. The tables covering the whole region are created up front
//! (`prepare_tables`), in the kernel half that every address space shares, so stacks
//! never add or free page tables and frame counts return exactly to their start.
//!
//! Not locked; the kernel wraps it (`kernel::mm::stacks`). The slot arithmetic
//! (`slot_of_guard`, `stack_of`) reads only constants, so the double-fault handler and the
//! lockup detector may use it without taking that lock.

use alloc::vec::Vec;

use x86_64::structures::paging::PageTableFlags as Flags;

use crate::PAGE_SIZE;
use crate::frame_allocator::{FrameAllocator, FrameOwner, OutOfFrames};
use crate::page_table::{self, ENTRY_FRAME_MASK, is_present, table_indices};
use crate::phys::{self, PhysWindow};

/// The byte freed stacks are filled with.
pub const POISON: u8 = 0xd5;

/// Where the region is and how it is cut up. Plain numbers, usable from any context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackLayout {
    pub region_start: u64,
    pub slots: u32,
    /// Stack pages per slot, not counting the guard page.
    pub stack_pages: u64,
}

impl StackLayout {
    pub fn slot_size(&self) -> u64 {
        (self.stack_pages + 1) * PAGE_SIZE
    }

    pub fn region_end(&self) -> u64 {
        self.region_start + u64::from(self.slots) * self.slot_size()
    }

    fn slot_start(&self, slot: u32) -> u64 {
        self.region_start + u64::from(slot) * self.slot_size()
    }

    /// The slot whose guard page contains `address`, if any.
    pub fn slot_of_guard(&self, address: u64) -> Option<u32> {
        if !(self.region_start..self.region_end()).contains(&address) {
            return None;
        }
        let offset = address - self.region_start;
        (offset % self.slot_size() < PAGE_SIZE).then(|| (offset / self.slot_size()) as u32)
    }

    /// The usable addresses (`bottom..top`) of the slot whose stack pages contain
    /// `address`, if any: where a stack walk that starts at `address` may read, provided
    /// the slot holds a live stack (as the one a CPU is running on does).
    pub fn stack_of(&self, address: u64) -> Option<core::ops::Range<u64>> {
        if !(self.region_start..self.region_end()).contains(&address) {
            return None;
        }
        let slot = ((address - self.region_start) / self.slot_size()) as u32;
        let bottom = self.slot_start(slot) + PAGE_SIZE;
        (address >= bottom).then(|| bottom..bottom + self.stack_pages * PAGE_SIZE)
    }
}

/// A kernel stack: usable addresses are `bottom..top`; the guard page is just below.
#[derive(Debug, PartialEq, Eq)]
pub struct KernelStack {
    slot: u32,
    bottom: u64,
    top: u64,
    first_frame: u64,
}

impl KernelStack {
    pub fn slot(&self) -> u32 {
        self.slot
    }

    pub fn bottom(&self) -> u64 {
        self.bottom
    }

    /// The initial stack pointer: one past the highest byte.
    pub fn top(&self) -> u64 {
        self.top
    }

    /// Virtual addresses of the stack's pages, for TLB flushes.
    pub fn pages(&self) -> impl Iterator<Item = u64> + use<> {
        (self.bottom..self.top).step_by(PAGE_SIZE as usize)
    }
}

/// Why no stack could be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// Every slot of the region is in use.
    NoSlot,
    OutOfFrames,
}

impl From<OutOfFrames> for StackError {
    fn from(_: OutOfFrames) -> Self {
        StackError::OutOfFrames
    }
}

/// The stack region's slots.
pub struct KernelStacks {
    layout: StackLayout,
    /// Slots given back, reused first. Its capacity is reserved up front, so neither
    /// allocating nor freeing a stack touches the heap.
    free_slots: Vec<u32>,
    /// Slots from here on have never been used.
    next_unused: u32,
    /// Who holds each slot (a name for reports), `None` when free.
    owners: Vec<Option<&'static str>>,
    /// Stacks poisoned and unmapped, whose frames and slots wait to be given back together
    /// once every CPU's TLB has been flushed (`release_retired`). Capacity reserved up front.
    retired: Vec<KernelStack>,
}

impl KernelStacks {
    pub fn new(layout: StackLayout) -> Self {
        Self {
            layout,
            free_slots: Vec::with_capacity(layout.slots as usize),
            next_unused: 0,
            owners: alloc::vec![None; layout.slots as usize],
            retired: Vec::with_capacity(layout.slots as usize),
        }
    }

    pub fn layout(&self) -> StackLayout {
        self.layout
    }

    /// Stacks in use (retired ones are not).
    pub fn in_use(&self) -> u32 {
        self.next_unused - self.free_slots.len() as u32 - self.retired.len() as u32
    }

    /// Stacks retired and not yet given back.
    pub fn retired(&self) -> usize {
        self.retired.len()
    }

    /// Who holds `slot`, if anyone.
    pub fn owner(&self, slot: u32) -> Option<&'static str> {
        self.owners.get(slot as usize).copied().flatten()
    }

    /// Creates every page table the region needs under `root`, so that later mappings
    /// never create or free one. Returns how many were created.
    pub fn prepare_tables(
        &self,
        window: &impl PhysWindow,
        frames: &mut FrameAllocator,
        root: u64,
    ) -> Result<u64, OutOfFrames> {
        let mut created = 0;
        let two_mib = 512 * PAGE_SIZE;
        let mut address = self.layout.region_start & !(two_mib - 1);
        while address < self.layout.region_end() {
            let flags = Flags::PRESENT | Flags::WRITABLE;
            page_table::leaf_table_creating(window, frames, root, address, flags, &mut created)?;
            address += two_mib;
        }
        Ok(created)
    }

    /// A fresh stack for `owner`, mapped under `root`.
    pub fn allocate(
        &mut self,
        window: &impl PhysWindow,
        frames: &mut FrameAllocator,
        root: u64,
        owner: &'static str,
    ) -> Result<KernelStack, StackError> {
        let slot = match self.free_slots.last() {
            Some(&slot) => slot,
            None if self.next_unused < self.layout.slots => self.next_unused,
            None => return Err(StackError::NoSlot),
        };
        let first_frame =
            frames.allocate_contiguous(self.layout.stack_pages as usize, FrameOwner::KernelStack)?;
        if self.free_slots.last() == Some(&slot) {
            self.free_slots.pop();
        } else {
            self.next_unused += 1;
        }
        let bottom = self.layout.slot_start(slot) + PAGE_SIZE;
        let flags = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
        for page in 0..self.layout.stack_pages {
            let address = bottom + page * PAGE_SIZE;
            let leaf_table = page_table::leaf_table(window, root, address)
                .expect("mm: kernel stack region used before prepare_tables");
            let index = table_indices(address)[3];
            assert!(
                !is_present(phys::read_word(window, leaf_table, index)),
                "mm: free stack slot {slot} is mapped"
            );
            phys::write_word(window, leaf_table, index, (first_frame + page * PAGE_SIZE) | flags.bits());
        }
        self.owners[slot as usize] = Some(owner);
        Ok(KernelStack { slot, bottom, top: bottom + self.layout.stack_pages * PAGE_SIZE, first_frame })
    }

    /// Poisons `stack` and unmaps it; its frames and slot stay taken until
    /// `release_retired`. A CPU that still translates its pages (a stale TLB entry) reaches
    /// only its own poisoned frames, and `release_retired` checks that they are untouched.
    pub fn retire(&mut self, window: &impl PhysWindow, root: u64, stack: KernelStack) {
        for page in 0..self.layout.stack_pages {
            let address = stack.bottom + page * PAGE_SIZE;
            let leaf_table =
                page_table::leaf_table(window, root, address).expect("mm: kernel stack not mapped");
            let index = table_indices(address)[3];
            let entry = phys::read_word(window, leaf_table, index);
            assert_eq!(
                entry & ENTRY_FRAME_MASK,
                stack.first_frame + page * PAGE_SIZE,
                "mm: kernel stack remapped"
            );
            phys::fill(window, entry & ENTRY_FRAME_MASK, POISON);
            phys::write_word(window, leaf_table, index, 0);
        }
        self.owners[stack.slot as usize] = None;
        self.retired.push(stack);
    }

    /// Gives every retired stack's frames and slot back, after checking that its poison is
    /// intact (a write through a stale translation after the stack was freed breaks R1).
    /// The caller must first have flushed the region from every CPU's TLB.
    pub fn release_retired(&mut self, window: &impl PhysWindow, frames: &mut FrameAllocator) {
        for stack in self.retired.drain(..) {
            for page in 0..self.layout.stack_pages {
                let frame = stack.first_frame + page * PAGE_SIZE;
                let poison = u64::from_ne_bytes([POISON; 8]);
                let intact =
                    (0..PAGE_SIZE as usize / 8).all(|word| phys::read_word(window, frame, word) == poison);
                assert!(intact, "mm: kernel stack {} was written after it was freed; R1 broken", stack.slot);
            }
            if let Err(error) = frames.free_contiguous(
                stack.first_frame,
                self.layout.stack_pages as usize,
                FrameOwner::KernelStack,
            ) {
                panic!("mm: kernel stack {} freed twice or corrupted ({error}); R4 broken", stack.slot);
            }
            self.free_slots.push(stack.slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phys::simulated::SimulatedRam;

    const LAYOUT: StackLayout = StackLayout { region_start: 0xffff_fe00_0000_0000, slots: 8, stack_pages: 4 };

    fn machine() -> (SimulatedRam, FrameAllocator, u64, KernelStacks) {
        let ram = SimulatedRam::new(0x10_0000, 128);
        let mut frames = FrameAllocator::new(core::iter::once(ram.range()));
        let root = frames.allocate(FrameOwner::PageTable).unwrap();
        phys::fill(&ram, root, 0);
        let stacks = KernelStacks::new(LAYOUT);
        stacks.prepare_tables(&ram, &mut frames, root).unwrap();
        (ram, frames, root, stacks)
    }

    fn mapped(ram: &SimulatedRam, root: u64, address: u64) -> bool {
        page_table::leaf_table(ram, root, address)
            .is_some_and(|table| is_present(phys::read_word(ram, table, table_indices(address)[3])))
    }

    #[test]
    fn a_stack_has_an_unmapped_guard_page_below_it() {
        let (ram, mut frames, root, mut stacks) = machine();
        let stack = stacks.allocate(&ram, &mut frames, root, "test").unwrap();
        assert_eq!(stack.top() - stack.bottom(), 4 * PAGE_SIZE);
        assert!(stack.pages().all(|page| mapped(&ram, root, page)));
        assert!(!mapped(&ram, root, stack.bottom() - PAGE_SIZE));
        assert_eq!(LAYOUT.slot_of_guard(stack.bottom() - 8), Some(stack.slot()));
        assert_eq!(LAYOUT.slot_of_guard(stack.bottom()), None);
        assert_eq!(LAYOUT.stack_of(stack.top() - 8), Some(stack.bottom()..stack.top()));
        assert_eq!(LAYOUT.stack_of(stack.bottom()), Some(stack.bottom()..stack.top()));
        assert_eq!(LAYOUT.stack_of(stack.bottom() - 8), None, "a guard page is no stack");
        assert_eq!(LAYOUT.stack_of(LAYOUT.region_end()), None);
        assert_eq!(stacks.owner(stack.slot()), Some("test"));
        stacks.retire(&ram, root, stack);
        stacks.release_retired(&ram, &mut frames);
    }

    #[test]
    fn a_freed_stack_is_poisoned_unmapped_and_its_frames_return() {
        let (ram, mut frames, root, mut stacks) = machine();
        let baseline = frames.stats();
        let stack = stacks.allocate(&ram, &mut frames, root, "test").unwrap();
        let first_frame = stack.first_frame;
        let pages: Vec<u64> = stack.pages().collect();
        assert_eq!(frames.stats().owned_by(FrameOwner::KernelStack), 4);
        stacks.retire(&ram, root, stack);
        assert!(pages.iter().all(|page| !mapped(&ram, root, *page)));
        assert!((0..PAGE_SIZE as usize).all(|i| phys::read_byte(&ram, first_frame, i) == POISON));
        assert_eq!(stacks.in_use(), 0);
        // Retired: the frames are still the stack's until the flush and release.
        assert_eq!(frames.stats().owned_by(FrameOwner::KernelStack), 4);
        stacks.release_retired(&ram, &mut frames);
        assert_eq!(frames.stats(), baseline);
        assert_eq!(stacks.retired(), 0);
    }

    #[test]
    fn a_retired_stack_keeps_its_slot_until_released() {
        let (ram, mut frames, root, mut stacks) = machine();
        let mut held: Vec<KernelStack> =
            (0..LAYOUT.slots).map(|_| stacks.allocate(&ram, &mut frames, root, "test").unwrap()).collect();
        let slot = held[3].slot();
        stacks.retire(&ram, root, held.remove(3));
        assert_eq!(stacks.allocate(&ram, &mut frames, root, "test"), Err(StackError::NoSlot));
        stacks.release_retired(&ram, &mut frames);
        assert_eq!(stacks.allocate(&ram, &mut frames, root, "again").unwrap().slot(), slot);
    }

    #[test]
    #[should_panic(expected = "written after it was freed; R1 broken")]
    fn a_write_to_a_retired_stack_is_caught_at_release() {
        let (ram, mut frames, root, mut stacks) = machine();
        let stack = stacks.allocate(&ram, &mut frames, root, "test").unwrap();
        let frame = stack.first_frame;
        stacks.retire(&ram, root, stack);
        phys::write_word(&ram, frame, 7, 0x1234);
        stacks.release_retired(&ram, &mut frames);
    }

    #[test]
    fn slots_run_out_cleanly_and_are_reused() {
        let (ram, mut frames, root, mut stacks) = machine();
        let mut held: Vec<KernelStack> =
            (0..LAYOUT.slots).map(|_| stacks.allocate(&ram, &mut frames, root, "test").unwrap()).collect();
        assert_eq!(stacks.allocate(&ram, &mut frames, root, "test"), Err(StackError::NoSlot));
        let slot = held[3].slot();
        stacks.retire(&ram, root, held.remove(3));
        stacks.release_retired(&ram, &mut frames);
        assert_eq!(stacks.allocate(&ram, &mut frames, root, "again").unwrap().slot(), slot);
    }

    #[test]
    fn running_out_of_frames_takes_no_slot() {
        let (ram, mut frames, root, mut stacks) = machine();
        while frames.allocate(FrameOwner::Heap).is_ok() {}
        assert_eq!(stacks.allocate(&ram, &mut frames, root, "test"), Err(StackError::OutOfFrames));
        assert_eq!(stacks.in_use(), 0);
    }
}
