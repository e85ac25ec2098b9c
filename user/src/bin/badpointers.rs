//! Every implemented system call that takes a pointer, given garbage pointers (null, an
//! unmapped page, a kernel address, an address straddling the top of user space), must
//! return EFAULT — and the kernel must go on. Exits 0 if all hold, otherwise the number of
//! the first failure.
#![no_std]
#![no_main]

use user::syscall::{Errno, failed, syscall3, syscall4};

user::entry!(main);

const EFAULT: isize = failed(Errno::EFAULT);
const GARBAGE: [usize; 4] = [0, 0x10, 0xffff_ffff_8000_0000, 0x7fff_ffff_fff8];

fn main() -> i32 {
    for (index, &bad) in GARBAGE.iter().enumerate() {
        let base = index as i32 * 20;
        let calls: [(i32, isize); 12] = [
            (1, syscall3(1, 1, bad, 64)),             // write
            (2, syscall3(20, 1, bad, 2)),             // writev
            (3, syscall3(16, 1, 0x5413, bad)),        // ioctl(TIOCGWINSZ)
            (4, syscall4(61, usize::MAX, bad, 0, 0)), // wait4(-1, bad): ECHILD first when no child
            (5, syscall3(35, bad, 0, 0)),             // nanosleep
            (6, syscall3(228, 1, bad, 0)),            // clock_gettime
            (7, syscall3(63, bad, 0, 0)),             // uname
            (8, syscall4(13, 17, bad, 0, 8)),         // rt_sigaction(act)
            (9, syscall4(14, 0, bad, 0, 8)),          // rt_sigprocmask(set)
            (10, syscall3(59, bad, 0, 0)),            // execve(path)
            (11, syscall4(202, bad, 0, 0, 0)),        // futex(WAIT)
            (12, syscall3(0, 0, bad, 16)),            // read
        ];
        for (number, result) in calls {
            // wait4 with no child says ECHILD first; a null `act` or `set` means "leave
            // it as it is", which succeeds.
            let expected = match number {
                4 => -10,
                8 | 9 if bad == 0 => 0,
                _ => EFAULT,
            };
            if result != expected {
                return base + number;
            }
        }
    }
    user::print("badpointers: every call refused every garbage pointer\n");
    0
}
