//! A minimal runtime for Lethe's ring-3 programs: the entry point, system-call wrappers
//! with Linux x86-64 numbers and registers, and a panic handler that exits with 101.
//!
//! A program defines `fn main() -> i32` and calls `user::entry!(main)`.
#![no_std]

pub mod syscall;

/// Writes `text` to standard output; returns what `write` returned.
pub fn print(text: &str) -> isize {
    syscall::write(1, text.as_bytes())
}

/// Standard output as a `core::fmt::Write` target, for `println!`.
pub struct Stdout;

impl core::fmt::Write for Stdout {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        print(text);
        Ok(())
    }
}

/// Formats a line to standard output.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::Stdout, $($arg)*);
    }};
}

/// Defines the program's `_start`, which calls `$main` and exits with its result.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn _start() -> ! {
            let status: i32 = $main();
            $crate::syscall::exit_group(status)
        }

        #[panic_handler]
        fn panic(_info: &core::panic::PanicInfo) -> ! {
            $crate::print("panic\n");
            $crate::syscall::exit_group(101)
        }
    };
}
