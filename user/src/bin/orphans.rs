//! Leaves two orphans for init: forks two children that outlive it, and exits at once.
//! The children wait to see `getppid` turn to 1 (init adopted them), then exit with 7 and
//! 8 — or with 107 and 108 if it never does.
#![no_std]
#![no_main]

use user::syscall;

user::entry!(main);

fn main() -> i32 {
    for code in [7, 8] {
        if syscall::fork() == 0 {
            // Once the parent has exited, init (pid 1) is the parent (R9); exit 100 more
            // than `code` if that never happens.
            let adopted = (0..10_000).any(|_| {
                syscall::sched_yield();
                syscall::getppid() == 1
            });
            syscall::exit_group(if adopted { code } else { 100 + code });
        }
    }
    user::println!("orphans: pid {} leaves two children behind", syscall::getpid());
    0
}
