//! Which page tables a CPU uses: the kernel root, recorded at boot, and loading a root into
//! CR3 — only one whose upper half is the kernel root's, so that a load can never unmap the
//! kernel from under itself.
//!
//! The kernel lives wholly in the upper half (root entries 256–511), whose entries are
//! made at boot and never change; every address space copies them when it is made. A root
//! is checked by comparing those 256 entries, read through the physical window, with the
//! kernel root's. What the check cannot see is whether the root's frame is still the
//! address space's: the kernel frees a root only once no CPU can load it (its process's
//! last thread is off every CPU, docs/design.md), and a freed frame reused for anything
//! but another root fails the check.
//!
//! Called from: boot (`record_kernel_root`), the scheduler and exec (`load_root`), with
//! interrupts masked or preemption off, so the CPU that checks is the CPU that loads.

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::registers::control::Cr3;
use x86_64::structures::paging::PhysFrame;

use crate::window::window;

/// Root entries from here on are the kernel's, shared by every address space.
const KERNEL_ENTRIES: core::ops::Range<usize> = 256..512;

static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);

/// Records the root the bootloader left in CR3 as the kernel root; once, at boot, after the
/// window is set up.
#[cfg(target_os = "none")]
pub(crate) fn record_kernel_root() {
    let (root, _) = Cr3::read();
    let recorded =
        KERNEL_ROOT.compare_exchange(0, root.start_address().as_u64(), Ordering::Relaxed, Ordering::Relaxed);
    assert!(recorded.is_ok(), "paging: the kernel root recorded twice");
}

/// The kernel's own root (physical address). Panics before `record_kernel_root`.
pub fn kernel_root() -> u64 {
    let root = KERNEL_ROOT.load(Ordering::Relaxed);
    assert_ne!(root, 0, "paging: the kernel root used before it was recorded");
    root
}

/// Whether the level-4 table at `root` has the kernel root's upper half.
fn shares_kernel_half(root: u64) -> bool {
    let kernel = kernel_root();
    root.is_multiple_of(mm::PAGE_SIZE)
        && KERNEL_ENTRIES.into_iter().all(|index| {
            mm::phys::read_word(window(), root, index) == mm::phys::read_word(window(), kernel, index)
        })
}

/// The root this CPU uses now.
pub fn loaded_root() -> u64 {
    Cr3::read().0.start_address().as_u64()
}

/// Loads `root` into this CPU's CR3 unless it is there already; returns the previous root.
/// Panics if `root`'s upper half is not the kernel root's.
pub fn load_root(root: u64) -> u64 {
    let (previous, flags) = Cr3::read();
    let previous_root = previous.start_address().as_u64();
    if previous_root == root {
        return previous_root;
    }
    assert!(shares_kernel_half(root), "paging: {root:#x} is not a root with the kernel's upper half");
    let frame = PhysFrame::from_start_address(x86_64::PhysAddr::new(root)).expect("paging: unaligned root");
    // What the lower half maps is user memory, reached only by user copies.
    // SAFETY: the new tables map the upper half — the kernel's code, data, stacks and the
    // window — exactly as the old ones did (checked above), so execution goes on unchanged.
    unsafe { Cr3::write(frame, flags) };
    previous_root
}
