//! x86_64 specifics: descriptor tables, exceptions, the interrupt controller, CPU control.
//!
//! One of the two places in the kernel crate where `unsafe` is allowed (with `mm`); every
//! unsafe block carries a `// SAFETY:` comment.
#![allow(unsafe_code)]

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
pub mod user;

/// The most CPUs the kernel runs on.
pub const MAX_CPUS: usize = 16;

/// Sets up the boot CPU: its index (0), its GDT and TSS, the IDT, and programs the
/// interrupt controller and timer. Interrupts stay disabled until `cpu::enable_interrupts`.
pub fn init() {
    cpu::set_index(0);
    gdt::init(0);
    idt::init();
    fpu::init();
    protection::init();
    syscall::init();
    irq::init();
}
