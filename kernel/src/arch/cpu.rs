//! CPU control: interrupts on/off, halting, the TSC, and the CPU number.
//!
//! `InterruptControl` gives the executor its idle protocol: `sti; hlt` back to back, so an
//! interrupt arriving after the idle check ends the halt instead of being slept through.

use x86_64::instructions::{hlt, interrupts};

/// This CPU's number. Only the boot CPU runs so far.
pub fn id() -> u32 {
    0
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

/// The time-stamp counter.
pub fn read_tsc() -> u64 {
    // SAFETY: RDTSC has no memory effects; every x86_64 CPU has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The executor's view of interrupt control on this CPU.
pub struct InterruptControl;

impl executor::Platform for InterruptControl {
    fn disable_interrupts(&self) {
        interrupts::disable();
    }

    fn enable_interrupts(&self) {
        interrupts::enable();
    }

    fn enable_interrupts_and_halt(&self) {
        // `sti` takes effect after the next instruction, so no interrupt fits between the
        // two: one that is pending is taken during `hlt` and ends it.
        interrupts::enable_and_hlt();
    }
}
