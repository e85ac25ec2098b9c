//! The legacy 8259 PICs, kept silent: remapped to `vectors::PIC_OFFSET..+16` (clear of the
//! exceptions) and fully masked, since the APICs deliver every interrupt. A masked PIC can
//! still raise a spurious IRQ 7 or 15; IRQ 15's must be acknowledged to the master alone,
//! as the cascade requires (`acknowledge_slave_spurious`).
//!
//! Invariant: the PICs are touched with interrupts off, under `PICS`'s lock.
//!
//! Called from: `mask` once on the boot CPU; `acknowledge_slave_spurious` by that
//! interrupt's handler.

use pic8259::ChainedPics;
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;

use crate::vectors::PIC_OFFSET;

/// The master's IRQ the slave cascades through.
const CASCADE_IRQ: u8 = 2;

static PICS: Mutex<ChainedPics> = Mutex::new(
    // SAFETY: the offsets put the PICs' 16 vectors at PIC_OFFSET..+16, clear of the CPU
    // exceptions.
    unsafe { ChainedPics::new(PIC_OFFSET, PIC_OFFSET + 8) },
);

/// Remaps the PICs and masks every line.
pub fn mask() {
    without_interrupts(|| {
        let mut pics = PICS.lock();
        // SAFETY: interrupts are off; the PICs are remapped clear of the exceptions and then
        // masked entirely, so they deliver nothing but spurious IRQs, which have handlers.
        unsafe {
            pics.initialize();
            pics.write_masks(0xff, 0xff);
        }
    });
}

/// Acknowledges a spurious slave interrupt: the master did see the cascade line, the slave
/// has nothing in service.
pub fn acknowledge_slave_spurious() {
    without_interrupts(|| {
        // SAFETY: the master's cascade line is in service for this spurious slave interrupt.
        unsafe { PICS.lock().notify_end_of_interrupt(PIC_OFFSET + CASCADE_IRQ) };
    });
}
