//! Reads the kernel's memory: the kernel must kill this process with SIGSEGV and go on.
#![no_std]
#![no_main]

user::entry!(main);

fn main() -> i32 {
    user::print("kernel-read: reading the kernel image\n");
    // SAFETY: not safe, on purpose: the page is supervisor-only, so the read faults.
    let word = unsafe { (0xffff_ffff_8000_0000 as *const u64).read_volatile() };
    word as i32
}
