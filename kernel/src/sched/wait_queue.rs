//! Wait queues: threads sleep until a condition holds, and whoever makes it hold wakes them.
//!
//! `wait_until` checks the condition and, if it does not hold, marks the thread Blocked and
//! queues it, all under the queue's lock; `wake_all` takes the same lock, so a waker that
//! made the condition true either ran before the check (which then sees it) or finds the
//! thread queued and makes it runnable — on any CPU. Each woken thread re-checks.
//!
//! A thread woken by something else (`block::interrupt`: a kill) stays queued; it knows
//! which queue holds it (`Thread::queued_on`), so waiting
//! again there does not queue it twice, and a later `wake_all` of a queue it has since
//! left finds it waiting elsewhere and leaves it be. That makes queueing one step however
//! many threads wait (a scan for the thread made 100,000 readers of one pipe quadratic).
//!
//! Lock rules: the queue's lock is taken with interrupts off; it is taken *before* any lock
//! the condition takes, so `wake_all` must not be called with such a lock held (callers
//! change the state, drop their locks, then wake). `wake_all` may be called from interrupt
//! handlers and tasks.

use alloc::collections::VecDeque;
use core::sync::atomic::Ordering;

use x86_64::instructions::interrupts::without_interrupts;

use super::cpu::{current_thread, make_runnable};
use super::switch::schedule;
use super::thread::{Thread, ThreadState};
use crate::mm::pool::PoolArc;
use crate::sync::SpinLock;

/// Threads waiting for something.
#[derive(Default)]
pub struct WaitQueue {
    waiters: SpinLock<VecDeque<PoolArc<Thread>>>,
}

impl WaitQueue {
    pub const fn new() -> Self {
        Self { waiters: SpinLock::new(VecDeque::new()) }
    }

    /// Blocks the calling thread until `condition` holds (checked on every wake-up).
    pub fn wait_until(&self, condition: impl Fn() -> bool) {
        loop {
            super::switch::poll_tasks_at_voluntary_switch();
            let satisfied = without_interrupts(|| {
                let mut waiters = self.waiters.lock();
                if condition() {
                    return true;
                }
                let me = current_thread();
                me.set_state_ordered(ThreadState::Blocked);
                // A thread woken by something else comes back here still queued. SeqCst,
                // with the state store above and `wake_all`'s two steps: a `wake_all` that
                // takes this thread's old entry off after this swap sees it Blocked.
                if me.queued_on.swap(self.address(), Ordering::SeqCst) != self.address() {
                    waiters.push_back(me);
                }
                drop(waiters);
                schedule();
                false
            });
            if satisfied {
                return;
            }
        }
    }

    /// The queue's identity in `Thread::queued_on`.
    fn address(&self) -> usize {
        core::ptr::from_ref(self) as usize
    }

    /// Makes every waiting thread runnable; returns how many there were.
    pub fn wake_all(&self) -> usize {
        without_interrupts(|| {
            let waiters = core::mem::take(&mut *self.waiters.lock());
            let woken = waiters.len();
            for thread in waiters {
                let queued_here =
                    thread.queued_on.compare_exchange(self.address(), 0, Ordering::SeqCst, Ordering::SeqCst);
                if queued_here.is_ok() && thread.change_state(ThreadState::Blocked, ThreadState::Runnable) {
                    make_runnable(thread);
                }
            }
            woken
        })
    }
}
