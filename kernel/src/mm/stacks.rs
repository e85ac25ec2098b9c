//! Kernel stacks (`mm::kernel_stacks`) in the kernel's page table, with TLB flushes.
//!
//! The region sits in the upper half (root entry 508), which every address space shares,
//! and its page tables are made at boot, so all CPUs and address spaces see every stack.
//! Lock order: `stacks` → `frames`; both are taken with interrupts masked.
//!
//! A freed stack's pages are flushed from every CPU's TLB (they are global mappings, and
//! any CPU may have run the thread or touched the stack) before the `stacks` lock is let
//! go, so its slot — its virtual addresses — cannot be handed out again while some CPU
//! still translates them to the old frames. Whoever spins for that lock answers
//! shootdowns meanwhile (it is a `SpinLock`), so the holder's wait always ends.

use conquer_once::spin::OnceCell;
use mm::kernel_stacks::{KernelStack, KernelStacks, StackError, StackLayout};
use x86_64::instructions::interrupts::without_interrupts;

use super::shootdown::{self, CpuSet};
use super::{frames, kernel_root, window::window};
use crate::sync::SpinLock;

/// The stack region: 4,096 slots of 16 KiB stacks, each under a guard page.
pub const LAYOUT: StackLayout =
    StackLayout { region_start: 0xffff_fe00_0000_0000, slots: 4096, stack_pages: 4 };

static STACKS: OnceCell<SpinLock<KernelStacks>> = OnceCell::uninit();

/// Creates the region's page tables. Returns how many frames they took.
pub(super) fn init() -> u64 {
    let stacks = KernelStacks::new(LAYOUT);
    let created = frames::with_frames(|frames| stacks.prepare_tables(window(), frames, kernel_root()))
        .expect("mm: out of memory for the kernel stack region's page tables");
    STACKS.init_once(|| SpinLock::new(stacks));
    created
}

fn with_stacks<R>(work: impl FnOnce(&mut KernelStacks) -> R) -> R {
    let stacks = STACKS.get().expect("mm: kernel stacks used before mm::init");
    without_interrupts(|| work(&mut stacks.lock()))
}

/// A fresh guarded stack, named `owner` in fault reports.
pub fn allocate(owner: &'static str) -> Result<KernelStack, StackError> {
    with_stacks(|stacks| {
        frames::with_frames(|frames| stacks.allocate(window(), frames, kernel_root(), owner))
    })
}

/// Poisons, unmaps and frees `stack`, and flushes its pages from every CPU's TLB before
/// its slot can be reused (see the module doc).
pub fn free(stack: KernelStack) {
    let pages = stack.bottom()..stack.top();
    with_stacks(|stacks| {
        frames::with_frames(|frames| stacks.free(window(), frames, kernel_root(), stack));
        shootdown::flush(pages, CpuSet::all_others());
    });
}

/// Moves this CPU onto `stack` for good and runs `entry` there. The stack is never freed.
pub fn run_on_stack(stack: KernelStack, entry: extern "C" fn() -> !) -> ! {
    // Taking `stack` by value means no one can free it while this CPU runs on it.
    let top = stack.top();
    // SAFETY: `stack` was owned here and is now abandoned to this call: it is mapped,
    // writable, 16-byte aligned at the top (slots are page-aligned) and used by nothing else.
    unsafe { crate::arch::cpu::run_on_stack(top, entry) }
}

/// Lays out `stack` so that the first context switch to it runs `entry`; returns the stack
/// pointer to switch to. The stack must not be in use — true of a stack not yet given to
/// a thread, which is the only kind `sched` prepares.
pub fn prepare_first_run(stack: &KernelStack, entry: extern "C" fn() -> !) -> u64 {
    // SAFETY: a kernel stack is mapped and writable from `bottom` to `top` (16 KiB), its top
    // is page-aligned, and a stack not yet given to a thread is used by nothing.
    unsafe { crate::arch::context::prepare_stack(stack.top(), entry) }
}

/// Stacks in use.
pub fn in_use() -> u32 {
    with_stacks(|stacks| stacks.in_use())
}

/// For fault reports: if `address` is in a stack's guard page, that stack's slot and, if
/// the lock is free to take, its owner. Never blocks.
pub fn guard_page_owner(address: u64) -> Option<(u32, Option<&'static str>)> {
    let slot = LAYOUT.slot_of_guard(address)?;
    let owner = STACKS.get().and_then(|stacks| stacks.try_lock()).and_then(|stacks| stacks.owner(slot));
    Some((slot, owner))
}
