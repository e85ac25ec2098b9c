//! Loom models of the executor's races, on the real executor: a wake that races with a
//! CPU's claim of the task is never lost; concurrent wakes queue a task once; the off-CPU
//! event wakes its waiter whether fired before or after the wait; and a dead thread's
//! teardown, made ready on the CPU the switch path fires on while two CPUs poll (one of
//! them stealing), runs exactly once and only after the fire. Weakening `Task::schedule`,
//! `Task::claim_for_poll` or `Task::end_poll` (a wake that only loads the state, Relaxed
//! orderings) or queueing a task woken during its poll makes one of them fail.
//!
//! Run with: RUSTFLAGS="--cfg loom" cargo test -p executor --test loom --release
#![cfg(loom)]

use std::task::{Poll, Waker};

use executor::{Config, Executor};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

loom::thread_local! {
    static CPU: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

/// The model's CPU of the running loom thread, as the executor's `current_queue` hook.
fn current_cpu() -> usize {
    CPU.with(|cpu| cpu.get())
}

fn executor_for(cpus: usize) -> Executor {
    Executor::with_config(Config { queues: cpus, current_queue: Some(current_cpu), ..Config::new(4) })
}

fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// A task's latest waker, as its future leaves it.
type WakerSlot = Arc<Mutex<Option<Waker>>>;

/// A task that keeps its waker in `slot`, records in `seen` whether its poll saw `event`,
/// and completes once `finish` is set.
fn watcher(
    slot: WakerSlot,
    event: Arc<AtomicBool>,
    seen: Arc<AtomicBool>,
    finish: Arc<AtomicBool>,
) -> impl Future<Output = ()> + Send {
    std::future::poll_fn(move |cx| {
        *slot.lock().unwrap() = Some(cx.waker().clone());
        seen.store(event.load(Ordering::Acquire), Ordering::Relaxed);
        if finish.load(Ordering::Relaxed) { Poll::Ready(()) } else { Poll::Pending }
    })
}

/// Completes the watcher and drops its waker, so that no task outlives the model.
fn finish_watcher(executor: &Executor, slot: &WakerSlot, finish: &AtomicBool) {
    finish.store(true, Ordering::Relaxed);
    let waker = slot.lock().unwrap().take().expect("the watcher was never polled");
    waker.wake();
    while executor.live_tasks() > 0 {
        executor.run_ready(0, usize::MAX);
    }
}

#[test]
fn a_wake_racing_with_the_claim_is_never_lost() {
    loom::model(|| {
        let executor = executor_for(1);
        let (slot, event, seen, finish) = (WakerSlot::default(), flag(), flag(), flag());
        executor
            .spawn("watcher", watcher(slot.clone(), event.clone(), seen.clone(), finish.clone()))
            .unwrap();
        executor.run_ready(0, 1);
        // Queued again, as by an earlier wake: the claim below races with the next one.
        slot.lock().unwrap().as_ref().unwrap().wake_by_ref();

        let waker = {
            let (slot, event) = (slot.clone(), event.clone());
            thread::spawn(move || {
                event.store(true, Ordering::Release);
                slot.lock().unwrap().as_ref().unwrap().wake_by_ref();
            })
        };
        // The executor: pop the task, claim it, poll it: the poll reads the event.
        assert_eq!(executor.run_ready(0, 1), 1, "the woken task was not queued");

        waker.join().unwrap();
        // Either the poll saw the event, or the wake queued the task for another poll.
        assert!(
            seen.load(Ordering::Relaxed) || executor.queued_tasks() == 1,
            "lost wakeup: the poll missed the event and the task is not queued"
        );
        assert!(executor.queued_tasks() <= 1, "task queued twice");
        finish_watcher(&executor, &slot, &finish);
    });
}

#[test]
fn concurrent_wakes_queue_the_task_once() {
    loom::model(|| {
        let executor = executor_for(2);
        let (slot, event, seen, finish) = (WakerSlot::default(), flag(), flag(), flag());
        executor.spawn("watcher", watcher(slot.clone(), event, seen, finish.clone())).unwrap();
        executor.run_ready(0, 1);
        let wakers: Vec<_> = (0..2)
            .map(|cpu| {
                let slot = slot.clone();
                thread::spawn(move || {
                    CPU.with(|current| current.set(cpu));
                    slot.lock().unwrap().as_ref().unwrap().wake_by_ref();
                })
            })
            .collect();
        for waker in wakers {
            waker.join().unwrap();
        }
        assert_eq!(executor.queued_tasks(), 1);
        finish_watcher(&executor, &slot, &finish);
    });
}

/// The capability that fires model events.
struct SwitchPath;

#[test]
fn the_off_cpu_event_wakes_its_waiter_whether_fired_before_or_after_the_wait() {
    loom::model(|| {
        let event = Arc::new(executor::OneShotEvent::new());
        let firer = {
            let event = event.clone();
            thread::spawn(move || event.fire(SwitchPath))
        };
        // block_on parks until woken: a lost wakeup is a deadlock, which loom reports.
        loom::future::block_on(event.wait());
        firer.join().unwrap();
    });
}

#[test]
fn a_waiter_that_gives_up_before_the_fire_is_harmless() {
    loom::model(|| {
        let event = Arc::new(executor::OneShotEvent::new());
        let firer = {
            let event = event.clone();
            thread::spawn(move || event.fire(SwitchPath))
        };
        loom::future::block_on(async {
            let mut wait = std::pin::pin!(event.wait());
            std::future::poll_fn(|cx| {
                let _ = wait.as_mut().poll(cx);
                std::task::Poll::Ready(())
            })
            .await;
        });
        firer.join().unwrap();
        assert!(event.has_fired());
    });
}

/// The model of Lethe's reaping: a dying thread uses its stack until its last switch, the
/// switch path fires the off-CPU event, and the teardown task frees the stack after the
/// event, then the event's own memory. loom's `UnsafeCell`s flag any free not ordered after
/// the last use — a free before the fire, a weakened ordering, or a teardown that goes on
/// while the firer still touches the event — and the counter a second free.
#[test]
fn teardown_frees_the_stack_only_after_the_switch_path_fired_and_only_once() {
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::AtomicUsize;

    struct DeadThread {
        stack: UnsafeCell<u64>,
        off_cpu: executor::OneShotEvent<SwitchPath>,
        frees: AtomicUsize,
    }

    loom::model(|| {
        let thread_state = Arc::new(DeadThread {
            stack: UnsafeCell::new(0),
            off_cpu: executor::OneShotEvent::new(),
            frees: AtomicUsize::new(0),
        });
        let cpu = {
            let dying = thread_state.clone();
            thread::spawn(move || {
                // The thread's last instructions still use its stack...
                dying.stack.with_mut(|_| ());
                // ...then the switch path, on the next thread's stack, fires the event.
                dying.off_cpu.fire(SwitchPath);
            })
        };
        // The teardown task: frees the stack, then the slot the event lives in.
        loom::future::block_on(thread_state.off_cpu.wait());
        thread_state.stack.with_mut(|_| ());
        thread_state.off_cpu.free_memory_in_model();
        assert_eq!(thread_state.frees.fetch_add(1, Ordering::Relaxed), 0, "stack freed twice");
        cpu.join().unwrap();
    });
}

/// A future of the model, spawned on the executor although it touches loom cells, which
/// are neither `Send` nor `Sync` (loom's `UnsafeCell` does not say it may be shared, so a
/// one-shot event, which holds one under loom, is not `Sync` there).
struct ModelFuture(std::pin::Pin<Box<dyn Future<Output = ()>>>);

// SAFETY: loom runs every thread of a model on one OS thread, one at a time, and checks each
// access to a loom cell against those of the other model threads — the very race check the
// model exists for. The future is polled only by model threads, so sending it between them
// lets no access escape the check.
unsafe impl Send for ModelFuture {}

impl Future for ModelFuture {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// The same reaping across CPUs: the dead thread's teardown task, parked on its off-CPU
/// event, is made ready by the switch path of CPU 0 — on CPU 0's queue — while CPU 0 and
/// CPU 1 both poll, CPU 1 by stealing. Whichever runs it, the teardown runs exactly once,
/// frees the stack only after the dying thread's last use of it and the event's memory only
/// after the firer's last access, and no wake is lost: once the fire is over, the teardown
/// has run or is queued.
#[test]
fn a_teardown_made_ready_on_the_dying_cpu_runs_once_after_the_fire_whichever_cpu_polls_it() {
    use loom::cell::UnsafeCell;

    struct DeadThread {
        stack: UnsafeCell<u64>,
        off_cpu: executor::OneShotEvent<SwitchPath>,
        frees: AtomicUsize,
    }

    let mut builder = loom::model::Builder::new();
    // Bounded so that the model stays quick; LOOM_MAX_PREEMPTIONS=6 explores deeper (10 s).
    builder.preemption_bound = builder.preemption_bound.or(Some(4));
    builder.check(|| {
        let executor = executor_for(2);
        let dead = Arc::new(DeadThread {
            stack: UnsafeCell::new(0),
            off_cpu: executor::OneShotEvent::new(),
            frees: AtomicUsize::new(0),
        });
        let teardown = dead.clone();
        executor
            .spawn(
                "teardown",
                ModelFuture(Box::pin(async move {
                    teardown.off_cpu.wait().await;
                    teardown.stack.with_mut(|_| ());
                    teardown.off_cpu.free_memory_in_model();
                    assert_eq!(teardown.frees.fetch_add(1, Ordering::Relaxed), 0, "stack freed twice");
                })),
            )
            .unwrap();
        // Its first poll parks it on the event, as a thread's teardown waits while it runs.
        executor.run_ready(0, 1);
        assert_eq!(executor.queued_tasks(), 0);

        let switch_path = {
            let dying = dead.clone();
            thread::spawn(move || {
                // The thread's last instructions still use its stack...
                dying.stack.with_mut(|_| ());
                // ...then CPU 0's switch path, on the next thread's stack, fires the event.
                dying.off_cpu.fire(SwitchPath);
            })
        };
        let cpus: Vec<_> = (0..2)
            .map(|cpu| {
                let executor = executor.clone();
                thread::spawn(move || {
                    CPU.with(|current| current.set(cpu));
                    executor.run_ready(cpu, 1);
                })
            })
            .collect();
        switch_path.join().unwrap();
        for cpu in cpus {
            cpu.join().unwrap();
        }
        let frees = dead.frees.load(Ordering::Relaxed);
        assert!(
            frees == 1 || executor.queued_tasks() == 1,
            "lost wakeup: the teardown neither ran nor is queued"
        );
        // A poll that found the event still firing queued the task again; it ends now.
        while executor.live_tasks() > 0 {
            executor.run_ready(0, usize::MAX);
        }
        assert_eq!(dead.frees.load(Ordering::Relaxed), 1);
    });
}
