//! Hardware interrupts through the two 8259 PICs: the PIT tick (IRQ 0), the PS/2 keyboard
//! (IRQ 1) and COM1's receiver (IRQ 4); every other line stays masked.
//!
//! Every other line stays masked, so IRQ 7 and IRQ 15 can only be the PICs' spurious
//! interrupts: they are ignored (IRQ 15's is acknowledged to the master alone, as the
//! cascade requires).
//!
//! Each handler starts with a `UserGsGuard`: an interrupt taken in ring 3 runs with the
//! kernel's GS, and gives the user's back on the way out.
//!
//! Handlers do the least they can — advance the executor's clock, queue a scancode or a
//! received byte — and acknowledge the interrupt; the work happens in tasks. Locks they
//! take: the PICs' (only handlers and `init`, interrupts off, take it) and, in the serial
//! handler, the port's (every holder masks interrupts).

use pic8259::ChainedPics;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame};

/// Vector of IRQ 0; IRQs 0-15 use the 16 vectors from here.
pub const PIC_1_OFFSET: u8 = 32;
pub const PIC_2_OFFSET: u8 = PIC_1_OFFSET + 8;

const TIMER_IRQ: u8 = 0;
const KEYBOARD_IRQ: u8 = 1;
const SERIAL_IRQ: u8 = 4;
const CASCADE_IRQ: u8 = 2;
const MASTER_SPURIOUS_IRQ: u8 = 7;
const SLAVE_SPURIOUS_IRQ: u8 = 15;

static PICS: spin::Mutex<ChainedPics> = spin::Mutex::new(
    // SAFETY: the offsets put the PICs' 16 vectors at 32..48, clear of the CPU exceptions.
    unsafe { ChainedPics::new(PIC_1_OFFSET, PIC_2_OFFSET) },
);

pub(super) fn install(idt: &mut InterruptDescriptorTable) {
    idt[PIC_1_OFFSET + TIMER_IRQ].set_handler_fn(timer);
    idt[PIC_1_OFFSET + KEYBOARD_IRQ].set_handler_fn(keyboard);
    idt[PIC_1_OFFSET + SERIAL_IRQ].set_handler_fn(serial);
    idt[PIC_1_OFFSET + MASTER_SPURIOUS_IRQ].set_handler_fn(master_spurious);
    idt[PIC_1_OFFSET + SLAVE_SPURIOUS_IRQ].set_handler_fn(slave_spurious);
}

/// Remaps the PICs, unmasks the timer, keyboard and serial lines, and starts the tick.
pub(super) fn init() {
    let mut pics = PICS.lock();
    // The IDT has handlers for the three lines unmasked here and for the spurious vectors.
    // SAFETY: interrupts are off, and the PICs are remapped before any line is unmasked.
    unsafe {
        pics.initialize();
        pics.write_masks(!((1 << TIMER_IRQ) | (1 << KEYBOARD_IRQ) | (1 << SERIAL_IRQ)), 0xff);
    }
    drivers::pit::start_periodic(crate::time::TICK_HZ);
}

fn end_of_interrupt(irq: u8) {
    // SAFETY: called once, at the end of the handler of the interrupt being acknowledged.
    unsafe { PICS.lock().notify_end_of_interrupt(PIC_1_OFFSET + irq) };
}

/// Tasks the timer interrupt polls before it preempts the running thread.
const TICK_TASK_BUDGET: usize = 8;

extern "x86-interrupt" fn timer(frame: InterruptStackFrame) {
    let _kernel_gs = super::user::UserGsGuard::enter(&frame);
    if let Some(executor) = crate::tasks::try_executor() {
        executor.tick();
    }
    end_of_interrupt(TIMER_IRQ);
    crate::sched::switch::on_timer_tick(TICK_TASK_BUDGET);
    // A process killed while it computes dies here, before it runs another instruction.
    if super::user::from_user(&frame) {
        crate::process::die_if_killed();
    }
}

extern "x86-interrupt" fn keyboard(frame: InterruptStackFrame) {
    let _kernel_gs = super::user::UserGsGuard::enter(&frame);
    drivers::keyboard::handle_interrupt();
    end_of_interrupt(KEYBOARD_IRQ);
}

extern "x86-interrupt" fn serial(frame: InterruptStackFrame) {
    let _kernel_gs = super::user::UserGsGuard::enter(&frame);
    drivers::serial::handle_interrupt();
    end_of_interrupt(SERIAL_IRQ);
}

extern "x86-interrupt" fn master_spurious(frame: InterruptStackFrame) {
    let _kernel_gs = super::user::UserGsGuard::enter(&frame);
    // A spurious master interrupt is not in service: no end-of-interrupt.
}

extern "x86-interrupt" fn slave_spurious(frame: InterruptStackFrame) {
    let _kernel_gs = super::user::UserGsGuard::enter(&frame);
    // The master did see the cascade line: acknowledge it there only.
    end_of_interrupt(CASCADE_IRQ);
}
