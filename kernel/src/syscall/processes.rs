//! Process and thread calls: `fork` (and `vfork`), `clone` (threads), `wait4`,
//! `set_tid_address`, `arch_prctl` (the thread pointer) and `futex`.

use super::current_process;
use crate::arch::syscall::SyscallFrame;
use crate::process::{self, usercopy};
use abi::Errno;
use abi::arch_prctl::{ARCH_GET_FS, ARCH_SET_FS};

/// `fork()` (and `vfork()`, which behaves as fork): the child returns 0, the parent its pid.
pub(super) fn fork(frame: &SyscallFrame) -> Result<u64, Errno> {
    match process::fork(&current_process(), frame) {
        Ok(pid) => Ok(u64::from(pid.0)),
        Err(process::ForkError::OutOfMemory) => Err(Errno::ENOMEM),
        Err(process::ForkError::TooManyThreads | process::ForkError::TooManyProcesses) => Err(Errno::EAGAIN),
        Err(process::ForkError::Killed) => Err(Errno::EINTR),
    }
}

/// `clone(flags, stack, parent_tid, child_tid, tls)`: a new thread of this process (what
/// musl's pthread_create asks for); other uses of clone are refused with EINVAL.
pub(super) fn clone(frame: &SyscallFrame) -> Result<u64, Errno> {
    let request = process::CloneRequest {
        flags: frame.rdi,
        stack: frame.rsi,
        parent_tid: frame.rdx,
        child_tid: frame.r10,
        tls: frame.r8,
    };
    match process::clone_thread(&current_process(), frame, &request) {
        Ok(tid) => Ok(tid),
        Err(process::CloneError::Unsupported) => Err(Errno::EINVAL),
        Err(process::CloneError::BadAddress) => Err(Errno::EFAULT),
        Err(process::CloneError::Fork(process::ForkError::OutOfMemory)) => Err(Errno::ENOMEM),
        Err(process::CloneError::Fork(
            process::ForkError::TooManyThreads | process::ForkError::TooManyProcesses,
        )) => Err(Errno::EAGAIN),
        Err(process::CloneError::Fork(process::ForkError::Killed)) => Err(Errno::EINTR),
    }
}

/// `wait4(pid, wstatus, options, rusage)`.
pub(super) fn wait4(pid: i64, status: u64, options: u64, rusage: u64) -> Result<u64, Errno> {
    match process::wait4(&current_process(), pid, status, process::WaitOptions(options), rusage) {
        Ok(pid) => Ok(u64::from(pid.0)),
        Err(process::WaitError::NoChild) => Err(Errno::ECHILD),
        Err(process::WaitError::BadOptions) => Err(Errno::EINVAL),
        Err(process::WaitError::BadAddress) => Err(Errno::EFAULT),
        Err(process::WaitError::Interrupted) => Err(Errno::EINTR),
    }
}

/// `set_tid_address(tidptr)`: remembered (clearing it and waking futex waiters at the
/// thread's exit comes with `clone` threads); returns the thread id.
pub(super) fn set_tid_address(address: u64) -> Result<u64, Errno> {
    let me = crate::sched::cpu::current_thread();
    me.clear_child_tid.store(address, core::sync::atomic::Ordering::Relaxed);
    Ok(me.id().0)
}

/// `arch_prctl(code, address)`: the FS base (thread pointer); GS is the kernel's own.
pub(super) fn arch_prctl(code: u64, address: u64) -> Result<u64, Errno> {
    let me = crate::sched::cpu::current_thread();
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
            usercopy::write_val(&current_process(), address, &base).map(|()| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `futex(uaddr, op, val, timeout, ...)`: FUTEX_WAIT (with an optional relative timeout) and
/// FUTEX_WAKE, private or not (every futex is the process's own for now).
pub(super) fn futex(
    address: u64,
    operation: u64,
    value: u64,
    timeout: u64,
    target: u64,
    value3: u64,
) -> Result<u64, Errno> {
    use abi::futex::{
        FUTEX_CLOCK_REALTIME, FUTEX_CMP_REQUEUE, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE, FUTEX_WAIT, FUTEX_WAKE,
    };
    let process = current_process();
    match operation & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) {
        FUTEX_WAIT => {
            let timeout_ticks = if timeout == 0 {
                None
            } else {
                let nanos = super::time::read_duration(timeout)?;
                let tick_ns = 1_000_000_000 / u64::from(crate::time::TICK_HZ);
                Some(nanos.div_ceil(tick_ns) + 1)
            };
            match process::futex::wait(&process, address, value as u32, timeout_ticks) {
                Ok(()) => Ok(0),
                Err(process::futex::FutexError::WouldBlock) => Err(Errno::EAGAIN),
                Err(process::futex::FutexError::TimedOut) => Err(Errno::ETIMEDOUT),
                Err(process::futex::FutexError::Interrupted) => Err(Errno::EINTR),
                Err(process::futex::FutexError::Fault) => Err(Errno::EFAULT),
                Err(process::futex::FutexError::Misaligned) => Err(Errno::EINVAL),
            }
        }
        FUTEX_WAKE => Ok(process::futex::wake(&process, address, value as usize) as u64),
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            // Counts are C ints; the move count travels in the timeout's register.
            let count = |raw: u64| usize::try_from(raw as i32).map_err(|_| Errno::EINVAL);
            let comparing = operation & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) == FUTEX_CMP_REQUEUE;
            let expected = comparing.then_some(value3 as u32);
            if operation & FUTEX_CLOCK_REALTIME != 0 {
                return Err(Errno::ENOSYS);
            }
            // Both return woken + moved, as Linux's futex_requeue does.
            match process::futex::requeue(&process, address, target, count(value)?, count(timeout)?, expected)
            {
                Ok(done) => Ok((done.woken + done.moved) as u64),
                Err(process::futex::FutexError::WouldBlock) => Err(Errno::EAGAIN),
                Err(process::futex::FutexError::Fault) => Err(Errno::EFAULT),
                Err(_) => Err(Errno::EINVAL),
            }
        }
        _ => Err(Errno::ENOSYS),
    }
}
