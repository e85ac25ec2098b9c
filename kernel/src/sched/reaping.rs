//! The three reaping strategies of docs/design.md — the same teardown body driven three ways,
//! chosen at run time so that one boot can measure all three:
//!
//! - `Future` (Lethe's design, the default): the switch path fires the dead thread's
//!   off-CPU event, and the teardown task made with the thread runs the body;
//! - `Reaper`: the switch path puts the dead thread on one global dead list and wakes a
//!   reaper kernel thread, which runs the body (NetBSD 1998, OpenBSD);
//! - `PerCpuReaper`: the same with a dead list and a reaper thread per CPU (OpenBSD 2024).
//!
//! A reaper thread has kernel priority (`thread::Priority::Kernel`, `cpu`'s module doc): its
//! wake-up by the switch path preempts the ordinary thread running on its CPU at once, and
//! it runs ahead of every ordinary thread until its list is empty — as OpenBSD's reaper,
//! which sleeps at a kernel priority, runs. A starved reaper would measure the scheduler,
//! not the strategy.
//!
//! A thread's strategy is fixed when it is made, so switching never strands a thread. The
//! dead lists are bounded lock-free queues sized for every thread that can exist, so the
//! switch path's push never fails and never allocates, and waking a reaper takes no lock
//! (R3, R7).

use alloc::boxed::Box;
use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use conquer_once::spin::OnceCell;
use crossbeam_queue::ArrayQueue;
use x86_64::instructions::interrupts::without_interrupts;

use super::slots::max_threads;
use super::thread::{self, Priority, Thread};
use super::{block, cpu, switch, teardown};
use crate::mm::pool::PoolArc;

/// How dead threads are reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Strategy {
    Future = abi::reaping::FUTURE as u8,
    Reaper = abi::reaping::REAPER as u8,
    PerCpuReaper = abi::reaping::PERCPU_REAPER as u8,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::Future, Strategy::Reaper, Strategy::PerCpuReaper];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Future => "future",
            Strategy::Reaper => "reaper",
            Strategy::PerCpuReaper => "percpu-reaper",
        }
    }

    pub fn from_number(number: u64) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|strategy| *strategy as u64 == number)
    }
}

static STRATEGY: AtomicU8 = AtomicU8::new(Strategy::Future as u8);

/// The strategy new threads get.
pub fn strategy() -> Strategy {
    Strategy::from_number(u64::from(STRATEGY.load(Ordering::Acquire))).unwrap_or(Strategy::Future)
}

/// Makes `strategy` the one new threads get; returns the previous one.
pub fn set_strategy(strategy: Strategy) -> Strategy {
    let previous = Strategy::from_number(u64::from(STRATEGY.swap(strategy as u8, Ordering::AcqRel)));
    previous.unwrap_or(Strategy::Future)
}

/// Threads torn down by each strategy's driver since boot, indexed by `Strategy`.
static REAPED: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

/// Threads that `strategy`'s driver (teardown tasks, the global reaper, the per-CPU
/// reapers) has torn down since boot — for tests that check who did the work.
pub fn reaped_by(strategy: Strategy) -> u64 {
    REAPED[strategy as usize].load(Ordering::Relaxed)
}

/// Threads torn down since boot, by every driver.
pub fn reaped_in_all() -> u64 {
    Strategy::ALL.into_iter().map(reaped_by).sum()
}

/// Counts one thread torn down by `strategy`'s driver.
pub(super) fn count_reaped(strategy: Strategy) {
    REAPED[strategy as usize].fetch_add(1, Ordering::Relaxed);
}

/// Teardowns run on the CPU where the thread last ran (died), and on another CPU.
static TORN_DOWN_ON_DYING_CPU: AtomicU64 = AtomicU64::new(0);
static TORN_DOWN_ELSEWHERE: AtomicU64 = AtomicU64::new(0);

/// Threads torn down, under any strategy, on the CPU they died on, since boot.
pub fn torn_down_on_dying_cpu() -> u64 {
    TORN_DOWN_ON_DYING_CPU.load(Ordering::Relaxed)
}

/// Threads torn down, under any strategy, on a CPU other than the one they died on, since
/// boot.
pub fn torn_down_elsewhere() -> u64 {
    TORN_DOWN_ELSEWHERE.load(Ordering::Relaxed)
}

/// Counts one teardown, run on the dying thread's CPU or not.
pub(super) fn count_teardown_place(on_dying_cpu: bool) {
    let counter = if on_dying_cpu { &TORN_DOWN_ON_DYING_CPU } else { &TORN_DOWN_ELSEWHERE };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A dead list and the reaper thread that empties it.
pub struct Reaper {
    name: &'static str,
    /// The strategy this reaper serves (`Reaper` or `PerCpuReaper`).
    strategy: Strategy,
    dead: ArrayQueue<PoolArc<Thread>>,
    thread: spin::Once<PoolArc<Thread>>,
}

impl Reaper {
    pub(super) fn new(name: &'static str, strategy: Strategy) -> Self {
        Self { name, strategy, dead: ArrayQueue::new(max_threads()), thread: spin::Once::new() }
    }

    /// Makes and starts this reaper's thread. Call once, at boot; a per-CPU reaper on its
    /// own CPU, which is the only one that runs it.
    pub(super) fn start(&'static self) {
        let pinned_to = (self.strategy == Strategy::PerCpuReaper).then(cpu::this_cpu_index);
        let reaper =
            thread::new_permanent(self.name, Box::new(move || self.run()), pinned_to, Priority::Kernel);
        self.thread.call_once(|| reaper.clone());
        cpu::make_runnable(reaper);
    }

    /// The switch path's side: hands over its reference to a dead thread and wakes the
    /// reaper. No lock, no allocation.
    pub(super) fn hand_over(&self, dead: PoolArc<Thread>) {
        if self.dead.push(dead).is_err() {
            panic!("sched: the {} dead list is full; R4 broken", self.name);
        }
        if let Some(reaper) = self.thread.get() {
            block::interrupt(reaper);
        }
    }

    /// The reaper thread: tear down every dead thread on the list, sleep while it is empty.
    fn run(&self) {
        let me = cpu::current_thread();
        loop {
            // Popped with interrupts off: the switch path pushes from an interrupt.
            while let Some(dead) = without_interrupts(|| self.dead.pop()) {
                switch::without_preemption(|| teardown::tear_down(dead, teardown::Via::DeadList));
            }
            without_interrupts(|| {
                if self.dead.is_empty() {
                    block::block_current_unless_woken(&me);
                }
            });
        }
    }
}

static GLOBAL: OnceCell<Reaper> = OnceCell::uninit();

/// Starts the global reaper (the boot CPU's per-CPU reaper starts with its CPU).
pub(super) fn init() {
    GLOBAL.init_once(|| Reaper::new("reaper", Strategy::Reaper));
    GLOBAL.get().expect("sched: reaper just made").start();
}

/// The switch path's hand-over of a dead thread whose strategy is a reaper's.
pub(super) fn hand_to_reaper(dead: PoolArc<Thread>) {
    match dead.strategy() {
        Strategy::Reaper => GLOBAL.get().expect("sched: no global reaper").hand_over(dead),
        Strategy::PerCpuReaper => cpu::this_cpu().reaper().hand_over(dead),
        Strategy::Future => unreachable!("sched: a future-reaped thread handed to a reaper"),
    }
}
