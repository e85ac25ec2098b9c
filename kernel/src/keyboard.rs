//! The keyboard task: decodes PS/2 scancodes (set 1, US layout) and echoes the keys.
//!
//! Runs as an ordinary executor task fed by `drivers::keyboard`'s interrupt-side queue.

use futures_util::StreamExt;
use pc_keyboard::{DecodedKey, HandleControl, PS2Keyboard, ScancodeSet1, layouts::Us104Key};

/// Creates the scancode queue and spawns the echo task.
pub fn init() {
    drivers::keyboard::init();
    crate::tasks::spawn("keyboard", echo_keys()).expect("keyboard: cannot spawn its task at boot");
}

async fn echo_keys() {
    let Some(mut scancodes) = drivers::keyboard::scancodes() else {
        log::error!("keyboard: no scancode queue; the keyboard is off");
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
