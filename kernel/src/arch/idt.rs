//! The interrupt descriptor table every CPU loads. Its handlers are trap dispatch, above this
//! layer (`traps`): the table is built there and handed down once, at boot, to `install`;
//! each CPU then loads that one table during its bring-up, after its GDT and TSS.
//!
//! Invariant: the table is installed once and never changes; no CPU loads a table before it
//! is installed (`load` panics rather than run without one).
//!
//! Called from: `arch::init` (`install`) on the boot CPU; an application processor's
//! bring-up (`load`), interrupts off.

use x86_64::structures::idt::InterruptDescriptorTable;

static TABLE: spin::Once<&'static InterruptDescriptorTable> = spin::Once::new();

/// Makes `table` the table of every CPU, and loads it on this one. Once, on the boot CPU.
pub fn install(table: &'static InterruptDescriptorTable) {
    assert!(TABLE.get().is_none(), "arch: the IDT is installed once");
    TABLE.call_once(|| table);
    load();
}

/// Loads the installed table on this CPU.
pub fn load() {
    TABLE.get().expect("arch: a CPU loads the IDT before arch::init installed it").load();
}
