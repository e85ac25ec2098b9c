//! Linux x86-64 system calls: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9,
//! result in rax (negative errno on failure); the kernel clobbers rcx and r11.

pub const WRITE: usize = 1;
pub const GETPID: usize = 39;
pub const EXIT: usize = 60;
pub const EXIT_GROUP: usize = 231;

/// A raw system call with three arguments.
pub fn syscall3(number: usize, a: usize, b: usize, c: usize) -> isize {
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
