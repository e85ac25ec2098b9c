//! Supervisor-mode protections: SMEP (the kernel never executes user pages) and SMAP (the
//! kernel never reads or writes user pages except inside an explicit window), on when the
//! CPU has them (Lethe's QEMU runs use `-cpu max`, which does). No-execute pages (EFER.NXE)
//! are on from the bootloader.
//!
//! The kernel's own user-memory access (`process::usercopy`) goes through the physical
//! window and never touches a user address, so it needs no window; `with_user_access` is
//! for code that must use a user address itself.

use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::registers::control::{Cr4, Cr4Flags};

static SMAP_ON: AtomicBool = AtomicBool::new(false);

const CPUID_EXTENDED_FEATURES: u32 = 7;
const SMEP_BIT: u32 = 1 << 7;
const SMAP_BIT: u32 = 1 << 20;

/// Turns on SMEP and SMAP if the CPU supports them.
pub fn init() {
    let features = core::arch::x86_64::__cpuid_count(CPUID_EXTENDED_FEATURES, 0).ebx;
    let mut flags = Cr4Flags::empty();
    if features & SMEP_BIT != 0 {
        flags |= Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION;
    }
    if features & SMAP_BIT != 0 {
        flags |= Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION;
    }
    // SAFETY: the kernel executes no user pages and touches user memory only through the
    // physical window or `with_user_access`, so these protections change nothing it does.
    unsafe { Cr4::update(|current| current.insert(flags)) };
    SMAP_ON.store(flags.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION), Ordering::Relaxed);
}

/// Whether SMEP and SMAP are on, in that order.
pub fn enabled() -> (bool, bool) {
    let cr4 = Cr4::read();
    (
        cr4.contains(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION),
        cr4.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION),
    )
}

/// Runs `work` with user pages accessible to the kernel (RFLAGS.AC set), then closes the
/// window again. Interrupt entry clears AC, so handlers never inherit the window.
pub fn with_user_access<R>(work: impl FnOnce() -> R) -> R {
    let smap = SMAP_ON.load(Ordering::Relaxed);
    if smap {
        // Not `nomem`: the asm must order the accesses of `work` inside the window.
        // SAFETY: `stac` only sets RFLAGS.AC, opening the window SMAP allows.
        unsafe { core::arch::asm!("stac", options(nostack)) };
    }
    let result = work();
    if smap {
        // SAFETY: `clac` clears RFLAGS.AC, closing the window.
        unsafe { core::arch::asm!("clac", options(nostack)) };
    }
    result
}
