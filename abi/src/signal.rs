//! Signal numbers and the constants of `rt_sigaction` and `rt_sigprocmask`.

pub const SIGILL: i32 = 4;
pub const SIGTRAP: i32 = 5;
pub const SIGBUS: i32 = 7;
pub const SIGFPE: i32 = 8;
pub const SIGKILL: i32 = 9;
pub const SIGSEGV: i32 = 11;
pub const SIGPIPE: i32 = 13;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGTSTP: i32 = 20;
pub const SIGTTIN: i32 = 21;
pub const SIGTTOU: i32 = 22;
pub const SIGURG: i32 = 23;
pub const SIGWINCH: i32 = 28;
/// Signals are numbered 1 to `SIGNALS`.
pub const SIGNALS: i32 = 64;

/// The handler word that ignores a signal.
pub const SIG_IGN: u64 = 1;
/// `sa_flags` bit: children that end are not kept as zombies (with SIGCHLD).
pub const SA_NOCLDWAIT: u64 = 2;

/// `rt_sigprocmask`'s `how`.
pub const SIG_BLOCK: u64 = 0;
pub const SIG_UNBLOCK: u64 = 1;
pub const SIG_SETMASK: u64 = 2;
/// The size of a signal set, as `rt_sigaction` and `rt_sigprocmask` check it.
pub const SET_SIZE: u64 = 8;

/// The bit of `signal` in a signal set.
pub const fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}
