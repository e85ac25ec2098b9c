//! Resource limits: the resources `getrlimit`, `setrlimit` and `prlimit64` name.

pub const RLIMIT_STACK: usize = 3;
/// How many tasks the user may have.
pub const RLIMIT_NPROC: usize = 6;
/// Resources Linux defines limits for; each has a stored pair.
pub const RLIM_NLIMITS: usize = 16;
/// "No limit".
pub const RLIM_INFINITY: u64 = u64::MAX;
