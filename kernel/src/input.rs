//! Console input tasks: keys from the PS/2 keyboard (scancode set 1, US layout) and bytes
//! from the serial port, each echoed to the console.
//!
//! Both are ordinary executor tasks fed by their driver's interrupt-side queue.

use futures_util::StreamExt;
use pc_keyboard::{DecodedKey, HandleControl, PS2Keyboard, ScancodeSet1, layouts::Us104Key};

/// Creates the input queues and spawns the echo tasks. Call before interrupts are enabled.
pub fn init() {
    drivers::keyboard::init();
    drivers::serial::init_input();
    crate::tasks::spawn("keyboard", echo_keys()).expect("input: cannot spawn the keyboard task at boot");
    crate::tasks::spawn("serial-input", echo_serial()).expect("input: cannot spawn the serial task at boot");
}

async fn echo_keys() {
    let Some(mut scancodes) = drivers::keyboard::scancodes() else {
        log::error!("input: no scancode queue; the keyboard is off");
        return;
    };
    let mut keyboard = PS2Keyboard::new(ScancodeSet1::new(), Us104Key, HandleControl::Ignore);
    while let Some(scancode) = scancodes.next().await {
        if let Ok(Some(event)) = keyboard.add_byte(scancode)
            && let Some(key) = keyboard.process_keyevent(event)
        {
            match key {
                DecodedKey::Unicode(character) => crate::print!("{character}"),
                DecodedKey::RawKey(key) => crate::print!("{key:?}"),
            }
        }
    }
}

async fn echo_serial() {
    let Some(mut bytes) = drivers::serial::received() else {
        log::error!("input: no serial receive queue; serial input is off");
        return;
    };
    while let Some(byte) = bytes.next().await {
        match byte {
            b'\r' | b'\n' => crate::println!(),
            0x20..=0x7e | 0x08 | 0x7f => crate::print!("{}", byte as char),
            _ => {}
        }
    }
}
