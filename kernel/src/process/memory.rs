//! A process's own memory calls: `brk`, anonymous `mmap` (private, or shared with forked
//! children), `munmap`, `mprotect`.
//!
//! Layout: the program break grows up from the end of the program's segments; mappings
//! are placed top-down from `MMAP_TOP`, below the stack. An unmapped range that includes
//! the lowest mapping's start gives the space back (the next mapping goes there), so the
//! map-then-unmap pattern of thread stacks reuses its addresses — and the page tables
//! under them — instead of walking down the address space forever (a million threads
//! made and joined ran physical memory out in page tables). Holes above the lowest
//! mapping are not reused yet. Pages are mapped zeroed at once
//! (no demand paging yet), each zeroed with the frame allocator's lock free
//! (`LockedFrames`). Changes flush the affected pages from the TLB of every CPU
//! that has the space loaded (`mm::shootdown`), before the call returns. Unmapped pages'
//! frames go back to the allocator only after that flush (`UNMAP_BATCH` pages at a time):
//! another thread of the process, racing with the unmap on another CPU, may read the old
//! page through a stale entry until the flush, but never a frame already given to
//! someone else.

use mm::PAGE_SIZE;
use mm::address_space::{AddressSpace, MapError, PageAccess, USER_END, UnmappedPage};

use crate::mm::frames::{LockedFrames, with_frames};
use crate::mm::shootdown::{self, CpuSet};
use crate::mm::window::window;

/// Mappings are placed below this address (and above the break).
pub const MMAP_TOP: u64 = 0x0000_7f00_0000_0000;

/// Where the break and the mappings are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The break's lowest value (the end of the program, page-aligned).
    pub break_start: u64,
    /// The current break.
    pub break_end: u64,
    /// Below this, the next mapping goes.
    pub mmap_next: u64,
}

impl Layout {
    pub fn for_program(program_end: u64) -> Self {
        let start = program_end.next_multiple_of(PAGE_SIZE);
        Layout { break_start: start, break_end: start, mmap_next: MMAP_TOP }
    }
}

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
    const PROT_READ: u64 = 1;
    const PROT_WRITE: u64 = 2;
    const PROT_EXEC: u64 = 4;
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
    let end = address.checked_add(length).ok_or(MemoryError::Invalid)?.next_multiple_of(PAGE_SIZE);
    if end > USER_END {
        return Err(MemoryError::Invalid);
    }
    Ok(address..end)
}

fn flush(space: &AddressSpace, range: core::ops::Range<u64>) {
    shootdown::flush(range, CpuSet::others_with_root(space.root()));
}

/// Pages unmapped, flushed and freed together (their frames wait on the stack meanwhile).
const UNMAP_BATCH: usize = 256;

fn unmap_range(space: &mut AddressSpace, range: core::ops::Range<u64>) {
    let mut start = range.start;
    while start < range.end {
        let end = range.end.min(start + UNMAP_BATCH as u64 * PAGE_SIZE);
        let mut held: [Option<UnmappedPage>; UNMAP_BATCH] = [const { None }; UNMAP_BATCH];
        for (slot, page) in held.iter_mut().zip((start..end).step_by(PAGE_SIZE as usize)) {
            *slot = space.unmap(window(), page).ok();
        }
        flush(space, start..end);
        with_frames(|frames| held.into_iter().flatten().for_each(|page| page.release(frames)));
        start = end;
    }
}

fn map_range(
    space: &mut AddressSpace,
    range: core::ops::Range<u64>,
    access: PageAccess,
    sharing: Sharing,
) -> Result<(), MemoryError> {
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

/// `brk(address)`: moves the break to `address` (0 asks where it is). Returns the break
/// after the call; on failure it is unchanged, as Linux reports.
pub fn set_break(space: &mut AddressSpace, layout: &mut Layout, address: u64) -> u64 {
    if address < layout.break_start || address >= layout.mmap_next {
        return layout.break_end;
    }
    let old_top = layout.break_end.next_multiple_of(PAGE_SIZE);
    let new_top = address.next_multiple_of(PAGE_SIZE);
    if new_top > old_top {
        if map_range(space, old_top..new_top, PageAccess::READ_WRITE, Sharing::Private).is_err() {
            return layout.break_end;
        }
    } else if new_top < old_top {
        unmap_range(space, new_top..old_top);
    }
    layout.break_end = address;
    address
}

/// `mmap` of anonymous memory: `fixed` places it at `address` (replacing what was there),
/// otherwise below the previous mapping. Returns the mapping's address.
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
    let start = if fixed {
        address
    } else {
        let start = layout.mmap_next.checked_sub(length).ok_or(MemoryError::OutOfMemory)?;
        if start < layout.break_end.next_multiple_of(PAGE_SIZE) {
            return Err(MemoryError::OutOfMemory);
        }
        start
    };
    let range = page_range(start, length)?;
    if fixed {
        unmap_range(space, range.clone());
    }
    // PROT_NONE reserves the range without mapping it: any access faults.
    if let Some(access) = access {
        map_range(space, range.clone(), access, sharing)?;
    }
    if !fixed {
        layout.mmap_next = range.start;
    }
    Ok(range.start)
}

/// `munmap(address, length)`: unmaps every page of the range (unmapped ones are fine). If
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
    unmap_range(space, range.clone());
    if range.start <= layout.mmap_next && layout.mmap_next < range.end {
        layout.mmap_next = range.end.min(MMAP_TOP);
    }
    Ok(())
}

/// `mprotect(address, length, prot)`: pages must be mapped, or lie in the mapping area and
/// have been reserved by a PROT_NONE `mmap` (musl maps thread stacks that way), which this
/// maps now. (A page unmapped by munmap there is mapped again too, where Linux would say
/// ENOMEM.)
pub fn protect(
    space: &mut AddressSpace,
    layout: &Layout,
    address: u64,
    length: u64,
    access: Option<PageAccess>,
) -> Result<(), MemoryError> {
    let range = page_range(address, length)?;
    let reserved = |page: u64| (layout.mmap_next..MMAP_TOP).contains(&page);
    if range
        .clone()
        .step_by(PAGE_SIZE as usize)
        .any(|page| space.translate(window(), page).is_none() && !reserved(page))
    {
        return Err(MemoryError::NotMapped);
    }
    match access {
        Some(access) => {
            for page in range.clone().step_by(PAGE_SIZE as usize) {
                if space.translate(window(), page).is_some() {
                    space.protect(window(), page, access).map_err(|_| MemoryError::NotMapped)?;
                } else {
                    map_range(space, page..page + PAGE_SIZE, access, Sharing::Private)?;
                }
            }
            flush(space, range);
        }
        // PROT_NONE on mapped pages: give them up (their contents are lost, which Linux
        // would keep; no program here relies on restoring access later).
        None => unmap_range(space, range),
    }
    Ok(())
}
