//! Reads one line from standard input and prints it back; exits with its length.
#![no_std]
#![no_main]

use user::syscall::syscall3;

user::entry!(main);

fn main() -> i32 {
    let mut line = [0u8; 64];
    let mut length = 0;
    while length < line.len() {
        let read = syscall3(0, 0, line[length..].as_mut_ptr() as usize, line.len() - length);
        if read <= 0 {
            return 100;
        }
        length += read as usize;
        if line[..length].contains(&b'\n') {
            break;
        }
    }
    let text = core::str::from_utf8(&line[..length]).unwrap_or("?").trim_end();
    user::println!("readline: got {text:?}");
    text.len() as i32
}
