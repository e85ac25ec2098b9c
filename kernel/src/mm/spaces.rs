//! Address spaces in the kernel: created with the kernel's upper half, and loadable.
//!
//! `create` always copies the kernel root's upper half, and `run_loaded` checks, before it
//! touches CR3, that the space's upper half still is the kernel's — so loading one can
//! never unmap the kernel from under itself.

use mm::address_space::AddressSpace;
use mm::frame_allocator::OutOfFrames;

use super::{frames::with_frames, kernel_root, window::window};

/// Root entries from here on are the kernel's, shared by every address space.
const KERNEL_ROOT_ENTRIES: core::ops::Range<usize> = 256..512;

/// A new address space with the kernel's upper half and an empty user half.
pub fn create() -> Result<AddressSpace, OutOfFrames> {
    with_frames(|frames| AddressSpace::new(window(), frames, kernel_root()))
}

/// Gives `space` and all it holds back.
pub fn destroy(space: AddressSpace) {
    with_frames(|frames| space.free(window(), frames));
}

/// Loads `root` into CR3 unless it is loaded already: for the scheduler, switching to a
/// thread's address space (or the kernel's, for kernel threads).
///
/// # Safety
/// `root` must be the kernel root or the root of a live address space made by `create`
/// (whose upper half is the kernel's), and must stay alive while loaded.
pub unsafe fn load_root(root: u64) {
    let (current, _) = x86_64::registers::control::Cr3::read();
    if current.start_address().as_u64() != root {
        // SAFETY: the caller's contract.
        unsafe { load_and_publish(root) };
    }
}

/// Publishes `root` as this CPU's (for TLB shootdowns, `shootdown::CpuSet`) and then loads
/// it; returns the previous root. The order matters: a CPU changing the space's tables
/// after reading the published root targets this one, or this one loads fresh tables.
///
/// # Safety
/// As `arch::cpu::load_page_table_root`.
unsafe fn load_and_publish(root: u64) -> u64 {
    if let Some(cpu) = crate::sched::cpu::try_this_cpu() {
        cpu.publish_loaded_root(root);
    }
    // SAFETY: the caller's contract; the kernel lives in the shared upper half.
    unsafe { crate::arch::cpu::load_page_table_root(root) }
}

/// Whether any online CPU, the caller's included, has the address space `root` loaded.
pub fn loaded_anywhere(root: u64) -> bool {
    crate::sched::cpu::online().any(|cpu| cpu.loaded_root() == root)
}

/// Loads `space` on this CPU for good (execve's new image); checks, as `run_loaded` does,
/// that its upper half is the kernel's.
pub fn activate(space: &AddressSpace) {
    assert!(
        shares_kernel_half(space),
        "mm: an address space without the kernel's upper half cannot be loaded"
    );
    // SAFETY: its upper half is the kernel root's (checked), where the kernel lives; the
    // caller keeps `space` alive while it is loaded (it becomes the process's).
    unsafe { load_and_publish(space.root()) };
}

fn shares_kernel_half(space: &AddressSpace) -> bool {
    KERNEL_ROOT_ENTRIES.into_iter().all(|index| {
        mm::phys::read_word(window(), space.root(), index)
            == mm::phys::read_word(window(), kernel_root(), index)
    })
}

/// Runs `work` with `space` loaded on this CPU, then restores the previous root.
pub fn run_loaded<R>(space: &AddressSpace, work: impl FnOnce() -> R) -> R {
    assert!(
        shares_kernel_half(space),
        "mm: an address space without the kernel's upper half cannot be loaded"
    );
    // SAFETY: the space's upper half is the kernel root's (checked above), and the kernel
    // lives entirely in the upper half, so everything it uses stays mapped.
    let previous = unsafe { load_and_publish(space.root()) };
    let result = work();
    // SAFETY: `previous` was the root in use a moment ago.
    unsafe { load_and_publish(previous) };
    result
}
