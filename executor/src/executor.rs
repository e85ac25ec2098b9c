//! The executor: spawning, the polling loop, and the idle loop built on it.
//!
//! Task slots: the executor admits at most `max_tasks` tasks at once. A slot is taken at
//! spawn and given back when the task has completed *and* no entry for it remains in the
//! ready queue. Every queue entry therefore holds a slot, so the queue (capacity
//! `max_tasks`) can never overflow; `spawn` beyond the limit returns
//! `SpawnError::TooManyTasks` instead.
//!
//! Spawning allocates (the task and its boxed future), fallibly: with no heap left it
//! returns `SpawnError::OutOfMemory`, having taken nothing. It is otherwise lock-free; whether it
//! may be called from interrupt context is the allocator's business (Lethe's kernel heap
//! masks interrupts, so there it may). Polling happens only in `run_ready`, which must not
//! be re-entered from inside a poll (checked: it panics naming the rule).
//!
//! Lock order: a task's `future` lock (held across its poll) → `Timers::pending` (a `Sleep`
//! polled inside) → the allocator's lock. Only the allocator's is ever taken in interrupt
//! context, and the kernel's masks interrupts while held.

use alloc::boxed::Box;
use core::fmt;
use core::future::Future;

use crate::critical::CriticalSection;
use crate::ready_queue::ReadyQueue;
use crate::sync::{Arc, AtomicBool, AtomicU64, AtomicUsize, Ordering, try_arc};
use crate::task::{Task, TaskId};
use crate::timer::{Sleep, Ticks, Timers};
use crate::trace::{TaskEvent, TraceRecord, TraceSink};

/// Why a spawn was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// `limit` tasks are alive already.
    TooManyTasks { limit: usize },
    /// The heap has no room for the task.
    OutOfMemory,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::TooManyTasks { limit } => {
                write!(f, "executor: task limit of {limit} reached")
            }
            SpawnError::OutOfMemory => f.write_str("executor: no heap for a task"),
        }
    }
}

/// State shared by the executor handle, its tasks and their wakers.
pub(crate) struct Shared {
    pub(crate) ready: ReadyQueue,
    pub(crate) timers: Timers,
    max_tasks: usize,
    /// Tasks alive or with an entry left in the ready queue; see the module doc.
    slots_in_use: AtomicUsize,
    next_task_id: AtomicU64,
    trace_sink: Option<TraceSink>,
    push_hook: Option<PushHook>,
    tracing: AtomicBool,
    /// Set while `run_ready` runs, to catch re-entry from inside a poll.
    polling: AtomicBool,
}

impl Shared {
    pub(crate) fn trace(&self, task: &Task, event: TaskEvent) {
        if self.tracing.load(Ordering::Relaxed)
            && let Some(sink) = self.trace_sink
        {
            sink(&TraceRecord { task: task.id, name: task.name, event });
        }
    }

    /// Queues `task` to be polled and tells the push hook.
    pub(crate) fn push_ready(&self, task: Arc<Task>) {
        self.ready.push(task);
        if let Some(hook) = self.push_hook {
            (hook.call)(hook.argument);
        }
    }

    fn take_slot(&self) -> Result<(), SpawnError> {
        self.slots_in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < self.max_tasks).then_some(used + 1)
            })
            .map(drop)
            .map_err(|_| SpawnError::TooManyTasks { limit: self.max_tasks })
    }

    fn release_slot(&self) {
        let before = self.slots_in_use.fetch_sub(1, Ordering::AcqRel);
        assert!(before > 0, "executor: task slot released twice");
    }
}

/// How to build an executor.
pub struct Config {
    /// Tasks alive at once, at most; also the ready queue's capacity.
    pub max_tasks: usize,
    /// Where task events go while tracing is on.
    pub trace_sink: Option<TraceSink>,
    /// What ready-queue operations and the timer lock run inside (a kernel: interrupts
    /// masked); see `critical`.
    pub critical_section: Option<CriticalSection>,
    /// Called after every push to the ready queue; see `PushHook`.
    pub push_hook: Option<PushHook>,
}

/// What an executor calls after it queued a task (a spawn, or a wake from any context,
/// any CPU): `call(argument)`. A kernel with one executor per CPU uses it to wake the
/// executor's CPU if it is halted. It runs where the push ran (possibly an interrupt
/// handler or the switch path), so it must not block or allocate.
#[derive(Clone, Copy)]
pub struct PushHook {
    pub call: fn(usize),
    pub argument: usize,
}

/// A handle to one executor; clones share it.
#[derive(Clone)]
pub struct Executor {
    shared: Arc<Shared>,
}

impl Executor {
    /// An executor admitting at most `max_tasks` tasks at once, without tracing or a
    /// critical section (host use).
    pub fn new(max_tasks: usize) -> Self {
        Self::with_config(Config { max_tasks, trace_sink: None, critical_section: None, push_hook: None })
    }

    /// An executor whose task events go to `sink` while tracing is switched on.
    pub fn with_trace_sink(max_tasks: usize, sink: TraceSink) -> Self {
        Self::with_config(Config {
            max_tasks,
            trace_sink: Some(sink),
            critical_section: None,
            push_hook: None,
        })
    }

    /// An executor built as `config` says.
    pub fn with_config(config: Config) -> Self {
        let Config { max_tasks, trace_sink, critical_section, push_hook } = config;
        assert!(max_tasks > 0, "executor: max_tasks must be at least 1");
        let shared = Shared {
            ready: ReadyQueue::with_capacity(max_tasks, critical_section),
            timers: Timers::new(critical_section),
            max_tasks,
            slots_in_use: AtomicUsize::new(0),
            next_task_id: AtomicU64::new(1),
            trace_sink,
            push_hook,
            tracing: AtomicBool::new(false),
            polling: AtomicBool::new(false),
        };
        Self { shared: Arc::new(shared) }
    }

    /// Switches task tracing on or off.
    pub fn set_tracing(&self, on: bool) {
        self.shared.tracing.store(on, Ordering::Relaxed);
    }

    /// Spawns `future` as a task named `name` (the name shows in traces).
    pub fn spawn<F>(&self, name: &'static str, future: F) -> Result<TaskId, SpawnError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shared.take_slot()?;
        let Ok(future) = Box::try_new(future) else {
            self.shared.release_slot();
            return Err(SpawnError::OutOfMemory);
        };
        let id = TaskId(self.shared.next_task_id.fetch_add(1, Ordering::Relaxed));
        let Some(task) = try_arc(Task::new_queued(id, name, Box::into_pin(future), self.shared.clone()))
        else {
            self.shared.release_slot();
            return Err(SpawnError::OutOfMemory);
        };
        self.shared.trace(&task, TaskEvent::Spawn);
        self.shared.push_ready(task);
        Ok(id)
    }

    /// Tasks spawned and not yet finished (plus finished tasks whose last queue entry has
    /// not been popped yet).
    pub fn live_tasks(&self) -> usize {
        self.shared.slots_in_use.load(Ordering::Acquire)
    }

    /// Entries in the ready queue.
    pub fn queued_tasks(&self) -> usize {
        self.shared.ready.len()
    }

    /// The task limit this executor was built with.
    pub fn max_tasks(&self) -> usize {
        self.shared.max_tasks
    }

    /// Advances the timer clock by one tick. Safe in interrupt context.
    pub fn tick(&self) -> Ticks {
        self.shared.timers.advance()
    }

    /// Ticks since the executor started.
    pub fn now(&self) -> Ticks {
        self.shared.timers.now()
    }

    /// A future that completes `ticks` ticks from now.
    pub fn sleep(&self, ticks: Ticks) -> Sleep {
        Sleep::until(self.shared.clone(), self.now().saturating_add(ticks))
    }

    /// A future that completes once the clock reads `deadline`.
    pub fn sleep_until(&self, deadline: Ticks) -> Sleep {
        Sleep::until(self.shared.clone(), deadline)
    }

    /// Timers armed and not yet fired.
    pub fn armed_timers(&self) -> usize {
        self.shared.timers.armed()
    }
}

#[cfg(not(loom))]
impl Executor {
    /// Wakes expired timers, then polls at most `budget` ready tasks. Returns how many
    /// polls it made. Call it from task context only, never from inside a poll.
    pub fn run_ready(&self, budget: usize) -> usize {
        let _polling = PollingGuard::enter(&self.shared);
        self.shared.timers.fire_expired();
        let mut polled = 0;
        while polled < budget {
            let Some(task) = self.shared.ready.pop() else {
                break;
            };
            if self.poll_task(task) {
                polled += 1;
            }
        }
        polled
    }

    /// Polls one task popped from the ready queue; false if it had already finished.
    fn poll_task(&self, task: Arc<Task>) -> bool {
        let mut slot = task.future.lock();
        let Some(future) = slot.as_mut() else {
            // The entry a wake left during the task's final poll: it held the last slot.
            self.shared.release_slot();
            return false;
        };
        let was_queued = task.claim_for_poll();
        debug_assert!(was_queued, "executor: polled a task that was not queued");
        let waker = core::task::Waker::from(task.clone());
        let mut context = core::task::Context::from_waker(&waker);
        self.shared.trace(&task, TaskEvent::PollBegin);
        let ready = future.as_mut().poll(&mut context).is_ready();
        self.shared.trace(&task, TaskEvent::PollEnd { ready });
        if ready {
            let finished = slot.take();
            drop(slot);
            drop(finished);
            self.shared.trace(&task, TaskEvent::Complete);
            if !task.mark_finished() {
                self.shared.release_slot();
            }
        }
        true
    }

    /// The idle loop: polls tasks and, when none is ready, halts until an interrupt, until
    /// `done` returns true. With `budget` tasks polled per round, timers are checked at
    /// least that often.
    pub fn run_until<P: crate::Platform>(&self, platform: &P, budget: usize, mut done: impl FnMut() -> bool) {
        loop {
            platform.around_poll(|| self.run_ready(budget));
            if done() {
                return;
            }
            platform.disable_interrupts();
            self.shared.timers.fire_expired();
            if self.shared.ready.len() == 0 && !done() {
                platform.enable_interrupts_and_halt();
            } else {
                platform.enable_interrupts();
            }
        }
    }
}

/// Marks the executor as polling for as long as it lives.
#[cfg(not(loom))]
struct PollingGuard<'a> {
    shared: &'a Shared,
}

#[cfg(not(loom))]
impl<'a> PollingGuard<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let reentered = shared.polling.swap(true, Ordering::Acquire);
        assert!(!reentered, "executor: run_ready re-entered from inside a poll");
        Self { shared }
    }
}

#[cfg(not(loom))]
impl Drop for PollingGuard<'_> {
    fn drop(&mut self) {
        self.shared.polling.store(false, Ordering::Release);
    }
}

#[cfg(loom)]
impl Executor {
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}
