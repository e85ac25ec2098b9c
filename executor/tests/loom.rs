//! Loom model of the wake/poll handshake (see `src/task.rs`): under every interleaving and
//! every memory-model-permitted stale read, a wake that races with the executor's claim of
//! the task is never lost. Weakening `Task::schedule` or `Task::claim_for_poll` (a plain
//! store for the claim, or Relaxed swaps) makes this fail.
//!
//! Run with: RUSTFLAGS="--cfg loom" cargo test -p executor --test loom --release
#![cfg(loom)]

use executor::loom_support::Handshake;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

#[test]
fn a_wake_racing_with_the_claim_is_never_lost() {
    loom::model(|| {
        let handshake = Arc::new(Handshake::new_queued());
        // The event the task's future waits for, published with Release like any real one.
        let event = Arc::new(AtomicBool::new(false));

        let waker = {
            let (handshake, event) = (handshake.clone(), event.clone());
            thread::spawn(move || {
                event.store(true, Ordering::Release);
                handshake.wake();
            })
        };

        // The executor: pop the task, claim it, then "poll": read the event.
        assert!(handshake.pop_and_claim(), "the spawned task was not queued");
        let seen_by_poll = event.load(Ordering::Acquire);

        waker.join().unwrap();
        // Either the poll saw the event, or the wake queued the task for another poll.
        assert!(
            seen_by_poll || handshake.queued_entries() == 1,
            "lost wakeup: the poll missed the event and the task is not queued"
        );
        assert!(handshake.queued_entries() <= 1, "task queued twice");
    });
}

#[test]
fn concurrent_wakes_queue_the_task_once() {
    loom::model(|| {
        let handshake = Arc::new(Handshake::new_queued());
        assert!(handshake.pop_and_claim());
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let handshake = handshake.clone();
                thread::spawn(move || handshake.wake())
            })
            .collect();
        for waker in wakers {
            waker.join().unwrap();
        }
        assert_eq!(handshake.queued_entries(), 1);
    });
}
