//! Lethe's hardware layer: the x86_64 code that needs `unsafe`, behind safe interfaces.
//!
//! Descriptor tables (`gdt`), CPU control and the CPU index (`cpu`), the context switch
//! (`context`), x87/SSE state (`fpu`), SMEP/SMAP (`protection`), TLB flushes (`tlb`),
//! user-mode GS handling (`user`), system-call entry and exit (`syscall`), per-CPU data
//! (`percpu`), the page-table root a CPU uses (`paging`), the physical-memory window (`window`), taking over memory from the bootloader (`boot`), the kernel heap (`heap`), the mappings the kernel adds to its own root (`kernel_tables`) and the VGA
//! text screen through it (`screen`), the ACPI tables (`acpi`), the
//! interrupt controllers — each CPU's local APIC with its timer and IPIs (`apic`), the I/O
//! APIC (`ioapic`), the silenced 8259s (`pic`) — and the vectors they use (`vectors`), the
//! application processors' start-up code (`trampoline`), and frame-pointer backtraces of
//! interrupted code (`backtrace`), and the drivers of the machine's fixed devices (`drivers`: serial, VGA text, keyboard, PIT, QEMU exit, fw_cfg). It never names the scheduler, processes or system
//! calls: what the kernel keeps per CPU is opaque here (`percpu` is generic over it), and
//! control goes back to the kernel through what its functions return or the functions it
//! passes in.
//!
//! Every unsafe block carries a `// SAFETY:` comment saying why it holds; every unsafe
//! function a `# Safety` section.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod acpi;
pub mod apic;
pub mod backtrace;
#[cfg(target_os = "none")]
pub mod boot;
pub mod context;
pub mod cpu;
pub mod drivers;
pub mod fpu;
pub mod gdt;
#[cfg(target_os = "none")]
pub mod heap;
pub mod ioapic;
#[cfg(target_os = "none")]
pub mod kernel_tables;
pub mod paging;
pub mod percpu;
pub mod pic;
pub mod protection;
#[cfg(target_os = "none")]
pub mod screen;
pub mod syscall;
pub mod tlb;
pub mod trampoline;
pub mod user;
pub mod vectors;
pub mod window;

/// The most CPUs the kernel runs on; the MADT's further processors stay off.
pub const MAX_CPUS: usize = 16;
