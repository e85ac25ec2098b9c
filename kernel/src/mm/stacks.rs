//! Kernel stacks (`mm::kernel_stacks`) in the kernel's page table, with TLB flushes.
//!
//! The region sits in the upper half (root entry 508), which every address space shares,
//! and its page tables are made at boot, so all CPUs and address spaces see every stack.
//! Lock order: `stacks` → `frames`; both are taken with interrupts masked.
//!
//! A freed stack is poisoned, unmapped and retired: its frames and slot stay taken until
//! every CPU's TLB has been flushed of it (they are global mappings, and any CPU may have
//! run the thread or touched the stack), so its virtual addresses and frames cannot be
//! handed out again while some CPU still translates the one to the other. Retired stacks
//! are flushed and given back in batches of `RETIRE_BATCH` — one shootdown of the region
//! per batch, not one per thread (Linux's lazy vmap purge) — and at once when an
//! allocation finds no slot or frame, or a count must be exact (`release_retired`). A write
//! through a stale translation lands in the retired stack's own poison, which the release
//! checks (R1). The flush runs under the `stacks` lock; whoever spins for that lock answers
//! shootdowns meanwhile (it is a `SpinLock`), so the holder's wait always ends.

use conquer_once::spin::OnceCell;
use mm::kernel_stacks::{KernelStack, KernelStacks, StackError, StackLayout};

use super::shootdown::{self, CpuSet};
use super::{frames, kernel_root, window::window};
use crate::sync::SpinLock;

/// Where the stack region starts: root entry 508, 512 GiB of room.
const REGION_START: u64 = 0xffff_fe00_0000_0000;

/// The stack region: 16 KiB stacks, each under a guard page, in as many slots as
/// `mm::sizing` gave it. Set once at boot; plain numbers after that.
static LAYOUT: OnceCell<StackLayout> = OnceCell::uninit();

static STACKS: OnceCell<SpinLock<KernelStacks>> = OnceCell::uninit();

/// The stack region's layout.
fn layout() -> StackLayout {
    *LAYOUT.get().expect("mm: kernel stacks used before mm::init")
}

/// Creates the page tables of a region of `slots` stacks. Returns how many frames they took.
pub(super) fn init(slots: u32) -> u64 {
    let stack_pages = mm::sizing::THREAD_STACK_BYTES / mm::PAGE_SIZE;
    let layout = *LAYOUT.get_or_init(|| StackLayout { region_start: REGION_START, slots, stack_pages });
    let stacks = KernelStacks::new(layout);
    let created = frames::with_frames(|frames| stacks.prepare_tables(window(), frames, kernel_root()))
        .expect("mm: out of memory for the kernel stack region's page tables");
    STACKS.init_once(|| SpinLock::new(stacks));
    created
}

fn with_stacks<R>(work: impl FnOnce(&mut KernelStacks) -> R) -> R {
    let stacks = STACKS.get().expect("mm: kernel stacks used before mm::init");
    work(&mut stacks.lock())
}

/// Stacks retired before one flush gives them all back.
const RETIRE_BATCH: usize = 32;

/// A fresh guarded stack, named `owner` in fault reports.
pub fn allocate(owner: &'static str) -> Result<KernelStack, StackError> {
    if crate::fault_injection::refuses(crate::fault_injection::Kind::Stack) {
        return Err(StackError::OutOfFrames);
    }
    with_stacks(|stacks| {
        let allocate = |stacks: &mut KernelStacks| {
            frames::with_frames(|frames| stacks.allocate(window(), frames, kernel_root(), owner))
        };
        match allocate(stacks) {
            Err(_) if stacks.retired() > 0 => {
                release(stacks);
                allocate(stacks)
            }
            result => result,
        }
    })
}

/// Poisons and unmaps `stack` and retires it; its frames and slot come back with the
/// batch's flush (see the module doc).
pub fn free(stack: KernelStack) {
    with_stacks(|stacks| {
        stacks.retire(window(), kernel_root(), stack);
        if stacks.retired() >= RETIRE_BATCH {
            release(stacks);
        }
    });
}

/// Flushes every retired stack from every CPU's TLB and gives them back now: for exact
/// counts (`meminfo::snapshot`).
pub fn release_retired() {
    with_stacks(|stacks| {
        if stacks.retired() > 0 {
            release(stacks);
        }
    });
}

fn release(stacks: &mut KernelStacks) {
    let layout = layout();
    shootdown::flush(layout.region_start..layout.region_end(), CpuSet::all_others());
    frames::with_frames(|frames| stacks.release_retired(window(), frames));
}

/// Stacks in use.
pub fn in_use() -> u32 {
    with_stacks(|stacks| stacks.in_use())
}

/// For fault reports: if `address` is in a stack's guard page, that stack's slot and, if
/// the lock is free to take, its owner. Never blocks.
pub fn guard_page_owner(address: u64) -> Option<(u32, Option<&'static str>)> {
    let slot = LAYOUT.get()?.slot_of_guard(address)?;
    let owner = STACKS.get().and_then(|stacks| stacks.try_lock()).and_then(|stacks| stacks.owner(slot));
    Some((slot, owner))
}
