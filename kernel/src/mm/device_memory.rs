//! Device registers mapped uncached in the kernel half: the local and I/O APICs' register
//! pages (`arch::apic`, `arch::ioapic`), through `hardware::kernel_tables`, with page
//! tables from the frame allocator.
//!
//! Lock order: `frames` → the kernel-table edit lock. Called from: boot code, in task
//! context.

/// Maps the page holding `physical` uncached and returns the virtual address of `physical`
/// in it.
pub fn map_uncached(physical: u64) -> u64 {
    super::frames::with_frames(|frames| hardware::kernel_tables::map_uncached(physical, frames))
}
