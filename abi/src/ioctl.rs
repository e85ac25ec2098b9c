//! `ioctl` requests.

/// Reads a terminal's window size.
pub const TIOCGWINSZ: u64 = 0x5413;
