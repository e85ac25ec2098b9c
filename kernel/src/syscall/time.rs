//! Time calls: `nanosleep`, `clock_gettime` and `clock_getres`. Every clock counts TSC
//! nanoseconds since boot (there is no RTC).

use super::current_process;
use crate::process::usercopy;
use abi::Errno;
use abi::types::Timespec;

/// Reads a `struct timespec` from user memory as nanoseconds: EFAULT if it is not there,
/// EINVAL if it is not a valid duration.
pub(super) fn read_duration(address: u64) -> Result<u64, Errno> {
    let timespec: Timespec = usercopy::read_val(&current_process(), address)?;
    timespec.to_nanos().ok_or(Errno::EINVAL)
}

/// `nanosleep(req, rem)`: sleeps at least `req` as `CLOCK_MONOTONIC` measures it. The
/// sleep is in timer ticks, which under emulation can come in a burst after a stall, so it
/// sleeps again until the clock has really moved on.
pub(super) fn nanosleep(request: u64) -> Result<u64, Errno> {
    let total = read_duration(request)?;
    let tick_ns = 1_000_000_000 / u64::from(crate::time::TICK_HZ);
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
    use abi::clock::{
        CLOCK_BOOTTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME,
        CLOCK_REALTIME_COARSE,
    };
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
    usercopy::write_val(&current_process(), address, &Timespec::from_nanos(nanos)).map(|()| 0)
}
