//! Per-CPU scheduler state, reached through GS (`arch::percpu`), and the CPU registry.
//!
//! Each CPU has its current thread, the thread it just switched away from (for the switch
//! path), two run queues (kernel priority and normal), its idle thread, its boot thread
//! (the context it came up in), a preemption-disable count, and its reaper (for the
//! `PerCpuReaper` strategy). `current` and `previous` are touched only by the owning CPU
//! with interrupts disabled, so their locks are never contended and never held by an
//! interrupt handler. The run queues are lock-free bounded MPMC queues: any CPU pushes to
//! them (placement, wake-ups) and any CPU pops from them (their owner, or a thief).
//!
//! Priority (`thread::Priority`): the reapers are kernel-priority threads, as OpenBSD's
//! reaper sleeps at a kernel priority; every other thread is `Normal`. A kernel-priority
//! thread waits on its CPU's kernel queue, which `next_runnable` pops before the run queue,
//! so it never waits behind ordinary threads; it is never stolen (its CPU runs it at once,
//! below), and a running one gives the CPU up only to another kernel-priority thread or by
//! blocking — a tick does not send it to the back of the run queue. Its wake-up preempts
//! (OpenBSD's `setrunnable` → `need_resched`): queuing one on a CPU that runs a `Normal`
//! thread other than its idle thread (`running_preemptible`) asks that CPU to reschedule
//! (`request_reschedule`) — another CPU with a reschedule IPI, halted or not; the calling
//! CPU (the common case: the switch path wakes the reaper of the CPU a thread died on, with
//! interrupts masked) with a self-IPI, taken as soon as it turns interrupts back on, which
//! lands in `switch::on_reschedule_ipi` and switches even from preemptible kernel code
//! (only when a switch is due: `reschedule_is_due`). An idle CPU needs none: its idle loop looks at its queues before it halts, and a
//! halted one is kicked as for any thread. A pusher reads `running_preemptible` after its
//! push and `schedule` looks at the kernel queue again after storing it (`note_running`),
//! both SeqCst, so a thread queued while the CPU switches is not left for the next tick. If
//! the reschedule finds preemption disabled, the CPU notes it (`reschedule_deferred`) and
//! the `enable_preemption` that turns it back on sends the self-IPI again: the reaper runs
//! when the section ends, not at the next tick. A tick that finds preemption disabled while
//! any thread waits here is deferred the same way, so a thread that happened to hold
//! preemption off at its tick does not keep the CPU for another whole slice.
//!
//! Woken first: a `Normal` thread woken from a block (`make_woken_runnable`, which sets
//! `Thread::woken`) waits on its CPU's woken queue, which `next_runnable` pops before the
//! run queue, where threads go when their time slice ran out or they yielded (which clears
//! the flag); a thread preempted by a kernel-priority thread keeps its turn on the woken
//! queue (`switch::schedule`). A thread that sleeps (a waiting parent, a thread taking a futex its holder
//! just released) therefore runs at the next switch, not after every spinner's slice —
//! CFS's sleeper credit, in FIFO form — and a lock passed from thread to thread (musl's
//! thread-list lock in a storm of detached threads, held by each dying thread until the
//! kernel clears its `CLONE_CHILD_CLEARTID` word) moves at the speed of the switches,
//! where it used to wait out two spinners' 10 ms slices at every hand-off and a storm's
//! creator waited seconds behind the line. No wake-up preemption: the woken thread waits
//! for the running one to block, exit or reach its tick. Nothing starves: the stints of
//! woken threads are charged to a per-CPU budget (`woken_budget`), reset to half a tick
//! at each tick (`start_tick`); once it is spent the run queue is popped first until the
//! next tick, so threads whose slice ran out keep at least half of a CPU that woken
//! threads would keep busy, as Linux's real-time throttling keeps a share of each period
//! for everyone else.
//!
//! Placement (`make_runnable`): a thread goes to the CPU it last ran on if that CPU is
//! idle, else to any idle CPU, else back to its last CPU. Two exceptions keep a hand-off
//! on one CPU, when the running thread is about to give its CPU up: a user thread made by
//! fork or clone (`make_runnable_beside_creator`: its creator usually blocks next, in
//! wait4 or pthread_join), and a thread woken by a thread that is exiting (`Thread::
//! start_exiting`: the joiner or waiting parent takes over the CPU the child exits on).
//! Either goes on the running thread's CPU if at most one other `Normal` thread waits
//! there — no reschedule
//! IPI, no halted CPU woken, the address space loaded on one CPU (a TLB shootdown stays
//! local). Found at -smp 4: create+join got slower with every worker added, each cycle two
//! IPIs to halted CPUs. A creator that goes on running instead loses the CPU to the new
//! thread at its next tick, or an idle CPU steals the thread at its own (`halt`'s
//! wake-ups look at every queue): at most one tick late. A CPU whose queue is empty steals
//! from the others' run queues (`next_runnable`). A pinned thread (`Thread::pinned_to`: a
//! CPU's boot thread, which polls tasks as its CPU, and a per-CPU reaper) always goes to
//! its own CPU and is never stolen: a thief that pops one puts it back (`steal`). A
//! kernel-priority thread never goes beside the running thread: placement's general rule
//! places it (the global reaper goes to its last CPU if idle, else to an idle one, else to
//! its last). A CPU that gets work while halted is sent a reschedule
//! IPI (`kick`); the idle loop announces it is about to halt (`halted`, SeqCst) before its
//! last look at its queues, and pushers look at `halted` (SeqCst) after their push, so
//! either the idle CPU sees the work or the pusher sees the flag and sends the IPI.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering, fence};

use conquer_once::spin::OnceCell;
use crossbeam_queue::ArrayQueue;
use x86_64::instructions::interrupts::without_interrupts;

use super::reaping::{Reaper, Strategy};
use super::slots::max_threads;
use super::thread::{self, Priority, Thread, ThreadState};
use crate::arch::percpu::PerCpu;
use crate::mm::pool::PoolArc;
use crate::sync::SpinLock;

pub struct Cpu {
    id: u32,
    current: SpinLock<Option<PoolArc<Thread>>>,
    /// The thread switched away from, until the switch path has dealt with it.
    previous: SpinLock<Option<PoolArc<Thread>>>,
    /// Whether the switch path must queue `previous` again: it was preempted or yielded
    /// (not blocked, not dead).
    requeue_previous: AtomicBool,
    run_queue: ArrayQueue<PoolArc<Thread>>,
    /// `Normal` threads woken from a block (`Thread::woken`), popped before `run_queue`'s
    /// while `woken_budget` lasts (module doc, "Woken first").
    woken_queue: ArrayQueue<PoolArc<Thread>>,
    /// TSC cycles that threads taken off `woken_queue` may still run ahead of `run_queue`
    /// in this tick: reset to `WOKEN_SHARE_OF_TICK` of a tick by each tick, charged by the
    /// switch path with each stint of such a thread. Signed: the last stint overdraws it.
    woken_budget: AtomicI64,
    /// Whether the running thread was woken and not preempted since (its stint is charged
    /// to `woken_budget`).
    running_woken: AtomicBool,
    /// Kernel-priority threads waiting here (the reapers), popped before `run_queue`'s and
    /// never stolen: the CPU they were placed on is asked to reschedule at once.
    kernel_queue: ArrayQueue<PoolArc<Thread>>,
    /// Threads on `run_queue` and `woken_queue` that other CPUs may steal (not pinned here). Another CPU's
    /// idle loop looks at this, not at the queue: a pinned thread waiting here (this CPU's
    /// boot thread) would otherwise keep every idle CPU spinning in failed steals. Signed: a pop
    /// may take a thread before its pusher has counted it, so the count dips below zero
    /// for a moment.
    stealable: AtomicI32,
    idle: spin::Once<PoolArc<Thread>>,
    boot: spin::Once<PoolArc<Thread>>,
    preempt_disabled: AtomicU32,
    /// Whether the CPU runs its idle thread (a placement hint).
    running_idle: AtomicBool,
    /// Whether the running thread is a `Normal` one other than the idle thread, which a
    /// kernel-priority thread queued here must preempt (SeqCst: `preempt_for_kernel_thread`).
    running_preemptible: AtomicBool,
    /// Set when a reschedule (a tick, or one for a waiting kernel-priority thread) found
    /// preemption disabled while a thread waited; taken by the `enable_preemption` that
    /// re-enables it, which asks again.
    reschedule_deferred: AtomicBool,
    /// Set with `reschedule_deferred` when it was a tick that found preemption disabled:
    /// the running thread's slice is over (`reschedule_is_due`). Cleared by the next switch.
    slice_over: AtomicBool,
    /// Set once the CPU's bring-up has made everything it makes (its threads, its reaper)
    /// and it is about to serve tasks and threads.
    ready: AtomicBool,
    /// Set by the idle loop just before its last look for work and its halt; cleared by the
    /// next `schedule`. Pushers that see it send a reschedule IPI.
    halted: AtomicBool,
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
            id,
            current: SpinLock::new(None),
            previous: SpinLock::new(None),
            requeue_previous: AtomicBool::new(false),
            run_queue: ArrayQueue::new(max_threads()),
            woken_queue: ArrayQueue::new(max_threads()),
            woken_budget: AtomicI64::new(0),
            running_woken: AtomicBool::new(false),
            kernel_queue: ArrayQueue::new(KERNEL_PRIORITY_THREADS),
            stealable: AtomicI32::new(0),
            idle: spin::Once::new(),
            boot: spin::Once::new(),
            preempt_disabled: AtomicU32::new(0),
            running_idle: AtomicBool::new(false),
            running_preemptible: AtomicBool::new(false),
            reschedule_deferred: AtomicBool::new(false),
            slice_over: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            halted: AtomicBool::new(false),
            switches: AtomicU64::new(0),
            stint_start: AtomicU64::new(0),
            reaper: Reaper::new(REAPER_NAMES[id as usize], Strategy::PerCpuReaper),
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
        self.current.lock().clone().expect("sched: no current thread")
    }

    pub(super) fn take_current(&self) -> PoolArc<Thread> {
        self.current.lock().take().expect("sched: no current thread")
    }

    pub(super) fn set_current(&self, thread: PoolArc<Thread>) {
        *self.current.lock() = Some(thread);
    }

    /// Leaves `thread` for the switch path; `requeue` if it must run again.
    pub(super) fn set_previous(&self, thread: PoolArc<Thread>, requeue: bool) {
        let replaced = self.previous.lock().replace(thread);
        assert!(replaced.is_none(), "sched: switch path skipped a thread");
        self.requeue_previous.store(requeue, Ordering::Relaxed);
    }

    /// The thread the switch path must deal with, and whether to queue it again.
    pub(super) fn take_previous(&self) -> Option<(PoolArc<Thread>, bool)> {
        let previous = self.previous.lock().take()?;
        Some((previous, self.requeue_previous.load(Ordering::Relaxed)))
    }

    /// Whether the CPU's bring-up is done: an AP that is ready claims nothing more at boot,
    /// so counts taken after every AP is ready stay still.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Records whether the thread about to run here is the idle thread and whether a
    /// kernel-priority thread must preempt it, and that the CPU is not halted. Called by
    /// `schedule` with interrupts off. A kernel-priority thread queued after `schedule`
    /// looked at the kernel queue, by a CPU that read the flag before this store, is seen
    /// here: the store and the look are SeqCst, as the pusher's push and read are.
    pub(super) fn note_running(&self, idle: bool, priority: Priority, woken: bool) {
        self.running_idle.store(idle, Ordering::Relaxed);
        self.running_woken.store(woken, Ordering::Relaxed);
        self.slice_over.store(false, Ordering::Relaxed);
        self.halted.store(false, Ordering::Relaxed);
        let preemptible = !idle && priority == Priority::Normal;
        self.running_preemptible.store(preemptible, Ordering::SeqCst);
        if preemptible {
            fence(Ordering::SeqCst);
            if !self.kernel_queue.is_empty() {
                self.request_reschedule();
            }
        }
    }

    /// Whether the CPU runs its idle thread and has nothing queued: a good place for a
    /// thread that just became runnable.
    fn looks_idle(&self) -> bool {
        self.running_idle.load(Ordering::Relaxed) && !self.has_queued()
    }

    /// Asks this CPU to run `schedule` as soon as it can: a reschedule IPI, sent to itself
    /// if it is the calling CPU (taken once the caller turns interrupts back on), which
    /// `switch::on_reschedule_ipi` serves. Interrupts must be off (the CPU is the caller's only
    /// while they are).
    fn request_reschedule(&self) {
        let vector = crate::arch::vectors::RESCHEDULE_VECTOR;
        if self.id == this_cpu_index() {
            crate::arch::apic::send_self_ipi(vector);
        } else {
            crate::arch::apic::send_ipi(self.id, vector);
        }
    }

    /// A kernel-priority thread was just queued here: if a `Normal` thread runs here, it is
    /// preempted now, not at its next tick. Interrupts must be off.
    fn preempt_for_kernel_thread(&self) {
        fence(Ordering::SeqCst);
        if self.running_preemptible.load(Ordering::SeqCst) {
            self.request_reschedule();
        }
    }

    /// The scheduler (a tick, a reschedule IPI) found preemption disabled: if another
    /// thread waits for this CPU — a kernel-priority one, or any when the running thread's
    /// time slice is up — the reschedule is asked for again when preemption is re-enabled
    /// (`enable_preemption`), as Linux's `preempt_enable` honours a `need_resched` set
    /// meanwhile. Without this, a thread that happened to hold preemption off at its tick
    /// (polling tasks on its way back to user mode, say) kept its CPU for another whole
    /// slice. Interrupts must be off.
    /// `slice_over` when it was a tick: the reschedule asked for then ends the slice.
    pub(super) fn defer_reschedule(&self, slice_over: bool) {
        if self.running_preemptible.load(Ordering::Relaxed)
            && (!self.kernel_queue.is_empty() || self.has_runnable())
        {
            self.reschedule_deferred.store(true, Ordering::Relaxed);
            if slice_over {
                self.slice_over.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Whether a reschedule IPI has something to switch for: a tick deferred while
    /// preemption was disabled (`slice_over`), a kernel-priority thread waiting here, or
    /// the idle thread running. Any other — a kick that crossed a thread the CPU found on
    /// its own, a reaper's wake-up the reaper has already served — leaves the running
    /// thread its slice: in a FIFO run queue every switch sends the running thread to the
    /// back, and a spurious one cost a storm's creator the spinners' whole slices under the
    /// reapers (seconds per create). Interrupts must be off.
    pub(super) fn reschedule_is_due(&self) -> bool {
        self.slice_over.swap(false, Ordering::Relaxed)
            || !self.kernel_queue.is_empty()
            || self.running_idle.load(Ordering::Relaxed)
    }

    /// Queues `thread` here, beside the running thread, if it may run here and at most
    /// `BESIDE_RUNNING_MAX_WAITING` threads wait here; gives it back otherwise. Interrupts
    /// must be off (this is the caller's CPU only while they are).
    fn queue_beside_running(&self, thread: PoolArc<Thread>) -> Result<(), PoolArc<Thread>> {
        if thread.priority() == Priority::Kernel
            || thread.pinned_to.is_some_and(|pinned| pinned != self.id)
            || self.queue_for(&thread).len() > BESIDE_RUNNING_MAX_WAITING
        {
            return Err(thread);
        }
        self.enqueue(thread);
        Ok(())
    }

    /// Whether the running thread has started to exit (`Thread::start_exiting`).
    fn running_thread_exiting(&self) -> bool {
        self.current.lock().as_ref().is_some_and(|running| running.is_exiting())
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

    /// Queues a thread to run on this CPU, on the queue of its priority. A `Normal` one is
    /// not woken for (callers that may target a halted CPU go through `make_runnable`); a
    /// kernel-priority one preempts the `Normal` thread running here, if any. With interrupts
    /// masked: the timer interrupt pops these queues, and a pop spins while a push it
    /// overtook completes.
    pub(super) fn enqueue(&self, thread: PoolArc<Thread>) {
        without_interrupts(|| {
            thread.set_state(ThreadState::Runnable);
            if thread.priority() == Priority::Kernel {
                if self.kernel_queue.push(thread).is_err() {
                    panic!("sched: kernel run queue overflow: a thread was queued twice");
                }
                self.preempt_for_kernel_thread();
                return;
            }
            let stealable = thread.pinned_to.is_none();
            if self.queue_for(&thread).push(thread).is_err() {
                panic!("sched: run queue overflow: a thread was queued twice");
            }
            if stealable {
                self.stealable.fetch_add(1, Ordering::SeqCst);
            }
        });
    }

    /// The `Normal` queue `thread` waits on: the woken queue while it is `woken`.
    fn queue_for(&self, thread: &Thread) -> &ArrayQueue<PoolArc<Thread>> {
        if thread.woken.load(Ordering::Relaxed) { &self.woken_queue } else { &self.run_queue }
    }

    /// The first thread of the woken queue, then of the run queue — or the other way round
    /// once the woken threads have used up this tick's budget (module doc, "Woken first").
    fn pop_runnable(&self) -> Option<PoolArc<Thread>> {
        without_interrupts(|| {
            let thread = if self.woken_budget.load(Ordering::Relaxed) > 0 {
                self.woken_queue.pop().or_else(|| self.run_queue.pop())
            } else {
                self.run_queue.pop().or_else(|| self.woken_queue.pop())
            }?;
            if thread.pinned_to.is_none() {
                self.stealable.fetch_sub(1, Ordering::SeqCst);
            }
            Some(thread)
        })
    }

    /// The next thread for this CPU, of priority `at_least` or higher: its own kernel
    /// queue's first, else (for `Normal`) its own run queue's first, else one stolen from
    /// another CPU's run queue (the next CPUs in turn, so thieves spread out).
    pub(super) fn next_runnable(&self, at_least: Priority) -> Option<PoolArc<Thread>> {
        let kernel = without_interrupts(|| self.kernel_queue.pop());
        if kernel.is_some() || at_least == Priority::Kernel {
            return kernel;
        }
        self.pop_runnable().or_else(|| {
            let count = online_count();
            (1..count).filter_map(|step| cpu((self.id + step) % count)).find_map(Cpu::steal)
        })
    }

    /// Takes the first thread off this CPU's queue for another CPU, unless it is pinned
    /// here: then it goes back to the end of the queue (its owner is kicked, in case it
    /// looked at its queue while the thread was out of it, and halted).
    fn steal(&self) -> Option<PoolArc<Thread>> {
        let thread = self.pop_runnable()?;
        if thread.pinned_to.is_none() {
            return Some(thread);
        }
        self.enqueue(thread);
        kick(self.id);
        None
    }

    /// Whether a thread waits on one of this CPU's own queues.
    fn has_queued(&self) -> bool {
        !self.run_queue.is_empty() || !self.woken_queue.is_empty() || !self.kernel_queue.is_empty()
    }

    /// Whether a thread other than the running one waits for this CPU: on its own queue,
    /// or one it may steal on another's.
    pub fn has_runnable(&self) -> bool {
        self.has_queued() || online().any(|cpu| cpu.id != self.id && cpu.stealable.load(Ordering::SeqCst) > 0)
    }

    /// The idle loop's halt: announces it, looks for work once more (a task ready on any
    /// CPU's queue, which this CPU would steal; runnable threads), and halts with `halt`
    /// (which must enable interrupts and halt in one step) only if there is none.
    /// Interrupts must be off.
    pub fn halt_unless_work(&self, halt: impl FnOnce()) {
        self.halted.store(true, Ordering::SeqCst);
        if crate::tasks::any_ready() || self.has_runnable() {
            self.halted.store(false, Ordering::Relaxed);
            return;
        }
        crate::watchdog::touch();
        halt();
        self.halted.store(false, Ordering::Relaxed);
    }

    /// A new tick: woken threads may again run ahead of the run queue for
    /// `WOKEN_SHARE_OF_TICK` of it. Called by the timer interrupt.
    pub fn start_tick(&self) {
        let tick_cycles = crate::time::tsc_hz() / u64::from(crate::time::TICK_HZ);
        let budget = tick_cycles * WOKEN_SHARE_OF_TICK.0 / WOKEN_SHARE_OF_TICK.1;
        self.woken_budget.store(budget as i64, Ordering::Relaxed);
    }

    /// Charges a stint that just ended (`cpu_time::close_stint`) to the woken budget if the
    /// thread that ran it was woken. Switch path, interrupts off.
    pub(super) fn charge_stint(&self, cycles: u64) {
        if self.running_woken.load(Ordering::Relaxed) {
            self.woken_budget.fetch_sub(cycles as i64, Ordering::Relaxed);
        }
    }

    pub fn preempt_disabled(&self) -> bool {
        self.preempt_disabled.load(Ordering::Relaxed) > 0
    }

    pub(super) fn disable_preemption(&self) {
        self.preempt_disabled.fetch_add(1, Ordering::Relaxed);
    }

    /// Re-enables preemption; once it is on again, asks again for a reschedule that found
    /// it off (`defer_reschedule`).
    pub(super) fn enable_preemption(&self) {
        let before = self.preempt_disabled.fetch_sub(1, Ordering::Relaxed);
        assert!(before > 0, "sched: preemption enabled more often than disabled");
        if before == 1 && self.reschedule_deferred.swap(false, Ordering::Relaxed) {
            without_interrupts(|| self.request_reschedule());
        }
    }
}

pub use crate::arch::MAX_CPUS;

/// How many `Normal` threads may wait on a CPU for a new or woken thread still to go
/// there, beside the running thread (module doc, "Placement"): one, so that it runs at
/// worst a time slice after another.
const BESIDE_RUNNING_MAX_WAITING: usize = 1;

/// The share of each tick that woken threads may run ahead of the run queue while threads
/// wait there, as a fraction: half, so that threads whose slice ran out still get at least
/// half of a CPU that woken threads keep busy (module doc, "Woken first").
const WOKEN_SHARE_OF_TICK: (u64, u64) = (1, 2);

/// Room on each CPU's kernel queue: every kernel-priority thread there is (a reaper per
/// CPU and the global one), so a push never fails.
const KERNEL_PRIORITY_THREADS: usize = MAX_CPUS + 1;

/// Names of the per-CPU reaper threads.
const REAPER_NAMES: [&str; MAX_CPUS] = [
    "reaper-0",
    "reaper-1",
    "reaper-2",
    "reaper-3",
    "reaper-4",
    "reaper-5",
    "reaper-6",
    "reaper-7",
    "reaper-8",
    "reaper-9",
    "reaper-10",
    "reaper-11",
    "reaper-12",
    "reaper-13",
    "reaper-14",
    "reaper-15",
];

/// Names of the idle threads.
const IDLE_NAMES: [&str; MAX_CPUS] = [
    "idle-0", "idle-1", "idle-2", "idle-3", "idle-4", "idle-5", "idle-6", "idle-7", "idle-8", "idle-9",
    "idle-10", "idle-11", "idle-12", "idle-13", "idle-14", "idle-15",
];

/// Every CPU that has started scheduling, by index; written once per CPU as it comes up.
static CPUS: [OnceCell<&'static Cpu>; MAX_CPUS] = [const { OnceCell::uninit() }; MAX_CPUS];

/// CPUs registered so far (they come up in index order).
static ONLINE: AtomicU32 = AtomicU32::new(0);

/// CPU `index`, if it is online.
pub fn cpu(index: u32) -> Option<&'static Cpu> {
    CPUS.get(index as usize)?.get().copied()
}

/// How many CPUs schedule threads.
pub fn online_count() -> u32 {
    ONLINE.load(Ordering::Acquire)
}

/// Every CPU that schedules threads.
pub fn online() -> impl Iterator<Item = &'static Cpu> {
    (0..online_count()).filter_map(cpu)
}

fn register(cpu: &'static Cpu) {
    crate::mm::spaces::note_cpu_online();
    CPUS[cpu.id as usize].init_once(|| cpu);
    ONLINE.fetch_max(cpu.id + 1, Ordering::AcqRel);
}

/// Makes `thread` runnable on the CPU placement picks (see the module doc), waking that
/// CPU if it is halted. From any context.
pub fn make_runnable(thread: PoolArc<Thread>) {
    without_interrupts(|| {
        let here = this_cpu();
        let queued = if here.running_thread_exiting() {
            thread.woken_by_exit.store(true, Ordering::Relaxed);
            here.queue_beside_running(thread)
        } else {
            Err(thread)
        };
        if let Err(thread) = queued {
            place(thread);
        }
    });
}

/// Makes `thread`, just woken from a block, runnable as `make_runnable` does, on the woken
/// queue of the CPU placement picks (module doc, "Woken first").
pub fn make_woken_runnable(thread: PoolArc<Thread>) {
    thread.woken.store(true, Ordering::Relaxed);
    make_runnable(thread);
}

/// Makes `thread`, a user thread the running thread has just made (fork, clone), runnable:
/// on this CPU unless more than `BESIDE_RUNNING_MAX_WAITING` threads wait here, else as
/// `make_runnable` (see the module doc).
pub fn make_runnable_beside_creator(thread: PoolArc<Thread>) {
    without_interrupts(|| {
        if let Err(thread) = this_cpu().queue_beside_running(thread) {
            place(thread);
        }
    });
}

/// Placement's general rule: the last CPU if idle, else an idle one, else the last.
fn place(thread: PoolArc<Thread>) {
    let last = cpu(thread.last_cpu.load(Ordering::Relaxed)).unwrap_or_else(this_cpu);
    let target = if thread.pinned_to.is_some() || last.looks_idle() {
        last
    } else {
        online().find(|cpu| cpu.looks_idle()).unwrap_or(last)
    };
    target.enqueue(thread);
    kick(target.id);
}

/// Tells CPU `index` that it has new work (a thread on its queue): sends it a reschedule
/// IPI if it is halted. The calling CPU needs no IPI.
pub fn kick(index: u32) {
    if index == this_cpu_index() {
        return;
    }
    if let Some(target) = cpu(index)
        && target.halted.load(Ordering::SeqCst)
    {
        crate::arch::apic::send_ipi(index, crate::arch::vectors::RESCHEDULE_VECTOR);
    }
}

/// This CPU's index: `arch::cpu::id` (one instruction, set before the heap exists and on
/// an application processor before its `Cpu` is installed), which `Cpu::id` repeats.
pub fn this_cpu_index() -> u32 {
    crate::arch::cpu::id()
}

/// The thread running this code. Found with interrupts off: a preemptible thread could
/// otherwise be moved to another CPU between finding "this CPU" and reading its current
/// thread, and get the first CPU's new thread (found at -smp 4: a system call of a user
/// thread found a reaper running and panicked, "a system call from a kernel thread").
pub fn current_thread() -> PoolArc<Thread> {
    without_interrupts(|| this_cpu().current())
}

/// The id of the thread running this code, or `None` before `sched::init` (for the hooks
/// of the layers below: `trace`, `fault_injection`). Found with interrupts off, as
/// `current_thread` is.
pub fn current_thread_id() -> Option<u64> {
    without_interrupts(|| try_this_cpu().map(|cpu| cpu.current().id().0))
}

/// This CPU's scheduler state. Panics before `sched::init`.
pub fn this_cpu() -> &'static Cpu {
    try_this_cpu().expect("sched: used before sched::init")
}

/// This CPU's scheduler state, or `None` before `sched::init`.
pub fn try_this_cpu() -> Option<&'static Cpu> {
    crate::arch::percpu::this_cpu::<Cpu>().map(|cpu| &**cpu)
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
    let cpu: &'static PerCpu<Cpu> = Box::leak(Box::new(PerCpu::new(Cpu::new(0))));
    crate::arch::percpu::install(cpu);
    let boot = thread::new_boot("boot", 0);
    cpu.boot.call_once(|| boot.clone());
    cpu.set_current(boot);
    cpu.idle
        .call_once(|| thread::new_permanent(IDLE_NAMES[0], Box::new(idle_loop), Some(0), Priority::Normal));
    register(cpu);
    cpu.reaper.start();
}

/// An application processor's way into the scheduler, called by `smp` on the AP's
/// first stack with interrupts off: its `Cpu`, the bring-up context as its
/// boot thread *and* idle thread (it has nothing else to do), its reaper, its tick; then
/// it serves tasks and threads for good.
pub fn run_application_cpu(index: u32) -> ! {
    assert!((index as usize) < MAX_CPUS, "sched: CPU {index} is beyond MAX_CPUS");
    let cpu: &'static PerCpu<Cpu> = Box::leak(Box::new(PerCpu::new(Cpu::new(index))));
    crate::arch::percpu::install(cpu);
    let idle = thread::new_boot(IDLE_NAMES[index as usize], index);
    cpu.boot.call_once(|| idle.clone());
    cpu.idle.call_once(|| idle.clone());
    cpu.set_current(idle);
    cpu.note_running(true, Priority::Normal, false);
    register(cpu);
    cpu.reaper.start();
    crate::arch::apic::start_timer();
    cpu.ready.store(true, Ordering::Release);
    crate::arch::cpu::enable_interrupts();
    idle_loop();
    unreachable!("sched: the idle loop returned")
}
