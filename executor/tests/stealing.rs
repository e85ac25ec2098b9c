//! Host tests of one executor serving several CPUs: a wake makes its task ready on the queue
//! of the CPU it runs on, a CPU polls its own queue first and steals from the others once
//! it is empty, and under stealing no task is ever polled by two CPUs at once, queued
//! twice, or lost.
//!
//! A test thread plays a CPU by setting `CPU`, which the executor's `current_queue` hook
//! reads, and by passing the same index to `run_ready`.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use executor::{Config, Executor};
use proptest::prelude::*;

thread_local! {
    static CPU: Cell<usize> = const { Cell::new(0) };
}

fn current_cpu() -> usize {
    CPU.with(Cell::get)
}

/// Runs `work` as CPU `cpu`.
fn as_cpu<R>(cpu: usize, work: impl FnOnce() -> R) -> R {
    let before = CPU.with(|current| current.replace(cpu));
    let result = work();
    CPU.with(|current| current.set(before));
    result
}

fn executor_for(cpus: usize, max_tasks: usize) -> Executor {
    Executor::with_config(Config { queues: cpus, current_queue: Some(current_cpu), ..Config::new(max_tasks) })
}

/// What a probed task saw: the CPUs that polled it, in order, and its latest waker.
#[derive(Default)]
struct Probe {
    polled_on: Mutex<Vec<usize>>,
    waker: Mutex<Option<Waker>>,
    finish: AtomicBool,
}

impl Probe {
    fn wake(&self) {
        self.waker.lock().unwrap().as_ref().expect("the task was never polled").wake_by_ref();
    }
}

/// A task that records each poll and stays pending until its probe says finish.
fn probed(probe: Arc<Probe>) -> impl Future<Output = ()> + Send {
    std::future::poll_fn(move |cx| {
        probe.polled_on.lock().unwrap().push(current_cpu());
        *probe.waker.lock().unwrap() = Some(cx.waker().clone());
        if probe.finish.load(Ordering::Acquire) { Poll::Ready(()) } else { Poll::Pending }
    })
}

#[test]
fn a_task_woken_on_cpu_1_becomes_ready_on_cpu_1_and_cpu_1_polls_it() {
    let executor = executor_for(2, 4);
    let probe = Arc::new(Probe::default());
    as_cpu(0, || executor.spawn("woken-on-1", probed(probe.clone()))).unwrap();
    assert_eq!(as_cpu(0, || executor.run_ready(0, usize::MAX)), 1);

    let remote = probe.clone();
    std::thread::spawn(move || as_cpu(1, || remote.wake())).join().unwrap();
    assert_eq!(executor.queued_tasks_on(1), 1, "the wake did not queue the task on the waking CPU");
    assert_eq!(executor.queued_tasks_on(0), 0, "the wake queued the task on the CPU that spawned it");

    assert_eq!(as_cpu(1, || executor.run_ready(1, usize::MAX)), 1);
    assert_eq!(*probe.polled_on.lock().unwrap(), [0, 1]);
}

#[test]
fn a_cpu_with_an_empty_queue_steals_another_cpus_ready_task() {
    let executor = executor_for(3, 4);
    let probe = Arc::new(Probe::default());
    as_cpu(2, || executor.spawn("ready-on-2", probed(probe.clone()))).unwrap();
    assert_eq!(executor.queued_tasks_on(2), 1);
    assert_eq!(as_cpu(0, || executor.run_ready(0, 1)), 1, "CPU 0 did not steal CPU 2's task");
    assert_eq!(*probe.polled_on.lock().unwrap(), [0]);
    assert_eq!(executor.queued_tasks(), 0);
}

#[test]
fn a_cpu_polls_its_own_queue_before_stealing() {
    let executor = executor_for(2, 4);
    let (mine, theirs) = (Arc::new(Probe::default()), Arc::new(Probe::default()));
    as_cpu(0, || executor.spawn("on-0", probed(theirs.clone()))).unwrap();
    as_cpu(1, || executor.spawn("on-1", probed(mine.clone()))).unwrap();
    assert_eq!(as_cpu(1, || executor.run_ready(1, 1)), 1);
    assert_eq!(*mine.polled_on.lock().unwrap(), [1], "CPU 1 did not poll its own task first");
    assert!(theirs.polled_on.lock().unwrap().is_empty(), "CPU 1 stole with work of its own");
}

#[test]
fn a_wake_during_a_poll_queues_the_task_again_only_when_the_poll_is_over() {
    // CPU 1 wakes the task while CPU 0 polls it. Were the task queued on CPU 1 then, CPU 1
    // could poll it while CPU 0 still does; instead CPU 0 queues it again on its own queue
    // once its poll has ended.
    let executor = executor_for(2, 4);
    let in_poll = Arc::new(Barrier::new(2));
    let woken = Arc::new(Barrier::new(2));
    let waker_slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let polls = Arc::new(AtomicUsize::new(0));
    let task = {
        let (in_poll, woken, waker_slot, polls) =
            (in_poll.clone(), woken.clone(), waker_slot.clone(), polls.clone());
        std::future::poll_fn(move |cx| {
            if polls.fetch_add(1, Ordering::SeqCst) == 0 {
                *waker_slot.lock().unwrap() = Some(cx.waker().clone());
                in_poll.wait();
                woken.wait();
                return Poll::Pending;
            }
            Poll::Ready(())
        })
    };
    as_cpu(0, || executor.spawn("woken-while-polled", task)).unwrap();
    let remote = {
        let (executor, waker_slot) = (executor.clone(), waker_slot.clone());
        std::thread::spawn(move || {
            in_poll.wait();
            as_cpu(1, || {
                waker_slot.lock().unwrap().as_ref().unwrap().wake_by_ref();
                assert_eq!(executor.queued_tasks(), 0, "a task being polled was queued");
                assert_eq!(executor.run_ready(1, usize::MAX), 0, "CPU 1 polled a task CPU 0 was polling");
            });
            woken.wait();
        })
    };
    assert_eq!(as_cpu(0, || executor.run_ready(0, 1)), 1);
    remote.join().unwrap();
    assert_eq!(executor.queued_tasks_on(0), 1, "the wake during the poll was lost or queued elsewhere");
    assert_eq!(as_cpu(0, || executor.run_ready(0, usize::MAX)), 1);
    assert_eq!(executor.live_tasks(), 0);
}

#[test]
fn each_cpu_may_poll_from_inside_another_cpus_poll() {
    // The no-re-entry rule is per CPU: on a kernel a CPU never polls inside another's poll,
    // but nothing shared forbids it.
    let executor = executor_for(2, 4);
    let inner = executor.clone();
    let ran_inside = Arc::new(AtomicBool::new(false));
    let flag = ran_inside.clone();
    as_cpu(1, || executor.spawn("inner", async move { flag.store(true, Ordering::SeqCst) })).unwrap();
    as_cpu(0, || {
        executor.spawn(
            "outer",
            std::future::poll_fn(move |_| {
                as_cpu(1, || inner.run_ready(1, 1));
                Poll::Ready(())
            }),
        )
    })
    .unwrap();
    as_cpu(0, || executor.run_ready(0, 1));
    assert!(ran_inside.load(Ordering::SeqCst));
}

/// The stress test below: CPUs (each with a polling thread and a waking thread), tasks,
/// and wakes each task gets.
const STRESS_CPUS: usize = 4;
const STRESS_TASKS: usize = 8;
const STRESS_WAKES_PER_TASK: usize = 2_000;

/// One stressed task's shared state: wakes sent, its waker, and whether a poll is under way.
#[derive(Default)]
struct Mailbox {
    sent: AtomicUsize,
    waker: Mutex<Option<Waker>>,
    in_poll: AtomicBool,
    done: AtomicBool,
}

#[test]
fn four_cpus_stealing_never_poll_a_task_twice_at_once_nor_lose_a_wake() {
    let executor = executor_for(STRESS_CPUS, STRESS_TASKS);
    let mailboxes: Vec<Arc<Mailbox>> = (0..STRESS_TASKS).map(|_| Arc::default()).collect();
    for (index, mailbox) in mailboxes.iter().enumerate() {
        let mailbox = mailbox.clone();
        let task = std::future::poll_fn(move |cx| {
            assert!(!mailbox.in_poll.swap(true, Ordering::SeqCst), "a task was polled by two CPUs at once");
            *mailbox.waker.lock().unwrap() = Some(cx.waker().clone());
            let all_seen = mailbox.sent.load(Ordering::Acquire) == STRESS_WAKES_PER_TASK;
            mailbox.in_poll.store(false, Ordering::SeqCst);
            if all_seen {
                mailbox.done.store(true, Ordering::Release);
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        as_cpu(index % STRESS_CPUS, || executor.spawn("stressed", task)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let all_done = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        for cpu in 0..STRESS_CPUS {
            let (executor, all_done) = (&executor, &all_done);
            scope.spawn(move || {
                as_cpu(cpu, || {
                    while !all_done.load(Ordering::Acquire) {
                        executor.run_ready(cpu, 4);
                        assert!(
                            Instant::now() < deadline,
                            "a wake was lost: tasks wait with every wake sent"
                        );
                    }
                })
            });
        }
        // Wakers run as CPUs too, so their wakes queue tasks on every CPU's queue.
        for waker_cpu in 0..STRESS_CPUS {
            let mailboxes = &mailboxes;
            scope.spawn(move || {
                as_cpu(waker_cpu, || {
                    for _ in 0..STRESS_WAKES_PER_TASK / STRESS_CPUS {
                        for mailbox in mailboxes {
                            mailbox.sent.fetch_add(1, Ordering::AcqRel);
                            if let Some(waker) = mailbox.waker.lock().unwrap().clone() {
                                waker.wake();
                            }
                        }
                    }
                })
            });
        }
        // Wakes sent before a task's first poll found no waker; the first poll saw them.
        while !mailboxes.iter().all(|mailbox| mailbox.done.load(Ordering::Acquire)) {
            assert!(Instant::now() < deadline, "a wake was lost: tasks wait with every wake sent");
            std::thread::yield_now();
        }
        all_done.store(true, Ordering::Release);
    });
    assert_eq!(executor.live_tasks(), 0);
    assert_eq!(executor.queued_tasks(), 0);
}

/// One step of the model-checked schedule below.
#[derive(Debug, Clone)]
enum Step {
    /// CPU `cpu` spawns a task, which wakes itself in every poll if `wakes_itself`.
    Spawn { cpu: usize, wakes_itself: bool },
    /// CPU `cpu` wakes task `task` (an index into the tasks spawned so far).
    Wake { task: usize, cpu: usize },
    /// Task `task` completes at its next poll.
    Finish { task: usize },
    /// CPU `cpu` runs `run_ready` with `budget`.
    Run { cpu: usize, budget: usize },
}

fn step(cpus: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..cpus, any::<bool>()).prop_map(|(cpu, wakes_itself)| Step::Spawn { cpu, wakes_itself }),
        (any::<usize>(), 0..cpus).prop_map(|(task, cpu)| Step::Wake { task, cpu }),
        any::<usize>().prop_map(|task| Step::Finish { task }),
        (0..cpus, 1..4usize).prop_map(|(cpu, budget)| Step::Run { cpu, budget }),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Modelled {
    Idle,
    Queued,
    Done,
}

/// The executor as the rules say it behaves: FIFO queues per CPU, own queue first, then
/// the next CPUs' in turn; a self-waking task goes back to the end of its poller's queue.
struct Model {
    queues: Vec<VecDeque<usize>>,
    states: Vec<Modelled>,
    wakes_itself: Vec<bool>,
    finish: Vec<bool>,
}

impl Model {
    fn pop_for(&mut self, cpu: usize) -> Option<usize> {
        let count = self.queues.len();
        (0..count).find_map(|step| self.queues[(cpu + step) % count].pop_front())
    }

    /// The polls `run_ready(cpu, budget)` makes, as (task, polling CPU).
    fn run(&mut self, cpu: usize, budget: usize) -> Vec<(usize, usize)> {
        let mut polls = Vec::new();
        while polls.len() < budget {
            let Some(task) = self.pop_for(cpu) else { break };
            polls.push((task, cpu));
            self.states[task] = if self.finish[task] {
                Modelled::Done
            } else if self.wakes_itself[task] {
                self.queues[cpu].push_back(task);
                Modelled::Queued
            } else {
                Modelled::Idle
            };
        }
        polls
    }
}

const MODEL_MAX_TASKS: usize = 6;

proptest! {
    #[test]
    fn spawns_wakes_and_runs_on_several_cpus_follow_the_queue_rules(
        (cpus, steps) in (1..=4usize).prop_flat_map(|cpus| (Just(cpus), prop::collection::vec(step(cpus), 1..60)))
    ) {
        let executor = executor_for(cpus, MODEL_MAX_TASKS);
        let polls: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
        let mut wakers: Vec<Arc<Mutex<Option<Waker>>>> = Vec::new();
        let mut finish_flags: Vec<Arc<AtomicBool>> = Vec::new();
        let mut model =
            Model { queues: vec![VecDeque::new(); cpus], states: Vec::new(), wakes_itself: Vec::new(), finish: Vec::new() };
        for step in steps {
            match step {
                Step::Spawn { cpu, wakes_itself } => {
                    let id = wakers.len();
                    let live = model.states.iter().filter(|state| **state != Modelled::Done).count();
                    let (waker, finish, polls) = (Arc::new(Mutex::new(None)), Arc::new(AtomicBool::new(false)), polls.clone());
                    let (task_waker, task_finish) = (waker.clone(), finish.clone());
                    let future = std::future::poll_fn(move |cx: &mut std::task::Context<'_>| {
                        polls.lock().unwrap().push((id, current_cpu()));
                        *task_waker.lock().unwrap() = Some(cx.waker().clone());
                        if task_finish.load(Ordering::SeqCst) {
                            return Poll::Ready(());
                        }
                        if wakes_itself {
                            cx.waker().wake_by_ref();
                        }
                        Poll::Pending
                    });
                    let spawned = as_cpu(cpu, || executor.spawn("modelled", future));
                    if live == MODEL_MAX_TASKS {
                        prop_assert!(spawned.is_err(), "a spawn beyond the task limit was admitted");
                        continue;
                    }
                    prop_assert!(spawned.is_ok());
                    wakers.push(waker);
                    finish_flags.push(finish);
                    model.queues[cpu].push_back(id);
                    model.states.push(Modelled::Queued);
                    model.wakes_itself.push(wakes_itself);
                    model.finish.push(false);
                }
                Step::Wake { task, cpu } => {
                    if wakers.is_empty() {
                        continue;
                    }
                    let task = task % wakers.len();
                    let Some(waker) = wakers[task].lock().unwrap().clone() else { continue };
                    as_cpu(cpu, || waker.wake());
                    if model.states[task] == Modelled::Idle {
                        model.states[task] = Modelled::Queued;
                        model.queues[cpu].push_back(task);
                    }
                }
                Step::Finish { task } => {
                    if finish_flags.is_empty() {
                        continue;
                    }
                    let task = task % finish_flags.len();
                    finish_flags[task].store(true, Ordering::SeqCst);
                    model.finish[task] = true;
                }
                Step::Run { cpu, budget } => {
                    let made = as_cpu(cpu, || executor.run_ready(cpu, budget));
                    let expected = model.run(cpu, budget);
                    let seen: Vec<(usize, usize)> = polls.lock().unwrap().drain(..).collect();
                    prop_assert_eq!(made, expected.len());
                    prop_assert_eq!(seen, expected, "polled other tasks, or on other CPUs, than the rules say");
                }
            }
            for (queue, entries) in model.queues.iter().enumerate() {
                prop_assert_eq!(executor.queued_tasks_on(queue), entries.len(), "queue {} has other entries", queue);
            }
            let live = model.states.iter().filter(|state| **state != Modelled::Done).count();
            prop_assert_eq!(executor.live_tasks(), live);
        }
        // Nothing is lost: finished and woken once more, every task completes.
        for (task, finish) in finish_flags.iter().enumerate() {
            finish.store(true, Ordering::SeqCst);
            if let Some(waker) = wakers[task].lock().unwrap().clone() {
                waker.wake();
            }
        }
        for cpu in 0..cpus {
            as_cpu(cpu, || executor.run_ready(cpu, usize::MAX));
        }
        prop_assert_eq!(executor.live_tasks(), 0, "a task was lost: never polled to completion");
        prop_assert_eq!(executor.queued_tasks(), 0);
    }
}
