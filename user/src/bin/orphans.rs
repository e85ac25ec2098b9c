//! Leaves two orphans for init: forks two children that outlive it (they sleep a little,
//! then exit with 7 and 8), and exits at once.
#![no_std]
#![no_main]

use user::syscall;

user::entry!(main);

fn main() -> i32 {
    for code in [7, 8] {
        if syscall::fork() == 0 {
            syscall::sleep(0);
            for _ in 0..20 {
                syscall::sched_yield();
            }
            syscall::exit_group(code);
        }
    }
    user::println!("orphans: pid {} leaves two children behind", syscall::getpid());
    0
}
