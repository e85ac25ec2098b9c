//! The lockup detector: a CPU that reaches no scheduling point for a few seconds is
//! reported on the serial console, so that a hang reads as a report instead of silence.
//! Linux's kernel/watchdog.c (the per-CPU touch timestamp checked from the timer) and
//! watchdog_buddy.c (each CPU watching the next one's timer), in small.
//!
//! Clock: each CPU counts its own timer interrupts (`ticks_of`) and measures everything in
//! them, so a vCPU the emulator leaves unscheduled for a while is not taken for a stuck one
//! (its ticks stop too). The silent-timer check cannot tell a CPU with interrupts masked
//! from a vCPU the host does not run at all; it waits a whole threshold for that reason.
//!
//! Two reports, both machine-readable lines starting `lockup: cpu=N` (`scripts/symbolize`
//! turns their addresses into function names):
//!
//! ```text
//! lockup: cpu=0 stuck for 4 s at rip=0xffffffff8003a1b2, 3 frames follow
//! lockup: cpu=0 frame=0xffffffff8003a0f7
//! lockup: cpu=3 stuck for 4 s with its timer silent, seen by cpu=0, no rip
//! ```
//!
//! - *Stuck* (a soft lockup): at each of its ticks a CPU compares its tick count with the
//!   one its last scheduling point recorded (`touch`: `sched::switch::schedule`, which every
//!   preemption, yield, block and exit goes through, and the idle loop's halt). Code that
//!   keeps preemption disabled, or a handler that never returns, for `threshold` ticks is
//!   reported from the timer interrupt with the interrupted RIP and its frame-pointer
//!   backtrace (`arch::backtrace`).
//! - *Silent timer* (interrupts masked, which the CPU's own timer cannot see): at each of
//!   its ticks a CPU looks at the next online CPU's tick count; one that has not moved for
//!   `threshold` of the watcher's ticks is reported, without a backtrace (no NMI is sent).
//!
//! Invariants: a report is printed at most once per `threshold` ticks per CPU and kind (a
//! stuck CPU is reported again after each further threshold, never in a flood). The report
//! path runs in the timer interrupt with interrupts masked; it does not allocate (it runs in
//! `mm::heap::forbidding_heap`) and takes no lock the stuck CPU may hold: a CPU reported
//! stuck was interrupted with interrupts on, so it holds none of the locks whose holders
//! mask interrupts (the serial port's, the last-report slots); and the port is waited for
//! only `CONSOLE_PATIENCE_MILLIS` (`hardware::drivers::serial::write_fmt_unless_held`), since a CPU
//! with a silent timer may hold it for good. Each CPU's counters are written only by that
//! CPU in its timer interrupt (a CPU's silent-timer count by its watcher's), `touch` with
//! interrupts masked; any CPU reads them.
//!
//! Called from: `on_tick` in the timer interrupt of every CPU; `touch` at scheduling points,
//! interrupts masked; `init` once at boot, in thread context; the rest from anywhere.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::structures::idt::InterruptStackFrame;

use crate::arch::MAX_CPUS;
use crate::arch::backtrace::{self, Backtrace};
use crate::sync::SpinLock;
use crate::time::TICK_HZ;

/// How long a CPU may go without a scheduling point before it is reported, unless the boot
/// option `opt/lethe/lockup_seconds` says otherwise.
pub const DEFAULT_THRESHOLD_SECONDS: u64 = 4;

/// How long a report waits for another CPU to let go of the serial port before dropping
/// its text.
const CONSOLE_PATIENCE_MILLIS: u64 = 100;

/// The threshold in ticks; 0 turns the detector off.
static THRESHOLD_TICKS: AtomicU64 = AtomicU64::new(DEFAULT_THRESHOLD_SECONDS * TICK_HZ as u64);

/// Timer interrupts each CPU has taken.
static TICKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Each CPU's tick count at its last scheduling point.
static TOUCHED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// The tick before which each CPU reports no stuck state again.
static QUIET_UNTIL: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Stuck reports about each CPU since boot, counted once printed (or dropped).
static STUCK_REPORTS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Each CPU's last stuck report. Written by that CPU in its timer interrupt; read by anyone;
/// every holder masks interrupts.
static LAST_STUCK: [SpinLock<Option<Stuck>>; MAX_CPUS] = [const { SpinLock::new(None) }; MAX_CPUS];

/// Per watching CPU: the CPU it watches (index + 1, 0 for none yet), that CPU's tick count
/// as last seen, the watcher's own tick count when that count last moved, and the tick
/// before which the watcher reports no silence again.
static WATCHED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static WATCHED_TICKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static WATCHED_MOVED_AT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static SILENCE_QUIET_UNTIL: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Silent-timer reports about each CPU since boot, counted once printed (or dropped).
static SILENT_REPORTS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Where a stuck CPU was interrupted.
#[derive(Debug, Clone, Copy)]
pub struct Stuck {
    pub rip: u64,
    pub backtrace: Backtrace,
}

/// Takes the threshold from the boot option `opt/lethe/lockup_seconds` (0: off), if given.
pub fn init() {
    let Some(value) = crate::boot_options::option("lockup_seconds") else { return };
    match value.parse() {
        Ok(seconds) => set_threshold_seconds(seconds),
        Err(_) => log::warn!("watchdog: opt/lethe/lockup_seconds={value:?} is not a number of seconds"),
    }
}

/// Reports CPUs that reach no scheduling point for `seconds` (0: never).
pub fn set_threshold_seconds(seconds: u64) {
    THRESHOLD_TICKS.store(seconds * u64::from(TICK_HZ), Ordering::Relaxed);
    log::info!("watchdog: lockups are reported after {seconds} s (0: off)");
}

/// The threshold in ticks of the CPU concerned; 0 when the detector is off.
pub fn threshold_ticks() -> u64 {
    THRESHOLD_TICKS.load(Ordering::Relaxed)
}

/// Timer interrupts CPU `cpu_index` has taken since boot: the clock its lockups are
/// measured in.
pub fn ticks_of(cpu_index: u32) -> u64 {
    TICKS[cpu_index as usize].load(Ordering::Relaxed)
}

/// Stuck reports about CPU `cpu_index` since boot.
pub fn stuck_reports(cpu_index: u32) -> u64 {
    STUCK_REPORTS[cpu_index as usize].load(Ordering::Acquire)
}

/// Silent-timer reports about CPU `cpu_index` since boot.
pub fn silent_reports(cpu_index: u32) -> u64 {
    SILENT_REPORTS[cpu_index as usize].load(Ordering::Acquire)
}

/// Where CPU `cpu_index` was at its last stuck report.
pub fn last_stuck(cpu_index: u32) -> Option<Stuck> {
    *LAST_STUCK[cpu_index as usize].lock()
}

/// Records that this CPU is at a scheduling point. Interrupts must be masked (the CPU must
/// not change under the caller).
pub fn touch() {
    assert!(!x86_64::instructions::interrupts::are_enabled(), "watchdog: touch with interrupts on");
    let cpu = crate::arch::cpu::id() as usize;
    TOUCHED[cpu].store(TICKS[cpu].load(Ordering::Relaxed), Ordering::Relaxed);
}

/// The timer interrupt's part: count the tick, report this CPU if it is stuck, and look at
/// the CPU it watches. `frame` is the timer interrupt's.
pub fn on_tick(frame: &InterruptStackFrame) {
    let cpu = crate::arch::cpu::id() as usize;
    let now = TICKS[cpu].fetch_add(1, Ordering::Relaxed) + 1;
    let threshold = threshold_ticks();
    if threshold == 0 {
        return;
    }
    let stuck_for = now.saturating_sub(TOUCHED[cpu].load(Ordering::Relaxed));
    if stuck_for >= threshold && now >= QUIET_UNTIL[cpu].load(Ordering::Relaxed) {
        QUIET_UNTIL[cpu].store(now + threshold, Ordering::Relaxed);
        crate::mm::heap::forbidding_heap(|| report_stuck(cpu, stuck_for, frame));
    }
    look_at_watched(cpu, now, threshold);
}

fn report_stuck(cpu: usize, stuck_for: u64, frame: &InterruptStackFrame) {
    let stuck =
        Stuck { rip: frame.instruction_pointer.as_u64(), backtrace: backtrace::of_interrupted(frame) };
    *LAST_STUCK[cpu].lock() = Some(stuck);
    write_report(format_args!("{}", StuckReport { cpu, seconds: stuck_for / u64::from(TICK_HZ), stuck }));
    STUCK_REPORTS[cpu].fetch_add(1, Ordering::Release);
}

/// Looks at the next online CPU's tick count, and reports that CPU if it has not moved for
/// `threshold` of this CPU's ticks.
fn look_at_watched(cpu: usize, now: u64, threshold: u64) {
    let online = crate::smp::cpus_online() as usize;
    if online < 2 {
        return;
    }
    let watched = (cpu + 1) % online;
    let ticks = TICKS[watched].load(Ordering::Relaxed);
    let same_cpu = WATCHED[cpu].swap(watched as u64 + 1, Ordering::Relaxed) == watched as u64 + 1;
    // A CPU whose timer has not started yet (ticks 0) is still coming up.
    if !same_cpu || ticks == 0 || WATCHED_TICKS[cpu].swap(ticks, Ordering::Relaxed) != ticks {
        WATCHED_MOVED_AT[cpu].store(now, Ordering::Relaxed);
        return;
    }
    let silent_for = now.saturating_sub(WATCHED_MOVED_AT[cpu].load(Ordering::Relaxed));
    if silent_for >= threshold && now >= SILENCE_QUIET_UNTIL[cpu].load(Ordering::Relaxed) {
        SILENCE_QUIET_UNTIL[cpu].store(now + threshold, Ordering::Relaxed);
        crate::mm::heap::forbidding_heap(|| {
            write_report(format_args!(
                "lockup: cpu={watched} stuck for {} s with its timer silent, seen by cpu={cpu}, no rip\n",
                silent_for / u64::from(TICK_HZ)
            ))
        });
        SILENT_REPORTS[watched].fetch_add(1, Ordering::Release);
    }
}

/// Writes a report unless another CPU holds the serial port for `CONSOLE_PATIENCE_MILLIS`.
fn write_report(report: fmt::Arguments) {
    let patience = crate::time::tsc_hz() * CONSOLE_PATIENCE_MILLIS / 1000;
    let start = crate::arch::cpu::read_tsc();
    hardware::drivers::serial::write_fmt_unless_held(report, || {
        crate::arch::cpu::read_tsc() - start < patience
    });
}

/// A stuck report's lines.
struct StuckReport {
    cpu: usize,
    seconds: u64,
    stuck: Stuck,
}

impl fmt::Display for StuckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { cpu, seconds, stuck } = self;
        let frames = stuck.backtrace.return_addresses();
        writeln!(
            f,
            "lockup: cpu={cpu} stuck for {seconds} s at rip={:#x}, {} frames follow",
            stuck.rip,
            frames.len()
        )?;
        for address in frames {
            writeln!(f, "lockup: cpu={cpu} frame={address:#x}")?;
        }
        Ok(())
    }
}
