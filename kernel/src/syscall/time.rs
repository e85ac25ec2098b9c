//! Time calls: `nanosleep`, `clock_gettime` and `clock_getres`. Every clock counts TSC
//! nanoseconds since boot (there is no RTC).

use super::current_process;
use super::errno::Errno;
use crate::process::usercopy;

/// Reads a `struct timespec` from user memory: (seconds, nanoseconds), checked.
pub(super) fn read_timespec(address: u64) -> Result<(u64, u64), Errno> {
    let mut bytes = [0u8; 16];
    match current_process().with_space(|space| usercopy::copy_from_user(space, address, &mut bytes)) {
        Some(Ok(())) => {}
        _ => return Err(Errno::EFAULT),
    }
    let seconds = i64::from_le_bytes(bytes[..8].try_into().unwrap());
    let nanoseconds = i64::from_le_bytes(bytes[8..].try_into().unwrap());
    if seconds < 0 || !(0..1_000_000_000).contains(&nanoseconds) {
        return Err(Errno::EINVAL);
    }
    Ok((seconds as u64, nanoseconds as u64))
}

/// `nanosleep(req, rem)`: sleeps at least `req` as `CLOCK_MONOTONIC` measures it. The
/// sleep is in timer ticks, which under emulation can come in a burst after a stall, so it
/// sleeps again until the clock has really moved on.
pub(super) fn nanosleep(request: u64) -> Result<u64, Errno> {
    let (seconds, nanoseconds) = read_timespec(request)?;
    let tick_ns = 1_000_000_000 / u64::from(crate::time::TICK_HZ);
    let total = seconds.saturating_mul(1_000_000_000).saturating_add(nanoseconds);
    let deadline = crate::time::nanos_since_boot().saturating_add(total);
    let process = current_process();
    loop {
        let now = crate::time::nanos_since_boot();
        if now >= deadline {
            return Ok(0);
        }
        // The current tick is partly over already: one more makes the sleep long enough.
        let ticks = (deadline - now).div_ceil(tick_ns) + 1;
        let slept = crate::sched::block_on_unless(crate::tasks::sleep(ticks), || process.group_exiting());
        if slept.is_none() {
            return Err(Errno::EINTR);
        }
        if crate::time::tsc_hz() == 0 {
            // No clock to check against before calibration: the ticks are all there is.
            return Ok(0);
        }
    }
}

/// `clock_gettime(clock, tp)`: every supported clock counts from boot (there is no RTC).
pub(super) fn clock_gettime(clock: u64, address: u64) -> Result<u64, Errno> {
    known_clock(clock)?;
    write_timespec(address, crate::time::nanos_since_boot())
}

/// `clock_getres(clock, res)`: every clock counts TSC nanoseconds, so 1 ns; `res` may be
/// NULL.
pub(super) fn clock_getres(clock: u64, address: u64) -> Result<u64, Errno> {
    known_clock(clock)?;
    if address == 0 { Ok(0) } else { write_timespec(address, 1) }
}

/// The clocks there are (all read the TSC since boot).
fn known_clock(clock: u64) -> Result<(), Errno> {
    const CLOCK_REALTIME: u64 = 0;
    const CLOCK_MONOTONIC: u64 = 1;
    const CLOCK_MONOTONIC_RAW: u64 = 4;
    const CLOCK_REALTIME_COARSE: u64 = 5;
    const CLOCK_MONOTONIC_COARSE: u64 = 6;
    const CLOCK_BOOTTIME: u64 = 7;
    match clock {
        CLOCK_REALTIME
        | CLOCK_MONOTONIC
        | CLOCK_MONOTONIC_RAW
        | CLOCK_REALTIME_COARSE
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// Writes `nanos` as a `struct timespec` at `address`.
fn write_timespec(address: u64, nanos: u64) -> Result<u64, Errno> {
    let mut timespec = [0u8; 16];
    timespec[..8].copy_from_slice(&(nanos / 1_000_000_000).to_le_bytes());
    timespec[8..].copy_from_slice(&(nanos % 1_000_000_000).to_le_bytes());
    match current_process().with_space(|space| usercopy::copy_to_user(space, address, &timespec)) {
        Some(Ok(())) => Ok(0),
        _ => Err(Errno::EFAULT),
    }
}
