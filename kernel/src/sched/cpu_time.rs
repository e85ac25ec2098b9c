//! CPU time: how long each thread has run, and how much of that was in system calls.
//!
//! The switch path closes the running thread's stint (`close_stint`: one TSC read, two
//! atomic stores, no lock, no allocation — R7 holds); a running thread's time is its
//! closed stints plus the open one. System-call time is the thread's own CPU time spent
//! between the entry to `syscall::dispatch` and its return (`SystemCall`), so time blocked
//! inside a call is not counted; everything else a user thread runs is user time
//! (interrupts that arrive in user mode included).

use core::sync::atomic::Ordering;

use super::cpu::{Cpu, current_thread, this_cpu};
use super::thread::Thread;

/// A thread's or process's CPU time, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    pub user_ns: u64,
    pub system_ns: u64,
}

impl core::ops::Add for CpuTime {
    type Output = CpuTime;

    fn add(self, other: CpuTime) -> CpuTime {
        CpuTime { user_ns: self.user_ns + other.user_ns, system_ns: self.system_ns + other.system_ns }
    }
}

fn nanos(cycles: u64) -> u64 {
    let hz = crate::time::tsc_hz();
    if hz == 0 { 0 } else { (u128::from(cycles) * 1_000_000_000 / u128::from(hz)) as u64 }
}

/// Ends the stint of `previous` on `cpu` and starts the next one; returns the stint's
/// length in TSC cycles. Switch path, interrupts off.
pub(super) fn close_stint(cpu: &Cpu, previous: &Thread) -> u64 {
    let now = crate::arch::cpu::read_tsc();
    let started = cpu.stint_start.swap(now, Ordering::Relaxed);
    let cycles = now.saturating_sub(started);
    previous.on_cpu_cycles.fetch_add(cycles, Ordering::Relaxed);
    cycles
}

/// TSC cycles the running thread has been on a CPU, its open stint included.
fn current_cycles() -> u64 {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let cpu = this_cpu();
        let open = crate::arch::cpu::read_tsc().saturating_sub(cpu.stint_start.load(Ordering::Relaxed));
        cpu.current().on_cpu_cycles.load(Ordering::Relaxed) + open
    })
}

/// The CPU time of `thread`: the running thread's to now, another's to its last switch.
pub fn of(thread: &Thread) -> CpuTime {
    // `current_thread`, not "this CPU's current": a thread moved between the two would not
    // find itself running and would lose its open stint.
    let total = if core::ptr::eq(&*current_thread(), thread) {
        current_cycles()
    } else {
        thread.on_cpu_cycles.load(Ordering::Relaxed)
    };
    let system = thread.system_cycles.load(Ordering::Relaxed).min(total);
    CpuTime { user_ns: nanos(total - system), system_ns: nanos(system) }
}

/// A system call being timed: made at the entry to `dispatch`, ended on the way out.
pub struct SystemCall {
    started: u64,
}

impl SystemCall {
    pub fn enter() -> SystemCall {
        SystemCall { started: current_cycles() }
    }

    /// Charges the call's CPU time to the running thread as system time.
    pub fn leave(self) {
        let spent = current_cycles().saturating_sub(self.started);
        current_thread().system_cycles.fetch_add(spent, Ordering::Relaxed);
    }
}
