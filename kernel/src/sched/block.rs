//! Threads blocking on futures: `block_on` runs a future to completion on the calling
//! thread, blocking the thread (not spinning) while the future is pending.
//!
//! The waker makes the thread runnable again. A wake that comes between the poll and the
//! decision to block is not lost, on any CPU (`block_current_unless_woken`): the waker
//! stores `wakeup_pending` and then tries Blocked → Runnable; the thread stores Blocked and
//! then takes `wakeup_pending` — all SeqCst, so at least one of them sees the other's
//! store. A CPU that resumes the woken thread waits until its own CPU has switched away
//! from it (its context is released, in `switch`).

use alloc::sync::Arc;
use alloc::task::Wake;
use core::future::Future;
use core::sync::atomic::Ordering;
use core::task::{Context, Poll, Waker};

use x86_64::instructions::interrupts;

use super::cpu::{current_thread, make_woken_runnable};
use super::switch::{poll_tasks_at_voluntary_switch, schedule, without_preemption};
use super::thread::{Thread, ThreadState};
use crate::mm::pool::PoolArc;

struct ThreadWaker {
    thread: PoolArc<Thread>,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        interrupt(&self.thread);
    }
}

/// Runs `future` on the calling thread until it completes, blocking while it is pending.
/// The future is polled with preemption disabled (it may take locks that tasks take).
pub fn block_on<F: Future>(future: F) -> F::Output {
    block_on_unless(future, || false).expect("sched: block_on gave up without being asked to")
}

/// Like `block_on`, but gives up — dropping the future, so nothing of it stays registered
/// anywhere — when `give_up` returns true after a wake-up (`interrupt` makes one). For
/// blocking system calls that a `kill` must cut short.
pub fn block_on_unless<F: Future>(future: F, give_up: impl Fn() -> bool) -> Option<F::Output> {
    let me = current_thread();
    let waker = Waker::from(Arc::new(ThreadWaker { thread: me.clone() }));
    let mut context = Context::from_waker(&waker);
    let mut future = alloc::boxed::Box::pin(future);
    loop {
        me.wakeup_pending.store(false, Ordering::Release);
        if let Poll::Ready(output) = without_preemption(|| future.as_mut().poll(&mut context)) {
            return Some(output);
        }
        if give_up() {
            without_preemption(|| drop(future));
            return None;
        }
        poll_tasks_at_voluntary_switch();
        interrupts::without_interrupts(|| block_current_unless_woken(&me));
    }
}

/// Blocks the calling thread `me` unless a wake-up came since it last cleared
/// `wakeup_pending`. Interrupts must be off.
pub(super) fn block_current_unless_woken(me: &PoolArc<Thread>) {
    me.set_state_ordered(ThreadState::Blocked);
    sleep_unless_woken(me);
}

/// The second half of `block_current_unless_woken`, for a caller that has marked `me`
/// Blocked itself (and published that, under a lock a waker takes): sleeps unless a
/// wake-up came since `wakeup_pending` was last cleared. Interrupts must be off.
pub(super) fn sleep_unless_woken(me: &PoolArc<Thread>) {
    if !me.wakeup_pending.swap(false, Ordering::SeqCst) {
        schedule();
    } else if !me.change_state(ThreadState::Blocked, ThreadState::Running) {
        // A waker got in between and queued the thread: it is Runnable and on a run queue,
        // so it must go through the scheduler (which may pick it straight back up).
        schedule();
    }
}

/// Wakes `thread` if it is blocked, so that it looks again at why it blocked (a `kill`).
pub fn interrupt(thread: &PoolArc<Thread>) {
    thread.wakeup_pending.store(true, Ordering::SeqCst);
    interrupts::without_interrupts(|| {
        if thread.change_state(ThreadState::Blocked, ThreadState::Runnable) {
            make_woken_runnable(thread.clone());
        }
    });
}
