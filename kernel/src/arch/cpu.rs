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

/// Switches this CPU to the stack whose top is `stack_top` and calls `entry` there.
///
/// # Safety
/// `stack_top` must be the 16-byte-aligned top of a mapped, writable stack that nothing
/// else uses; the current stack is abandoned for good.
pub unsafe fn run_on_stack(stack_top: u64, entry: extern "C" fn() -> !) -> ! {
    // `call` pushes a return address, leaving rsp at the ABI's 16-byte-minus-8 on entry.
    // SAFETY: the caller provides a valid stack, and `entry` never returns to the old one.
    unsafe {
        core::arch::asm!("mov rsp, {top}", "call {entry}", top = in(reg) stack_top, entry = in(reg) entry, options(noreturn));
    }
}

/// Loads `root` (a level-4 table's physical address) into CR3; returns the previous root.
///
/// # Safety
/// `root` must be a valid level-4 table that maps everything the kernel uses (its upper
/// half) exactly as the current one does.
pub unsafe fn load_page_table_root(root: u64) -> u64 {
    use x86_64::registers::control::Cr3;
    use x86_64::structures::paging::PhysFrame;

    let (previous, flags) = Cr3::read();
    let frame =
        PhysFrame::from_start_address(x86_64::PhysAddr::new(root)).expect("cpu: unaligned page-table root");
    // SAFETY: the caller guarantees the new tables map the kernel as the old ones did, so
    // execution continues unchanged.
    unsafe { Cr3::write(frame, flags) };
    previous.start_address().as_u64()
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
        let Some(cpu) = crate::sched::cpu::try_this_cpu() else {
            interrupts::enable_and_hlt();
            return;
        };
        // With threads waiting for a CPU, give this one to them instead of halting.
        if cpu.has_runnable() {
            crate::sched::yield_now();
            interrupts::enable();
            return;
        }
        // `sti` takes effect after the next instruction, so no interrupt fits between the
        // two: one that is pending (a reschedule IPI sent after the CPU said it halts) is
        // taken during `hlt` and ends it.
        cpu.halt_unless_work(interrupts::enable_and_hlt);
        interrupts::enable();
    }

    fn around_poll<R>(&self, poll: impl FnOnce() -> R) -> R {
        crate::sched::without_preemption(poll)
    }
}
