//! System calls: Linux x86-64 numbers, registers and errno values (`abi`).
//!
//! `dispatch` is called by the entry code (`arch::syscall`) with the caller's registers.
//! It runs with interrupts on (the thread may be preempted or block) and returns with them
//! off, as the way back to ring 3 needs. Unknown numbers return `ENOSYS`; bad pointers
//! `EFAULT`; nothing a program passes can make the kernel panic.
//!
//! This file holds the dispatch table only (the numbers are `abi::number`'s); each family of calls has its
//! file: `files`, `memory`, `time`, `processes`, `exec`, `signals`, `resources`, `system`.

mod exec;
mod files;
mod memory;
mod processes;
mod resources;
mod signals;
mod system;
mod time;

use crate::arch::syscall::SyscallFrame;
use crate::process;
use abi::Errno;
use abi::number::*;

/// The system-call handler the hardware layer calls (`hardware::syscall::set_handler`).
pub fn dispatch(frame: &mut SyscallFrame) {
    let timing = crate::sched::cpu_time::SystemCall::enter();
    x86_64::instructions::interrupts::enable();
    crate::fault_injection::enter_system_call(frame.rax);
    let result = match frame.rax {
        READ => files::read(frame.rdi, frame.rsi, frame.rdx),
        WRITE => files::write(frame.rdi, frame.rsi, frame.rdx),
        WRITEV => files::writev(frame.rdi, frame.rsi, frame.rdx),
        IOCTL => files::ioctl(frame.rdi, frame.rsi, frame.rdx),
        CLOSE => files::close(frame.rdi),
        PIPE => files::pipe2(frame.rdi, 0),
        PIPE2 => files::pipe2(frame.rdi, frame.rsi),
        DUP => files::dup(frame.rdi),
        DUP2 => files::dup3(frame.rdi, frame.rsi, None),
        DUP3 => files::dup3(frame.rdi, frame.rsi, Some(frame.rdx)),
        ARCH_PRCTL => processes::arch_prctl(frame.rdi, frame.rsi),
        SET_TID_ADDRESS => processes::set_tid_address(frame.rdi),
        BRK => memory::brk(frame.rdi),
        MMAP => memory::mmap(frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8 as i64),
        MUNMAP => memory::munmap(frame.rdi, frame.rsi),
        MPROTECT => memory::mprotect(frame.rdi, frame.rsi, frame.rdx),
        NANOSLEEP => time::nanosleep(frame.rdi),
        CLOCK_GETTIME => time::clock_gettime(frame.rdi, frame.rsi),
        CLOCK_GETRES => time::clock_getres(frame.rdi, frame.rsi),
        GETCPU => system::getcpu(frame.rdi, frame.rsi),
        GETPID => Ok(u64::from(current_process().pid().0)),
        GETPPID => Ok(u64::from(current_process().parent_pid().0)),
        SCHED_YIELD => {
            crate::sched::yield_now();
            Ok(0)
        }
        FORK | VFORK => processes::fork(frame),
        CLONE => processes::clone(frame),
        EXECVE => exec::execve(frame),
        WAIT4 => processes::wait4(frame.rdi as i64, frame.rsi, frame.rdx, frame.r10),
        KILL => signals::kill(frame.rdi as i64, frame.rsi),
        FUTEX => processes::futex(frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9),
        UNAME => system::uname(frame.rdi),
        RT_SIGACTION => signals::rt_sigaction(frame.rdi, frame.rsi, frame.rdx, frame.r10),
        RT_SIGPROCMASK => signals::rt_sigprocmask(frame.rdi, frame.rsi, frame.rdx, frame.r10),
        RT_SIGPENDING => signals::rt_sigpending(frame.rdi, frame.rsi),
        GETTID => Ok(crate::sched::cpu::current_thread().id().0),
        EXIT => process::exit(frame.rdi as i32),
        EXIT_GROUP => process::exit_group(process::WaitStatus::exited(frame.rdi as i32)),
        GETRLIMIT => resources::getrlimit(frame.rdi, frame.rsi),
        SETRLIMIT => resources::setrlimit(frame.rdi, frame.rsi),
        PRLIMIT64 => resources::prlimit64(frame.rdi, frame.rsi, frame.rdx, frame.r10),
        GETRUSAGE => resources::getrusage(frame.rdi, frame.rsi),
        SYSINFO => system::sysinfo(frame.rdi),
        LETHE_REAPING => system::lethe_reaping(frame.rdi),
        LETHE_REAPING_STATS => system::lethe_reaping_stats(frame.rdi, frame.rsi, frame.rdx, frame.r10),
        _ => Err(Errno::ENOSYS),
    };
    frame.rax = match result {
        Ok(value) => value,
        Err(errno) => errno.as_return() as u64,
    };
    crate::fault_injection::leave_system_call();
    crate::sched::switch::on_return_to_user();
    process::exit_if_group_exiting();
    x86_64::instructions::interrupts::disable();
    timing.leave();
}

fn current_process() -> alloc::sync::Arc<process::Process> {
    process::current().expect("syscall: a system call from a kernel thread")
}
