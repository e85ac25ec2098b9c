//! The first 16550 UART (COM1), through the `uart_16550` crate: the kernel's console.
//!
//! Lock rule: the port is guarded by a spin lock that is taken with interrupts disabled,
//! because interrupt handlers print too (exception reports, traced wakes); an interrupt
//! taken while the lock is held would otherwise spin forever on one CPU.

use core::fmt::{self, Write};

use conquer_once::spin::OnceCell;
use uart_16550::{BaudRate, Config, Uart16550Tty, backend::PioBackend};

/// COM1's base I/O port.
pub const COM1: u16 = 0x3f8;

static PORT: OnceCell<spin::Mutex<Uart16550Tty<PioBackend>>> = OnceCell::uninit();

/// Programs COM1 (115200 8-N-1, FIFO on). Later calls do nothing. Output written before
/// this is dropped.
pub fn init() {
    PORT.init_once(|| {
        let config = Config { baud_rate: BaudRate::Baud115200, ..Config::DEFAULT };
        // SAFETY: COM1's eight registers at 0x3f8..0x400 belong to this driver alone for
        // the kernel's lifetime; `init_once` runs this at most once.
        let uart =
            unsafe { Uart16550Tty::new_port(COM1, config) }.expect("serial: COM1 failed its self-test");
        spin::Mutex::new(uart)
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

/// Reads one received byte, if any.
pub fn try_read_byte() -> Option<u8> {
    let port = PORT.get()?;
    x86_64::instructions::interrupts::without_interrupts(|| port.lock().inner_mut().try_receive_byte().ok())
}
