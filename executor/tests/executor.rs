//! Host tests of the executor's rules on one CPU: one queue entry per task however often it
//! is woken, harmless wakes after completion, slots given back exactly, timers in deadline
//! order, and an idle loop that never halts past a wakeup. `stealing.rs` tests several CPUs.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use executor::{Executor, Platform, SpawnError, TaskEvent, TraceRecord};

/// A future that stays pending until `release` is set, handing its waker out each poll.
fn parked(
    waker_slot: Arc<Mutex<Option<Waker>>>,
    release: Arc<AtomicUsize>,
) -> impl Future<Output = ()> + Send {
    std::future::poll_fn(move |cx| {
        *waker_slot.lock().unwrap() = Some(cx.waker().clone());
        if release.load(Ordering::Acquire) > 0 { Poll::Ready(()) } else { Poll::Pending }
    })
}

#[test]
fn thousand_wakes_of_one_task_make_one_queue_entry() {
    let executor = Executor::new(8);
    let waker_slot = Arc::new(Mutex::new(None));
    let release = Arc::new(AtomicUsize::new(0));
    executor.spawn("parked", parked(waker_slot.clone(), release.clone())).unwrap();
    assert_eq!(executor.run_ready(0, usize::MAX), 1);
    assert_eq!(executor.queued_tasks(), 0);

    let waker = waker_slot.lock().unwrap().clone().unwrap();
    for _ in 0..1000 {
        waker.wake_by_ref();
    }
    assert_eq!(executor.queued_tasks(), 1);
    assert_eq!(executor.run_ready(0, usize::MAX), 1, "the task was polled more than once");
}

#[test]
fn a_wake_after_completion_is_harmless() {
    let executor = Executor::new(8);
    let waker_slot = Arc::new(Mutex::new(None));
    let release = Arc::new(AtomicUsize::new(1));
    executor.spawn("finishes", parked(waker_slot.clone(), release)).unwrap();
    executor.run_ready(0, usize::MAX);
    assert_eq!(executor.live_tasks(), 0);

    let waker = waker_slot.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    waker.wake();
    assert_eq!(executor.queued_tasks(), 0, "a finished task was queued again");
    assert_eq!(executor.run_ready(0, usize::MAX), 0);
    assert_eq!(executor.live_tasks(), 0);
}

#[test]
fn a_task_that_wakes_itself_on_its_last_poll_gives_its_slot_back_once() {
    let executor = Executor::new(1);
    executor
        .spawn(
            "wakes-and-ends",
            std::future::poll_fn(|cx| {
                cx.waker().wake_by_ref();
                Poll::Ready(())
            }),
        )
        .unwrap();
    executor.run_ready(0, usize::MAX);
    assert_eq!(executor.live_tasks(), 0);
    // The one slot is free again: a spawn succeeds, a second is refused.
    executor.spawn("next", async {}).unwrap();
    assert_eq!(executor.spawn("over", async {}), Err(SpawnError::TooManyTasks { limit: 1 }));
}

#[test]
fn ten_thousand_tasks_complete() {
    const TASKS: usize = 10_000;
    let executor = Executor::new(TASKS);
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..TASKS {
        let done = done.clone();
        executor
            .spawn("many", async move {
                executor::yield_now().await;
                done.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    }
    while executor.run_ready(0, usize::MAX) > 0 {}
    assert_eq!(done.load(Ordering::Relaxed), TASKS);
    assert_eq!(executor.live_tasks(), 0);
    assert_eq!(Arc::strong_count(&done), 1, "finished tasks still hold their futures");
}

#[test]
fn spawning_beyond_the_limit_is_refused_and_the_limit_frees_up() {
    let executor = Executor::new(2);
    executor.spawn("a", async {}).unwrap();
    executor.spawn("b", async {}).unwrap();
    assert_eq!(executor.spawn("c", async {}), Err(SpawnError::TooManyTasks { limit: 2 }));
    executor.run_ready(0, usize::MAX);
    executor.spawn("c", async {}).unwrap();
}

#[test]
fn timers_fire_in_deadline_order_and_never_early() {
    let executor = Executor::new(16);
    let fired = Arc::new(Mutex::new(Vec::new()));
    for deadline in [9u64, 3, 6, 1, 3] {
        let fired = fired.clone();
        let clock = executor.clone();
        executor
            .spawn("sleeper", async move {
                clock.sleep_until(deadline).await;
                fired.lock().unwrap().push((deadline, clock.now()));
            })
            .unwrap();
    }
    executor.run_ready(0, usize::MAX);
    assert_eq!(executor.armed_timers(), 5);
    for _ in 0..10 {
        executor.tick();
        executor.run_ready(0, usize::MAX);
    }
    let fired = fired.lock().unwrap().clone();
    let deadlines: Vec<u64> = fired.iter().map(|&(deadline, _)| deadline).collect();
    assert_eq!(deadlines, [1, 3, 3, 6, 9]);
    assert!(fired.iter().all(|&(deadline, now)| now == deadline), "a timer fired late or early: {fired:?}");
    assert_eq!(executor.armed_timers(), 0);
}

#[test]
fn a_dropped_sleep_disarms_its_timer() {
    let executor = Executor::new(4);
    let clock = executor.clone();
    let sleep = Arc::new(Mutex::new(Some(Box::pin(clock.sleep(5)))));
    let held = sleep.clone();
    executor
        .spawn(
            "polls-once",
            std::future::poll_fn(move |cx| {
                let _ = held.lock().unwrap().as_mut().unwrap().as_mut().poll(cx);
                Poll::Ready(())
            }),
        )
        .unwrap();
    executor.run_ready(0, usize::MAX);
    assert_eq!(executor.armed_timers(), 1);
    sleep.lock().unwrap().take();
    assert_eq!(executor.armed_timers(), 0);
}

static TRACE: Mutex<Vec<TraceRecord>> = Mutex::new(Vec::new());

fn record(event: &TraceRecord) {
    TRACE.lock().unwrap().push(*event);
}

#[test]
fn tracing_reports_each_event_in_order_and_only_when_on() {
    let executor = Executor::with_trace_sink(4, record);
    executor.spawn("untraced", async {}).unwrap();
    executor.run_ready(0, usize::MAX);
    assert!(TRACE.lock().unwrap().is_empty());

    executor.set_tracing(true);
    executor.spawn("traced", executor::yield_now()).unwrap();
    executor.run_ready(0, usize::MAX);
    let events: Vec<TaskEvent> = TRACE.lock().unwrap().iter().map(|record| record.event).collect();
    assert_eq!(
        events,
        [
            TaskEvent::Spawn,
            TaskEvent::PollBegin,
            TaskEvent::Wake { queued: true },
            TaskEvent::PollEnd { ready: false },
            TaskEvent::PollBegin,
            TaskEvent::PollEnd { ready: true },
            TaskEvent::Complete,
        ]
    );
    assert!(TRACE.lock().unwrap().iter().all(|record| record.name == "traced"));
}

/// When the simulated device interrupt arrives, relative to the idle loop's first `cli`.
#[derive(Clone, Copy)]
enum Arrival {
    /// Just before interrupts go off: it is taken at once.
    JustBeforeDisable,
    /// While interrupts are off: it stays pending until they are enabled again.
    WhileDisabled,
}

/// A CPU as the idle loop sees it, with one device interrupt that arrives at the idle
/// loop's first `disable_interrupts`.
struct SimulatedCpu<F: Fn(), R: Fn() -> bool> {
    arrival: Arrival,
    interrupts_enabled: Cell<bool>,
    interrupt_arrived: Cell<bool>,
    interrupt_pending: Cell<bool>,
    on_interrupt: F,
    task_ready: R,
    halts: Cell<usize>,
}

impl<F: Fn(), R: Fn() -> bool> SimulatedCpu<F, R> {
    fn new(arrival: Arrival, on_interrupt: F, task_ready: R) -> Self {
        Self {
            arrival,
            interrupts_enabled: Cell::new(true),
            interrupt_arrived: Cell::new(false),
            interrupt_pending: Cell::new(false),
            on_interrupt,
            task_ready,
            halts: Cell::new(0),
        }
    }

    fn deliver_pending(&self) {
        if self.interrupt_pending.replace(false) {
            (self.on_interrupt)();
        }
    }
}

impl<F: Fn(), R: Fn() -> bool> Platform for SimulatedCpu<F, R> {
    fn disable_interrupts(&self) {
        let first = !self.interrupt_arrived.replace(true);
        if first && matches!(self.arrival, Arrival::JustBeforeDisable) {
            (self.on_interrupt)();
        }
        self.interrupts_enabled.set(false);
        if first && matches!(self.arrival, Arrival::WhileDisabled) {
            self.interrupt_pending.set(true);
        }
    }

    fn enable_interrupts(&self) {
        self.interrupts_enabled.set(true);
        self.deliver_pending();
    }

    fn enable_interrupts_and_halt(&self) {
        assert!(
            !self.interrupts_enabled.get(),
            "halt entered with interrupts enabled: a wakeup could be lost"
        );
        assert!(!(self.task_ready)(), "the CPU halted with a task ready: its wakeup was slept through");
        self.halts.set(self.halts.get() + 1);
        // `sti; hlt`: a pending interrupt is taken during the halt and ends it.
        self.interrupts_enabled.set(true);
        self.deliver_pending();
    }
}

/// Runs the idle loop over one task that only an interrupt can release.
fn idle_loop_with_interrupt(arrival: Arrival) -> usize {
    let executor = Executor::new(4);
    let waker_slot = Arc::new(Mutex::new(None));
    let release = Arc::new(AtomicUsize::new(0));
    executor.spawn("waits-for-interrupt", parked(waker_slot.clone(), release.clone())).unwrap();

    let interrupt_release = release.clone();
    let queue = executor.clone();
    let cpu = SimulatedCpu::new(
        arrival,
        move || {
            interrupt_release.store(1, Ordering::Release);
            if let Some(waker) = waker_slot.lock().unwrap().as_ref() {
                waker.wake_by_ref();
            }
        },
        move || queue.queued_tasks() > 0,
    );
    executor.run_until(&cpu, 16, || executor.live_tasks() == 0);
    assert_eq!(release.load(Ordering::Acquire), 1);
    cpu.halts.get()
}

#[test]
fn an_interrupt_just_before_the_idle_check_keeps_the_cpu_awake() {
    assert_eq!(idle_loop_with_interrupt(Arrival::JustBeforeDisable), 0);
}

#[test]
fn an_interrupt_between_the_idle_check_and_halt_ends_the_halt() {
    assert_eq!(
        idle_loop_with_interrupt(Arrival::WhileDisabled),
        1,
        "the loop should have halted exactly once"
    );
}

#[test]
#[should_panic(expected = "run_ready re-entered from inside a poll")]
fn polling_from_inside_a_poll_is_refused() {
    let executor = Executor::new(4);
    let inner = executor.clone();
    executor
        .spawn(
            "re-enters",
            std::future::poll_fn(move |_| {
                inner.run_ready(0, 1);
                Poll::Ready(())
            }),
        )
        .unwrap();
    executor.run_ready(0, 1);
}

static SECTIONS: AtomicUsize = AtomicUsize::new(0);

fn counting_section(work: &mut dyn FnMut()) {
    SECTIONS.fetch_add(1, Ordering::SeqCst);
    work();
}

#[test]
fn ready_queue_and_timer_lock_run_inside_the_critical_section() {
    let executor = executor::Executor::with_config(executor::Config {
        critical_section: Some(counting_section),
        ..executor::Config::new(4)
    });
    let clock = executor.clone();
    executor.spawn("sleeps", async move { clock.sleep(1).await }).unwrap();
    let after_spawn = SECTIONS.load(Ordering::SeqCst);
    assert!(after_spawn >= 1, "the spawn's push ran outside the critical section");
    executor.run_ready(0, usize::MAX);
    let after_poll = SECTIONS.load(Ordering::SeqCst);
    assert!(after_poll >= after_spawn + 2, "the pop or the timer lock ran outside the critical section");
    executor.tick();
    executor.run_ready(0, usize::MAX);
    assert_eq!(executor.live_tasks(), 0);
}
