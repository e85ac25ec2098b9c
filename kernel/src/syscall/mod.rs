//! System calls: Linux x86-64 numbers, registers and errno values.
//!
//! `dispatch` is called by the entry code (`arch::syscall`) with the caller's registers.
//! It runs with interrupts on (the thread may be preempted or block) and returns with them
//! off, as the way back to ring 3 needs. Unknown numbers return `ENOSYS`; bad pointers
//! `EFAULT`; nothing a program passes can make the kernel panic.

mod errno;

use crate::arch::syscall::SyscallFrame;
use crate::process::{self, usercopy};
use errno::Errno;

const WRITE: u64 = 1;
const SCHED_YIELD: u64 = 24;
const GETPID: u64 = 39;
const FORK: u64 = 57;
const VFORK: u64 = 58;
const EXIT: u64 = 60;
const WAIT4: u64 = 61;
const GETPPID: u64 = 110;
const GETTID: u64 = 186;
const EXIT_GROUP: u64 = 231;

/// Largest piece `write` copies at once.
const WRITE_CHUNK: usize = 256;

pub(crate) extern "C" fn dispatch(frame: &mut SyscallFrame) {
    x86_64::instructions::interrupts::enable();
    let result = match frame.rax {
        WRITE => write(frame.rdi, frame.rsi, frame.rdx),
        GETPID => Ok(u64::from(current_process().pid().0)),
        GETPPID => Ok(u64::from(current_process().parent_pid().0)),
        SCHED_YIELD => {
            crate::sched::yield_now();
            Ok(0)
        }
        FORK | VFORK => fork(frame),
        WAIT4 => wait4(frame.rdi as i64, frame.rsi, frame.rdx, frame.r10),
        GETTID => Ok(crate::sched::cpu::this_cpu().current().id().0),
        EXIT | EXIT_GROUP => process::exit_current(frame.rdi as i32),
        _ => Err(Errno::ENOSYS),
    };
    frame.rax = match result {
        Ok(value) => value,
        Err(errno) => errno.as_return(),
    };
    x86_64::instructions::interrupts::disable();
}

fn current_process() -> alloc::sync::Arc<process::Process> {
    process::current().expect("syscall: a system call from a kernel thread")
}

/// `fork()` (and `vfork()`, which behaves as fork): the child returns 0, the parent its pid.
fn fork(frame: &SyscallFrame) -> Result<u64, Errno> {
    match process::fork(&current_process(), frame) {
        Ok(pid) => Ok(u64::from(pid.0)),
        Err(process::ForkError::OutOfMemory) => Err(Errno::ENOMEM),
        Err(process::ForkError::TooManyThreads) => Err(Errno::EAGAIN),
    }
}

/// `wait4(pid, wstatus, options, rusage)`.
fn wait4(pid: i64, status: u64, options: u64, rusage: u64) -> Result<u64, Errno> {
    match process::wait4(&current_process(), pid, status, process::WaitOptions(options), rusage) {
        Ok(pid) => Ok(u64::from(pid.0)),
        Err(process::WaitError::NoChild) => Err(Errno::ECHILD),
        Err(process::WaitError::BadOptions) => Err(Errno::EINVAL),
        Err(process::WaitError::BadAddress) => Err(Errno::EFAULT),
    }
}

/// `write(fd, buf, count)`: standard output and error go to the console.
fn write(fd: u64, buffer: u64, count: u64) -> Result<u64, Errno> {
    if fd != 1 && fd != 2 {
        return Err(Errno::EBADF);
    }
    let count = usize::try_from(count).map_err(|_| Errno::EINVAL)?;
    let process = current_process();
    let mut chunk = [0u8; WRITE_CHUNK];
    let mut done = 0;
    while done < count {
        let length = (count - done).min(WRITE_CHUNK);
        let copied = process
            .with_space(|space| usercopy::copy_from_user(space, buffer + done as u64, &mut chunk[..length]))
            .ok_or(Errno::EFAULT)?;
        if copied.is_err() {
            return if done == 0 { Err(Errno::EFAULT) } else { Ok(done as u64) };
        }
        crate::print!("{}", alloc::string::String::from_utf8_lossy(&chunk[..length]));
        done += length;
    }
    Ok(done as u64)
}
