//! A process's own memory calls: `brk`, anonymous `mmap` (private, or shared with forked
//! children), `munmap`, `mprotect`.
//!
//! Layout: the program break grows up from the end of the program's segments; mappings
//! are placed top-down from `MMAP_TOP`, or at their hint when it is free anywhere below the
//! stack's guard gap; the main stack grows down on demand above `MMAP_TOP`, up to
//! RLIMIT_STACK. A PROT_NONE mapping reserves its range without mapping it: no page table
//! shows it, so the layout keeps the reserved ranges (`Layout::reserved`, disjoint from
//! the mapped pages), and a range is free when it is neither mapped nor reserved. A change
//! of the reserved ranges may need room for one more range, made (fallibly, through
//! `fault_injection`) before anything changes, so a call that cannot have it fails with
//! ENOMEM and changes nothing. An unmapped range that includes the lowest mapping's start
//! gives the space back (the next mapping goes there), so the map-then-unmap pattern of
//! thread stacks reuses its addresses — and the page tables under them — instead of
//! walking down the address space forever (a million threads made and joined ran physical
//! memory out in page tables). Holes above the lowest mapping are not reused by placement,
//! only by a hint. Pages are mapped zeroed at once
//! (no demand paging yet), each zeroed with the frame allocator's lock free
//! (`LockedFrames`), and a mapping larger than all of memory is refused at once. Every call
//! costs what is mapped or reserved in its range, not the range's length: mapped pages are
//! found by skipping absent page tables (`AddressSpace::next_mapped`), reserved ranges by a
//! binary search (`ReservedRanges`). Changes flush the affected pages from the TLB of every CPU
//! that has the space loaded (`mm::shootdown`), before the call returns. Unmapped pages'
//! frames go back to the allocator only after that flush (`UNMAP_BATCH` pages at a time):
//! another thread of the process, racing with the unmap on another CPU, may read the old
//! page through a stale entry until the flush, but never a frame already given to
//! someone else; the page tables an unmap empties are freed after the same flush.

use mm::PAGE_SIZE;
use mm::address_space::{AddressSpace, MapError, PageAccess, USER_END, UnmappedPage};
use mm::reserved_ranges::ReservedRanges;

use super::exec::STACK_TOP;
use crate::fault_injection::{self, OutOfHeap};
use crate::mm::frames::{LockedFrames, with_frames};
use crate::mm::shootdown::{self, CpuSet};
use crate::mm::window::window;

/// Mappings are placed below this address (and above the break).
pub const MMAP_TOP: u64 = 0x0000_7f00_0000_0000;

/// Where the break and the mappings are.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    /// The break's lowest value (the end of the program, page-aligned).
    pub break_start: u64,
    /// The current break.
    pub break_end: u64,
    /// Below this, the next mapping goes.
    pub mmap_next: u64,
    /// The main stack's lowest mapped page; it grows down from here on demand.
    pub stack_bottom: u64,
    /// The ranges PROT_NONE mappings reserve; no page of them is mapped.
    pub reserved: ReservedRanges,
}

impl Layout {
    /// The layout of a program whose segments end at `program_end` and whose stack is
    /// mapped down to `stack_bottom`.
    pub fn for_program(program_end: u64, stack_bottom: u64) -> Self {
        let start = program_end.next_multiple_of(PAGE_SIZE);
        Layout {
            break_start: start,
            break_end: start,
            mmap_next: MMAP_TOP,
            stack_bottom,
            reserved: ReservedRanges::new(),
        }
    }

    /// A copy (what a forked child starts with); fails when the heap has no room for the
    /// reserved ranges.
    pub fn try_clone(&self) -> Result<Layout, OutOfHeap> {
        let mut reserved = ReservedRanges::new();
        fault_injection::try_reserve_exact(&mut reserved, self.reserved.len())?;
        self.reserved.copy_into(&mut reserved).expect("memory: a layout's copy has room for every range");
        Ok(Layout { reserved, ..*self })
    }
}

/// Makes room for one more reserved range, which any one change of the set may need.
fn make_room(layout: &mut Layout) -> Result<(), MemoryError> {
    fault_injection::try_reserve(&mut layout.reserved, 1).map_err(|_| MemoryError::OutOfMemory)
}

/// The panic of a change of the reserved set refused after `make_room` made room for it.
const ROOM_MADE: &str = "memory: the reserved ranges changed without the room made for them";

/// Lowest address a hinted mapping may take (Linux's default `vm.mmap_min_addr`).
const MMAP_MIN_ADDRESS: u64 = 0x1_0000;

/// How far below the main stack's lowest page a hinted mapping must end (Linux's default
/// `stack_guard_gap`, 256 pages).
const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;

/// Whether a mapping is the process's own or shared with the children it forks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Private,
    /// MAP_SHARED: a forked child maps the same frames.
    Shared,
}

/// Why a memory call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryError {
    Invalid,
    OutOfMemory,
    NotMapped,
}

/// `PROT_*` bits to a page access; `None` for PROT_NONE.
pub fn access_for(protection: u64) -> Result<Option<PageAccess>, MemoryError> {
    use abi::mman::{PROT_EXEC, PROT_READ, PROT_WRITE};
    if protection & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
        return Err(MemoryError::Invalid);
    }
    if protection == 0 {
        return Ok(None);
    }
    Ok(Some(PageAccess { writable: protection & PROT_WRITE != 0, executable: protection & PROT_EXEC != 0 }))
}

fn page_range(address: u64, length: u64) -> Result<core::ops::Range<u64>, MemoryError> {
    if !address.is_multiple_of(PAGE_SIZE) || length == 0 {
        return Err(MemoryError::Invalid);
    }
    let end = address
        .checked_add(length)
        .and_then(|end| end.checked_next_multiple_of(PAGE_SIZE))
        .ok_or(MemoryError::Invalid)?;
    if end > USER_END {
        return Err(MemoryError::Invalid);
    }
    Ok(address..end)
}

fn flush(space: &AddressSpace, range: core::ops::Range<u64>) {
    shootdown::flush(range, CpuSet::others_with_root(space.root()));
}

/// Pages unmapped, flushed and freed together (their frames, and the page tables their
/// unmap emptied, wait on the stack meanwhile: 32 bytes a page).
const UNMAP_BATCH: usize = 64;

/// Unmaps every mapped page of `range`, at a cost of what is mapped there, not of the
/// range's length: the next mapped page is found by skipping absent page tables.
fn unmap_range(space: &mut AddressSpace, range: core::ops::Range<u64>) {
    let mut cursor = range.start;
    while let Some(first) = space.next_mapped(window(), cursor..range.end) {
        let mut held: [Option<UnmappedPage>; UNMAP_BATCH] = [const { None }; UNMAP_BATCH];
        let mut last = first;
        for slot in &mut held {
            let Some(page) = space.next_mapped(window(), cursor..range.end) else { break };
            *slot = space.unmap(window(), page).ok();
            last = page;
            cursor = page + PAGE_SIZE;
        }
        flush(space, first..last + PAGE_SIZE);
        with_frames(|frames| held.into_iter().flatten().for_each(|page| page.release(frames)));
    }
}

fn map_range(
    space: &mut AddressSpace,
    range: core::ops::Range<u64>,
    access: PageAccess,
    sharing: Sharing,
) -> Result<(), MemoryError> {
    // Linux's heuristic overcommit: a mapping larger than all of memory is refused at once,
    // rather than filled until the frames run out.
    if (range.end - range.start) / PAGE_SIZE > crate::mm::frames::stats().total {
        return Err(MemoryError::OutOfMemory);
    }
    let frames = &mut LockedFrames;
    let mapped = range.clone().step_by(PAGE_SIZE as usize).try_for_each(|page| {
        let mapped = match sharing {
            Sharing::Private => space.map_zeroed(window(), frames, page, access),
            Sharing::Shared => space.map_zeroed_shared(window(), frames, page, access),
        };
        match mapped {
            Ok(_) => Ok(()),
            Err(MapError::OutOfFrames) => Err((page, MemoryError::OutOfMemory)),
            Err(_) => Err((page, MemoryError::Invalid)),
        }
    });
    mapped.map_err(|(failed_at, error)| {
        unmap_range(space, range.start..failed_at);
        error
    })
}

/// Whether every page of `range` is mapped or reserved, at a cost of what is mapped or
/// reserved there.
fn mapped_or_reserved(space: &AddressSpace, reserved: &ReservedRanges, range: core::ops::Range<u64>) -> bool {
    let mut cursor = range.start;
    while cursor < range.end {
        if let Some(found) = reserved.containing(cursor) {
            cursor = found.end;
            continue;
        }
        if space.next_mapped(window(), cursor..range.end) != Some(cursor) {
            return false;
        }
        cursor += PAGE_SIZE;
    }
    true
}

/// `brk(address)`: moves the break to `address` (0 asks where it is). Returns the break
/// after the call; on failure it is unchanged, as Linux reports.
pub fn set_break(space: &mut AddressSpace, layout: &mut Layout, address: u64) -> u64 {
    if address < layout.break_start || address >= layout.mmap_next {
        return layout.break_end;
    }
    let old_top = layout.break_end.next_multiple_of(PAGE_SIZE);
    let new_top = address.next_multiple_of(PAGE_SIZE);
    if new_top > old_top {
        if layout.reserved.overlaps(old_top..new_top)
            || map_range(space, old_top..new_top, PageAccess::READ_WRITE, Sharing::Private).is_err()
        {
            return layout.break_end;
        }
    } else if new_top < old_top {
        unmap_range(space, new_top..old_top);
    }
    layout.break_end = address;
    address
}

/// `mmap` of anonymous memory: `fixed` places it at `address` (replacing what was there),
/// otherwise at the hint `address` if that range is free, else below the previous
/// mapping. `access` `None` (PROT_NONE) reserves the range. Returns the mapping's address.
pub fn map_anonymous(
    space: &mut AddressSpace,
    layout: &mut Layout,
    address: u64,
    length: u64,
    access: Option<PageAccess>,
    fixed: bool,
    sharing: Sharing,
) -> Result<u64, MemoryError> {
    let length = length.checked_next_multiple_of(PAGE_SIZE).filter(|&l| l > 0).ok_or(MemoryError::Invalid)?;
    if access.is_some() && length / PAGE_SIZE > crate::mm::frames::stats().total {
        return Err(MemoryError::OutOfMemory);
    }
    if fixed {
        let range = page_range(address, length)?;
        make_room(layout)?;
        unmap_range(space, range.clone());
        match access {
            Some(access) => {
                layout.reserved.remove(range.clone()).expect(ROOM_MADE);
                map_range(space, range.clone(), access, sharing)?;
            }
            None => layout.reserved.insert(range.clone()).expect(ROOM_MADE),
        }
        return Ok(range.start);
    }
    if access.is_none() {
        make_room(layout)?;
    }
    let hinted = free_hint(space, layout, address, length);
    let range = match hinted.clone() {
        Some(range) => range,
        None => free_below(space, layout, length)?,
    };
    match access {
        Some(access) => map_range(space, range.clone(), access, sharing)?,
        // Any access to a reserved page faults.
        None => layout.reserved.insert(range.clone()).expect(ROOM_MADE),
    }
    if hinted.is_none() {
        layout.mmap_next = range.start;
    }
    Ok(range.start)
}

/// The range `mmap`'s hint `address` asks for, if it is free, as Linux takes it: page
/// aligned up, at or above `MMAP_MIN_ADDRESS`, clear of every mapped page (the program and
/// the break among them) and of every reserved range, and ending `STACK_GUARD_GAP` below
/// the stack's lowest page, as Linux keeps a mapping that far from the stack.
fn free_hint(
    space: &AddressSpace,
    layout: &Layout,
    address: u64,
    length: u64,
) -> Option<core::ops::Range<u64>> {
    let start = address.checked_next_multiple_of(PAGE_SIZE)?;
    let end = start.checked_add(length)?;
    let free = start >= MMAP_MIN_ADDRESS
        && end <= layout.stack_bottom.saturating_sub(STACK_GUARD_GAP)
        && !layout.reserved.overlaps(start..end)
        && space.next_mapped(window(), start..end).is_none();
    free.then_some(start..end)
}

/// The highest free range of `length` bytes below `layout.mmap_next` and above the break:
/// hinted and fixed mappings and reservations there are stepped over, at a cost of one
/// search per mapping or reserved range in the way.
fn free_below(
    space: &AddressSpace,
    layout: &Layout,
    length: u64,
) -> Result<core::ops::Range<u64>, MemoryError> {
    let floor = layout.break_end.next_multiple_of(PAGE_SIZE);
    let mut end = layout.mmap_next;
    loop {
        let start =
            end.checked_sub(length).filter(|&start| start >= floor).ok_or(MemoryError::OutOfMemory)?;
        if let Some(in_the_way) = layout.reserved.highest_overlapping(start..end) {
            end = in_the_way.start;
            continue;
        }
        match space.next_mapped(window(), start..end) {
            None => return Ok(start..end),
            Some(in_the_way) => end = in_the_way,
        }
    }
}

/// `munmap(address, length)`: unmaps and releases every page of the range (unmapped and
/// unreserved ones are fine); ENOMEM, changing nothing, when splitting a reserved range
/// finds no heap for the new one. If
/// the range reaches down to the lowest mapping's start, the space up to the range's end
/// is free again for the next mapping: nothing below the range was handed out, and the
/// range itself is now unmapped.
pub fn unmap(
    space: &mut AddressSpace,
    layout: &mut Layout,
    address: u64,
    length: u64,
) -> Result<(), MemoryError> {
    let range = page_range(address, length)?;
    make_room(layout)?;
    unmap_range(space, range.clone());
    layout.reserved.remove(range.clone()).expect(ROOM_MADE);
    if range.start <= layout.mmap_next && layout.mmap_next < range.end {
        layout.mmap_next = range.end.min(MMAP_TOP);
    }
    Ok(())
}

/// A fault at user `address` below the main stack: if it lies within `limit` bytes
/// (RLIMIT_STACK) of the stack's top and above `MMAP_TOP`, the stack grows down to it,
/// as Linux grows the main stack on demand. Returns whether the page is now mapped.
pub fn grow_stack(space: &mut AddressSpace, layout: &mut Layout, address: u64, limit: u64) -> bool {
    let page = address & !(PAGE_SIZE - 1);
    let floor = STACK_TOP.saturating_sub(limit).max(MMAP_TOP);
    let below_the_stack = floor..layout.stack_bottom;
    if !below_the_stack.contains(&page)
        || layout.reserved.overlaps(page..layout.stack_bottom)
        || space.next_mapped(window(), page..layout.stack_bottom).is_some()
    {
        return false;
    }
    if map_range(space, page..layout.stack_bottom, PageAccess::READ_WRITE, Sharing::Private).is_err() {
        return false;
    }
    layout.stack_bottom = page;
    true
}

/// `mprotect(address, length, prot)`: every page must be mapped or reserved (ENOMEM
/// otherwise, as on Linux). Access to a reserved range maps it (zeroed) and releases it;
/// PROT_NONE unmaps the mapped pages and reserves the whole range.
pub fn protect(
    space: &mut AddressSpace,
    layout: &mut Layout,
    address: u64,
    length: u64,
    access: Option<PageAccess>,
) -> Result<(), MemoryError> {
    let range = page_range(address, length)?;
    if !mapped_or_reserved(space, &layout.reserved, range.clone()) {
        return Err(MemoryError::NotMapped);
    }
    make_room(layout)?;
    match access {
        Some(access) => {
            let mut cursor = range.start;
            while cursor < range.end {
                let next = space.next_mapped(window(), cursor..range.end).unwrap_or(range.end);
                if cursor < next
                    && let Err(error) = map_range(space, cursor..next, access, Sharing::Private)
                {
                    // What was mapped and changed before the failure stays so, as Linux
                    // leaves a partly done mprotect.
                    layout.reserved.remove(range.start..cursor).expect(ROOM_MADE);
                    if range.start < cursor {
                        flush(space, range.start..cursor);
                    }
                    return Err(error);
                }
                if next < range.end {
                    space.protect(window(), next, access).map_err(|_| MemoryError::NotMapped)?;
                }
                cursor = next + PAGE_SIZE;
            }
            layout.reserved.remove(range.clone()).expect(ROOM_MADE);
            flush(space, range);
        }
        // PROT_NONE on mapped pages: give them up (their contents are lost, which Linux
        // would keep; no program here relies on restoring access later).
        None => {
            unmap_range(space, range.clone());
            layout.reserved.insert(range).expect(ROOM_MADE);
        }
    }
    Ok(())
}
