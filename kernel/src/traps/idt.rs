//! The interrupt descriptor table's contents: every CPU exception (`exceptions`), plus the
//! hardware interrupts and IPIs (`irq`). One table, built on first use and shared by every
//! CPU; `arch::init` installs it and each CPU loads it during its bring-up (`arch::idt`),
//! after its GDT and TSS, whose IST stack the double fault runs on (`gdt`).
//!
//! Called from: `lib::init` once, on the boot CPU, before interrupts are enabled.

use spin::LazyLock;
use x86_64::structures::idt::InterruptDescriptorTable;

use super::{exceptions, irq};
use crate::arch::gdt;

static IDT: LazyLock<InterruptDescriptorTable> = LazyLock::new(|| {
    let mut idt = InterruptDescriptorTable::new();
    idt.divide_error.set_handler_fn(exceptions::divide_error);
    idt.debug.set_handler_fn(exceptions::debug);
    idt.non_maskable_interrupt.set_handler_fn(exceptions::non_maskable_interrupt);
    idt.breakpoint.set_handler_fn(exceptions::breakpoint);
    idt.overflow.set_handler_fn(exceptions::overflow);
    idt.bound_range_exceeded.set_handler_fn(exceptions::bound_range_exceeded);
    idt.invalid_opcode.set_handler_fn(exceptions::invalid_opcode);
    idt.device_not_available.set_handler_fn(exceptions::device_not_available);
    gdt::set_double_fault_handler(&mut idt, exceptions::double_fault);
    idt.invalid_tss.set_handler_fn(exceptions::invalid_tss);
    idt.segment_not_present.set_handler_fn(exceptions::segment_not_present);
    idt.stack_segment_fault.set_handler_fn(exceptions::stack_segment_fault);
    idt.general_protection_fault.set_handler_fn(exceptions::general_protection_fault);
    idt.page_fault.set_handler_fn(exceptions::page_fault);
    idt.x87_floating_point.set_handler_fn(exceptions::x87_floating_point);
    idt.alignment_check.set_handler_fn(exceptions::alignment_check);
    idt.machine_check.set_handler_fn(exceptions::machine_check);
    idt.simd_floating_point.set_handler_fn(exceptions::simd_floating_point);
    idt.virtualization.set_handler_fn(exceptions::virtualization);
    idt.cp_protection_exception.set_handler_fn(exceptions::cp_protection);
    idt.hv_injection_exception.set_handler_fn(exceptions::hv_injection);
    idt.vmm_communication_exception.set_handler_fn(exceptions::vmm_communication);
    idt.security_exception.set_handler_fn(exceptions::security);
    irq::install(&mut idt);
    idt
});

/// The table, for `arch::init` to install.
pub fn table() -> &'static InterruptDescriptorTable {
    &IDT
}

#[cfg(test)]
mod tests {
    #[test_case]
    fn a_breakpoint_is_reported_and_execution_resumes() {
        let before = crate::traps::exceptions::breakpoints_handled();
        x86_64::instructions::interrupts::int3();
        assert_eq!(crate::traps::exceptions::breakpoints_handled(), before + 1);
    }
}
