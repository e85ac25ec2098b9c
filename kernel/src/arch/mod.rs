//! x86_64 specifics still in the kernel crate — holding the IDT that every CPU loads,
//! setting up the boot CPU and its interrupt controllers — beside the `hardware` crate's,
//! re-exported here (descriptor tables, CPU control, context switch, FPU, per-CPU data,
//! user-mode GS, system-call entry, ACPI, the interrupt controllers and their vectors,
//! backtraces, the APs' start-up code). All of it is safe code over `hardware`, and none of
//! it names the rest of the kernel: the IDT's handlers, which call into the scheduler and
//! processes, are handed down from `traps`, as the system-call handler is from `syscall`.
//!
//! Boot order: `init` (CPU tables, the IDT, the 8259s masked) before the heap exists;
//! `init_interrupt_controllers` once the heap and frame allocator are up (the MADT is read
//! into heap memory, the APIC registers are mapped through `mm`); the other CPUs (`smp`)
//! after interrupts are on and the TSC is calibrated.

pub mod idt;

pub use hardware::{
    MAX_CPUS, acpi, apic, backtrace, context, cpu, fpu, gdt, ioapic, percpu, pic, protection, screen,
    syscall, tlb, trampoline, user, vectors,
};

/// Sets up the boot CPU: its index (0), its GDT and TSS, the IDT (`idt`, the table every
/// CPU will load: `traps::idt::table`), FPU/SSE, SMEP/SMAP, the `syscall` MSRs; remaps and
/// masks the 8259 PICs. Interrupts stay disabled until `cpu::enable_interrupts`.
pub fn init(idt: &'static x86_64::structures::idt::InterruptDescriptorTable) {
    cpu::set_index(0);
    gdt::init(0);
    idt::install(idt);
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
