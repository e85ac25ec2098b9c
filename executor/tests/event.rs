//! Host tests of the one-shot event on the real executor.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use executor::{Executor, OneShotEvent};

/// The capability that fires test events.
struct Fire;

fn waiting_task(executor: &Executor, event: Arc<OneShotEvent<Fire>>) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    executor
        .spawn("waiter", async move {
            event.wait().await;
            flag.store(true, Ordering::SeqCst);
        })
        .unwrap();
    done
}

#[test]
fn a_fire_after_the_wait_wakes_the_waiter() {
    let executor = Executor::new(4);
    let event = Arc::new(OneShotEvent::new());
    let done = waiting_task(&executor, event.clone());
    executor.run_ready(0, usize::MAX);
    assert!(!done.load(Ordering::SeqCst));
    assert_eq!(executor.queued_tasks(), 0, "the waiter should be parked");
    event.fire(Fire);
    assert_eq!(executor.queued_tasks(), 1, "firing did not wake the waiter");
    executor.run_ready(0, usize::MAX);
    assert!(done.load(Ordering::SeqCst));
}

#[test]
fn a_fire_before_the_wait_completes_it_at_once() {
    let executor = Executor::new(4);
    let event = Arc::new(OneShotEvent::new());
    event.fire(Fire);
    let done = waiting_task(&executor, event.clone());
    executor.run_ready(0, 1);
    assert!(done.load(Ordering::SeqCst));
    assert!(event.has_fired());
}

#[test]
fn dropping_the_waiter_before_the_fire_is_harmless() {
    let executor = Executor::new(4);
    let event = Arc::new(OneShotEvent::new());
    let waiter = event.clone();
    executor
        .spawn("gives-up", async move {
            // Poll the wait once, then give up on it.
            let mut wait = std::pin::pin!(waiter.wait());
            std::future::poll_fn(|cx| {
                assert!(wait.as_mut().poll(cx).is_pending());
                std::task::Poll::Ready(())
            })
            .await;
        })
        .unwrap();
    executor.run_ready(0, usize::MAX);
    event.fire(Fire);
    assert_eq!(executor.queued_tasks(), 0, "the finished task was queued again");
    assert_eq!(executor.live_tasks(), 0);
}

#[test]
#[should_panic(expected = "fired twice")]
fn firing_twice_is_refused() {
    let event: OneShotEvent<Fire> = OneShotEvent::new();
    event.fire(Fire);
    event.fire(Fire);
}

#[test]
fn a_rearmed_event_fires_again() {
    let executor = Executor::new(4);
    let event = Arc::new(OneShotEvent::new());
    event.fire(Fire);
    event.rearm();
    assert!(!event.has_fired());
    let done = waiting_task(&executor, event.clone());
    executor.run_ready(0, usize::MAX);
    assert!(!done.load(Ordering::SeqCst));
    event.fire(Fire);
    executor.run_ready(0, usize::MAX);
    assert!(done.load(Ordering::SeqCst));
}

#[test]
#[should_panic(expected = "has not fired")]
fn rearming_an_unfired_event_is_refused() {
    let event: OneShotEvent<Fire> = OneShotEvent::new();
    event.rearm();
}
