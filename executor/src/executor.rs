//! The executor: spawning, the polling loop, and the idle loop built on it — one executor
//! for several CPUs, each with its own ready queue.
//!
//! A task belongs to no CPU. A spawn or a wake queues it on the ready queue of the CPU it
//! runs on (`Config::current_queue` names it), so work becomes ready where its event
//! fired; `run_ready(cpu, ..)` polls CPU `cpu`'s queue first and, when that is empty,
//! steals from the other CPUs' queues. A task is in at most one queue and polled by at most
//! one CPU at once (`task.rs`), so CPUs never contend for a task.
//!
//! Task slots: the executor admits at most `max_tasks` tasks at once, all CPUs together. A
//! slot is taken at spawn and given back when the task has completed. A task has at most
//! one queue entry, so a queue (capacity `max_tasks`) can never overflow, even with every
//! task ready on one CPU; `spawn` beyond the limit returns `SpawnError::TooManyTasks`.
//!
//! Spawning allocates (the task and its boxed future), fallibly: with no heap left it
//! returns `SpawnError::OutOfMemory`, having taken nothing. It is otherwise lock-free; whether it
//! may be called from interrupt context is the allocator's business (Lethe's kernel heap
//! masks interrupts, so there it may). Polling happens only in `run_ready`, which a CPU must
//! not re-enter from inside one of its polls (checked per CPU: it panics naming the rule).
//! One clock and one set of timers serve every CPU; whichever CPU polls first fires the
//! expired ones.
//!
//! Lock order: a task's `future` lock (held across its poll) → `Timers::pending` (a `Sleep`
//! polled inside) → the allocator's lock. Only the allocator's is ever taken in interrupt
//! context, and the kernel's masks interrupts while held.

use alloc::boxed::Box;
use core::fmt;
use core::future::Future;

use crate::critical::CriticalSection;
use crate::ready_queue::ReadyQueues;
use crate::sync::{Arc, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::task::{PollEnd, Task, TaskId};
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
    pub(crate) ready: ReadyQueues,
    pub(crate) timers: Timers,
    max_tasks: usize,
    /// Tasks alive, all CPUs together; see the module doc.
    slots_in_use: AtomicUsize,
    next_task_id: AtomicU64,
    trace_sink: Option<TraceSink>,
    current_queue: Option<fn() -> usize>,
    tracing: AtomicBool,
    /// Per CPU: set while that CPU runs `run_ready`, to catch re-entry from inside a poll.
    polling: Box<[AtomicBool]>,
}

impl Shared {
    pub(crate) fn trace(&self, task: &Task, event: TaskEvent) {
        if self.tracing.load(Ordering::Relaxed)
            && let Some(sink) = self.trace_sink
        {
            sink(&TraceRecord { task: task.id, name: task.name, event });
        }
    }

    /// The ready queue of the CPU this code runs on.
    pub(crate) fn current_queue(&self) -> usize {
        self.current_queue.map_or(0, |current| current())
    }

    /// Queues `task` on ready queue `queue` to be polled.
    pub(crate) fn push_ready(&self, queue: usize, task: Arc<Task>) {
        self.ready.push(queue, task);
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
    /// Tasks alive at once, at most, all CPUs together; also each ready queue's capacity.
    pub max_tasks: usize,
    /// Ready queues: one per CPU that polls.
    pub queues: usize,
    /// The ready queue of the CPU the caller runs on, below `queues` (a kernel: this CPU's
    /// index). A spawn or wake queues its task there. It runs wherever a wake does (an
    /// interrupt handler, the switch path), so it must not block or allocate. `None`: 0.
    pub current_queue: Option<fn() -> usize>,
    /// Where task events go while tracing is on.
    pub trace_sink: Option<TraceSink>,
    /// What ready-queue operations and the timer lock run inside (a kernel: interrupts
    /// masked); see `critical`.
    pub critical_section: Option<CriticalSection>,
}

impl Config {
    /// One queue, no hooks (host use).
    pub fn new(max_tasks: usize) -> Self {
        Self { max_tasks, queues: 1, current_queue: None, trace_sink: None, critical_section: None }
    }
}

/// A handle to one executor; clones share it.
#[derive(Clone)]
pub struct Executor {
    shared: Arc<Shared>,
}

impl Executor {
    /// An executor for one CPU admitting at most `max_tasks` tasks at once, without
    /// tracing or a critical section (host use).
    pub fn new(max_tasks: usize) -> Self {
        Self::with_config(Config::new(max_tasks))
    }

    /// An executor for one CPU whose task events go to `sink` while tracing is switched on.
    pub fn with_trace_sink(max_tasks: usize, sink: TraceSink) -> Self {
        Self::with_config(Config { trace_sink: Some(sink), ..Config::new(max_tasks) })
    }

    /// An executor built as `config` says.
    pub fn with_config(config: Config) -> Self {
        let Config { max_tasks, queues, current_queue, trace_sink, critical_section } = config;
        assert!(max_tasks > 0, "executor: max_tasks must be at least 1");
        assert!(queues > 0, "executor: queues must be at least 1");
        let shared = Shared {
            ready: ReadyQueues::new(queues, max_tasks, critical_section),
            timers: Timers::new(critical_section),
            max_tasks,
            slots_in_use: AtomicUsize::new(0),
            next_task_id: AtomicU64::new(1),
            trace_sink,
            current_queue,
            tracing: AtomicBool::new(false),
            polling: (0..queues).map(|_| AtomicBool::new(false)).collect(),
        };
        Self { shared: Arc::new(shared) }
    }

    /// Switches task tracing on or off.
    pub fn set_tracing(&self, on: bool) {
        self.shared.tracing.store(on, Ordering::Relaxed);
    }

    /// Spawns `future` as a task named `name` (the name shows in traces), ready on the
    /// queue of the CPU the caller runs on.
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
        let Ok(task) = Arc::try_new(Task::new_queued(id, name, Box::into_pin(future), self.shared.clone()))
        else {
            self.shared.release_slot();
            return Err(SpawnError::OutOfMemory);
        };
        self.shared.trace(&task, TaskEvent::Spawn);
        self.shared.push_ready(self.shared.current_queue(), task);
        Ok(id)
    }

    /// Tasks spawned and not yet finished.
    pub fn live_tasks(&self) -> usize {
        self.shared.slots_in_use.load(Ordering::Acquire)
    }

    /// Tasks ready on any CPU's queue: what an idle CPU could poll or steal.
    pub fn queued_tasks(&self) -> usize {
        self.shared.ready.len()
    }

    /// Tasks ready on CPU `queue`'s queue.
    pub fn queued_tasks_on(&self, queue: usize) -> usize {
        self.shared.ready.len_of(queue)
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

impl Executor {
    /// Polls as CPU `cpu`: wakes expired timers, then polls at most `budget` ready tasks,
    /// from `cpu`'s own queue first and, once it is empty, stolen from the others. Returns
    /// how many polls it made. Call it from task context only, never from inside one of
    /// `cpu`'s polls.
    pub fn run_ready(&self, cpu: usize, budget: usize) -> usize {
        let _polling = PollingGuard::enter(&self.shared, cpu);
        self.shared.timers.fire_expired();
        let mut polled = 0;
        while polled < budget {
            let Some(task) = self.shared.ready.pop_for(cpu) else {
                break;
            };
            self.poll_task(cpu, task);
            polled += 1;
        }
        polled
    }

    /// Polls one task popped from a ready queue, as CPU `cpu`.
    fn poll_task(&self, cpu: usize, task: Arc<Task>) {
        task.claim_for_poll();
        let mut slot = task.future.try_lock().expect("executor: a task was polled by two CPUs at once");
        let future = slot.as_mut().expect("executor: a finished task was queued");
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
            task.mark_finished();
            // The executor's references go before the slot: a caller that sees the task
            // count drop finds the task's memory given back too, unless a waker someone
            // else keeps holds it (found at -smp 4: a test's heap count, read on another
            // CPU right after the count dropped, was one task block high).
            drop(waker);
            drop(task);
            self.shared.release_slot();
            return;
        }
        // The lock goes before the state says the poll is over: from then on another CPU
        // may claim the task and lock it.
        drop(slot);
        if let PollEnd::Requeue = task.end_poll() {
            self.shared.push_ready(cpu, task);
        }
    }

    /// The idle loop of the CPU it runs on (`Config::current_queue`): polls tasks and, when
    /// none is ready on any CPU's queue (it would steal one), halts until an interrupt,
    /// until `done` returns true. With `budget` tasks polled per round, timers are checked
    /// at least that often.
    pub fn run_until<P: crate::Platform>(&self, platform: &P, budget: usize, mut done: impl FnMut() -> bool) {
        loop {
            platform.around_poll(|| self.run_ready(self.shared.current_queue(), budget));
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

/// Marks one CPU as polling for as long as it lives.
struct PollingGuard<'a> {
    polling: &'a AtomicBool,
}

impl<'a> PollingGuard<'a> {
    fn enter(shared: &'a Shared, cpu: usize) -> Self {
        let count = shared.polling.len();
        let polling =
            shared.polling.get(cpu).unwrap_or_else(|| panic!("executor: no CPU {cpu}: there are {count}"));
        let reentered = polling.swap(true, Ordering::Acquire);
        assert!(!reentered, "executor: run_ready re-entered from inside a poll on CPU {cpu}");
        Self { polling }
    }
}

impl Drop for PollingGuard<'_> {
    fn drop(&mut self) {
        self.polling.store(false, Ordering::Release);
    }
}
