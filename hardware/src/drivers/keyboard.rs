//! The PS/2 keyboard: scancodes from its interrupt, as a stream for the keyboard task.
//!
//! The kernel's scancode queue is created once (`init`) before the keyboard interrupt is
//! unmasked; the interrupt handler calls `handle_interrupt`, the keyboard task reads
//! `scancodes()` and decodes with `pc-keyboard`.

use conquer_once::spin::OnceCell;

use super::input_queue::{InputQueue, InputStream};

const DATA_PORT: u16 = 0x60;
const QUEUE_CAPACITY: usize = 128;

static SCANCODES: OnceCell<InputQueue> = OnceCell::uninit();

/// Creates the scancode queue (it allocates). Call before unmasking the keyboard IRQ.
pub fn init() {
    SCANCODES.init_once(|| InputQueue::new(QUEUE_CAPACITY));
}

/// The keyboard interrupt's work: read the scancode (which acknowledges it to the
/// controller) and queue it. Returns false when it had to be dropped.
pub fn handle_interrupt() -> bool {
    let mut port = x86_64::instructions::port::Port::<u8>::new(DATA_PORT);
    // SAFETY: port 0x60 is the PS/2 controller's data port; reading it in the keyboard
    // interrupt fetches the byte that raised the interrupt and has no other effect.
    let scancode = unsafe { port.read() };
    SCANCODES.get().is_some_and(|queue| queue.push(scancode))
}

/// The stream of scancodes, for the one keyboard task.
pub fn scancodes() -> Option<InputStream<'static>> {
    SCANCODES.get().map(InputQueue::stream)
}
