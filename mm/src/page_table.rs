//! Walking a 4-level x86_64 page table by physical address: the walk shared by user
//! address spaces and the kernel's own mappings (kernel stacks).
//!
//! Tables are reached through a `PhysWindow` and created on demand from a `FrameSource`
//! (owner `PageTable`). Only 4 KiB leaves are supported below the tables walked
//! here; meeting a huge page on the way is a broken rule and panics.

use x86_64::structures::paging::PageTableFlags as Flags;

use crate::frame_allocator::{FrameOwner, OutOfFrames};
use crate::frame_source::FrameSource;
use crate::phys::{self, PhysWindow};

pub(crate) const ENTRIES: usize = 512;
pub(crate) const ENTRY_FRAME_MASK: u64 = 0x000f_ffff_ffff_f000;

/// The four table indices of `address`, root first.
pub(crate) fn table_indices(address: u64) -> [usize; 4] {
    [39, 30, 21, 12].map(|shift| ((address >> shift) as usize) & (ENTRIES - 1))
}

pub(crate) fn is_present(entry: u64) -> bool {
    entry & Flags::PRESENT.bits() != 0
}

/// The last-level table covering `address`, creating missing tables with `table_flags`,
/// each added to `created` as it is linked in — also when a later level then runs out of
/// frames: the tables made stay linked, and whoever counts them must know (a count lost
/// here made the purge of an execve's half-built space panic, found by fault injection).
pub(crate) fn leaf_table_creating(
    window: &impl PhysWindow,
    frames: &mut impl FrameSource,
    root: u64,
    address: u64,
    table_flags: Flags,
    created: &mut u64,
) -> Result<u64, OutOfFrames> {
    let mut table = root;
    for index in &table_indices(address)[..3] {
        let entry = phys::read_word(window, table, *index);
        table = if is_present(entry) {
            assert!(entry & Flags::HUGE_PAGE.bits() == 0, "mm: huge page met while walking {address:#x}");
            entry & ENTRY_FRAME_MASK
        } else {
            let next = frames.allocate(FrameOwner::PageTable)?;
            phys::fill(window, next, 0);
            phys::write_word(window, table, *index, next | table_flags.bits());
            *created += 1;
            next
        };
    }
    Ok(table)
}

/// The last-level table covering `address`, if every level exists.
pub(crate) fn leaf_table(window: &impl PhysWindow, root: u64, address: u64) -> Option<u64> {
    let mut table = root;
    for index in &table_indices(address)[..3] {
        let entry = phys::read_word(window, table, *index);
        if !is_present(entry) {
            return None;
        }
        assert!(entry & Flags::HUGE_PAGE.bits() == 0, "mm: huge page met while walking {address:#x}");
        table = entry & ENTRY_FRAME_MASK;
    }
    Some(table)
}
