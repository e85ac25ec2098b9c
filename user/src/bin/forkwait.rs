//! fork/wait4 from ring 3: exit statuses round-trip, WNOHANG returns 0 while the child
//! lives (it waits on a pipe for the parent's go) and its pid once it is a zombie, ECHILD when there are no children, and a child
//! sees its parent's pid. Exits 0 if all hold, otherwise the number of the failed check.
#![no_std]
#![no_main]

use user::syscall::{self, WNOHANG};

user::entry!(main);

const ECHILD: isize = syscall::failed(syscall::Errno::ECHILD);

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
    // The child lives until the parent has made its WNOHANG check: on another CPU it
    // would otherwise run in parallel and may be gone before the check.
    let (read_end, write_end) = syscall::pipe().map_err(|_| 9)?;
    let pid = syscall::fork();
    if pid == 0 {
        syscall::close(write_end);
        let mut byte = [0u8];
        let code = if syscall::read(read_end, &mut byte) == 1 { 3 } else { 98 };
        syscall::exit_group(code);
    }
    syscall::close(read_end);
    check(5, syscall::wait4(pid, WNOHANG).0 == 0)?;
    check(9, syscall::write(write_end, b"x") == 1)?;
    syscall::close(write_end);
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
