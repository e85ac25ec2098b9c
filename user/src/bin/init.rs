//! pid 1 of the built-in ramdisk: greets and exits with status 0.
#![no_std]
#![no_main]

user::entry!(main);

fn main() -> i32 {
    user::print("init: Lethe's pid 1 is running in ring 3\n");
    0
}
