//! The structures system calls read from and write to user memory, laid out as Linux
//! x86-64 lays them out.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct timespec`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Timespec {
    pub seconds: i64,
    pub nanoseconds: i64,
}

impl Timespec {
    pub fn from_nanos(nanos: u64) -> Self {
        Timespec { seconds: (nanos / 1_000_000_000) as i64, nanoseconds: (nanos % 1_000_000_000) as i64 }
    }

    /// The time in nanoseconds, or `None` if it is not a valid duration (a negative
    /// second, nanoseconds past 999,999,999): EINVAL, as Linux says.
    pub fn to_nanos(self) -> Option<u64> {
        let seconds = u64::try_from(self.seconds).ok()?;
        let nanoseconds = u64::try_from(self.nanoseconds).ok().filter(|&n| n < 1_000_000_000)?;
        Some(seconds.saturating_mul(1_000_000_000).saturating_add(nanoseconds))
    }
}

/// `struct timeval`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Timeval {
    pub seconds: i64,
    pub microseconds: i64,
}

impl Timeval {
    pub fn from_nanos(nanos: u64) -> Self {
        Timeval {
            seconds: (nanos / 1_000_000_000) as i64,
            microseconds: (nanos % 1_000_000_000 / 1_000) as i64,
        }
    }
}

/// `struct rusage`: the CPU times, then fourteen counters Lethe leaves at 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Rusage {
    pub user_time: Timeval,
    pub system_time: Timeval,
    pub counters: [i64; 14],
}

/// `struct rlimit`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Rlimit {
    pub soft: u64,
    pub hard: u64,
}

/// The kernel's `struct sigaction`, as `rt_sigaction` takes it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Sigaction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// `struct winsize` (TIOCGWINSZ).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Winsize {
    pub rows: u16,
    pub columns: u16,
    pub x_pixels: u16,
    pub y_pixels: u16,
}

/// `struct iovec` (writev).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Iovec {
    pub base: u64,
    pub length: u64,
}

/// `struct utsname`: six NUL-padded fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Utsname {
    pub fields: [[u8; Utsname::FIELD]; 6],
}

/// `struct sysinfo` (`sysinfo`): sizes in units of `mem_unit` bytes, `procs` the threads
/// that exist. The padding Linux's layout has is spelled out, so that every byte is a field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Sysinfo {
    pub uptime: i64,
    pub loads: [u64; 3],
    pub totalram: u64,
    pub freeram: u64,
    pub sharedram: u64,
    pub bufferram: u64,
    pub totalswap: u64,
    pub freeswap: u64,
    pub procs: u16,
    pub pad: u16,
    pub pad_to_totalhigh: u32,
    pub totalhigh: u64,
    pub freehigh: u64,
    pub mem_unit: u32,
    pub reserved: [u8; 4],
}

impl Utsname {
    pub const FIELD: usize = 65;
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn structures_have_linux_x86_64_sizes() {
        assert_eq!(size_of::<Timespec>(), 16);
        assert_eq!(size_of::<Timeval>(), 16);
        assert_eq!(size_of::<Rusage>(), 144);
        assert_eq!(size_of::<Rlimit>(), 16);
        assert_eq!(size_of::<Sigaction>(), 32);
        assert_eq!(size_of::<Winsize>(), 8);
        assert_eq!(size_of::<Iovec>(), 16);
        assert_eq!(size_of::<Utsname>(), 390);
        assert_eq!(size_of::<Sysinfo>(), 112);
    }

    #[test]
    fn timespecs_round_trip_and_bad_ones_are_refused() {
        assert_eq!(Timespec::from_nanos(3_000_000_007), Timespec { seconds: 3, nanoseconds: 7 });
        assert_eq!(Timespec { seconds: 3, nanoseconds: 7 }.to_nanos(), Some(3_000_000_007));
        assert_eq!(Timespec { seconds: -1, nanoseconds: 0 }.to_nanos(), None);
        assert_eq!(Timespec { seconds: 0, nanoseconds: 1_000_000_000 }.to_nanos(), None);
        assert_eq!(Timespec { seconds: i64::MAX, nanoseconds: 0 }.to_nanos(), Some(u64::MAX));
    }
}
