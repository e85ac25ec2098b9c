//! The I/O APIC, through the `x2apic` crate: every input masked, then the ISA lines the
//! kernel uses — the PS/2 keyboard and COM1 — routed to the boot CPU, fixed delivery,
//! physical destination, with the polarity and trigger the MADT's source overrides give
//! (active-high and edge-triggered without one).
//!
//! Invariants: the I/O APIC's registers are mapped uncached and touched only by `init`; the
//! handlers acknowledge at the local APIC (edge-triggered lines need nothing here).
//!
//! Called from: `init` once on the boot CPU, with interrupts off.

use x2apic::ioapic::{IoApic, IrqFlags, IrqMode, RedirectionTableEntry};

use crate::acpi::Topology;
use crate::vectors::{KEYBOARD_VECTOR, SERIAL_VECTOR};

/// ISA interrupt lines of the devices the kernel serves.
const KEYBOARD_ISA_IRQ: u8 = 1;
const SERIAL_ISA_IRQ: u8 = 4;

/// Masks every input, then routes the keyboard and COM1 to the boot CPU. `map_uncached`
/// maps a physical address uncached and returns its virtual address.
pub fn init(topology: &Topology, map_uncached: impl FnOnce(u64) -> u64) {
    let registers = map_uncached(topology.io_apic.address);
    // SAFETY: `registers` maps the MADT's I/O APIC uncached for the kernel's lifetime, and
    // this is the only `IoApic` ever made for it.
    let mut io_apic = unsafe { IoApic::new(registers) };
    // SAFETY: masking inputs only stops interrupts, and the IDT has handlers for the vectors
    // routed below.
    let inputs = unsafe { io_apic.max_table_entry() } + 1;
    for input in 0..inputs {
        // SAFETY: as above: masks one input.
        unsafe { io_apic.disable_irq(input) };
    }
    let boot_apic_id = topology.apic_ids[0];
    for (isa_irq, vector) in [(KEYBOARD_ISA_IRQ, KEYBOARD_VECTOR), (SERIAL_ISA_IRQ, SERIAL_VECTOR)] {
        let route = topology.isa_route(isa_irq);
        let input = route
            .gsi
            .checked_sub(topology.io_apic.gsi_base)
            .and_then(|input| u8::try_from(input).ok())
            .filter(|&input| input < inputs)
            .unwrap_or_else(|| {
                panic!("ioapic: ISA IRQ {isa_irq} arrives as GSI {}, not on this I/O APIC", route.gsi)
            });
        let mut flags = IrqFlags::empty();
        flags.set(IrqFlags::LOW_ACTIVE, route.active_low);
        flags.set(IrqFlags::LEVEL_TRIGGERED, route.level_triggered);
        let mut entry = RedirectionTableEntry::default();
        entry.set_mode(IrqMode::Fixed);
        entry.set_flags(flags);
        entry.set_vector(vector);
        entry.set_dest(u8::try_from(boot_apic_id).expect("ioapic: the boot CPU's APIC id is beyond 8 bits"));
        // SAFETY: the entry is unmasked with a vector whose handler is in the IDT, and
        // delivered to the boot CPU, whose local APIC is enabled.
        unsafe { io_apic.set_table_entry(input, entry) };
        log::info!("ioapic: ISA IRQ {isa_irq} -> input {input} -> vector {vector} on APIC id {boot_apic_id}");
    }
}
