//! Kernel time: timer ticks (counted by the executor's clock) and the TSC, calibrated
//! against the tick at boot so that traces can print microseconds.
//!
//! The tick count is the kernel's clock, the executor's (`tasks::executor`), which the boot
//! CPU's tick advances and `tasks::init` hands down here (`set_clock`) when it makes the
//! executor; reading ticks before then panics, as reading the executor would.
//!
//! "Since boot" means since the TSC was calibrated, about 40 ms into boot (after the heap and
//! interrupts are up); before that `micros_since_boot` reads 0. Callable from any context.

use core::sync::atomic::{AtomicU64, Ordering};

use executor::Executor;

use crate::arch::cpu::read_tsc;

/// Timer interrupts per second.
pub const TICK_HZ: u32 = 100;

/// Ticks over which the TSC is measured at boot.
const CALIBRATION_TICKS: u64 = 3;

static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
/// The executor whose clock the boot CPU's tick advances.
static CLOCK: spin::Once<&'static Executor> = spin::Once::new();

/// Makes `clock`'s ticks the kernel's. Once, by `tasks::init`, before interrupts are on.
pub fn set_clock(clock: &'static Executor) {
    assert!(CLOCK.get().is_none(), "time: the clock is set once");
    CLOCK.call_once(|| clock);
}

/// Timer ticks since the executor started. Panics before `set_clock`.
pub fn ticks() -> u64 {
    CLOCK.get().expect("time: ticks read before tasks::init set the clock").now()
}

/// Measures the TSC rate over a few ticks. Needs interrupts on.
pub fn calibrate() {
    let start_tick = ticks();
    while ticks() == start_tick {
        core::hint::spin_loop();
    }
    let first = read_tsc();
    let first_tick = ticks();
    while ticks() < first_tick + CALIBRATION_TICKS {
        core::hint::spin_loop();
    }
    let cycles = read_tsc() - first;
    let hz = cycles * u64::from(TICK_HZ) / CALIBRATION_TICKS;
    BOOT_TSC.store(first, Ordering::Relaxed);
    TSC_HZ.store(hz.max(1), Ordering::Release);
    log::info!("time: TSC runs at {} MHz (measured over {} ticks)", hz / 1_000_000, CALIBRATION_TICKS);
}

/// The calibrated TSC rate in Hz, 0 before calibration.
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Acquire)
}

/// Nanoseconds since calibration, 0 before it.
pub fn nanos_since_boot() -> u64 {
    let hz = tsc_hz();
    if hz == 0 {
        return 0;
    }
    let cycles = read_tsc().saturating_sub(BOOT_TSC.load(Ordering::Relaxed));
    (u128::from(cycles) * 1_000_000_000 / u128::from(hz)) as u64
}

/// Microseconds since calibration, 0 before it.
pub fn micros_since_boot() -> u64 {
    let hz = tsc_hz();
    if hz == 0 {
        return 0;
    }
    let cycles = read_tsc().saturating_sub(BOOT_TSC.load(Ordering::Relaxed));
    (u128::from(cycles) * 1_000_000 / u128::from(hz)) as u64
}
