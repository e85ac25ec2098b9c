//! System-call numbers (rax on entry): Linux x86-64's for the calls Lethe implements, and
//! Lethe's own above them.

pub const READ: u64 = 0;
pub const WRITE: u64 = 1;
pub const CLOSE: u64 = 3;
pub const MMAP: u64 = 9;
pub const MPROTECT: u64 = 10;
pub const MUNMAP: u64 = 11;
pub const BRK: u64 = 12;
pub const RT_SIGACTION: u64 = 13;
pub const RT_SIGPROCMASK: u64 = 14;
pub const IOCTL: u64 = 16;
pub const WRITEV: u64 = 20;
pub const PIPE: u64 = 22;
pub const SCHED_YIELD: u64 = 24;
pub const DUP: u64 = 32;
pub const DUP2: u64 = 33;
pub const NANOSLEEP: u64 = 35;
pub const GETPID: u64 = 39;
pub const CLONE: u64 = 56;
pub const FORK: u64 = 57;
pub const VFORK: u64 = 58;
pub const EXECVE: u64 = 59;
pub const EXIT: u64 = 60;
pub const WAIT4: u64 = 61;
pub const KILL: u64 = 62;
pub const UNAME: u64 = 63;
pub const GETRLIMIT: u64 = 97;
pub const GETRUSAGE: u64 = 98;
pub const SYSINFO: u64 = 99;
pub const GETPPID: u64 = 110;
pub const RT_SIGPENDING: u64 = 127;
pub const ARCH_PRCTL: u64 = 158;
pub const SETRLIMIT: u64 = 160;
pub const GETTID: u64 = 186;
pub const FUTEX: u64 = 202;
pub const SET_TID_ADDRESS: u64 = 218;
pub const CLOCK_GETTIME: u64 = 228;
pub const CLOCK_GETRES: u64 = 229;
pub const EXIT_GROUP: u64 = 231;
pub const DUP3: u64 = 292;
pub const PIPE2: u64 = 293;
pub const PRLIMIT64: u64 = 302;
pub const GETCPU: u64 = 309;
/// Lethe's own call, above Linux's numbers: `lethe_reaping(strategy)` makes `strategy`
/// (`reaping`'s numbers) the reaping strategy of threads made from now on and returns the
/// previous one; `lethe_reaping(-1)` only returns the current one.
pub const LETHE_REAPING: u64 = 1000;
/// Lethe's own: `lethe_reaping_stats(stats, latencies, capacity, flags)` copies the reaping
/// counters (`reaping::ReapingStats`) to `stats` and up to `capacity` of the most recent
/// exit-to-freed latencies (ns, `u64` each, oldest first) to `latencies`, and returns how
/// many latencies it copied; `flags` `reaping::RESET_PEAKS` then resets the peaks, the
/// longest latency and the latency log.
pub const LETHE_REAPING_STATS: u64 = 1001;
