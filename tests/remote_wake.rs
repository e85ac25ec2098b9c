//! Wake-ups across CPUs: a task woken by threads that run on every CPU loses no wake-up and
//! is never polled by two CPUs at once — each wake queues it on the waking CPU's ready
//! queue (unless it is queued already, or marks it to be queued again when it is being
//! polled), and whichever CPU finds it there, or steals it, polls it.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::poll_fn;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::task::Poll;

use futures_util::task::AtomicWaker;
use kernel::sched::{self, block_on, cpu};
use kernel::tasks;

kernel::qemu_test_main!();

/// Wakes each waker thread makes.
const WAKES_PER_THREAD: u64 = 10_000;

struct Mailbox {
    /// Wakes sent so far; the task waits until it has seen every one.
    sent: AtomicU64,
    waker: AtomicWaker,
    done: AtomicBool,
    /// Set while a CPU polls the task.
    in_poll: AtomicBool,
    /// CPUs that polled the task, one bit each.
    polled_on: AtomicU64,
}

#[test_case]
fn a_task_woken_ten_thousand_times_from_every_cpu_loses_no_wake_up() {
    let wakers = cpu::online_count().max(2) as u64;
    let total = wakers * WAKES_PER_THREAD;
    let mailbox = Arc::new(Mailbox {
        sent: AtomicU64::new(0),
        waker: AtomicWaker::new(),
        done: AtomicBool::new(false),
        in_poll: AtomicBool::new(false),
        polled_on: AtomicU64::new(0),
    });
    let watched = mailbox.clone();
    tasks::spawn("woken", async move {
        let mut polls = 0u64;
        poll_fn(|context| {
            assert!(!watched.in_poll.swap(true, Ordering::SeqCst), "two CPUs polled the task at once");
            watched.polled_on.fetch_or(1 << cpu::this_cpu_index(), Ordering::Relaxed);
            polls += 1;
            watched.waker.register(context.waker());
            let all_seen = watched.sent.load(Ordering::Acquire) == total;
            watched.in_poll.store(false, Ordering::SeqCst);
            if all_seen { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
        assert!(polls <= total + 1, "more polls than wakes");
        watched.done.store(true, Ordering::Release);
    })
    .expect("spawn failed");
    let cpus_used = Arc::new(AtomicU64::new(0));
    // Every waker waits until all have started, so they are runnable together and placement
    // has to spread them (one that finished before the next was made would leave its CPU
    // idle for the next to take).
    let started = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..wakers)
        .map(|_| {
            let mailbox = mailbox.clone();
            let cpus_used = cpus_used.clone();
            let started = started.clone();
            sched::spawn("waker", move || {
                started.fetch_add(1, Ordering::AcqRel);
                while started.load(Ordering::Acquire) < wakers {
                    core::hint::spin_loop();
                }
                for _ in 0..WAKES_PER_THREAD {
                    cpus_used.fetch_or(1 << cpu::this_cpu_index(), Ordering::Relaxed);
                    mailbox.sent.fetch_add(1, Ordering::AcqRel);
                    mailbox.waker.wake();
                }
            })
            .expect("spawn failed")
        })
        .collect();
    for handle in handles {
        block_on(handle.torn_down());
    }
    // A lost wake-up leaves the task asleep with every wake sent: this never ends, and the
    // test runner's timeout fails the test.
    tasks::run_until(|| mailbox.done.load(Ordering::Acquire));
    let used = cpus_used.load(Ordering::Relaxed).count_ones();
    let pollers = mailbox.polled_on.load(Ordering::Relaxed).count_ones();
    kernel::println!(
        "remote wake: {total} wakes from {wakers} threads on {used} CPU(s), polled on {pollers} CPU(s)"
    );
    if cpu::online_count() > 1 {
        assert!(used > 1, "the waker threads all ran on one CPU");
    }
}
