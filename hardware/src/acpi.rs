//! The machine's processors and interrupt controllers, read once at boot from the ACPI
//! MADT (through the `acpi` crate): the usable CPUs' local APIC ids, the local APIC's
//! base, the I/O APIC, and the ISA interrupt source overrides.
//!
//! The tables are read through the physical-memory window (they lie in RAM the bootloader
//! reports as ACPI or reserved), so the `AcpiHandler` only adds the window's offset. The
//! RSDP is found by the BIOS search (the bootloader boots through the BIOS).
//!
//! CPU indices: index 0 is the CPU that booted the kernel, then the other enabled
//! processors in the MADT's order, at most `MAX_CPUS`. Without a usable MADT the machine
//! is taken to be one CPU with the architectural defaults, and a warning says so.
//!
//! Called from: `discover` once on the boot CPU after the heap is up; `topology` from
//! anywhere after that.

use alloc::vec::Vec;
use core::ptr::NonNull;

use acpi::platform::ProcessorState;
use acpi::platform::interrupt::{InterruptModel, Polarity, TriggerMode};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping, PlatformInfo};
use x86_64::registers::model_specific::Msr;

use super::MAX_CPUS;

/// Where the I/O APIC sits when no MADT says otherwise.
const DEFAULT_IO_APIC_ADDRESS: u64 = 0xfec0_0000;
/// IA32_APIC_BASE: the local APIC's physical base (bits 12 and up).
const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;

/// What the kernel needs to know of the machine's CPUs and interrupt controllers.
#[derive(Debug)]
pub struct Topology {
    /// The local APIC id of each usable CPU, by CPU index (the boot CPU first).
    pub apic_ids: Vec<u32>,
    /// Physical address of the local APICs' registers (xAPIC mode).
    pub local_apic_address: u64,
    /// The I/O APIC the ISA interrupts reach (the first of the MADT's).
    pub io_apic: IoApic,
    /// ISA interrupts that do not reach the I/O APIC input of their own number, or not
    /// active-high and edge-triggered.
    pub isa_overrides: Vec<IsaRoute>,
}

/// An I/O APIC: where its registers are and the first global system interrupt it takes.
#[derive(Debug, Clone, Copy)]
pub struct IoApic {
    pub address: u64,
    pub gsi_base: u32,
}

/// How an ISA interrupt line reaches the I/O APICs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsaRoute {
    pub isa_irq: u8,
    /// The global system interrupt it arrives as.
    pub gsi: u32,
    pub active_low: bool,
    pub level_triggered: bool,
}

impl Topology {
    /// CPUs the kernel may use.
    pub fn cpu_count(&self) -> u32 {
        self.apic_ids.len() as u32
    }

    /// How ISA interrupt `isa_irq` arrives: its override, or else as the GSI of its own
    /// number, active-high and edge-triggered (the ISA bus's way).
    pub fn isa_route(&self, isa_irq: u8) -> IsaRoute {
        self.isa_overrides.iter().copied().find(|route| route.isa_irq == isa_irq).unwrap_or(IsaRoute {
            isa_irq,
            gsi: u32::from(isa_irq),
            active_low: false,
            level_triggered: false,
        })
    }
}

static TOPOLOGY: spin::Once<Topology> = spin::Once::new();

/// The topology. Panics before `discover`.
pub fn topology() -> &'static Topology {
    TOPOLOGY.get().expect("acpi: topology used before discovery")
}

/// The boot CPU's local APIC id, from CPUID (leaf 0xb's x2APIC id where the leaf exists).
fn boot_apic_id() -> u32 {
    const TOPOLOGY_LEAF: u32 = 0xb;
    if core::arch::x86_64::__cpuid(0).eax >= TOPOLOGY_LEAF {
        core::arch::x86_64::__cpuid_count(TOPOLOGY_LEAF, 0).edx
    } else {
        core::arch::x86_64::__cpuid(1).ebx >> 24
    }
}

/// CPU indices from the enabled processors' APIC ids in MADT order: the boot CPU first,
/// then the others in order, at most `MAX_CPUS`.
fn cpus_in_index_order(boot_apic_id: u32, enabled: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut apic_ids = alloc::vec![boot_apic_id];
    apic_ids.extend(enabled.filter(|&id| id != boot_apic_id));
    if apic_ids.len() > MAX_CPUS {
        log::warn!("acpi: {} processors, using the first {MAX_CPUS}", apic_ids.len());
        apic_ids.truncate(MAX_CPUS);
    }
    apic_ids
}

/// Maps ACPI tables through the physical-memory window.
#[derive(Clone)]
struct WindowHandler {
    physical_memory_offset: u64,
}

impl AcpiHandler for WindowHandler {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let address = self.physical_memory_offset + physical_address as u64;
        let virtual_start = NonNull::new(address as *mut T).expect("acpi: table at a null address");
        // SAFETY: the window maps all physical memory for the kernel's lifetime, so the
        // region is mapped, at `virtual_start`, for as long as the mapping lives.
        unsafe { PhysicalMapping::new(physical_address, virtual_start, size, size, self.clone()) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// Reads the MADT into the topology, or falls back to one CPU. Called once.
pub fn discover() -> &'static Topology {
    TOPOLOGY.call_once(|| {
        let handler = WindowHandler { physical_memory_offset: crate::window::window().offset() };
        // SAFETY: the kernel boots through the BIOS (bootloader 0.9), whose RSDP search
        // areas are ordinary low memory, mapped through the window.
        let tables = unsafe { AcpiTables::search_for_rsdp_bios(handler) };
        let madt = tables.map_err(|error| alloc::format!("no RSDP ({error:?})")).and_then(|tables| {
            PlatformInfo::new(&tables).map_err(|error| alloc::format!("no platform information ({error:?})"))
        });
        match madt {
            Ok(PlatformInfo {
                interrupt_model: InterruptModel::Apic(apic),
                processor_info: Some(processors),
                ..
            }) => {
                let enabled = core::iter::once(processors.boot_processor)
                    .chain(processors.application_processors.iter().copied())
                    .filter(|processor| processor.state != ProcessorState::Disabled)
                    .map(|processor| processor.local_apic_id);
                let io_apic = apic.io_apics.first().map_or(
                    IoApic { address: DEFAULT_IO_APIC_ADDRESS, gsi_base: 0 },
                    |io_apic| IoApic {
                        address: u64::from(io_apic.address),
                        gsi_base: io_apic.global_system_interrupt_base,
                    },
                );
                if apic.io_apics.len() > 1 {
                    log::warn!("acpi: {} I/O APICs, using the first only", apic.io_apics.len());
                }
                let isa_overrides = apic
                    .interrupt_source_overrides
                    .iter()
                    .map(|source| IsaRoute {
                        isa_irq: source.isa_source,
                        gsi: source.global_system_interrupt,
                        active_low: source.polarity == Polarity::ActiveLow,
                        level_triggered: source.trigger_mode == TriggerMode::Level,
                    })
                    .collect();
                Topology {
                    apic_ids: cpus_in_index_order(boot_apic_id(), enabled),
                    local_apic_address: apic.local_apic_address,
                    io_apic,
                    isa_overrides,
                }
            }
            Ok(_) => one_cpu("the MADT describes no APIC processors"),
            Err(reason) => one_cpu(&reason),
        }
    })
}

/// The topology of a machine without a usable MADT: the boot CPU alone, its local APIC
/// where IA32_APIC_BASE says, the I/O APIC at its default address, no overrides.
fn one_cpu(reason: &str) -> Topology {
    log::warn!(
        "acpi: {reason}: running on the boot CPU alone, I/O APIC assumed at {DEFAULT_IO_APIC_ADDRESS:#x}"
    );
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; reading it has no side effects.
    let apic_base = unsafe { Msr::new(IA32_APIC_BASE).read() } & APIC_BASE_ADDRESS_MASK;
    Topology {
        apic_ids: alloc::vec![boot_apic_id()],
        local_apic_address: apic_base,
        io_apic: IoApic { address: DEFAULT_IO_APIC_ADDRESS, gsi_base: 0 },
        isa_overrides: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_cpu_gets_index_0_wherever_the_madt_lists_it() {
        assert_eq!(cpus_in_index_order(2, [0, 1, 2, 3].into_iter()), [2, 0, 1, 3]);
        assert_eq!(cpus_in_index_order(0, [0, 1].into_iter()), [0, 1]);
    }

    #[test]
    fn an_isa_override_moves_its_line_and_others_keep_their_number() {
        let topology = Topology {
            apic_ids: alloc::vec![0],
            local_apic_address: 0xfee0_0000,
            io_apic: IoApic { address: DEFAULT_IO_APIC_ADDRESS, gsi_base: 0 },
            isa_overrides: alloc::vec![IsaRoute {
                isa_irq: 0,
                gsi: 2,
                active_low: false,
                level_triggered: false
            }],
        };
        assert_eq!(topology.isa_route(0).gsi, 2);
        let keyboard = topology.isa_route(1);
        assert_eq!((keyboard.gsi, keyboard.active_low, keyboard.level_triggered), (1, false, false));
    }
}
