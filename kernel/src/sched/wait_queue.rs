//! Wait queues: threads sleep until a condition holds, and whoever makes it hold wakes them.
//!
//! `wait_until` checks the condition and, if it does not hold, queues the thread and blocks
//! it, all with interrupts off; `wake_all` makes every queued thread runnable again, and each
//! re-checks its condition. With one CPU running threads, nothing can make the condition
//! true between the check and the block. (SMP will need the queue lock held across both.)
//!
//! Lock rule: the queue's lock is taken with interrupts off; `wake_all` may be called from
//! interrupt handlers and tasks.

use alloc::collections::VecDeque;

use x86_64::instructions::interrupts::without_interrupts;

use super::cpu::this_cpu;
use super::switch::schedule;
use super::thread::{Thread, ThreadState};
use crate::mm::pool::PoolArc;

/// Threads waiting for something.
#[derive(Default)]
pub struct WaitQueue {
    waiters: spin::Mutex<VecDeque<PoolArc<Thread>>>,
}

impl WaitQueue {
    pub const fn new() -> Self {
        Self { waiters: spin::Mutex::new(VecDeque::new()) }
    }

    /// Blocks the calling thread until `condition` holds (checked on every wake-up).
    pub fn wait_until(&self, condition: impl Fn() -> bool) {
        loop {
            super::switch::poll_tasks_at_voluntary_switch();
            let satisfied = without_interrupts(|| {
                if condition() {
                    return true;
                }
                let me = this_cpu().current();
                me.set_state(ThreadState::Blocked);
                let mut waiters = self.waiters.lock();
                // A thread woken by something else comes back here still queued.
                if !waiters.iter().any(|waiting| PoolArc::ptr_eq(waiting, &me)) {
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

    /// Makes every waiting thread runnable; returns how many there were.
    pub fn wake_all(&self) -> usize {
        without_interrupts(|| {
            let waiters = core::mem::take(&mut *self.waiters.lock());
            let woken = waiters.len();
            for thread in waiters {
                if thread.change_state(ThreadState::Blocked, ThreadState::Runnable) {
                    this_cpu().make_runnable(thread);
                }
            }
            woken
        })
    }
}
