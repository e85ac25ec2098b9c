//! Linux x86-64 system calls: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9,
//! result in rax (negative errno on failure); the kernel clobbers rcx and r11. The numbers
//! and constants are the kernel's own, from `abi`.

pub use abi::number::*;
pub use abi::wait::WNOHANG;
pub use abi::{Errno, signal};

/// What a call that failed with `errno` returns.
pub const fn failed(errno: Errno) -> isize {
    errno.as_return() as isize
}

/// A raw system call with three arguments.
pub fn syscall3(number: u64, a: usize, b: usize, c: usize) -> isize {
    let result: isize;
    // SAFETY: `syscall` enters the kernel, which checks every argument; it clobbers only
    // rcx and r11 (declared) and returns in rax.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => result,
            in("rdi") a, in("rsi") b, in("rdx") c,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    result
}

pub fn write(fd: usize, bytes: &[u8]) -> isize {
    syscall3(WRITE, fd, bytes.as_ptr() as usize, bytes.len())
}

pub fn read(fd: usize, bytes: &mut [u8]) -> isize {
    syscall3(READ, fd, bytes.as_mut_ptr() as usize, bytes.len())
}

pub fn close(fd: usize) -> isize {
    syscall3(CLOSE, fd, 0, 0)
}

/// `pipe(fds)`: returns the read and write ends, or -errno.
pub fn pipe() -> Result<(usize, usize), isize> {
    let mut fds = [0i32; 2];
    match syscall3(PIPE, fds.as_mut_ptr() as usize, 0, 0) {
        0 => Ok((fds[0] as usize, fds[1] as usize)),
        error => Err(error),
    }
}

pub fn getpid() -> isize {
    syscall3(GETPID, 0, 0, 0)
}

pub fn exit_group(status: i32) -> ! {
    syscall3(EXIT_GROUP, status as usize, 0, 0);
    // The kernel never returns from exit_group; if it somehow did, fault rather than run on.
    loop {
        syscall3(EXIT, status as usize, 0, 0);
    }
}

/// A raw system call with four arguments (the fourth in r10).
pub fn syscall4(number: u64, a: usize, b: usize, c: usize, d: usize) -> isize {
    let result: isize;
    // SAFETY: as in `syscall3`, with the fourth argument in r10.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => result,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    result
}

pub fn fork() -> isize {
    syscall3(FORK, 0, 0, 0)
}

pub fn getppid() -> isize {
    syscall3(GETPPID, 0, 0, 0)
}

pub fn sched_yield() {
    syscall3(SCHED_YIELD, 0, 0, 0);
}

/// `wait4(pid, &status, options, NULL)`: returns the pid (or 0, or -errno) and the status.
pub fn wait4(pid: isize, options: u64) -> (isize, i32) {
    let mut status: i32 = -1;
    let result = syscall4(WAIT4, pid as usize, &mut status as *mut i32 as usize, options as usize, 0);
    (result, status)
}

pub fn kill(pid: isize, signal: i32) -> isize {
    syscall3(KILL, pid as usize, signal as usize, 0)
}

/// Sleeps `seconds`; returns 0 or -errno.
pub fn sleep(seconds: i64) -> isize {
    let request: [i64; 2] = [seconds, 0];
    syscall3(NANOSLEEP, request.as_ptr() as usize, 0, 0)
}

/// `execve(path, argv, envp)` with NUL-terminated byte strings; returns only on failure.
pub fn execve(path: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> isize {
    const MAX: usize = 16;
    let mut argv_pointers = [core::ptr::null::<u8>(); MAX + 1];
    let mut envp_pointers = [core::ptr::null::<u8>(); MAX + 1];
    for (slot, argument) in argv_pointers.iter_mut().zip(argv.iter().take(MAX)) {
        *slot = argument.as_ptr();
    }
    for (slot, variable) in envp_pointers.iter_mut().zip(envp.iter().take(MAX)) {
        *slot = variable.as_ptr();
    }
    syscall3(EXECVE, path.as_ptr() as usize, argv_pointers.as_ptr() as usize, envp_pointers.as_ptr() as usize)
}
