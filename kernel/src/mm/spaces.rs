//! Address spaces in the kernel: created with the kernel's upper half, and loadable.
//!
//! `create` always copies the kernel root's upper half, and every load goes through
//! `hardware::paging::load_root`, which checks, before it touches CR3, that the space's
//! upper half still is the kernel's — so loading one can never unmap the kernel from under
//! itself.

use core::sync::atomic::{AtomicU64, Ordering};

use mm::address_space::AddressSpace;
use mm::frame_allocator::OutOfFrames;

use super::{frames::with_frames, kernel_root, window::window};
use crate::arch::MAX_CPUS;

/// A new address space with the kernel's upper half and an empty user half.
pub fn create() -> Result<AddressSpace, OutOfFrames> {
    with_frames(|frames| AddressSpace::new(window(), frames, kernel_root()))
}

/// Gives `space` and all it holds back.
pub fn destroy(space: AddressSpace) {
    with_frames(|frames| space.free(window(), frames));
}

/// Loads `root` into CR3 unless it is loaded already: for the scheduler, switching to a
/// thread's address space (or the kernel's, for kernel threads). `root` is the kernel root
/// or a live address space's (the hardware layer checks it has the kernel's upper half).
pub fn load_root(root: u64) {
    if hardware::paging::loaded_root() != root {
        load_and_publish(root);
    }
}

/// The root each CPU has loaded, published before the load (SeqCst); 0 for a CPU that is
/// not online. Read by TLB shootdowns (`shootdown::CpuSet`) and exec (`loaded_anywhere`).
static LOADED_ROOT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Marks this CPU online for TLB shootdowns, with the root it has loaded now: from here on
/// every flush of kernel mappings reaches it. Called once per CPU, at its bring-up, before
/// it runs any thread.
pub fn note_cpu_online() {
    LOADED_ROOT[crate::arch::cpu::id() as usize].store(hardware::paging::loaded_root(), Ordering::SeqCst);
}

/// Every online CPU's index and the root it has loaded.
pub(super) fn loaded_roots() -> impl Iterator<Item = (u32, u64)> {
    (0..MAX_CPUS as u32)
        .map(|cpu| (cpu, LOADED_ROOT[cpu as usize].load(Ordering::SeqCst)))
        .filter(|&(_, root)| root != 0)
}

/// Publishes `root` as this CPU's (for TLB shootdowns, `shootdown::CpuSet`) and then loads
/// it; returns the previous root. The order matters: a CPU changing the space's tables
/// after reading the published root targets this one, or this one loads fresh tables.
fn load_and_publish(root: u64) -> u64 {
    let published = &LOADED_ROOT[crate::arch::cpu::id() as usize];
    if published.load(Ordering::Relaxed) != 0 {
        published.store(root, Ordering::SeqCst);
    }
    hardware::paging::load_root(root)
}

/// Whether any online CPU, the caller's included, has the address space `root` loaded.
pub fn loaded_anywhere(root: u64) -> bool {
    loaded_roots().any(|(_, loaded)| loaded == root)
}

/// Loads `space` on this CPU for good (execve's new image); the caller keeps `space` alive
/// while it is loaded (it becomes the process's).
pub fn activate(space: &AddressSpace) {
    load_and_publish(space.root());
}

/// Runs `work` with `space` loaded on this CPU, then restores the previous root.
pub fn run_loaded<R>(space: &AddressSpace, work: impl FnOnce() -> R) -> R {
    let previous = load_and_publish(space.root());
    let result = work();
    load_and_publish(previous);
    result
}
