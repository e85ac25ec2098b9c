//! Checks the system-call error paths from ring 3; exits 0 if all hold, otherwise with the
//! number of the first check that failed.
#![no_std]
#![no_main]

use user::syscall::{self, Errno, failed, syscall3};

user::entry!(main);

const ENOENT: isize = failed(Errno::ENOENT);
const EBADF: isize = failed(Errno::EBADF);
const EFAULT: isize = failed(Errno::EFAULT);
const EINVAL: isize = failed(Errno::EINVAL);
const ENOSYS: isize = failed(Errno::ENOSYS);

fn main() -> i32 {
    let reaping = syscall3(syscall::LETHE_REAPING, usize::MAX, 0, 0);
    let checks: [(i32, bool); 13] = [
        (1, syscall3(999, 0, 0, 0) == ENOSYS),
        (2, syscall3(u64::MAX, 1, 2, 3) == ENOSYS),
        (3, syscall3(syscall::WRITE, 1, 0x10, 4) == EFAULT),
        (4, syscall3(syscall::WRITE, 1, 0xffff_8000_0000_0000, 4) == EFAULT),
        (5, syscall3(syscall::WRITE, 1, 0x7fff_ffff_fff0, 64) == EFAULT),
        (6, syscall3(syscall::WRITE, 7, b"x".as_ptr() as usize, 1) == EBADF),
        (7, syscall::getpid() > 0),
        (8, user::print("syscalls: error paths checked\n") == 30),
        (9, syscall::execve(b"/no/such/program\0", &[], &[]) == ENOENT),
        (10, syscall3(syscall::EXECVE, 0x10, 0, 0) == EFAULT),
        (11, syscall3(syscall::EXECVE, c"/bin/hello".as_ptr() as usize, 0xffff_8000_0000_0000, 0) == EFAULT),
        (12, (0..=2).contains(&reaping)),
        (13, syscall3(syscall::LETHE_REAPING, 3, 0, 0) == EINVAL),
    ];
    checks.iter().find(|(_, held)| !held).map_or(0, |(number, _)| *number)
}
