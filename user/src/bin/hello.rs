//! Prints a greeting and exits with 0.
#![no_std]
#![no_main]

user::entry!(main);

fn main() -> i32 {
    user::print("hello from ring 3\n");
    0
}
