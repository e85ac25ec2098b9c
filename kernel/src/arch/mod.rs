//! x86_64 specifics: descriptor tables, exceptions, the interrupt controller, CPU control.
//!
//! One of the two places in the kernel crate where `unsafe` is allowed (with `mm`); every
//! unsafe block carries a `// SAFETY:` comment.
#![allow(unsafe_code)]

pub mod apic;
pub mod context;
pub mod cpu;
pub mod exceptions;
pub mod fpu;
pub mod gdt;
pub mod idt;
pub mod irq;
pub mod percpu;
pub mod protection;
pub mod syscall;
pub mod tlb;
pub mod user;

/// Loads the GDT and TSS, the IDT, and programs the interrupt controller and timer.
/// Interrupts stay disabled until `cpu::enable_interrupts`.
pub fn init() {
    gdt::init();
    idt::init();
    fpu::init();
    protection::init();
    syscall::init();
    irq::init();
}
