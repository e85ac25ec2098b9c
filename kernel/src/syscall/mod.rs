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
const IOCTL: u64 = 16;
const WRITEV: u64 = 20;
const SCHED_YIELD: u64 = 24;
const GETPID: u64 = 39;
const FORK: u64 = 57;
const VFORK: u64 = 58;
const EXIT: u64 = 60;
const WAIT4: u64 = 61;
const GETPPID: u64 = 110;
const ARCH_PRCTL: u64 = 158;
const GETTID: u64 = 186;
const SET_TID_ADDRESS: u64 = 218;
const EXIT_GROUP: u64 = 231;

const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const TIOCGWINSZ: u64 = 0x5413;
/// Most `iovec`s `writev` takes (Linux's UIO_MAXIOV).
const IOV_MAX: u64 = 1024;

/// Largest piece `write` copies at once.
const WRITE_CHUNK: usize = 256;

pub(crate) extern "C" fn dispatch(frame: &mut SyscallFrame) {
    x86_64::instructions::interrupts::enable();
    let result = match frame.rax {
        WRITE => write(frame.rdi, frame.rsi, frame.rdx),
        WRITEV => writev(frame.rdi, frame.rsi, frame.rdx),
        IOCTL => ioctl(frame.rdi, frame.rsi, frame.rdx),
        ARCH_PRCTL => arch_prctl(frame.rdi, frame.rsi),
        SET_TID_ADDRESS => set_tid_address(frame.rdi),
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

/// Checks that `fd` is one of the console's (standard input, output, error).
fn console_fd(fd: u64) -> Result<(), Errno> {
    if fd <= 2 { Ok(()) } else { Err(Errno::EBADF) }
}

/// `write(fd, buf, count)`: standard output and error go to the console.
fn write(fd: u64, buffer: u64, count: u64) -> Result<u64, Errno> {
    if fd != 1 && fd != 2 {
        return Err(Errno::EBADF);
    }
    write_to_console(&current_process(), buffer, count)
}

/// Copies `count` bytes from user `buffer` to the console; a bad pointer after some bytes
/// were written ends the write there, as Linux does.
fn write_to_console(process: &process::Process, buffer: u64, count: u64) -> Result<u64, Errno> {
    let count = usize::try_from(count).map_err(|_| Errno::EINVAL)?;
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
        crate::console::user_output(&chunk[..length]);
        done += length;
    }
    Ok(done as u64)
}

/// `writev(fd, iov, iovcnt)`: each `struct iovec { base, len }` in turn.
fn writev(fd: u64, vectors: u64, count: u64) -> Result<u64, Errno> {
    if fd != 1 && fd != 2 {
        return Err(Errno::EBADF);
    }
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let mut total = 0;
    for index in 0..count {
        let mut vector = [0u8; 16];
        let copied = process
            .with_space(|space| usercopy::copy_from_user(space, vectors + index * 16, &mut vector))
            .ok_or(Errno::EFAULT)?;
        if copied.is_err() {
            return if total == 0 { Err(Errno::EFAULT) } else { Ok(total) };
        }
        let base = u64::from_le_bytes(vector[..8].try_into().unwrap());
        let length = u64::from_le_bytes(vector[8..].try_into().unwrap());
        match write_to_console(&process, base, length) {
            Ok(written) => total += written,
            Err(error) if total == 0 => return Err(error),
            Err(_) => return Ok(total),
        }
    }
    Ok(total)
}

/// `ioctl(fd, request, arg)`: the console answers TIOCGWINSZ with its 80x25 size.
fn ioctl(fd: u64, request: u64, argument: u64) -> Result<u64, Errno> {
    console_fd(fd)?;
    if request != TIOCGWINSZ {
        return Err(Errno::ENOTTY);
    }
    let (rows, columns) = (drivers::vga::HEIGHT as u16, drivers::vga::WIDTH as u16);
    let mut size = [0u8; 8];
    size[..2].copy_from_slice(&rows.to_le_bytes());
    size[2..4].copy_from_slice(&columns.to_le_bytes());
    let written = current_process().with_space(|space| usercopy::copy_to_user(space, argument, &size));
    match written {
        Some(Ok(())) => Ok(0),
        _ => Err(Errno::EFAULT),
    }
}

/// `arch_prctl(code, address)`: the FS base (thread pointer); GS is the kernel's own.
fn arch_prctl(code: u64, address: u64) -> Result<u64, Errno> {
    let me = crate::sched::cpu::this_cpu().current();
    match code {
        ARCH_SET_FS => {
            if address >= mm::address_space::USER_END {
                return Err(Errno::EPERM);
            }
            me.fs_base.store(address, core::sync::atomic::Ordering::Relaxed);
            crate::arch::user::set_fs_base(address);
            Ok(0)
        }
        ARCH_GET_FS => {
            let base = me.fs_base.load(core::sync::atomic::Ordering::Relaxed);
            match current_process()
                .with_space(|space| usercopy::copy_to_user(space, address, &base.to_le_bytes()))
            {
                Some(Ok(())) => Ok(0),
                _ => Err(Errno::EFAULT),
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `set_tid_address(tidptr)`: remembered (clearing it and waking futex waiters at the
/// thread's exit comes with `clone` threads); returns the thread id.
fn set_tid_address(address: u64) -> Result<u64, Errno> {
    let me = crate::sched::cpu::this_cpu().current();
    me.clear_child_tid.store(address, core::sync::atomic::Ordering::Relaxed);
    Ok(me.id().0)
}
