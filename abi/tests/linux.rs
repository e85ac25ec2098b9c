//! Every value in `abi` is Linux's: each is compared with the host's `libc` crate, whose
//! values come from Linux's and glibc's headers for x86-64. Left out: Lethe's own values
//! (the `lethe_reaping` and `lethe_reaping_stats` calls, the strategy numbers,
//! `ReapingStats`), the signal-set size and signal count (no `libc` constant), and
//! `arch_prctl`'s codes (not in `libc`; every musl program checks `ARCH_SET_FS`, which its
//! start-up uses to set its thread pointer).

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

/// Asserts that the `abi` value and the `libc` one are the same number.
macro_rules! same {
    ($ours:expr, $linux:expr) => {
        assert_eq!($ours as i128, $linux as i128, "{} is not {}", stringify!($ours), stringify!($linux))
    };
}

#[test]
fn system_call_numbers_are_linux_x86_64s() {
    same!(abi::number::READ, libc::SYS_read);
    same!(abi::number::WRITE, libc::SYS_write);
    same!(abi::number::CLOSE, libc::SYS_close);
    same!(abi::number::MMAP, libc::SYS_mmap);
    same!(abi::number::MPROTECT, libc::SYS_mprotect);
    same!(abi::number::MUNMAP, libc::SYS_munmap);
    same!(abi::number::BRK, libc::SYS_brk);
    same!(abi::number::RT_SIGACTION, libc::SYS_rt_sigaction);
    same!(abi::number::RT_SIGPROCMASK, libc::SYS_rt_sigprocmask);
    same!(abi::number::IOCTL, libc::SYS_ioctl);
    same!(abi::number::WRITEV, libc::SYS_writev);
    same!(abi::number::PIPE, libc::SYS_pipe);
    same!(abi::number::SCHED_YIELD, libc::SYS_sched_yield);
    same!(abi::number::DUP, libc::SYS_dup);
    same!(abi::number::DUP2, libc::SYS_dup2);
    same!(abi::number::NANOSLEEP, libc::SYS_nanosleep);
    same!(abi::number::GETPID, libc::SYS_getpid);
    same!(abi::number::CLONE, libc::SYS_clone);
    same!(abi::number::FORK, libc::SYS_fork);
    same!(abi::number::VFORK, libc::SYS_vfork);
    same!(abi::number::EXECVE, libc::SYS_execve);
    same!(abi::number::EXIT, libc::SYS_exit);
    same!(abi::number::WAIT4, libc::SYS_wait4);
    same!(abi::number::KILL, libc::SYS_kill);
    same!(abi::number::UNAME, libc::SYS_uname);
    same!(abi::number::GETRLIMIT, libc::SYS_getrlimit);
    same!(abi::number::GETRUSAGE, libc::SYS_getrusage);
    same!(abi::number::SYSINFO, libc::SYS_sysinfo);
    same!(abi::number::GETPPID, libc::SYS_getppid);
    same!(abi::number::RT_SIGPENDING, libc::SYS_rt_sigpending);
    same!(abi::number::ARCH_PRCTL, libc::SYS_arch_prctl);
    same!(abi::number::SETRLIMIT, libc::SYS_setrlimit);
    same!(abi::number::GETTID, libc::SYS_gettid);
    same!(abi::number::FUTEX, libc::SYS_futex);
    same!(abi::number::SET_TID_ADDRESS, libc::SYS_set_tid_address);
    same!(abi::number::CLOCK_GETTIME, libc::SYS_clock_gettime);
    same!(abi::number::CLOCK_GETRES, libc::SYS_clock_getres);
    same!(abi::number::EXIT_GROUP, libc::SYS_exit_group);
    same!(abi::number::DUP3, libc::SYS_dup3);
    same!(abi::number::PIPE2, libc::SYS_pipe2);
    same!(abi::number::PRLIMIT64, libc::SYS_prlimit64);
    same!(abi::number::GETCPU, libc::SYS_getcpu);
}

#[test]
fn signal_numbers_and_their_call_values_are_linux_x86_64s() {
    same!(abi::signal::SIGILL, libc::SIGILL);
    same!(abi::signal::SIGTRAP, libc::SIGTRAP);
    same!(abi::signal::SIGBUS, libc::SIGBUS);
    same!(abi::signal::SIGFPE, libc::SIGFPE);
    same!(abi::signal::SIGKILL, libc::SIGKILL);
    same!(abi::signal::SIGSEGV, libc::SIGSEGV);
    same!(abi::signal::SIGPIPE, libc::SIGPIPE);
    same!(abi::signal::SIGTERM, libc::SIGTERM);
    same!(abi::signal::SIGCHLD, libc::SIGCHLD);
    same!(abi::signal::SIGCONT, libc::SIGCONT);
    same!(abi::signal::SIGSTOP, libc::SIGSTOP);
    same!(abi::signal::SIGTSTP, libc::SIGTSTP);
    same!(abi::signal::SIGTTIN, libc::SIGTTIN);
    same!(abi::signal::SIGTTOU, libc::SIGTTOU);
    same!(abi::signal::SIGURG, libc::SIGURG);
    same!(abi::signal::SIGWINCH, libc::SIGWINCH);
    same!(abi::signal::SIG_IGN, libc::SIG_IGN);
    same!(abi::signal::SA_NOCLDWAIT, libc::SA_NOCLDWAIT);
    same!(abi::signal::SIG_BLOCK, libc::SIG_BLOCK);
    same!(abi::signal::SIG_UNBLOCK, libc::SIG_UNBLOCK);
    same!(abi::signal::SIG_SETMASK, libc::SIG_SETMASK);
}

#[test]
fn wait_options_are_linux_x86_64s() {
    same!(abi::wait::WNOHANG, libc::WNOHANG);
    same!(abi::wait::WUNTRACED, libc::WUNTRACED);
    same!(abi::wait::WCONTINUED, libc::WCONTINUED);
    same!(abi::wait::WNOTHREAD, libc::__WNOTHREAD);
    same!(abi::wait::WALL, libc::__WALL);
    // A C int with the top bit set: compared as the 32-bit word the kernel reads.
    same!(abi::wait::WCLONE, libc::__WCLONE as u32);
}

#[test]
fn clone_flags_are_linux_x86_64s() {
    same!(abi::clone::CLONE_VM, libc::CLONE_VM);
    same!(abi::clone::CLONE_FS, libc::CLONE_FS);
    same!(abi::clone::CLONE_FILES, libc::CLONE_FILES);
    same!(abi::clone::CLONE_SIGHAND, libc::CLONE_SIGHAND);
    same!(abi::clone::CLONE_VFORK, libc::CLONE_VFORK);
    same!(abi::clone::CLONE_THREAD, libc::CLONE_THREAD);
    same!(abi::clone::CLONE_SYSVSEM, libc::CLONE_SYSVSEM);
    same!(abi::clone::CLONE_SETTLS, libc::CLONE_SETTLS);
    same!(abi::clone::CLONE_PARENT_SETTID, libc::CLONE_PARENT_SETTID);
    same!(abi::clone::CLONE_CHILD_CLEARTID, libc::CLONE_CHILD_CLEARTID);
    same!(abi::clone::CLONE_DETACHED, libc::CLONE_DETACHED);
    same!(abi::clone::CLONE_CHILD_SETTID, libc::CLONE_CHILD_SETTID);
}

#[test]
fn mmap_protections_and_flags_are_linux_x86_64s() {
    same!(abi::mman::PROT_NONE, libc::PROT_NONE);
    same!(abi::mman::PROT_READ, libc::PROT_READ);
    same!(abi::mman::PROT_WRITE, libc::PROT_WRITE);
    same!(abi::mman::PROT_EXEC, libc::PROT_EXEC);
    same!(abi::mman::MAP_SHARED, libc::MAP_SHARED);
    same!(abi::mman::MAP_PRIVATE, libc::MAP_PRIVATE);
    same!(abi::mman::MAP_FIXED, libc::MAP_FIXED);
    same!(abi::mman::MAP_ANONYMOUS, libc::MAP_ANONYMOUS);
    same!(abi::mman::MAP_GROWSDOWN, libc::MAP_GROWSDOWN);
    same!(abi::mman::MAP_NORESERVE, libc::MAP_NORESERVE);
    same!(abi::mman::MAP_POPULATE, libc::MAP_POPULATE);
    same!(abi::mman::MAP_STACK, libc::MAP_STACK);
}

#[test]
fn futex_operations_and_flags_are_linux_x86_64s() {
    same!(abi::futex::FUTEX_WAIT, libc::FUTEX_WAIT);
    same!(abi::futex::FUTEX_WAKE, libc::FUTEX_WAKE);
    same!(abi::futex::FUTEX_REQUEUE, libc::FUTEX_REQUEUE);
    same!(abi::futex::FUTEX_CMP_REQUEUE, libc::FUTEX_CMP_REQUEUE);
    same!(abi::futex::FUTEX_PRIVATE_FLAG, libc::FUTEX_PRIVATE_FLAG);
    same!(abi::futex::FUTEX_CLOCK_REALTIME, libc::FUTEX_CLOCK_REALTIME);
}

#[test]
fn clock_ids_are_linux_x86_64s() {
    same!(abi::clock::CLOCK_REALTIME, libc::CLOCK_REALTIME);
    same!(abi::clock::CLOCK_MONOTONIC, libc::CLOCK_MONOTONIC);
    same!(abi::clock::CLOCK_MONOTONIC_RAW, libc::CLOCK_MONOTONIC_RAW);
    same!(abi::clock::CLOCK_REALTIME_COARSE, libc::CLOCK_REALTIME_COARSE);
    same!(abi::clock::CLOCK_MONOTONIC_COARSE, libc::CLOCK_MONOTONIC_COARSE);
    same!(abi::clock::CLOCK_BOOTTIME, libc::CLOCK_BOOTTIME);
}

#[test]
fn file_flags_are_linux_x86_64s() {
    same!(abi::fcntl::O_NONBLOCK, libc::O_NONBLOCK);
    same!(abi::fcntl::O_CLOEXEC, libc::O_CLOEXEC);
}

#[test]
fn ioctl_requests_are_linux_x86_64s() {
    same!(abi::ioctl::TIOCGWINSZ, libc::TIOCGWINSZ);
}

#[test]
fn resource_limits_are_linux_x86_64s() {
    same!(abi::resource::RLIMIT_STACK, libc::RLIMIT_STACK);
    same!(abi::resource::RLIMIT_NPROC, libc::RLIMIT_NPROC);
    // Deprecated in `libc` because it grew as Linux added resources; 16 since Linux 2.6.25.
    #[allow(deprecated)]
    {
        same!(abi::resource::RLIM_NLIMITS, libc::RLIM_NLIMITS);
    }
    same!(abi::resource::RLIM_INFINITY, libc::RLIM_INFINITY);
}

#[test]
fn errno_values_are_linux_x86_64s() {
    same!(abi::Errno::EPERM.0, libc::EPERM);
    same!(abi::Errno::ENOENT.0, libc::ENOENT);
    same!(abi::Errno::ESRCH.0, libc::ESRCH);
    same!(abi::Errno::EINTR.0, libc::EINTR);
    same!(abi::Errno::E2BIG.0, libc::E2BIG);
    same!(abi::Errno::ENOEXEC.0, libc::ENOEXEC);
    same!(abi::Errno::EBADF.0, libc::EBADF);
    same!(abi::Errno::ECHILD.0, libc::ECHILD);
    same!(abi::Errno::EAGAIN.0, libc::EAGAIN);
    same!(abi::Errno::ENOMEM.0, libc::ENOMEM);
    same!(abi::Errno::EFAULT.0, libc::EFAULT);
    same!(abi::Errno::ENODEV.0, libc::ENODEV);
    same!(abi::Errno::EINVAL.0, libc::EINVAL);
    same!(abi::Errno::EMFILE.0, libc::EMFILE);
    same!(abi::Errno::ENOTTY.0, libc::ENOTTY);
    same!(abi::Errno::EPIPE.0, libc::EPIPE);
    same!(abi::Errno::ENAMETOOLONG.0, libc::ENAMETOOLONG);
    same!(abi::Errno::ENOSYS.0, libc::ENOSYS);
    same!(abi::Errno::ETIMEDOUT.0, libc::ETIMEDOUT);
}

/// Asserts that field `$ours` of the `abi` structure sits where field `$linux` of `libc`'s does.
macro_rules! same_place {
    ($abi:ty, $ours:ident, $libc:ty, $linux:ident) => {
        assert_eq!(
            core::mem::offset_of!($abi, $ours),
            core::mem::offset_of!($libc, $linux),
            "{}.{} is not where {}.{} is",
            stringify!($abi),
            stringify!($ours),
            stringify!($libc),
            stringify!($linux)
        )
    };
}

#[test]
fn the_sysinfo_structure_is_laid_out_as_linux_x86_64s() {
    use abi::types::Sysinfo;
    assert_eq!(core::mem::size_of::<Sysinfo>(), core::mem::size_of::<libc::sysinfo>());
    same_place!(Sysinfo, uptime, libc::sysinfo, uptime);
    same_place!(Sysinfo, loads, libc::sysinfo, loads);
    same_place!(Sysinfo, totalram, libc::sysinfo, totalram);
    same_place!(Sysinfo, freeram, libc::sysinfo, freeram);
    same_place!(Sysinfo, sharedram, libc::sysinfo, sharedram);
    same_place!(Sysinfo, bufferram, libc::sysinfo, bufferram);
    same_place!(Sysinfo, totalswap, libc::sysinfo, totalswap);
    same_place!(Sysinfo, freeswap, libc::sysinfo, freeswap);
    same_place!(Sysinfo, procs, libc::sysinfo, procs);
    same_place!(Sysinfo, pad, libc::sysinfo, pad);
    same_place!(Sysinfo, totalhigh, libc::sysinfo, totalhigh);
    same_place!(Sysinfo, freehigh, libc::sysinfo, freehigh);
    same_place!(Sysinfo, mem_unit, libc::sysinfo, mem_unit);
}
