//! Wait queues: threads sleep until a condition holds, and whoever makes it hold wakes them.
//!
//! `wait_until` checks the condition and, if it does not hold, marks the thread Blocked and
//! queues it, all under the queue's lock; `wake_all` takes the same lock, so a waker that
//! made the condition true either ran before the check (which then sees it) or finds the
//! thread queued and makes it runnable — on any CPU. Each woken thread re-checks.
//!
//! A thread may also be woken by `block::interrupt` (a kill, an execve evicting the other
//! threads), which sets the thread's `wakeup_pending` before it tries Blocked → Runnable.
//! `wait_until` takes that flag before it checks the condition and again after it marks
//! itself Blocked, all SeqCst: an interrupt that lands anywhere in between is seen by the
//! second look, which then does not sleep (R6: the interrupter's condition — the process
//! must leave — is seen by the next check).
//!
//! Ready tasks: a waiter polls them (`switch::poll_tasks_at_voluntary_switch`) only once it
//! has found its condition false, before it blocks — never on its way back to its caller.
//!
//! Queue membership: `Thread::queued_on` names the queue whose list holds the thread and
//! `Thread::place_in_queue` its index there, both written under that queue's lock. A thread
//! that returns from `wait_until` takes itself off the list if it is still on it (woken by
//! an interrupt rather than by `wake_all`), in one step, so no queue keeps a reference to
//! a thread — and through it to its process — that no longer waits there (R4, R8). A thread
//! woken by an interrupt that waits again on the same queue is not queued twice.
//!
//! Memory: the list grows by a fallible reservation (`fault_injection::try_reserve`, made
//! before the thread marks itself Blocked), so a full heap never stops the kernel here; a
//! waiter that finds no room stays runnable and polls its condition between yields until
//! it holds or the list has room.
//!
//! Lock rules: the queue's lock is taken with interrupts off; it is taken *before* any lock
//! the condition takes, so `wake_all` must not be called with such a lock held (callers
//! change the state, drop their locks, then wake). `wake_all` may be called from interrupt
//! handlers and tasks.

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use x86_64::instructions::interrupts::without_interrupts;

use super::block::sleep_unless_woken;
use super::cpu::{current_thread, make_woken_runnable};
use super::thread::{Thread, ThreadState};
use crate::mm::pool::PoolArc;
use crate::sync::SpinLock;

/// How one round of `wait_until` ended.
enum Outcome {
    Satisfied,
    /// Slept on the list, and was woken (or interrupted).
    Woken,
    /// The list could not grow to hold the thread.
    NoRoom,
}

/// Threads waiting for something.
#[derive(Default)]
pub struct WaitQueue {
    waiters: SpinLock<Vec<PoolArc<Thread>>>,
}

impl WaitQueue {
    pub const fn new() -> Self {
        Self { waiters: SpinLock::new(Vec::new()) }
    }

    /// Blocks the calling thread until `condition` holds (checked on every wake-up).
    pub fn wait_until(&self, condition: impl Fn() -> bool) {
        let me = current_thread();
        loop {
            // Ready tasks are polled only by a waiter about to block: one whose condition
            // holds (the usual case of a woken thread) returns without them, so the
            // teardown of the thread whose exit woke it is off its way back to its caller.
            if crate::tasks::any_ready() {
                if self.holds(&me, &condition) {
                    return;
                }
                super::switch::poll_tasks_at_voluntary_switch();
            }
            // An interrupt from here on is either seen by the check below or makes the
            // block after it return at once. A swap, not a store: reading the
            // interrupter's flag makes what it changed before visible to the check.
            me.wakeup_pending.swap(false, Ordering::SeqCst);
            let outcome = without_interrupts(|| {
                let mut waiters = self.waiters.lock();
                if condition() {
                    self.leave(&mut waiters, &me);
                    return Outcome::Satisfied;
                }
                let queued = me.queued_on.load(Ordering::Relaxed) == self.address();
                if !queued && crate::fault_injection::try_reserve(&mut *waiters, 1).is_err() {
                    return Outcome::NoRoom;
                }
                me.set_state_ordered(ThreadState::Blocked);
                if !queued {
                    me.place_in_queue.store(waiters.len(), Ordering::Relaxed);
                    me.queued_on.store(self.address(), Ordering::Relaxed);
                    waiters.push(me.clone());
                }
                drop(waiters);
                sleep_unless_woken(&me);
                Outcome::Woken
            });
            match outcome {
                Outcome::Satisfied => return,
                Outcome::Woken => {}
                // No heap for a place on the list: waiting unlisted would never be woken,
                // so the thread stays runnable and checks again after every other thread
                // has had its turn, until the condition holds or the heap has room.
                Outcome::NoRoom => super::switch::yield_now(),
            }
        }
    }

    /// Whether `condition` holds, checked under the queue's lock; if it does, `me` is taken
    /// off the list (it may still be there, woken by an interrupt rather than `wake_all`).
    fn holds(&self, me: &PoolArc<Thread>, condition: &impl Fn() -> bool) -> bool {
        without_interrupts(|| {
            let mut waiters = self.waiters.lock();
            let holds = condition();
            if holds {
                self.leave(&mut waiters, me);
            }
            holds
        })
    }

    /// Takes `me` off the list if it is still there. Call with the queue's lock held.
    fn leave(&self, waiters: &mut Vec<PoolArc<Thread>>, me: &PoolArc<Thread>) {
        if me.queued_on.load(Ordering::Relaxed) != self.address() {
            return;
        }
        let place = me.place_in_queue.load(Ordering::Relaxed);
        let listed = waiters.get(place).is_some_and(|listed| PoolArc::ptr_eq(listed, me));
        assert!(listed, "wait_queue: thread {} is not where its queue says", me.id().0);
        waiters.swap_remove(place);
        if let Some(moved) = waiters.get(place) {
            moved.place_in_queue.store(place, Ordering::Relaxed);
        }
        if waiters.is_empty() {
            // As after `wake_all`: an idle queue holds no heap.
            *waiters = Vec::new();
        }
        me.queued_on.store(0, Ordering::Relaxed);
    }

    /// The queue's identity in `Thread::queued_on`.
    fn address(&self) -> usize {
        core::ptr::from_ref(self) as usize
    }

    /// Makes every waiting thread runnable; returns how many there were.
    pub fn wake_all(&self) -> usize {
        without_interrupts(|| {
            let waiters = {
                let mut list = self.waiters.lock();
                list.iter().for_each(|thread| thread.queued_on.store(0, Ordering::Relaxed));
                core::mem::take(&mut *list)
            };
            let woken = waiters.len();
            for thread in waiters {
                if thread.change_state(ThreadState::Blocked, ThreadState::Runnable) {
                    make_woken_runnable(thread);
                }
            }
            woken
        })
    }
}
