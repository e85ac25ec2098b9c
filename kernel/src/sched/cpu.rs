//! Per-CPU scheduler state, reached through GS (`arch::percpu`).
//!
//! Each CPU has its current thread, the thread it just switched away from (for the switch
//! path), a run queue, its idle thread, the boot thread if it booted the kernel, a
//! preemption-disable count, and its reaper (for the `PerCpuReaper` strategy). Only the owning CPU touches its `Cpu`, always with interrupts
//! disabled, so the locks below are never contended and never held by an interrupt
//! handler; the run queue is lock-free so that other CPUs can add to it later (SMP).

use alloc::boxed::Box;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;
use x86_64::instructions::interrupts::without_interrupts;

use super::reaping::{Reaper, Strategy};
use super::slots::MAX_THREADS;
use super::thread::{self, Thread, ThreadState};
use crate::arch::syscall::EntryArea;
use crate::mm::pool::PoolArc;

#[repr(C)]
pub struct Cpu {
    /// What the system-call entry reaches through GS: must stay the first field.
    pub(super) entry: EntryArea,
    id: u32,
    current: spin::Mutex<Option<PoolArc<Thread>>>,
    /// The thread switched away from, until the switch path has dealt with it.
    previous: spin::Mutex<Option<PoolArc<Thread>>>,
    run_queue: ArrayQueue<PoolArc<Thread>>,
    idle: spin::Once<PoolArc<Thread>>,
    boot: spin::Once<PoolArc<Thread>>,
    preempt_disabled: AtomicU32,
    /// Context switches made on this CPU since boot (for benchmarks).
    switches: AtomicU64,
    /// TSC when the running thread's stint on this CPU began (`cpu_time`).
    pub(super) stint_start: AtomicU64,
    /// The dead list and reaper thread of the `PerCpuReaper` strategy.
    reaper: Reaper,
}

impl Cpu {
    fn new(id: u32) -> Self {
        Self {
            entry: EntryArea::default(),
            id,
            current: spin::Mutex::new(None),
            previous: spin::Mutex::new(None),
            run_queue: ArrayQueue::new(MAX_THREADS),
            idle: spin::Once::new(),
            boot: spin::Once::new(),
            preempt_disabled: AtomicU32::new(0),
            switches: AtomicU64::new(0),
            stint_start: AtomicU64::new(0),
            reaper: Reaper::new("reaper-0", Strategy::PerCpuReaper),
        }
    }

    pub(super) fn reaper(&self) -> &Reaper {
        &self.reaper
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// Context switches made on this CPU since boot.
    pub fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }

    pub(super) fn count_switch(&self) {
        self.switches.fetch_add(1, Ordering::Relaxed);
    }

    /// The running thread (a new reference).
    pub fn current(&self) -> PoolArc<Thread> {
        without_interrupts(|| self.current.lock().clone()).expect("sched: no current thread")
    }

    pub(super) fn take_current(&self) -> PoolArc<Thread> {
        self.current.lock().take().expect("sched: no current thread")
    }

    pub(super) fn set_current(&self, thread: PoolArc<Thread>) {
        *self.current.lock() = Some(thread);
    }

    pub(super) fn set_previous(&self, thread: PoolArc<Thread>) {
        let replaced = self.previous.lock().replace(thread);
        assert!(replaced.is_none(), "sched: switch path skipped a thread");
    }

    pub(super) fn take_previous(&self) -> Option<PoolArc<Thread>> {
        self.previous.lock().take()
    }

    pub(super) fn idle(&self) -> &PoolArc<Thread> {
        self.idle.get().expect("sched: no idle thread")
    }

    /// The boot and idle threads: never queued, never exiting.
    pub fn is_permanent(&self, thread: &PoolArc<Thread>) -> bool {
        let same =
            |permanent: Option<&PoolArc<Thread>>| permanent.is_some_and(|p| PoolArc::ptr_eq(p, thread));
        same(self.idle.get()) || same(self.boot.get())
    }

    /// Queues a thread to run on this CPU. With interrupts masked: the timer interrupt pops
    /// this queue, and a pop spins while a push it overtook completes.
    pub(super) fn make_runnable(&self, thread: PoolArc<Thread>) {
        without_interrupts(|| {
            thread.set_state(ThreadState::Runnable);
            if self.run_queue.push(thread).is_err() {
                panic!("sched: run queue overflow: a thread was queued twice");
            }
        });
    }

    pub(super) fn pop_runnable(&self) -> Option<PoolArc<Thread>> {
        without_interrupts(|| self.run_queue.pop())
    }

    /// Whether a thread other than the running one waits for the CPU.
    pub fn has_runnable(&self) -> bool {
        !self.run_queue.is_empty()
    }

    pub fn preempt_disabled(&self) -> bool {
        self.preempt_disabled.load(Ordering::Relaxed) > 0
    }

    pub(super) fn disable_preemption(&self) {
        self.preempt_disabled.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn enable_preemption(&self) {
        let before = self.preempt_disabled.fetch_sub(1, Ordering::Relaxed);
        assert!(before > 0, "sched: preemption enabled more often than disabled");
    }
}

const _: () =
    assert!(core::mem::offset_of!(Cpu, entry) == 0, "the system-call entry reads the entry area at GS:0");

/// This CPU's scheduler state. Panics before `sched::init`.
pub fn this_cpu() -> &'static Cpu {
    crate::arch::percpu::this_cpu().expect("sched: used before sched::init")
}

/// This CPU's scheduler state, or `None` before `sched::init`.
pub fn try_this_cpu() -> Option<&'static Cpu> {
    crate::arch::percpu::this_cpu()
}

/// The idle thread's work: serve tasks, and when none is ready, halt — or, when threads
/// are runnable, let them run (the halt of `InterruptControl` yields to them).
fn idle_loop() {
    loop {
        crate::tasks::run_until(|| false);
    }
}

/// Sets up CPU 0: its `Cpu`, the boot context as its running thread, its idle thread and
/// its reaper.
pub(super) fn init_boot_cpu() {
    let cpu: &'static Cpu = Box::leak(Box::new(Cpu::new(0)));
    crate::arch::percpu::install(cpu);
    let boot = thread::new_boot();
    cpu.boot.call_once(|| boot.clone());
    cpu.set_current(boot);
    cpu.idle.call_once(|| thread::new_permanent("idle-0", Box::new(idle_loop)));
    cpu.reaper.start();
}
