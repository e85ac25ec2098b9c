//! Kernel threads: the control block, `spawn` and the first run.
//!
//! A thread's control block comes from the `threads` pool, its stack from `mm::stacks`
//! (guarded, named after the thread), its slot from `slots`; its teardown task (under the
//! `Future` reaping strategy) is spawned with it, parked on the off-CPU event. So everything exit needs exists before the thread
//! first runs (R3), and a spawn that fails half-way gives back what it took.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use executor::OneShotEvent;
use mm::kernel_stacks::KernelStack;

use super::TaskCharge;
use super::reaping::{self, Strategy};
use super::{cpu, slots, switch, teardown};
use crate::arch::fpu::FpuState;
use crate::arch::syscall::SyscallFrame;
use crate::mm::pool::{Counted, KernelPool, PoolArc};
use crate::mm::stacks;
use crate::sync::SpinLock;

/// A thread's number, unique since boot. Threads and processes share one space of
/// numbers, as Linux's tasks do: a process's pid is the id of its first thread, so in a
/// process of one thread `gettid() == getpid()`. Number 1 is kept for the first process
/// made, init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadId(pub u64);

impl ThreadId {
    /// A fresh number, for a thread about to be made: `clone` publishes it (its tid
    /// pointers) before the thread can run.
    pub fn reserve() -> ThreadId {
        ThreadId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    /// A fresh number for the first thread of a new process, which is also the process's
    /// pid: 1 for the first process ever made.
    pub fn reserve_for_process() -> ThreadId {
        if FIRST_PROCESS_MADE.swap(true, Ordering::Relaxed) { ThreadId::reserve() } else { ThreadId(1) }
    }
}

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a thread is in its life (see the diagram in `sched`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ThreadState {
    Runnable = 0,
    Running = 1,
    Blocked = 2,
    Dead = 3,
}

impl ThreadState {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => ThreadState::Runnable,
            1 => ThreadState::Running,
            2 => ThreadState::Blocked,
            _ => ThreadState::Dead,
        }
    }
}

/// Which run queue a thread waits on (`cpu`'s module doc, "Priority").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Every thread but the reapers: user threads, kernel threads of `spawn`, the boot and
    /// idle threads. Round robin, a tick each.
    Normal,
    /// The reapers: run ahead of every `Normal` thread, which they preempt as soon as they
    /// are woken, and preempted only by each other (OpenBSD's reaper sleeps at a kernel
    /// priority, and its wake-up asks the running CPU to reschedule).
    Kernel,
}

/// Capability to fire a thread's torn-down event; only the teardown task makes one.
pub struct TornDown(());

impl TornDown {
    /// Made with interrupts masked, as firing asks (`sync::debug_assert_interrupts_masked`).
    #[track_caller]
    pub(super) fn new() -> Self {
        crate::sync::debug_assert_interrupts_masked();
        Self(())
    }
}

/// The user process a thread runs in, as the scheduler sees it: `process::Process`
/// implements it, so the scheduler needs nothing of the process layer above it.
pub trait UserProcess: Send + Sync + 'static {
    /// The pid.
    fn process_id(&self) -> u32;
    /// The root of its address space, which the switch loads for its threads.
    fn page_table_root(&self) -> u64;
    /// Lists `thread`, a new thread of it, before the thread can run.
    fn add_thread(&self, thread: PoolArc<Thread>);
    /// The process as the process layer knows it.
    fn into_any(self: Arc<Self>) -> Arc<dyn core::any::Any + Send + Sync>;
}

/// What a thread carries besides its start: its process and user-mode state.
struct ThreadContext {
    process: Option<Arc<dyn UserProcess>>,
    fpu: Option<FpuState>,
    fs_base: u64,
    clear_child_tid: u64,
    task_charge: Option<TaskCharge>,
    /// The thread's number, if reserved beforehand.
    id: Option<ThreadId>,
    /// The only CPU that may run the thread, if any.
    pinned_to: Option<u32>,
    priority: Priority,
}

impl ThreadContext {
    /// A kernel thread: no process, no FPU area, not a user's task.
    const KERNEL: ThreadContext = ThreadContext {
        process: None,
        fpu: None,
        fs_base: 0,
        clear_child_tid: 0,
        task_charge: None,
        id: None,
        pinned_to: None,
        priority: Priority::Normal,
    };
}

/// What a thread does when it first runs.
pub enum Start {
    /// Run a closure in kernel mode, then exit.
    Kernel(Box<dyn FnOnce() + Send>),
    /// Enter user mode at `entry` with `stack_pointer`. Plain data rather than a closure:
    /// entering user mode never returns, so a boxed closure would never be freed.
    User { entry: u64, stack_pointer: u64 },
    /// Return to user mode with these registers: a forked child's first return from
    /// `fork` (with 0 in rax).
    Fork(SyscallFrame),
}

/// A thread control block.
pub struct Thread {
    id: ThreadId,
    name: &'static str,
    /// Index in `slots`, held from spawn to teardown.
    pub(super) slot: u32,
    state: AtomicU8,
    /// The CPU the thread last ran on, where a wake-up prefers to queue it.
    pub(super) last_cpu: AtomicU32,
    /// The only CPU the thread may run on (a CPU's boot thread, which polls that CPU's
    /// executor, and a per-CPU reaper), or `None`: any CPU may run or steal it.
    pub(super) pinned_to: Option<u32>,
    /// Its run queue: fixed when it is made.
    priority: Priority,
    /// What the thread runs, taken on its first run.
    pub(super) start: SpinLock<Option<Start>>,
    /// Set by a wake that may race with `block_on` deciding to block.
    pub(super) wakeup_pending: AtomicBool,
    /// Set when a thread that is exiting made this one runnable (a parent or joiner woken by
    /// the death); taken on its way back to user mode, which then leaves the dead thread's
    /// teardown off its path (`switch::on_return_to_user`).
    pub(super) woken_by_exit: AtomicBool,
    /// Set when a wake-up makes the thread runnable, cleared when it is preempted or
    /// yields: while set it waits on its CPU's woken queue, ahead of threads whose time
    /// slice ran out (`cpu`'s module doc, "Woken first").
    pub(super) woken: AtomicBool,
    /// Set by the thread itself when it starts to exit (`start_exiting`); read by
    /// placement on its CPU while it runs there.
    exiting: AtomicBool,
    /// TSC at exit, for the exit-to-teardown latency.
    pub(super) exit_tsc: AtomicU64,
    /// Fired by the teardown task when everything of the thread but this block is freed.
    pub(super) torn_down: OneShotEvent<TornDown>,
    /// x87/SSE registers while off the CPU, for threads that use them (user code); saved
    /// and restored by the context switch on the thread's own CPU with interrupts off.
    pub(super) fpu: Option<SpinLock<FpuState>>,
    /// The user process the thread belongs to; `None` for kernel threads.
    process: Option<Arc<dyn UserProcess>>,
    /// The user's FS base (thread-local storage), set by `arch_prctl(ARCH_SET_FS)` and
    /// loaded by the switch for user threads.
    pub(crate) fs_base: AtomicU64,
    /// Where to write 0 (and wake futex waiters) when the thread exits:
    /// `set_tid_address`'s argument.
    pub(crate) clear_child_tid: AtomicU64,
    /// A user thread's index in its process's thread list, so it leaves the list in one
    /// step however many threads the process has; written under that list's lock
    /// (`process::control_block`).
    pub(crate) place_in_process: AtomicUsize,
    /// The wait queue whose list holds this thread (its address), 0 if none, and the
    /// thread's index in that list; both written under that queue's lock (`wait_queue`).
    pub(super) queued_on: AtomicUsize,
    pub(super) place_in_queue: AtomicUsize,
    /// How the thread is reaped, fixed when it is made.
    strategy: Strategy,
    /// The id of its teardown task (`Future` strategy), 0 if it has none; for tracing.
    teardown_task: AtomicU64,
    /// TSC cycles on a CPU in closed stints, and of them in system calls (`cpu_time`).
    pub(super) on_cpu_cycles: AtomicU64,
    pub(super) system_cycles: AtomicU64,
    /// A user thread's place in its user's task count (RLIMIT_NPROC); given back by the
    /// teardown, when the thread's stack is freed (R8).
    pub(super) task_charge: SpinLock<Option<TaskCharge>>,
}

impl Thread {
    pub fn id(&self) -> ThreadId {
        self.id
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn state(&self) -> ThreadState {
        ThreadState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// The user process this thread runs, if it is a user thread.
    pub fn process(&self) -> Option<&Arc<dyn UserProcess>> {
        self.process.as_ref()
    }

    /// Marks the calling thread, `self`, as on its way out (its process's exit path, before
    /// it wakes a joiner or a waiting parent): threads it wakes from now on are queued on
    /// its CPU, which it is about to give up (`cpu`'s module doc, "Placement").
    pub fn start_exiting(&self) {
        self.exiting.store(true, Ordering::Relaxed);
    }

    pub(super) fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::Relaxed)
    }

    /// How the thread is reaped.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Its run queue (`Priority`).
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// The id of the task that will tear the thread down, if its strategy gives it one.
    pub fn teardown_task(&self) -> Option<u64> {
        Some(self.teardown_task.load(Ordering::Relaxed)).filter(|&id| id != 0)
    }

    pub(super) fn set_state(&self, state: ThreadState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Stores `state` in the single total order of SeqCst operations, for the blocking
    /// handshake with `wakeup_pending` (`block`).
    pub(super) fn set_state_ordered(&self, state: ThreadState) {
        self.state.store(state as u8, Ordering::SeqCst);
    }

    /// Moves `from` → `to` if the thread is in `from`; returns whether it did.
    pub(super) fn change_state(&self, from: ThreadState, to: ThreadState) -> bool {
        self.state.compare_exchange(from as u8, to as u8, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }
}

static THREADS: KernelPool<Counted<Thread>> = KernelPool::new("threads");

/// The pool every thread's control block comes from.
pub(super) fn pool() -> &'static KernelPool<Counted<Thread>> {
    &THREADS
}

/// Gives the thread pool's empty pages back (for exact leak checks).
pub fn release_idle_pool_pages() {
    THREADS.release_idle_pages();
}
static NEXT_ID: AtomicU64 = AtomicU64::new(2);
impl crate::trace::TracedThread for Thread {
    fn tid(&self) -> u64 {
        self.id.0
    }

    fn pid(&self) -> u32 {
        self.process.as_ref().map_or(0, |process| process.process_id())
    }

    fn name(&self) -> &'static str {
        self.name
    }

    fn teardown_task(&self) -> Option<u64> {
        Thread::teardown_task(self)
    }

    fn strategy_name(&self) -> &'static str {
        self.strategy.name()
    }
}

/// Whether number 1 has been given to a process.
static FIRST_PROCESS_MADE: AtomicBool = AtomicBool::new(false);

/// Why a thread could not be made. Nothing is left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// `slots::max_threads()` threads exist (EAGAIN).
    TooManyThreads,
    /// No memory for the stack, the control block or the teardown task (ENOMEM).
    OutOfMemory,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::TooManyThreads => write!(f, "thread limit of {} reached", slots::max_threads()),
            SpawnError::OutOfMemory => f.write_str("out of memory for a thread"),
        }
    }
}

/// A handle to a spawned thread; awaiting `torn_down` waits for its end.
pub struct JoinHandle {
    thread: PoolArc<Thread>,
}

impl JoinHandle {
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// A reference to the thread itself.
    pub fn thread_ref(&self) -> PoolArc<Thread> {
        self.thread.clone()
    }

    /// Completes once the thread has exited and everything of it but its control block
    /// has been freed. For tasks; a thread may `block_on` it.
    pub async fn torn_down(self) {
        self.thread.torn_down.wait().await;
    }
}

/// Builds a control block for a thread that starts with `start` on `stack`, in slot `slot`.
fn new_thread(
    name: &'static str,
    slot: u32,
    stack: KernelStack,
    start: Start,
    context: ThreadContext,
) -> Result<PoolArc<Thread>, KernelStack> {
    let ThreadContext { process, fpu, fs_base, clear_child_tid, task_charge, id, pinned_to, priority } =
        context;
    let thread = Thread {
        id: id.unwrap_or_else(ThreadId::reserve),
        name,
        slot,
        state: AtomicU8::new(ThreadState::Runnable as u8),
        last_cpu: AtomicU32::new(pinned_to.unwrap_or_else(cpu::this_cpu_index)),
        pinned_to,
        priority,
        start: SpinLock::new(Some(start)),
        wakeup_pending: AtomicBool::new(false),
        woken_by_exit: AtomicBool::new(false),
        woken: AtomicBool::new(false),
        exiting: AtomicBool::new(false),
        exit_tsc: AtomicU64::new(0),
        torn_down: OneShotEvent::new(),
        fpu: fpu.map(SpinLock::new),
        process,
        fs_base: AtomicU64::new(fs_base),
        clear_child_tid: AtomicU64::new(clear_child_tid),
        place_in_process: AtomicUsize::new(0),
        queued_on: AtomicUsize::new(0),
        place_in_queue: AtomicUsize::new(0),
        strategy: reaping::strategy(),
        teardown_task: AtomicU64::new(0),
        on_cpu_cycles: AtomicU64::new(0),
        system_cycles: AtomicU64::new(0),
        task_charge: SpinLock::new(task_charge),
    };
    let context = &slots::slot(slot).context;
    context.install(stack, switch::thread_start).expect("sched: a claimed slot's context is vacant");
    THREADS
        .allocate_shared(thread)
        .map_err(|_| context.retire().expect("sched: a thread never run has its stack"))
}

/// Makes a kernel thread named `name` that runs `entry`, and queues it on a CPU
/// (`cpu::make_runnable` chooses which).
pub fn spawn(name: &'static str, entry: impl FnOnce() + Send + 'static) -> Result<JoinHandle, SpawnError> {
    spawn_thread(name, Start::Kernel(Box::new(entry)), ThreadContext::KERNEL, cpu::make_runnable)
}

/// Like `spawn`, for a kernel thread that only CPU `cpu_index`, which must be online, runs
/// (for tests that need work done, or a thread to die, on a given CPU).
pub fn spawn_pinned(
    name: &'static str,
    cpu_index: u32,
    entry: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle, SpawnError> {
    assert!(cpu::cpu(cpu_index).is_some(), "sched: a thread pinned to CPU {cpu_index}, which is not online");
    let context = ThreadContext { pinned_to: Some(cpu_index), ..ThreadContext::KERNEL };
    spawn_thread(name, Start::Kernel(Box::new(entry)), context, cpu::make_runnable)
}

/// Like `spawn`, for a kernel thread that uses x87/SSE registers: the switch saves and
/// restores them (user threads always get this).
pub fn spawn_with_fpu(
    name: &'static str,
    entry: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle, SpawnError> {
    spawn_thread(
        name,
        Start::Kernel(Box::new(entry)),
        ThreadContext { fpu: Some(FpuState::initial()), ..ThreadContext::KERNEL },
        cpu::make_runnable,
    )
}

/// Makes a thread of user process `process` that enters user mode at `entry` with
/// `stack_pointer`: it runs in the process's address space, and its x87/SSE registers are
/// saved and restored across switches. It holds `task_charge` until torn down.
pub fn spawn_user(
    name: &'static str,
    process: Arc<dyn UserProcess>,
    task_charge: TaskCharge,
    entry: u64,
    stack_pointer: u64,
) -> Result<JoinHandle, SpawnError> {
    let id = ThreadId(u64::from(process.process_id()));
    spawn_thread(
        name,
        Start::User { entry, stack_pointer },
        ThreadContext {
            process: Some(process),
            fpu: Some(FpuState::initial()),
            task_charge: Some(task_charge),
            id: Some(id),
            ..ThreadContext::KERNEL
        },
        cpu::make_runnable,
    )
}

/// What a forked or cloned thread starts with in user mode, besides its registers.
pub struct UserThread {
    /// x87/SSE state.
    pub fpu: FpuState,
    /// FS base (the thread pointer).
    pub fs_base: u64,
    /// CLONE_CHILD_CLEARTID's address, or 0.
    pub clear_child_tid: u64,
    /// The thread's number (`ThreadId::reserve`).
    pub id: ThreadId,
}

/// Makes a thread that returns to user mode with `registers` (a forked child's, or a cloned
/// thread's, with 0 in rax) and the state of `user`, all set before it can run, and queues
/// it beside its creator (`cpu::make_runnable_beside_creator`). It holds `task_charge`
/// until torn down.
pub fn spawn_forked(
    name: &'static str,
    process: Arc<dyn UserProcess>,
    task_charge: TaskCharge,
    registers: SyscallFrame,
    user: UserThread,
) -> Result<JoinHandle, SpawnError> {
    let UserThread { fpu, fs_base, clear_child_tid, id } = user;
    spawn_thread(
        name,
        Start::Fork(registers),
        ThreadContext {
            process: Some(process),
            fpu: Some(fpu),
            fs_base,
            clear_child_tid,
            task_charge: Some(task_charge),
            id: Some(id),
            pinned_to: None,
            priority: Priority::Normal,
        },
        cpu::make_runnable_beside_creator,
    )
}

/// Makes and queues a thread; `make_runnable` is the placement rule (`cpu`'s module doc).
fn spawn_thread(
    name: &'static str,
    start: Start,
    context: ThreadContext,
    make_runnable: fn(PoolArc<Thread>),
) -> Result<JoinHandle, SpawnError> {
    let slot = super::reclaim::with_room(slots::claim).ok_or(SpawnError::TooManyThreads)?;
    let Ok(stack) = stacks::allocate(name) else {
        slots::release_unused(slot);
        return Err(SpawnError::OutOfMemory);
    };
    let thread = match new_thread(name, slot, stack, start, context) {
        Ok(thread) => thread,
        Err(stack) => {
            stacks::free(stack);
            slots::release_unused(slot);
            return Err(SpawnError::OutOfMemory);
        }
    };
    if thread.strategy == Strategy::Future {
        match crate::tasks::spawn("teardown", teardown::off_cpu_then_tear_down(thread.clone())) {
            Ok(task) => thread.teardown_task.store(task.0, Ordering::Relaxed),
            Err(_) => {
                let stack =
                    slots::slot(slot).context.retire().expect("sched: a thread never run has its stack");
                stacks::free(stack);
                slots::release_unused(slot);
                return Err(SpawnError::OutOfMemory);
            }
        }
    }
    if let Some(process) = &thread.process {
        process.add_thread(thread.clone());
    }
    crate::trace::thread_event(&thread, "spawn");
    make_runnable(thread.clone());
    Ok(JoinHandle { thread })
}

/// Makes a thread that runs `entry` and never exits, so it has no teardown task: an idle
/// thread (never queued: the CPU falls back to it) or a reaper (`Priority::Kernel`); run
/// only by CPU `pinned_to`, if given.
pub(super) fn new_permanent(
    name: &'static str,
    entry: Box<dyn FnOnce() + Send>,
    pinned_to: Option<u32>,
    priority: Priority,
) -> PoolArc<Thread> {
    let slot = slots::claim().expect("sched: no thread slot at boot");
    let stack = stacks::allocate(name).expect("sched: no stack at boot");
    let context = ThreadContext { pinned_to, priority, ..ThreadContext::KERNEL };
    new_thread(name, slot, stack, Start::Kernel(entry), context)
        .unwrap_or_else(|_| panic!("sched: out of memory at boot"))
}

/// Makes a boot thread: the context a CPU came up in, already running on its first stack
/// (the bootloader's, or the one an application processor was started on). It never exits.
pub(super) fn new_boot(name: &'static str, cpu_index: u32) -> PoolArc<Thread> {
    let slot = slots::claim().expect("sched: no thread slot at boot");
    let thread = Thread {
        id: ThreadId::reserve(),
        name,
        slot,
        state: AtomicU8::new(ThreadState::Running as u8),
        last_cpu: AtomicU32::new(cpu_index),
        pinned_to: Some(cpu_index),
        priority: Priority::Normal,
        start: SpinLock::new(None),
        wakeup_pending: AtomicBool::new(false),
        woken_by_exit: AtomicBool::new(false),
        woken: AtomicBool::new(false),
        exiting: AtomicBool::new(false),
        exit_tsc: AtomicU64::new(0),
        torn_down: OneShotEvent::new(),
        fpu: None,
        process: None,
        fs_base: AtomicU64::new(0),
        clear_child_tid: AtomicU64::new(0),
        place_in_process: AtomicUsize::new(0),
        queued_on: AtomicUsize::new(0),
        place_in_queue: AtomicUsize::new(0),
        strategy: Strategy::Future,
        teardown_task: AtomicU64::new(0),
        on_cpu_cycles: AtomicU64::new(0),
        system_cycles: AtomicU64::new(0),
        task_charge: SpinLock::new(None),
    };
    let thread = THREADS.allocate_shared(thread).unwrap_or_else(|_| panic!("sched: out of memory at boot"));
    assert_eq!(cpu::this_cpu_index(), cpu_index, "sched: a boot thread made on another CPU");
    slots::slot(slot).context.adopt_running_here();
    thread
}
