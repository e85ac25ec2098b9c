//! Object pools: fixed-size slots carved out of whole frames, after NetBSD's pool(9).
//!
//! Each page (one frame) has a descriptor kept on exactly one of three lists — *full*
//! (no free slot), *partial*, *empty* (no slot in use) — and a bitmap of its slots.
//!
//! ```text
//!   allocate: partial head, else empty head, else a fresh frame      ──► maybe move to full
//!   free:     clear the slot's bit; full → partial; partial → empty  ──► maybe give the frame back
//! ```
//!
//! Allocation and free are constant time: list moves are O(1) unlinks through descriptor
//! indices, and a page's bitmap has at most 4 words (slots are at least 16 bytes). Empty
//! pages beyond `max_idle_pages` go straight back to the frame allocator, so a pool that
//! drained holds at most that many frames.
//!
//! A slot handle carries its page's descriptor index and generation; freeing a slot twice,
//! or through a handle whose page has since been given back, is reported (`PoolFreeError`)
//! and changes nothing. The pool only does the bookkeeping: objects live at `address(slot)`
//! and the kernel's typed wrapper (`kernel::mm::pool`) reads and writes them.
//!
//! Not locked; the kernel wraps each pool in a lock.

use alloc::vec::Vec;

use crate::PAGE_SIZE;
use crate::frame_allocator::{FrameAllocator, FrameOwner, OutOfFrames};

const MIN_OBJECT_SIZE: usize = 16;
const BITMAP_WORDS: usize = PAGE_SIZE as usize / MIN_OBJECT_SIZE / 64;
const NONE: u32 = u32::MAX;

/// A slot handed out by a pool.
#[derive(Debug, PartialEq, Eq)]
pub struct PoolSlot {
    descriptor: u32,
    generation: u32,
    index: u16,
}

/// Why a free was refused; the pool is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolFreeError {
    /// The slot is free already (a double free).
    NotAllocated,
    /// The slot's page was given back since the handle was made.
    StaleSlot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Full,
    Partial,
    Empty,
    /// The descriptor has no page (its frame went back); it waits for reuse.
    Unused,
}

struct PageDescriptor {
    frame: u64,
    generation: u32,
    in_use: u16,
    slot_bits: [u64; BITMAP_WORDS],
    list: List,
    previous: u32,
    next: u32,
}

#[derive(Clone, Copy, Default)]
struct ListHead {
    first: u32,
    length: u64,
}

/// A pool's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    pub object_size: usize,
    pub objects_per_page: usize,
    pub objects_in_use: u64,
    pub full_pages: u64,
    pub partial_pages: u64,
    pub empty_pages: u64,
    pub allocations: u64,
    pub frees: u64,
    /// Heap bytes the pool's page descriptors take. They are kept for reuse when pages go
    /// back, so they grow to the pool's high-water mark and stay.
    pub metadata_bytes: usize,
}

impl PoolStats {
    /// Frames the pool holds.
    pub fn pages(&self) -> u64 {
        self.full_pages + self.partial_pages + self.empty_pages
    }
}

/// One pool. See the module doc.
pub struct Pool {
    name: &'static str,
    object_size: usize,
    objects_per_page: usize,
    max_idle_pages: u64,
    descriptors: Vec<PageDescriptor>,
    /// Descriptors whose page went back, reused before the vector grows.
    unused_descriptors: Vec<u32>,
    full: ListHead,
    partial: ListHead,
    empty: ListHead,
    objects_in_use: u64,
    allocations: u64,
    frees: u64,
}

impl Pool {
    /// A pool of `object_size`-byte objects aligned to `align` (a power of two), keeping
    /// at most `max_idle_pages` empty pages.
    pub fn new(name: &'static str, object_size: usize, align: usize, max_idle_pages: u64) -> Self {
        assert!(align.is_power_of_two() && align <= PAGE_SIZE as usize, "pool {name}: bad alignment {align}");
        let object_size = object_size.max(MIN_OBJECT_SIZE).next_multiple_of(align);
        assert!(
            object_size <= PAGE_SIZE as usize,
            "pool {name}: objects of {object_size} bytes exceed a page"
        );
        let empty_list = ListHead { first: NONE, length: 0 };
        Self {
            name,
            object_size,
            objects_per_page: PAGE_SIZE as usize / object_size,
            max_idle_pages,
            descriptors: Vec::new(),
            unused_descriptors: Vec::new(),
            full: empty_list,
            partial: empty_list,
            empty: empty_list,
            objects_in_use: 0,
            allocations: 0,
            frees: 0,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn stats(&self) -> PoolStats {
        PoolStats {
            object_size: self.object_size,
            objects_per_page: self.objects_per_page,
            objects_in_use: self.objects_in_use,
            full_pages: self.full.length,
            partial_pages: self.partial.length,
            empty_pages: self.empty.length,
            allocations: self.allocations,
            frees: self.frees,
            metadata_bytes: self.descriptors.capacity() * size_of::<PageDescriptor>()
                + self.unused_descriptors.capacity() * size_of::<u32>(),
        }
    }

    /// Physical address of the object in `slot`.
    pub fn address(&self, slot: &PoolSlot) -> u64 {
        self.descriptors[slot.descriptor as usize].frame + slot.index as u64 * self.object_size as u64
    }

    /// A free slot, taking a frame from `frames` if no page has one.
    pub fn allocate(&mut self, frames: &mut FrameAllocator) -> Result<PoolSlot, OutOfFrames> {
        let descriptor = if self.partial.first != NONE {
            self.partial.first
        } else if self.empty.first != NONE {
            self.empty.first
        } else {
            self.add_page(frames)?
        };
        let page = &mut self.descriptors[descriptor as usize];
        let word = page
            .slot_bits
            .iter()
            .position(|bits| *bits != u64::MAX)
            .expect("pool: page on a list with no free slot");
        let index = word * 64 + page.slot_bits[word].trailing_ones() as usize;
        debug_assert!(index < self.objects_per_page, "pool {}: slot past the page's end", self.name);
        page.slot_bits[word] |= 1 << (index % 64);
        page.in_use += 1;
        let generation = page.generation;
        let now_full = page.in_use as usize == self.objects_per_page;
        let target = if now_full { List::Full } else { List::Partial };
        self.move_to(descriptor, target);
        self.objects_in_use += 1;
        self.allocations += 1;
        Ok(PoolSlot { descriptor, generation, index: index as u16 })
    }

    /// Frees `slot`; an emptied page beyond the idle limit goes back to `frames`.
    pub fn free(&mut self, frames: &mut FrameAllocator, slot: PoolSlot) -> Result<(), PoolFreeError> {
        let page = self.descriptors.get_mut(slot.descriptor as usize).ok_or(PoolFreeError::StaleSlot)?;
        if page.generation != slot.generation || page.list == List::Unused {
            return Err(PoolFreeError::StaleSlot);
        }
        let (word, bit) = (slot.index as usize / 64, 1u64 << (slot.index % 64));
        if page.slot_bits[word] & bit == 0 {
            return Err(PoolFreeError::NotAllocated);
        }
        page.slot_bits[word] &= !bit;
        page.in_use -= 1;
        let now_empty = page.in_use == 0;
        self.objects_in_use -= 1;
        self.frees += 1;
        if !now_empty {
            self.move_to(slot.descriptor, List::Partial);
        } else if self.empty.length < self.max_idle_pages {
            self.move_to(slot.descriptor, List::Empty);
        } else {
            self.remove_page(frames, slot.descriptor);
        }
        Ok(())
    }

    /// Gives every empty page back to `frames`.
    pub fn release_idle_pages(&mut self, frames: &mut FrameAllocator) {
        while self.empty.first != NONE {
            self.remove_page(frames, self.empty.first);
        }
    }

    fn add_page(&mut self, frames: &mut FrameAllocator) -> Result<u32, OutOfFrames> {
        let frame = frames.allocate(FrameOwner::Pool)?;
        let mut slot_bits = [0u64; BITMAP_WORDS];
        // Slots past the last whole object are never free.
        for index in self.objects_per_page..BITMAP_WORDS * 64 {
            slot_bits[index / 64] |= 1 << (index % 64);
        }
        let descriptor = match self.unused_descriptors.pop() {
            Some(reused) => {
                let page = &mut self.descriptors[reused as usize];
                page.frame = frame;
                page.generation = page.generation.wrapping_add(1);
                page.slot_bits = slot_bits;
                page.in_use = 0;
                reused
            }
            None => {
                self.descriptors.push(PageDescriptor {
                    frame,
                    generation: 0,
                    in_use: 0,
                    slot_bits,
                    list: List::Unused,
                    previous: NONE,
                    next: NONE,
                });
                (self.descriptors.len() - 1) as u32
            }
        };
        self.move_to(descriptor, List::Empty);
        Ok(descriptor)
    }

    fn remove_page(&mut self, frames: &mut FrameAllocator, descriptor: u32) {
        self.move_to(descriptor, List::Unused);
        let frame = self.descriptors[descriptor as usize].frame;
        if let Err(error) = frames.free(frame, FrameOwner::Pool) {
            panic!("pool {}: page {frame:#x} was not the pool's ({error}); R4 broken", self.name);
        }
        self.unused_descriptors.push(descriptor);
    }

    fn head(&mut self, list: List) -> Option<&mut ListHead> {
        match list {
            List::Full => Some(&mut self.full),
            List::Partial => Some(&mut self.partial),
            List::Empty => Some(&mut self.empty),
            List::Unused => None,
        }
    }

    /// Moves a descriptor to the front of `target`, in O(1).
    fn move_to(&mut self, descriptor: u32, target: List) {
        let (current, previous, next) = {
            let page = &self.descriptors[descriptor as usize];
            (page.list, page.previous, page.next)
        };
        if current == target {
            return;
        }
        if previous != NONE {
            self.descriptors[previous as usize].next = next;
        }
        if next != NONE {
            self.descriptors[next as usize].previous = previous;
        }
        if let Some(head) = self.head(current) {
            if head.first == descriptor {
                head.first = next;
            }
            head.length -= 1;
        }
        let old_first = match self.head(target) {
            Some(head) => {
                let old_first = head.first;
                head.first = descriptor;
                head.length += 1;
                old_first
            }
            None => NONE,
        };
        if old_first != NONE {
            self.descriptors[old_first as usize].previous = descriptor;
        }
        let page = &mut self.descriptors[descriptor as usize];
        page.list = target;
        page.previous = NONE;
        page.next = old_first;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::boot_frames::PhysRange;

    fn frames() -> FrameAllocator {
        FrameAllocator::new(core::iter::once(PhysRange { start: 0x10_0000, end: 0x10_0000 + 64 * PAGE_SIZE }))
    }

    #[test]
    fn objects_fill_a_page_before_the_next_is_taken() {
        let mut frames = frames();
        let mut pool = Pool::new("test", 1000, 8, 0);
        assert_eq!(pool.stats().objects_per_page, 4, "1000 rounds up to 1000 (8-aligned); 4 per page");
        let slots: Vec<PoolSlot> = (0..5).map(|_| pool.allocate(&mut frames).unwrap()).collect();
        let stats = pool.stats();
        assert_eq!((stats.full_pages, stats.partial_pages, stats.empty_pages), (1, 1, 0));
        assert_eq!(frames.stats().owned_by(FrameOwner::Pool), 2);
        let addresses: HashSet<u64> = slots.iter().map(|slot| pool.address(slot)).collect();
        assert_eq!(addresses.len(), 5, "two slots share an address");
    }

    #[test]
    fn an_emptied_page_goes_back_to_the_frame_allocator() {
        let mut frames = frames();
        let baseline = frames.stats();
        let mut pool = Pool::new("test", 64, 8, 0);
        let slot = pool.allocate(&mut frames).unwrap();
        pool.free(&mut frames, slot).unwrap();
        assert_eq!(pool.stats().pages(), 0);
        assert_eq!(frames.stats(), baseline);
    }

    #[test]
    fn idle_pages_up_to_the_limit_are_kept_and_can_be_released() {
        let mut frames = frames();
        let mut pool = Pool::new("test", 2048, 8, 1);
        let slots: Vec<PoolSlot> = (0..4).map(|_| pool.allocate(&mut frames).unwrap()).collect();
        for slot in slots {
            pool.free(&mut frames, slot).unwrap();
        }
        assert_eq!(pool.stats().empty_pages, 1);
        assert_eq!(frames.stats().owned_by(FrameOwner::Pool), 1);
        pool.release_idle_pages(&mut frames);
        assert_eq!(frames.stats().owned_by(FrameOwner::Pool), 0);
    }

    #[test]
    fn a_double_free_and_a_stale_free_are_reported() {
        let mut frames = frames();
        let mut pool = Pool::new("test", 64, 8, 1);
        let keep = pool.allocate(&mut frames).unwrap();
        let slot = pool.allocate(&mut frames).unwrap();
        let again = PoolSlot { descriptor: slot.descriptor, generation: slot.generation, index: slot.index };
        pool.free(&mut frames, slot).unwrap();
        let before = pool.stats();
        assert_eq!(pool.free(&mut frames, again), Err(PoolFreeError::NotAllocated));
        assert_eq!(pool.stats(), before);

        let stale = PoolSlot { descriptor: keep.descriptor, generation: keep.generation, index: keep.index };
        pool.free(&mut frames, keep).unwrap();
        pool.release_idle_pages(&mut frames);
        let _reused = pool.allocate(&mut frames).unwrap();
        assert_eq!(pool.free(&mut frames, stale), Err(PoolFreeError::StaleSlot));
    }

    #[test]
    fn running_out_of_frames_is_an_error_not_a_panic() {
        let mut frames = frames();
        let mut pool = Pool::new("test", 4096, 8, 0);
        let held: Vec<PoolSlot> = (0..64).map(|_| pool.allocate(&mut frames).unwrap()).collect();
        assert_eq!(pool.allocate(&mut frames), Err(OutOfFrames));
        assert_eq!(held.len(), 64);
    }

    proptest! {
        #[test]
        fn lists_and_counts_stay_consistent(
            object_size in 16usize..1500,
            max_idle in 0u64..3,
            ops in proptest::collection::vec((any::<bool>(), any::<proptest::sample::Index>()), 1..400),
        ) {
            let mut frames = frames();
            let baseline = frames.stats();
            let mut pool = Pool::new("prop", object_size, 8, max_idle);
            let mut held: Vec<PoolSlot> = Vec::new();
            let mut addresses = HashSet::new();
            for (allocate, pick) in ops {
                if allocate || held.is_empty() {
                    if let Ok(slot) = pool.allocate(&mut frames) {
                        prop_assert!(addresses.insert(pool.address(&slot)), "address handed out twice");
                        held.push(slot);
                    }
                } else {
                    let slot = held.swap_remove(pick.index(held.len()));
                    addresses.remove(&pool.address(&slot));
                    prop_assert_eq!(pool.free(&mut frames, slot), Ok(()));
                }
                let stats = pool.stats();
                prop_assert_eq!(stats.objects_in_use, held.len() as u64);
                prop_assert_eq!(frames.stats().owned_by(FrameOwner::Pool), stats.pages());
                prop_assert!(stats.empty_pages <= max_idle);
                let capacity = stats.pages() * stats.objects_per_page as u64;
                prop_assert!(stats.objects_in_use <= capacity);
                prop_assert_eq!(stats.full_pages * stats.objects_per_page as u64 <= stats.objects_in_use, true);
            }
            for slot in held.drain(..) {
                prop_assert_eq!(pool.free(&mut frames, slot), Ok(()));
            }
            pool.release_idle_pages(&mut frames);
            prop_assert_eq!(frames.stats(), baseline);
        }
    }
}
