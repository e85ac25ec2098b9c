//! Address spaces: a 4-level x86_64 page table whose upper (kernel) half is shared with the
//! kernel's and whose lower (user) half belongs to one process.
//!
//! ```text
//!   new ──► map_zeroed / unmap / translate ──► duplicate (fork) ──► purge ──► free
//!                                                                (exit, R2)  (teardown)
//! ```
//!
//! Ownership: every user frame mapped here and every page table below the root belongs to
//! this address space, and `purge` frees exactly those (unmap every user page, free every
//! user frame and every intermediate table), leaving the root with an empty user half.
//! `free` then frees the root. No table below the root stays empty after an `unmap`: the
//! tables it empties are unlinked and leave with the unmapped page, which frees them at
//! `release`, after the caller's TLB flush, so no CPU can walk a freed table. An address space must be freed with `free`: dropping it
//! leaks its frames (the kernel's process code owns that duty).
//!
//! Rules kept here: the user half holds only 4 KiB pages; kernel-half entries (256..512 of
//! the root) are copied from the kernel's root at creation and never walked or freed; an
//! address outside the user half is refused. `duplicate` copies eagerly; copy-on-write can
//! later mark the copied leaves read-only and share frames instead — the leaf walk is the
//! same. The caller flushes the TLB when the space it changes is loaded on some CPU.

use core::fmt;

use x86_64::structures::paging::PageTableFlags as Flags;

use crate::PAGE_SIZE;
use crate::frame_allocator::{FrameOwner, OutOfFrames};
use crate::frame_source::FrameSource;
use crate::page_table::{self, ENTRIES, ENTRY_FRAME_MASK, is_present, table_indices};
use crate::phys::{self, PhysWindow};

/// First address above the user half (the canonical lower half ends here).
pub const USER_END: u64 = 0x0000_8000_0000_0000;
/// A software bit of a leaf entry: the frame is shared (`map_zeroed_shared`) — a duplicate
/// maps the same frame instead of a copy, and unmapping drops one reference to it.
const SHARED: Flags = Flags::BIT_9;

/// Root entries from here on map the kernel half.
const KERNEL_ROOT_ENTRIES: core::ops::Range<usize> = 256..512;

/// How user code may use a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageAccess {
    pub writable: bool,
    pub executable: bool,
}

impl PageAccess {
    pub const READ_ONLY: PageAccess = PageAccess { writable: false, executable: false };
    pub const READ_WRITE: PageAccess = PageAccess { writable: true, executable: false };
    pub const READ_EXECUTE: PageAccess = PageAccess { writable: false, executable: true };

    fn leaf_flags(self) -> Flags {
        let mut flags = Flags::PRESENT | Flags::USER_ACCESSIBLE;
        if self.writable {
            flags |= Flags::WRITABLE;
        }
        if !self.executable {
            flags |= Flags::NO_EXECUTE;
        }
        flags
    }

    fn from_leaf(flags: Flags) -> Self {
        PageAccess {
            writable: flags.contains(Flags::WRITABLE),
            executable: !flags.contains(Flags::NO_EXECUTE),
        }
    }
}

/// Why a mapping was refused; nothing changed (beyond empty page tables kept for later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    NotUserAddress { address: u64 },
    Misaligned { address: u64 },
    AlreadyMapped { address: u64 },
    OutOfFrames,
}

impl From<OutOfFrames> for MapError {
    fn from(_: OutOfFrames) -> Self {
        MapError::OutOfFrames
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::NotUserAddress { address } => write!(f, "{address:#x} is not a user address"),
            MapError::Misaligned { address } => write!(f, "{address:#x} is not page aligned"),
            MapError::AlreadyMapped { address } => write!(f, "{address:#x} is already mapped"),
            MapError::OutOfFrames => f.write_str("out of physical frames"),
        }
    }
}

/// Why an unmap was refused; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmapError {
    NotUserAddress { address: u64 },
    Misaligned { address: u64 },
    NotMapped { address: u64 },
}

/// Where a user page lives and how it may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub frame: u64,
    pub access: PageAccess,
}

/// A user page just unmapped whose frame is still held, with the page tables the unmap
/// emptied and unlinked: a CPU may yet reach the frame through a stale TLB entry, and walk
/// an unlinked table through a stale paging-structure cache entry, so the caller flushes
/// the page from those TLBs first (a flush of a page drops the cached table entries above
/// it too), then `release`s it.
#[must_use = "the frame of an unmapped page is held until `release`: dropping this leaks it"]
#[derive(Debug, PartialEq, Eq)]
pub struct UnmappedPage {
    entry: core::num::NonZeroU64,
    /// Tables emptied by this unmap, leaf table first; 0 where none.
    emptied_tables: [u64; 3],
}

impl UnmappedPage {
    /// Frees the frame (or, if shared, drops this mapping's reference to it) and the page
    /// tables the unmap emptied. Only once no TLB can map the page any more.
    pub fn release(self, frames: &mut impl FrameSource) {
        release_user_frame(frames, self.entry.get());
        for table in self.emptied_tables.into_iter().filter(|&table| table != 0) {
            free_or_report(frames, table, FrameOwner::PageTable);
        }
    }

    /// How many page tables the unmap emptied (freed at `release`).
    pub fn emptied_tables(&self) -> usize {
        self.emptied_tables.iter().filter(|&&table| table != 0).count()
    }
}

/// What a purge gave back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeStats {
    pub user_pages: u64,
    pub page_tables: u64,
}

/// One address space. See the module doc.
#[must_use = "an address space must be given back with `free`, or its frames leak"]
pub struct AddressSpace {
    root: u64,
    user_pages: u64,
    /// Page tables below the root.
    page_tables: u64,
}

fn check_user_page(address: u64) -> Result<(), MapError> {
    if address >= USER_END {
        return Err(MapError::NotUserAddress { address });
    }
    if !address.is_multiple_of(PAGE_SIZE) {
        return Err(MapError::Misaligned { address });
    }
    Ok(())
}

/// Lets go of the frame of user leaf `entry`: frees it, or, if shared, drops one reference.
fn release_user_frame(frames: &mut impl FrameSource, entry: u64) {
    let frame = entry & ENTRY_FRAME_MASK;
    let released = if entry & SHARED.bits() != 0 {
        frames.drop_reference(frame, FrameOwner::UserPage).map(drop)
    } else {
        frames.free(frame, FrameOwner::UserPage)
    };
    if let Err(error) = released {
        panic!("mm: address space gave back a frame it did not own ({error}); R4 broken");
    }
}

fn free_or_report(frames: &mut impl FrameSource, frame: u64, owner: FrameOwner) {
    if let Err(error) = frames.free(frame, owner) {
        panic!("mm: address space gave back a frame it did not own ({error}); R4 broken");
    }
}

impl AddressSpace {
    /// A new address space: an empty user half and the kernel half of `kernel_root`.
    pub fn new(
        window: &impl PhysWindow,
        frames: &mut impl FrameSource,
        kernel_root: u64,
    ) -> Result<Self, OutOfFrames> {
        let root = frames.allocate(FrameOwner::PageTable)?;
        phys::fill(window, root, 0);
        for index in KERNEL_ROOT_ENTRIES {
            phys::write_word(window, root, index, phys::read_word(window, kernel_root, index));
        }
        Ok(Self { root, user_pages: 0, page_tables: 0 })
    }

    /// Physical address of the root table (what CR3 is loaded with).
    pub fn root(&self) -> u64 {
        self.root
    }

    /// User pages mapped.
    pub fn user_pages(&self) -> u64 {
        self.user_pages
    }

    /// Frames this space holds: user pages, page tables, and the root.
    pub fn frames_held(&self) -> u64 {
        self.user_pages + self.page_tables + 1
    }

    /// Maps a fresh zeroed frame at user page `address`. Returns the frame.
    pub fn map_zeroed(
        &mut self,
        window: &impl PhysWindow,
        frames: &mut impl FrameSource,
        address: u64,
        access: PageAccess,
    ) -> Result<u64, MapError> {
        check_user_page(address)?;
        let leaf_table = self.leaf_table_creating(window, frames, address)?;
        let index = table_indices(address)[3];
        if phys::read_word(window, leaf_table, index) & Flags::PRESENT.bits() != 0 {
            return Err(MapError::AlreadyMapped { address });
        }
        let frame = frames.allocate(FrameOwner::UserPage)?;
        phys::fill(window, frame, 0);
        phys::write_word(window, leaf_table, index, frame | access.leaf_flags().bits());
        self.user_pages += 1;
        Ok(frame)
    }

    /// Maps a fresh zeroed frame at user page `address`, shared: duplicates of this space
    /// map the same frame (MAP_SHARED anonymous memory across fork). Returns the frame.
    pub fn map_zeroed_shared(
        &mut self,
        window: &impl PhysWindow,
        frames: &mut impl FrameSource,
        address: u64,
        access: PageAccess,
    ) -> Result<u64, MapError> {
        let frame = self.map_zeroed(window, frames, address, access)?;
        let leaf_table = self.leaf_table(window, address).expect("mm: page just mapped");
        let index = table_indices(address)[3];
        let entry = phys::read_word(window, leaf_table, index);
        phys::write_word(window, leaf_table, index, entry | SHARED.bits());
        Ok(frame)
    }

    /// Unmaps user page `address`, and unlinks each page table above it that this leaves
    /// empty (never the root), so that a space whose pages come and go keeps no empty
    /// tables for later walks to read. The frame and those tables stay held until the
    /// returned page is released, after the caller's TLB flush. Finding a table empty reads
    /// at most its 512 entries, nearest to the unmapped one first, so unmapping a run of
    /// pages in either direction reads a few entries a page.
    pub fn unmap(&mut self, window: &impl PhysWindow, address: u64) -> Result<UnmappedPage, UnmapError> {
        let (leaf_table, index, entry) = self.present_leaf(window, address)?;
        phys::write_word(window, leaf_table, index, 0);
        self.user_pages -= 1;
        let entry = core::num::NonZeroU64::new(entry).expect("mm: a present entry is not zero");
        let emptied_tables = self.unlink_emptied_tables(window, address);
        Ok(UnmappedPage { entry, emptied_tables })
    }

    /// Unlinks, bottom up, the tables on the walk to `address` that hold no present entry,
    /// stopping at the first that still does; returns them, leaf table first.
    fn unlink_emptied_tables(&mut self, window: &impl PhysWindow, address: u64) -> [u64; 3] {
        let indices = table_indices(address);
        // walk[level] is the table at depth `level` (0: the root), each present by now.
        let mut walk = [self.root; 4];
        for level in 1..4 {
            let entry = phys::read_word(window, walk[level - 1], indices[level - 1]);
            walk[level] = entry & ENTRY_FRAME_MASK;
        }
        let mut emptied = [0; 3];
        for level in (1..4).rev() {
            if !table_is_empty(window, walk[level], indices[level]) {
                break;
            }
            phys::write_word(window, walk[level - 1], indices[level - 1], 0);
            self.page_tables -= 1;
            emptied[3 - level] = walk[level];
        }
        emptied
    }

    /// Changes the access of the mapped user page at `address`. The caller flushes the TLB
    /// if the space is loaded.
    pub fn protect(
        &mut self,
        window: &impl PhysWindow,
        address: u64,
        access: PageAccess,
    ) -> Result<(), UnmapError> {
        let (leaf_table, index, entry) = self.present_leaf(window, address)?;
        let kept = entry & (ENTRY_FRAME_MASK | SHARED.bits());
        phys::write_word(window, leaf_table, index, kept | access.leaf_flags().bits());
        Ok(())
    }

    /// Where user address `address` is mapped, if it is.
    pub fn translate(&self, window: &impl PhysWindow, address: u64) -> Option<Translation> {
        if address >= USER_END {
            return None;
        }
        let leaf_table = self.leaf_table(window, address)?;
        let entry = phys::read_word(window, leaf_table, table_indices(address)[3]);
        let flags = Flags::from_bits_truncate(entry);
        flags.contains(Flags::PRESENT).then(|| Translation {
            frame: (entry & ENTRY_FRAME_MASK) + (address & (PAGE_SIZE - 1)),
            access: PageAccess::from_leaf(flags),
        })
    }

    /// The lowest mapped user page in `range`, if any. Costs what is mapped, not what is
    /// asked: absent tables are skipped whole, so a search over a terabyte of nothing
    /// reads a few entries.
    pub fn next_mapped(&self, window: &impl PhysWindow, range: core::ops::Range<u64>) -> Option<u64> {
        let range = range.start..range.end.min(USER_END);
        if range.is_empty() {
            return None;
        }
        first_leaf_in(window, self.root, 4, 0, &range)
    }

    /// A copy for fork: same kernel half, and a fresh copy of every user page with the same
    /// access. On failure nothing is left behind.
    pub fn duplicate(
        &self,
        window: &impl PhysWindow,
        frames: &mut impl FrameSource,
    ) -> Result<Self, OutOfFrames> {
        let mut child = AddressSpace::new(window, frames, self.root)?;
        let mut result = Ok(());
        self.for_each_user_leaf(window, |address, entry| {
            if result.is_err() {
                return;
            }
            result = child.map_copy(window, frames, address, entry);
        });
        match result {
            Ok(()) => Ok(child),
            Err(error) => {
                child.free(window, frames);
                Err(error)
            }
        }
    }

    fn map_copy(
        &mut self,
        window: &impl PhysWindow,
        frames: &mut impl FrameSource,
        address: u64,
        parent_entry: u64,
    ) -> Result<(), OutOfFrames> {
        let leaf_table = self.leaf_table_creating(window, frames, address)?;
        let flags = parent_entry & !ENTRY_FRAME_MASK;
        if parent_entry & SHARED.bits() != 0 {
            let frame = parent_entry & ENTRY_FRAME_MASK;
            if let Err(error) = frames.add_reference(frame, FrameOwner::UserPage) {
                panic!("mm: a shared page's frame is not a user page ({error}); R4 broken");
            }
            phys::write_word(window, leaf_table, table_indices(address)[3], frame | flags);
            self.user_pages += 1;
            return Ok(());
        }
        let frame = frames.allocate(FrameOwner::UserPage)?;
        phys::copy(window, parent_entry & ENTRY_FRAME_MASK, frame);
        phys::write_word(window, leaf_table, table_indices(address)[3], frame | flags);
        self.user_pages += 1;
        Ok(())
    }

    /// Unmaps every user page and frees every user frame and page table below the root.
    pub fn purge(&mut self, window: &impl PhysWindow, frames: &mut impl FrameSource) -> PurgeStats {
        let mut stats = PurgeStats::default();
        for root_index in 0..KERNEL_ROOT_ENTRIES.start {
            let entry = phys::read_word(window, self.root, root_index);
            if entry & Flags::PRESENT.bits() != 0 {
                purge_table(window, frames, entry & ENTRY_FRAME_MASK, 3, &mut stats);
                phys::write_word(window, self.root, root_index, 0);
            }
        }
        assert_eq!(stats.user_pages, self.user_pages, "mm: purge found a different number of user pages");
        assert_eq!(stats.page_tables, self.page_tables, "mm: purge found a different number of page tables");
        self.user_pages = 0;
        self.page_tables = 0;
        stats
    }

    /// Purges what is left and frees the root.
    pub fn free(mut self, window: &impl PhysWindow, frames: &mut impl FrameSource) {
        self.purge(window, frames);
        free_or_report(frames, self.root, FrameOwner::PageTable);
    }

    /// The last-level table covering user `address`, creating missing tables on the way.
    fn leaf_table_creating(
        &mut self,
        window: &impl PhysWindow,
        frames: &mut impl FrameSource,
        address: u64,
    ) -> Result<u64, OutOfFrames> {
        let table_flags = Flags::PRESENT | Flags::WRITABLE | Flags::USER_ACCESSIBLE;
        page_table::leaf_table_creating(
            window,
            frames,
            self.root,
            address,
            table_flags,
            &mut self.page_tables,
        )
    }

    /// The leaf table, index and entry of the mapped user page at `address`.
    fn present_leaf(&self, window: &impl PhysWindow, address: u64) -> Result<(u64, usize, u64), UnmapError> {
        match check_user_page(address) {
            Err(MapError::NotUserAddress { address }) => return Err(UnmapError::NotUserAddress { address }),
            Err(_) => return Err(UnmapError::Misaligned { address }),
            Ok(()) => {}
        }
        let leaf_table = self.leaf_table(window, address).ok_or(UnmapError::NotMapped { address })?;
        let index = table_indices(address)[3];
        let entry = phys::read_word(window, leaf_table, index);
        if entry & Flags::PRESENT.bits() == 0 {
            return Err(UnmapError::NotMapped { address });
        }
        Ok((leaf_table, index, entry))
    }

    fn leaf_table(&self, window: &impl PhysWindow, address: u64) -> Option<u64> {
        page_table::leaf_table(window, self.root, address)
    }

    /// Calls `visit(address, leaf entry)` for every mapped user page, in address order.
    fn for_each_user_leaf(&self, window: &impl PhysWindow, mut visit: impl FnMut(u64, u64)) {
        visit_table(window, self.root, 4, 0, &mut visit);
    }
}

/// Whether `table` holds no present entry; the search starts beside `cleared` (an entry
/// just cleared) and widens on both sides.
fn table_is_empty(window: &impl PhysWindow, table: u64, cleared: usize) -> bool {
    let present = |index: usize| is_present(phys::read_word(window, table, index));
    (1..ENTRIES).all(|distance| {
        let above = cleared + distance;
        let below = cleared.checked_sub(distance);
        !(above < ENTRIES && present(above)) && !below.is_some_and(present)
    }) && !present(cleared)
}

fn visit_table(
    window: &impl PhysWindow,
    table: u64,
    level: u32,
    base: u64,
    visit: &mut impl FnMut(u64, u64),
) {
    let entries = if level == 4 { 0..KERNEL_ROOT_ENTRIES.start } else { 0..ENTRIES };
    for index in entries {
        let entry = phys::read_word(window, table, index);
        if entry & Flags::PRESENT.bits() == 0 {
            continue;
        }
        let address = base | ((index as u64) << (12 + 9 * (level - 1)));
        if level == 1 {
            visit(address, entry);
        } else {
            visit_table(window, entry & ENTRY_FRAME_MASK, level - 1, address, visit);
        }
    }
}

/// The lowest address of a present leaf under `table` (a table at `level`, whose first
/// address is `base`) within `range`.
fn first_leaf_in(
    window: &impl PhysWindow,
    table: u64,
    level: u32,
    base: u64,
    range: &core::ops::Range<u64>,
) -> Option<u64> {
    let span_shift = 12 + 9 * (level - 1);
    let index_of = |address: u64| ((address - base) >> span_shift) as usize;
    let first = index_of(range.start.max(base));
    let last = index_of((range.end - 1).min(base + (ENTRIES as u64 * (1 << span_shift)) - 1));
    for index in first..=last {
        let entry = phys::read_word(window, table, index);
        if entry & Flags::PRESENT.bits() == 0 {
            continue;
        }
        let address = base + ((index as u64) << span_shift);
        if level == 1 {
            return Some(address);
        }
        assert!(entry & Flags::HUGE_PAGE.bits() == 0, "mm: huge page met while walking {address:#x}");
        if let Some(found) = first_leaf_in(window, entry & ENTRY_FRAME_MASK, level - 1, address, range) {
            return Some(found);
        }
    }
    None
}

/// Frees everything below `table` (a table at `level`, 3 = page-directory-pointer table),
/// then `table` itself.
fn purge_table(
    window: &impl PhysWindow,
    frames: &mut impl FrameSource,
    table: u64,
    level: u32,
    stats: &mut PurgeStats,
) {
    for index in 0..ENTRIES {
        let entry = phys::read_word(window, table, index);
        if entry & Flags::PRESENT.bits() == 0 {
            continue;
        }
        let frame = entry & ENTRY_FRAME_MASK;
        if level == 1 {
            release_user_frame(frames, entry);
            stats.user_pages += 1;
        } else {
            purge_table(window, frames, frame, level - 1, stats);
        }
    }
    free_or_report(frames, table, FrameOwner::PageTable);
    stats.page_tables += 1;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::frame_allocator::{FrameAllocator, FreeError};
    use crate::phys::simulated::SimulatedRam;

    const RAM_BASE: u64 = 0x10_0000;

    /// Simulated RAM, its frame allocator, and a "kernel" root whose upper half maps a table.
    fn machine(frames: usize) -> (SimulatedRam, FrameAllocator, u64) {
        let ram = SimulatedRam::new(RAM_BASE, frames);
        let mut allocator = FrameAllocator::new(core::iter::once(ram.range()));
        let kernel_root = allocator.allocate(FrameOwner::PageTable).unwrap();
        let kernel_table = allocator.allocate(FrameOwner::PageTable).unwrap();
        phys::write_word(&ram, kernel_root, 511, kernel_table | (Flags::PRESENT | Flags::WRITABLE).bits());
        (ram, allocator, kernel_root)
    }

    #[test]
    fn a_new_space_shares_the_kernel_half_and_has_an_empty_user_half() {
        let (ram, mut frames, kernel_root) = machine(64);
        let space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        assert_eq!(phys::read_word(&ram, space.root(), 511), phys::read_word(&ram, kernel_root, 511));
        assert!((0..256).all(|i| phys::read_word(&ram, space.root(), i) == 0));
        space.free(&ram, &mut frames);
    }

    #[test]
    fn mapped_pages_translate_with_their_access_and_an_unmapped_frame_is_freed_on_release() {
        let (ram, mut frames, kernel_root) = machine(64);
        let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        let frame = space.map_zeroed(&ram, &mut frames, 0x40_0000, PageAccess::READ_EXECUTE).unwrap();
        space.map_zeroed(&ram, &mut frames, 0x7fff_ffff_f000, PageAccess::READ_WRITE).unwrap();

        let translation = space.translate(&ram, 0x40_0123).unwrap();
        assert_eq!(translation, Translation { frame: frame + 0x123, access: PageAccess::READ_EXECUTE });
        assert_eq!(space.translate(&ram, 0x7fff_ffff_f008).unwrap().access, PageAccess::READ_WRITE);
        assert_eq!(space.translate(&ram, 0x40_1000), None);

        let before = frames.stats().owned_by(FrameOwner::UserPage);
        let unmapped = space.unmap(&ram, 0x40_0000).unwrap();
        assert_eq!(space.translate(&ram, 0x40_0000), None);
        assert_eq!(
            frames.stats().owned_by(FrameOwner::UserPage),
            before,
            "the frame is held until released (a stale TLB entry may still reach it)"
        );
        unmapped.release(&mut frames);
        assert_eq!(frames.stats().owned_by(FrameOwner::UserPage), before - 1);
        assert_eq!(space.unmap(&ram, 0x40_0000), Err(UnmapError::NotMapped { address: 0x40_0000 }));
        space.free(&ram, &mut frames);
    }

    /// Hands out frames until `left` runs out, then refuses.
    struct Running<'a> {
        frames: &'a mut FrameAllocator,
        left: usize,
    }

    impl FrameSource for Running<'_> {
        fn allocate(&mut self, owner: FrameOwner) -> Result<u64, OutOfFrames> {
            self.left = self.left.checked_sub(1).ok_or(OutOfFrames)?;
            self.frames.allocate(owner)
        }

        fn free(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError> {
            self.frames.free(address, owner)
        }

        fn add_reference(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError> {
            self.frames.add_reference(address, owner)
        }

        fn drop_reference(&mut self, address: u64, owner: FrameOwner) -> Result<bool, FreeError> {
            self.frames.drop_reference(address, owner)
        }
    }

    #[test]
    fn a_map_that_runs_out_between_table_levels_still_counts_the_tables_it_made() {
        for left in 0..4 {
            let (ram, mut frames, kernel_root) = machine(64);
            let before = frames.stats();
            let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
            let mut running = Running { frames: &mut frames, left };
            let mapped = space.map_zeroed(&ram, &mut running, 0x40_0000, PageAccess::READ_WRITE);
            assert_eq!(mapped, Err(MapError::OutOfFrames), "{left} frames were enough");
            assert_eq!(
                space.frames_held(),
                1 + left as u64,
                "tables made before running out are not counted"
            );
            space.free(&ram, &mut frames);
            assert_eq!(frames.stats(), before, "with {left} frames the purge did not free everything");
        }
    }

    #[test]
    fn protect_changes_access_and_keeps_the_frame() {
        let (ram, mut frames, kernel_root) = machine(64);
        let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        let frame = space.map_zeroed(&ram, &mut frames, 0x1000, PageAccess::READ_WRITE).unwrap();
        space.protect(&ram, 0x1000, PageAccess::READ_EXECUTE).unwrap();
        assert_eq!(
            space.translate(&ram, 0x1000),
            Some(Translation { frame, access: PageAccess::READ_EXECUTE })
        );
        let shared = space.map_zeroed_shared(&ram, &mut frames, 0x3000, PageAccess::READ_WRITE).unwrap();
        space.protect(&ram, 0x3000, PageAccess::READ_ONLY).unwrap();
        let copy = space.duplicate(&ram, &mut frames).unwrap();
        assert_eq!(copy.translate(&ram, 0x3000).unwrap().frame, shared, "protect lost the page's sharing");
        copy.free(&ram, &mut frames);
        assert_eq!(
            space.protect(&ram, 0x2000, PageAccess::READ_ONLY),
            Err(UnmapError::NotMapped { address: 0x2000 })
        );
        space.free(&ram, &mut frames);
    }

    #[test]
    fn bad_addresses_are_refused() {
        let (ram, mut frames, kernel_root) = machine(64);
        let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        let kernel_address = 0xffff_8000_0000_0000;
        assert_eq!(
            space.map_zeroed(&ram, &mut frames, kernel_address, PageAccess::READ_WRITE),
            Err(MapError::NotUserAddress { address: kernel_address })
        );
        assert_eq!(
            space.map_zeroed(&ram, &mut frames, 0x1001, PageAccess::READ_WRITE),
            Err(MapError::Misaligned { address: 0x1001 })
        );
        space.map_zeroed(&ram, &mut frames, 0x1000, PageAccess::READ_WRITE).unwrap();
        assert_eq!(
            space.map_zeroed(&ram, &mut frames, 0x1000, PageAccess::READ_WRITE),
            Err(MapError::AlreadyMapped { address: 0x1000 })
        );
        space.free(&ram, &mut frames);
    }

    #[test]
    fn a_duplicate_has_its_own_copies_of_the_pages() {
        let (ram, mut frames, kernel_root) = machine(64);
        let mut parent = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        let parent_frame = parent.map_zeroed(&ram, &mut frames, 0x1000, PageAccess::READ_WRITE).unwrap();
        phys::write_byte(&ram, parent_frame, 7, 42);

        let child = parent.duplicate(&ram, &mut frames).unwrap();
        let child_frame = child.translate(&ram, 0x1000).unwrap().frame;
        assert_ne!(child_frame, parent_frame);
        assert_eq!(phys::read_byte(&ram, child_frame, 7), 42);
        phys::write_byte(&ram, parent_frame, 7, 1);
        assert_eq!(phys::read_byte(&ram, child_frame, 7), 42, "the child sees the parent's write");
        assert_eq!(child.translate(&ram, 0x1000).unwrap().access, PageAccess::READ_WRITE);
        child.free(&ram, &mut frames);
        parent.free(&ram, &mut frames);
    }

    #[test]
    fn a_shared_page_is_the_same_frame_in_a_duplicate_and_outlives_either() {
        let (ram, mut frames, kernel_root) = machine(64);
        let baseline = frames.stats();
        let mut parent = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        let shared = parent.map_zeroed_shared(&ram, &mut frames, 0x1000, PageAccess::READ_WRITE).unwrap();
        parent.map_zeroed(&ram, &mut frames, 0x2000, PageAccess::READ_WRITE).unwrap();
        let child = parent.duplicate(&ram, &mut frames).unwrap();
        assert_eq!(child.translate(&ram, 0x1000).unwrap().frame, shared, "the shared page was copied");
        assert_ne!(
            child.translate(&ram, 0x2000),
            parent.translate(&ram, 0x2000),
            "the private page was shared"
        );
        phys::write_byte(&ram, shared, 0, 9);
        parent.free(&ram, &mut frames);
        assert_eq!(
            frames.owner_of(shared),
            Some(FrameOwner::UserPage),
            "freed while the child still maps it"
        );
        assert_eq!(phys::read_byte(&ram, child.translate(&ram, 0x1000).unwrap().frame, 0), 9);
        child.free(&ram, &mut frames);
        assert_eq!(frames.stats(), baseline);
    }

    #[test]
    fn a_duplicate_that_runs_out_of_frames_leaves_nothing_behind() {
        let (ram, mut frames, kernel_root) = machine(24);
        let mut parent = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        for page in 0..8 {
            parent.map_zeroed(&ram, &mut frames, page * PAGE_SIZE, PageAccess::READ_WRITE).unwrap();
        }
        let before = frames.stats();
        assert!(before.free < parent.frames_held(), "the test needs too little RAM for a copy");
        assert_eq!(parent.duplicate(&ram, &mut frames).err(), Some(OutOfFrames));
        assert_eq!(frames.stats(), before);
        parent.free(&ram, &mut frames);
    }

    #[test]
    fn next_mapped_finds_the_lowest_mapped_page_in_a_range_however_large() {
        let (ram, mut frames, kernel_root) = machine(64);
        let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        assert_eq!(space.next_mapped(&ram, 0..USER_END), None);
        for address in [0x1000, 0x40_0000, 0x7f00_0000_0000, 0x7fff_ffff_f000] {
            space.map_zeroed(&ram, &mut frames, address, PageAccess::READ_WRITE).unwrap();
        }
        assert_eq!(space.next_mapped(&ram, 0..USER_END), Some(0x1000));
        assert_eq!(space.next_mapped(&ram, 0x1000..0x2000), Some(0x1000));
        assert_eq!(space.next_mapped(&ram, 0x2000..0x40_0000), None, "the range's end is excluded");
        assert_eq!(space.next_mapped(&ram, 0x2000..0x40_1000), Some(0x40_0000));
        assert_eq!(space.next_mapped(&ram, 0x40_1000..u64::MAX), Some(0x7f00_0000_0000));
        assert_eq!(space.next_mapped(&ram, 0x7f00_0000_1000..u64::MAX), Some(0x7fff_ffff_f000));
        assert_eq!(space.next_mapped(&ram, 0x5000..0x5000), None);
        space.free(&ram, &mut frames);
    }

    /// The bug behind `munmap(0x10000000, 1 << 40)` never returning: a search over a range
    /// must not visit it page by page. Every page-table entry the walk reads is counted.
    #[test]
    fn next_mapped_reads_few_entries_over_a_terabyte_of_nothing() {
        let (ram, mut frames, kernel_root) = machine(64);
        let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        space.map_zeroed(&ram, &mut frames, 0x1000, PageAccess::READ_WRITE).unwrap();
        let counting = phys::simulated::Counting::new(&ram);
        assert_eq!(space.next_mapped(&counting, 0x1000_0000..0x1000_0000 + (1 << 40)), None);
        assert!(counting.reads() < 2 * ENTRIES as u64, "{} entries read", counting.reads());
        space.free(&ram, &mut frames);
    }

    /// Issue 17: a process that maps one page per 2 MiB and unmaps them left a page table
    /// per page (and the directories above) for later walks, with preemption off, to read.
    #[test]
    fn unmapping_the_last_page_of_a_table_frees_the_tables_it_emptied_at_release() {
        let (ram, mut frames, kernel_root) = machine(256);
        let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        let empty = frames.stats();
        // A page every 2 MiB across a 1 GiB boundary, and one 512 GiB away: every level is
        // made more than once.
        let mut addresses: Vec<u64> = (0..40).map(|i| 0x4000_0000 - 20 * 0x20_0000 + i * 0x20_0000).collect();
        addresses.push(0x80_0000_0000);
        for address in &addresses {
            space.map_zeroed(&ram, &mut frames, *address, PageAccess::READ_WRITE).unwrap();
        }
        let tables = space.frames_held() - 1 - addresses.len() as u64;
        assert_eq!(tables, 40 + 2 + 1 + 1 + 1 + 1, "leaf tables, directories, pointer tables");
        let mapped = frames.stats();
        let unmapped: Vec<UnmappedPage> =
            addresses.iter().map(|address| space.unmap(&ram, *address).unwrap()).collect();
        assert_eq!(space.frames_held(), 1, "the root alone stays linked");
        assert_eq!(unmapped.iter().map(UnmappedPage::emptied_tables).sum::<usize>() as u64, tables);
        assert_eq!(frames.stats(), mapped, "a table was freed before the flush that covers it");
        let counting = phys::simulated::Counting::new(&ram);
        assert_eq!(space.next_mapped(&counting, 0..USER_END), None);
        assert!(counting.reads() <= 256, "{} entries read over an empty user half", counting.reads());
        unmapped.into_iter().for_each(|page| page.release(&mut frames));
        assert_eq!(frames.stats(), empty);
        space.free(&ram, &mut frames);
    }

    #[test]
    fn a_table_stays_while_any_of_its_pages_is_mapped() {
        let (ram, mut frames, kernel_root) = machine(64);
        let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
        let empty = frames.stats();
        for address in [0x1000, 0x2000, 0x1ff000] {
            space.map_zeroed(&ram, &mut frames, address, PageAccess::READ_WRITE).unwrap();
        }
        for (address, emptied) in [(0x2000, 0), (0x1ff000, 0), (0x1000, 3)] {
            let page = space.unmap(&ram, address).unwrap();
            assert_eq!(page.emptied_tables(), emptied, "unmapping {address:#x}");
            page.release(&mut frames);
            if emptied == 0 {
                assert!(space.translate(&ram, 0x1000).is_some());
            }
        }
        assert_eq!(frames.stats(), empty);
        space.free(&ram, &mut frames);
    }

    proptest! {
        #[test]
        fn next_mapped_agrees_with_a_page_by_page_search(
            pages in proptest::collection::btree_set(0u64..4096, 0..24),
            start in 0u64..4096,
            length in 0u64..4096,
        ) {
            let (ram, mut frames, kernel_root) = machine(256);
            let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
            // Pages spread so that several tables at every level are present.
            let spread = |page: u64| page * 0x20_1000;
            for page in &pages {
                space.map_zeroed(&ram, &mut frames, spread(*page), PageAccess::READ_WRITE).unwrap();
            }
            let range = spread(start)..spread(start + length);
            let expected = pages.iter().map(|page| spread(*page)).find(|address| range.contains(address));
            prop_assert_eq!(space.next_mapped(&ram, range), expected);
            space.free(&ram, &mut frames);
        }

        #[test]
        fn map_duplicate_purge_free_returns_every_frame(
            pages in proptest::collection::btree_set(0u64..(1 << 24), 0..40),
            unmapped in proptest::collection::vec(any::<proptest::sample::Index>(), 0..10),
        ) {
            let (ram, mut frames, kernel_root) = machine(512);
            let baseline = frames.stats();
            let mut space = AddressSpace::new(&ram, &mut frames, kernel_root).unwrap();
            // Page n goes to n << 23 plus its low bits as a page offset: the addresses are
            // distinct, stay below USER_END (n < 2^24) and use every table level.
            let addresses: Vec<u64> = pages.iter().map(|page| (page << 23) | ((page & 7) << 12)).collect();
            let mut mapped = std::collections::BTreeSet::new();
            for address in &addresses {
                if space.map_zeroed(&ram, &mut frames, *address, PageAccess::READ_WRITE).is_ok() {
                    mapped.insert(*address);
                }
            }
            for index in unmapped {
                if mapped.is_empty() { break; }
                let address = **index.get(&mapped.iter().collect::<Vec<_>>());
                space.unmap(&ram, address).unwrap().release(&mut frames);
                mapped.remove(&address);
            }
            prop_assert_eq!(space.user_pages(), mapped.len() as u64);
            let child = space.duplicate(&ram, &mut frames).unwrap();
            for address in &mapped {
                prop_assert!(child.translate(&ram, *address).is_some());
            }
            let stats = frames.stats();
            prop_assert_eq!(stats.used() - baseline.used(), space.frames_held() + child.frames_held());
            child.free(&ram, &mut frames);
            space.free(&ram, &mut frames);
            prop_assert_eq!(frames.stats(), baseline);
        }
    }
}
