//! Writes through a null pointer: the kernel must kill this process with SIGSEGV and go on.
#![no_std]
#![no_main]

user::entry!(main);

fn main() -> i32 {
    user::print("segfault: writing to address 0\n");
    // SAFETY: not safe, on purpose: the write faults and the process dies.
    unsafe { core::ptr::null_mut::<u64>().write_volatile(42) };
    0
}
