//! kill from ring 3: a spinning child dies of SIGKILL, a sleeping child of SIGTERM, and
//! both statuses say so; signal 0 probes existence; a reaped pid is ESRCH. Exits 0 if all
//! hold, otherwise the number of the failed check.
#![no_std]
#![no_main]

use user::syscall::signal::{SIGKILL, SIGTERM};
use user::syscall::{self, Errno, failed};

user::entry!(main);

const ESRCH: isize = failed(Errno::ESRCH);

fn check(number: i32, held: bool) -> Result<(), i32> {
    if held { Ok(()) } else { Err(number) }
}

fn run() -> Result<(), i32> {
    let spinner = syscall::fork();
    if spinner == 0 {
        #[allow(clippy::empty_loop)]
        loop {}
    }
    check(1, syscall::kill(spinner, 0) == 0)?;
    check(2, syscall::kill(spinner, SIGKILL) == 0)?;
    let (waited, status) = syscall::wait4(spinner, 0);
    check(3, waited == spinner && status == SIGKILL)?;
    check(4, syscall::kill(spinner, 0) == ESRCH)?;

    let sleeper = syscall::fork();
    if sleeper == 0 {
        syscall::sleep(1000);
        syscall::exit_group(1);
    }
    syscall::sched_yield();
    check(5, syscall::kill(sleeper, SIGTERM) == 0)?;
    let (waited, status) = syscall::wait4(sleeper, 0);
    check(6, waited == sleeper && status == SIGTERM)?;
    check(7, syscall::kill(syscall::getpid(), 0) == 0)?;
    check(8, syscall::kill(999_999, 0) == ESRCH)?;
    Ok(())
}

fn main() -> i32 {
    match run() {
        Ok(()) => {
            user::print("killtest: all checks held\n");
            0
        }
        Err(number) => number,
    }
}
