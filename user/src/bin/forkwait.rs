//! fork/wait4 from ring 3: exit statuses round-trip, WNOHANG returns 0 while the child
//! lives and its pid once it is a zombie, ECHILD when there are no children, and a child
//! sees its parent's pid. Exits 0 if all hold, otherwise the number of the failed check.
#![no_std]
#![no_main]

use user::syscall::{self, WNOHANG};

user::entry!(main);

const ECHILD: isize = -10;

fn check(number: i32, held: bool) -> Result<(), i32> {
    if held { Ok(()) } else { Err(number) }
}

fn run() -> Result<(), i32> {
    check(1, syscall::wait4(-1, 0).0 == ECHILD)?;
    let me = syscall::getpid();
    for (number, code) in [(2, 0), (3, 17), (4, 255)] {
        let pid = syscall::fork();
        if pid == 0 {
            let code = if syscall::getppid() == me { code } else { 99 };
            syscall::exit_group(code);
        }
        check(number, pid > 0)?;
        let (waited, status) = syscall::wait4(pid, 0);
        check(number + 10, waited == pid)?;
        check(number + 20, status == code << 8)?;
    }
    let pid = syscall::fork();
    if pid == 0 {
        for _ in 0..50 {
            syscall::sched_yield();
        }
        syscall::exit_group(3);
    }
    check(5, syscall::wait4(pid, WNOHANG).0 == 0)?;
    let mut reaped = (0, 0);
    for _ in 0..10_000 {
        reaped = syscall::wait4(pid, WNOHANG);
        if reaped.0 != 0 {
            break;
        }
        syscall::sched_yield();
    }
    check(6, reaped == (pid, 3 << 8))?;
    check(7, syscall::wait4(-1, WNOHANG).0 == ECHILD)?;
    check(8, syscall::wait4(pid, 0).0 == ECHILD)?;
    Ok(())
}

fn main() -> i32 {
    match run() {
        Ok(()) => {
            user::print("forkwait: all checks held\n");
            0
        }
        Err(number) => number,
    }
}
