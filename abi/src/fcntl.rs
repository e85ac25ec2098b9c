//! File status and descriptor flags, as `pipe2` and `dup3` take them.

pub const O_NONBLOCK: u64 = 0o4000;
pub const O_CLOEXEC: u64 = 0o2000000;
