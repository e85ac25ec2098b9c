//! Console output: `print!`/`println!` go to the serial port and the VGA screen,
//! `serial_print!`/`serial_println!` to the serial port only.
//!
//! Callable from any context, interrupt handlers included: each device masks interrupts
//! while it is held (see `hardware::drivers::serial`).

/// Sets up COM1 and the VGA screen (reached through the physical-memory window, which
/// `mm::init_window` set up).
pub fn init() {
    hardware::drivers::serial::init();
    crate::arch::screen::init();
}

/// A copy of everything user programs write, while a test captures it.
static CAPTURED: crate::sync::SpinLock<Option<alloc::vec::Vec<u8>>> = crate::sync::SpinLock::new(None);

/// Shows what a user program wrote to standard output or error, and keeps a copy while a
/// capture is on.
pub fn user_output(bytes: &[u8]) {
    print_both(format_args!("{}", alloc::string::String::from_utf8_lossy(bytes)));
    {
        if let Some(captured) = CAPTURED.lock().as_mut() {
            captured.extend_from_slice(bytes);
        }
    }
}

/// Starts keeping a copy of user programs' output.
pub fn start_capture() {
    *CAPTURED.lock() = Some(alloc::vec::Vec::new());
}

/// Stops keeping user output and returns what was kept.
pub fn take_capture() -> alloc::vec::Vec<u8> {
    CAPTURED.lock().take().unwrap_or_default()
}

#[doc(hidden)]
pub fn print_both(args: core::fmt::Arguments) {
    hardware::drivers::serial::write_fmt(args);
    hardware::drivers::vga::write_fmt(args);
}

#[doc(hidden)]
pub fn print_serial(args: core::fmt::Arguments) {
    hardware::drivers::serial::write_fmt(args);
}

#[doc(hidden)]
pub fn print_emergency(args: core::fmt::Arguments) {
    hardware::drivers::serial::write_fmt_emergency(args);
}

/// Like `serial_println!`, for panic handlers and fatal exception reports: it breaks a
/// serial lock left held by the code that failed instead of waiting on it forever.
#[macro_export]
macro_rules! emergency_println {
    ($($arg:tt)*) => ($crate::console::print_emergency(format_args!("{}\n", format_args!($($arg)*))));
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::print_both(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::console::print_both(format_args!("{}\n", format_args!($($arg)*))));
}

#[macro_export]
macro_rules! serial_print {
    ($($arg:tt)*) => ($crate::console::print_serial(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! serial_println {
    () => ($crate::serial_print!("\n"));
    ($($arg:tt)*) => ($crate::console::print_serial(format_args!("{}\n", format_args!($($arg)*))));
}
