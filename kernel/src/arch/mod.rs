//! x86_64 specifics still in the kernel crate — the IDT, the exception and interrupt
//! handlers, starting the other CPUs — beside the `hardware` crate's, re-exported here
//! (descriptor tables, CPU control, context switch, FPU, per-CPU data, user-mode GS,
//! system-call entry, ACPI, the interrupt controllers and their vectors, backtraces, the
//! APs' start-up code). All of it is safe code over `hardware`; the handlers call up into
//! the kernel (`scripts/layering.allowed` lists each call) until they are registered from
//! above instead.
//!
//! Boot order: `init` (CPU tables, the 8259s masked) before the heap exists;
//! `init_interrupt_controllers` once the heap and frame allocator are up (the MADT is read
//! into heap memory, the APIC registers are mapped through `mm`); `smp` after interrupts
//! are on and the TSC is calibrated.

pub mod exceptions;
pub mod idt;
pub mod irq;
pub mod smp;

pub use hardware::{
    MAX_CPUS, acpi, apic, backtrace, context, cpu, fpu, gdt, ioapic, percpu, pic, protection, screen,
    syscall, tlb, trampoline, user, vectors,
};

/// Sets up the boot CPU: its index (0), its GDT and TSS, the IDT, FPU/SSE, SMEP/SMAP, the
/// `syscall` MSRs; remaps and masks the 8259 PICs. Interrupts stay disabled until
/// `cpu::enable_interrupts`.
pub fn init() {
    cpu::set_index(0);
    gdt::init(0);
    idt::init();
    fpu::init();
    protection::init();
    syscall::init();
    pic::mask();
}

/// Reads the MADT, enables the boot CPU's local APIC and starts its timer at `tick_hz`,
/// and routes the keyboard and serial interrupts through the I/O APIC; `map_uncached`
/// maps their registers (`mm::device_memory`). After `mm::init`, with interrupts still off.
pub fn init_interrupt_controllers(tick_hz: u32, map_uncached: fn(u64) -> u64) {
    let topology = acpi::discover();
    log::info!(
        "acpi: {} CPUs (APIC ids {:?}), local APIC at {:#x}, I/O APIC at {:#x} (GSI base {}), {} ISA overrides",
        topology.cpu_count(),
        topology.apic_ids,
        topology.local_apic_address,
        topology.io_apic.address,
        topology.io_apic.gsi_base,
        topology.isa_overrides.len()
    );
    apic::init_boot_cpu(topology, tick_hz, map_uncached);
    ioapic::init(topology, map_uncached);
}
