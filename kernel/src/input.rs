//! Console input: keys from the PS/2 keyboard (scancode set 1, US layout) and bytes from
//! the serial port are echoed to the console and queued for programs reading standard
//! input (`read` on fds 0-2), as a terminal in its simplest mode would.
//!
//! The two producers are ordinary executor tasks fed by their driver's interrupt-side
//! queue; readers are threads sleeping on `READERS`. A full buffer drops input (counted).
//! Blocking its readers puts this module on the scheduling layer, above `sched` and `tasks`.

use core::sync::atomic::{AtomicUsize, Ordering};

use conquer_once::spin::OnceCell;
use crossbeam_queue::ArrayQueue;
use futures_util::StreamExt;
use pc_keyboard::{DecodedKey, HandleControl, PS2Keyboard, ScancodeSet1, layouts::Us104Key};

/// Bytes typed and not yet read.
const BUFFER_SIZE: usize = 4096;

static BUFFER: OnceCell<ArrayQueue<u8>> = OnceCell::uninit();
static READERS: crate::sched::WaitQueue = crate::sched::WaitQueue::new();
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Queues `bytes` for readers of standard input and wakes them.
pub fn feed(bytes: &[u8]) {
    let Some(buffer) = BUFFER.get() else { return };
    for &byte in bytes {
        let pushed = x86_64::instructions::interrupts::without_interrupts(|| buffer.push(byte));
        if pushed.is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
    READERS.wake_all();
}

/// Blocks the calling thread until input is there (or `give_up` says to stop), then takes
/// up to `limit` bytes of it. Returns `None` if it gave up.
pub fn read(limit: usize, give_up: impl Fn() -> bool) -> Option<alloc::vec::Vec<u8>> {
    let buffer = BUFFER.get()?;
    READERS.wait_until(|| !buffer.is_empty() || give_up());
    if buffer.is_empty() {
        return None;
    }
    let taken = x86_64::instructions::interrupts::without_interrupts(|| {
        core::iter::from_fn(|| buffer.pop()).take(limit).collect::<alloc::vec::Vec<u8>>()
    });
    if !buffer.is_empty() {
        READERS.wake_all();
    }
    Some(taken)
}

/// Creates the input queues and spawns the echo tasks. Call before interrupts are enabled.
pub fn init() {
    BUFFER.init_once(|| ArrayQueue::new(BUFFER_SIZE));
    hardware::drivers::keyboard::init();
    hardware::drivers::serial::init_input();
    crate::tasks::spawn("keyboard", echo_keys()).expect("input: cannot spawn the keyboard task at boot");
    crate::tasks::spawn("serial-input", echo_serial()).expect("input: cannot spawn the serial task at boot");
}

async fn echo_keys() {
    let Some(mut scancodes) = hardware::drivers::keyboard::scancodes() else {
        log::error!("input: no scancode queue; the keyboard is off");
        return;
    };
    let mut keyboard = PS2Keyboard::new(ScancodeSet1::new(), Us104Key, HandleControl::Ignore);
    while let Some(scancode) = scancodes.next().await {
        if let Ok(Some(event)) = keyboard.add_byte(scancode)
            && let Some(key) = keyboard.process_keyevent(event)
        {
            match key {
                DecodedKey::Unicode(character) => {
                    crate::print!("{character}");
                    let mut encoded = [0u8; 4];
                    feed(character.encode_utf8(&mut encoded).as_bytes());
                }
                DecodedKey::RawKey(key) => crate::print!("{key:?}"),
            }
        }
    }
}

async fn echo_serial() {
    let Some(mut bytes) = hardware::drivers::serial::received() else {
        log::error!("input: no serial receive queue; serial input is off");
        return;
    };
    while let Some(byte) = bytes.next().await {
        match byte {
            b'\r' | b'\n' => {
                crate::println!();
                feed(b"\n");
            }
            0x20..=0x7e | 0x08 | 0x7f => {
                crate::print!("{}", byte as char);
                feed(&[byte]);
            }
            _ => {}
        }
    }
}
