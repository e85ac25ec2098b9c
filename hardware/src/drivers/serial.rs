//! The first 16550 UART (COM1), through the `uart_16550` crate: the kernel's console,
//! output and input. Received bytes raise IRQ 4; the handler moves them into an
//! `InputQueue` that a task reads as a stream.
//!
//! Lock rule: the port is guarded by a spin lock that is taken with interrupts disabled,
//! because interrupt handlers print too (exception reports, traced wakes); an interrupt
//! taken while the lock is held would otherwise spin forever on one CPU.

use core::fmt::{self, Write};

use conquer_once::spin::OnceCell;
use uart_16550::spec::registers::IER;
use uart_16550::{BaudRate, Config, Uart16550Tty, backend::PioBackend};

use super::input_queue::{InputQueue, InputStream};

/// COM1's base I/O port.
pub const COM1: u16 = 0x3f8;

/// Received bytes the reader has not taken yet, at most.
const RECEIVE_QUEUE_CAPACITY: usize = 256;

static PORT: OnceCell<spin::Mutex<Uart16550Tty<PioBackend>>> = OnceCell::uninit();
static RECEIVED: OnceCell<InputQueue> = OnceCell::uninit();

/// Programs COM1 (115200 8-N-1, FIFO on, receive interrupt on). Later calls do nothing.
/// Output written before this is dropped.
pub fn init() {
    PORT.init_once(|| {
        let config =
            Config { baud_rate: BaudRate::Baud115200, interrupts: IER::DATA_READY, ..Config::DEFAULT };
        // SAFETY: COM1's registers (0x3f8..0x400) are this driver's alone; this runs once.
        let uart = unsafe { Uart16550Tty::new_port(COM1, config) };
        spin::Mutex::new(uart.expect("serial: COM1 failed its self-test"))
    });
}

/// Writes formatted text to COM1, with interrupts masked while the port is held.
pub fn write_fmt(args: fmt::Arguments) {
    if let Some(port) = PORT.get() {
        x86_64::instructions::interrupts::without_interrupts(|| {
            let _ = port.lock().write_fmt(args);
        });
    }
}

/// Writes formatted text to COM1 on a path that must not hang: a panic or a fatal
/// exception. If the port lock is held — by the code that panicked, or by a fault in the
/// middle of a print — it is broken first, since that holder will never run again.
pub fn write_fmt_emergency(args: fmt::Arguments) {
    if let Some(port) = PORT.get() {
        x86_64::instructions::interrupts::without_interrupts(|| {
            if port.is_locked() {
                // Only paths that end the kernel (panic, fatal exception) call this, with
                // interrupts masked; the holder was interrupted or unwound by this very path.
                // SAFETY: so the holder never resumes and no one else is inside the lock.
                unsafe { port.force_unlock() };
            }
            let _ = port.lock().write_fmt(args);
        });
    }
}

/// Writes formatted text to COM1 from a report about a CPU that may be stuck holding the
/// port lock (a lockup report): waits for the lock only while `keep_waiting` says so, and
/// then drops the text rather than spin on forever. Returns whether it wrote.
pub fn write_fmt_unless_held(args: fmt::Arguments, mut keep_waiting: impl FnMut() -> bool) -> bool {
    let Some(port) = PORT.get() else { return false };
    x86_64::instructions::interrupts::without_interrupts(|| {
        loop {
            if let Some(mut port) = port.try_lock() {
                let _ = port.write_fmt(args);
                return true;
            }
            if !keep_waiting() {
                return false;
            }
            core::hint::spin_loop();
        }
    })
}

/// Creates the receive queue (it allocates). Call before unmasking the serial IRQ.
pub fn init_input() {
    RECEIVED.init_once(|| InputQueue::new(RECEIVE_QUEUE_CAPACITY));
}

/// The serial interrupt's work: move every received byte into the receive queue.
pub fn handle_interrupt() {
    let (Some(port), Some(received)) = (PORT.get(), RECEIVED.get()) else { return };
    // The port lock is dropped before each push: the push wakes the reader, and a traced
    // wake prints to this very port.
    loop {
        let byte = port.lock().inner_mut().try_receive_byte();
        match byte {
            Ok(byte) => {
                received.push(byte);
            }
            Err(_) => return,
        }
    }
}

/// The stream of received bytes, for the one console task.
pub fn received() -> Option<InputStream<'static>> {
    RECEIVED.get().map(InputQueue::stream)
}
