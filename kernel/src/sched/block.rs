//! Threads blocking on futures: `block_on` runs a future to completion on the calling
//! thread, blocking the thread (not spinning) while the future is pending.
//!
//! The waker makes the thread runnable again. A wake that comes between the poll and the
//! decision to block is not lost: the waker sets `wakeup_pending` before it looks at the
//! thread's state, and the thread checks that flag, with interrupts off, before blocking.
//! (One CPU runs threads today; SMP must also wait for a blocking thread to be off its CPU
//! before another CPU resumes it.)

use alloc::sync::Arc;
use alloc::task::Wake;
use core::future::Future;
use core::sync::atomic::Ordering;
use core::task::{Context, Poll, Waker};

use x86_64::instructions::interrupts;

use super::cpu::this_cpu;
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
        self.thread.wakeup_pending.store(true, Ordering::Release);
        interrupts::without_interrupts(|| {
            if self.thread.change_state(ThreadState::Blocked, ThreadState::Runnable) {
                this_cpu().make_runnable(self.thread.clone());
            }
        });
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
    let me = this_cpu().current();
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
        interrupts::without_interrupts(|| {
            if !me.wakeup_pending.swap(false, Ordering::AcqRel) {
                me.set_state(ThreadState::Blocked);
                schedule();
            }
        });
    }
}

/// Wakes `thread` if it is blocked, so that it looks again at why it blocked (a `kill`).
pub fn interrupt(thread: &PoolArc<Thread>) {
    thread.wakeup_pending.store(true, Ordering::Release);
    interrupts::without_interrupts(|| {
        if thread.change_state(ThreadState::Blocked, ThreadState::Runnable) {
            this_cpu().make_runnable(thread.clone());
        }
    });
}
