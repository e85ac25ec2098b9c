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
