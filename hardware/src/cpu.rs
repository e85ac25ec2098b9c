//! CPU control: interrupts on/off, halting, the TSC, and the CPU's index.
//!
//! The CPU index (0 = the boot CPU, then the order of `acpi::Topology::apic_ids`) lives in
//! the IA32_TSC_AUX register, written once per CPU by `set_index` before anything on that
//! CPU asks for it; `id` reads it back in one instruction (RDPID, or RDTSCP where RDPID is
//! missing). Not GS: GS belongs to the scheduler's per-CPU data and is the user's in ring 3.
//!
//! Called from: any context (`id`, `read_tsc`); `set_index` from `arch` bring-up only.

use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::instructions::{hlt, interrupts};
use x86_64::registers::model_specific::Msr;

/// Where RDPID and RDTSCP find the CPU index.
const IA32_TSC_AUX: u32 = 0xc000_0103;
/// CPUID leaf 7, ECX: RDPID.
const RDPID_BIT: u32 = 1 << 22;
/// CPUID leaf 0x8000_0001, EDX: RDTSCP.
const RDTSCP_BIT: u32 = 1 << 27;

/// Whether `id` uses RDPID (else RDTSCP). Every CPU has the same features.
static HAS_RDPID: AtomicBool = AtomicBool::new(false);

/// Makes `index` this CPU's index, as `id` reads it. Panics on a CPU with neither RDPID
/// nor RDTSCP.
pub fn set_index(index: u32) {
    let has_rdpid = core::arch::x86_64::__cpuid_count(7, 0).ecx & RDPID_BIT != 0;
    let has_rdtscp = core::arch::x86_64::__cpuid(0x8000_0001).edx & RDTSCP_BIT != 0;
    assert!(has_rdpid || has_rdtscp, "cpu: neither RDPID nor RDTSCP: cpu::id cannot tell CPUs apart");
    HAS_RDPID.store(has_rdpid, Ordering::Relaxed);
    // SAFETY: IA32_TSC_AUX exists where RDPID or RDTSCP does (checked) and only holds the
    // value those instructions return; nothing else in the kernel uses it.
    unsafe { Msr::new(IA32_TSC_AUX).write(u64::from(index)) };
}

/// This CPU's index: 0 for the boot CPU, 1.. for the others, in the MADT's order.
pub fn id() -> u32 {
    if HAS_RDPID.load(Ordering::Relaxed) {
        let index: u64;
        // SAFETY: RDPID (present, see `set_index`) only reads IA32_TSC_AUX into a register.
        unsafe { core::arch::asm!("rdpid {}", out(reg) index, options(nomem, nostack, preserves_flags)) };
        index as u32
    } else {
        let mut index = 0;
        // SAFETY: RDTSCP (present, see `set_index`) reads the TSC and IA32_TSC_AUX only.
        unsafe { core::arch::x86_64::__rdtscp(&mut index) };
        index
    }
}

pub fn enable_interrupts() {
    interrupts::enable();
}

/// Halts forever with interrupts enabled; for the end of the road.
pub fn halt_forever() -> ! {
    loop {
        hlt();
    }
}

/// Switches this CPU to the stack whose top is `stack_top` and calls `entry` there.
///
/// # Safety
/// `stack_top` must be the 16-byte-aligned top of a mapped, writable stack that nothing
/// else uses; the current stack is abandoned for good.
pub(crate) unsafe fn run_on_stack(stack_top: u64, entry: extern "C" fn() -> !) -> ! {
    // `call` pushes a return address, leaving rsp at the ABI's 16-byte-minus-8 on entry.
    // SAFETY: the caller provides a valid stack, and `entry` never returns to the old one.
    unsafe {
        core::arch::asm!("mov rsp, {top}", "call {entry}", top = in(reg) stack_top, entry = in(reg) entry, options(noreturn));
    }
}

/// The time-stamp counter.
pub fn read_tsc() -> u64 {
    // SAFETY: RDTSC has no memory effects; every x86_64 CPU has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}
