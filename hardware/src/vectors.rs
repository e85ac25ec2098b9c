//! The interrupt vectors the kernel uses, beside the CPU's exceptions (0..32):
//!
//! | vector | source |
//! |---|---|
//! | 32 `TIMER_VECTOR` | local APIC timer, every CPU that called `apic::start_timer` |
//! | 33 `KEYBOARD_VECTOR`, 36 `SERIAL_VECTOR` | I/O APIC, ISA IRQ 1 and 4, boot CPU |
//! | 39 `PIC_MASTER_SPURIOUS_VECTOR`, 47 `PIC_SLAVE_SPURIOUS_VECTOR` | the masked 8259 PICs' spurious interrupts (`pic`) |
//! | 0xf0 `RESCHEDULE_VECTOR`, 0xf1 `TLB_SHOOTDOWN_VECTOR` | IPIs (`apic::send_ipi`, `apic::send_self_ipi`) |
//! | 0xfe `APIC_ERROR_VECTOR`, 0xff `APIC_SPURIOUS_VECTOR` | the local APIC itself |
//!
//! The kernel installs a handler for each before the source can raise it.

/// Vector of the 8259s' IRQ 0; their IRQs 0-15 use the 16 vectors from here, clear of the
/// exceptions.
pub const PIC_OFFSET: u8 = 32;

pub const TIMER_VECTOR: u8 = 32;
pub const KEYBOARD_VECTOR: u8 = 33;
pub const SERIAL_VECTOR: u8 = 36;
/// A masked master 8259's spurious IRQ 7.
pub const PIC_MASTER_SPURIOUS_VECTOR: u8 = PIC_OFFSET + 7;
/// A masked slave 8259's spurious IRQ 15.
pub const PIC_SLAVE_SPURIOUS_VECTOR: u8 = PIC_OFFSET + 15;
/// Asks the receiving CPU to reschedule.
pub const RESCHEDULE_VECTOR: u8 = 0xf0;
/// Asks the receiving CPU to flush TLB entries.
pub const TLB_SHOOTDOWN_VECTOR: u8 = 0xf1;
pub const APIC_ERROR_VECTOR: u8 = 0xfe;
pub const APIC_SPURIOUS_VECTOR: u8 = 0xff;
