//! Timers: futures that complete once the tick count reaches a deadline.
//!
//! The tick count advances from the timer interrupt (`Executor::tick`, one atomic add, no
//! lock). Expired timers are found and woken by the polling loop (`Timers::fire_expired`);
//! the lock around them is taken inside the platform's critical section, since a kernel
//! may run the polling loop from an interrupt.
//! Pending timers live in a map ordered by (deadline, registration number), so timers fire
//! in deadline order and, for equal deadlines, in the order they were armed.
//!
//! A `Sleep` removes its registration when dropped, so a cancelled sleep leaves nothing behind.
//!
//! Lock rule: no `Waker` is dropped while `pending` is locked. Dropping a waker can drop the
//! last reference to a task, whose future may hold a `Sleep` whose own drop locks `pending`
//! again; so every removed or replaced waker is moved out and dropped after the guard.

use alloc::collections::BTreeMap;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use crate::critical::{self, CriticalSection};
use crate::executor::Shared;
use crate::sync::{Arc, AtomicU64, Ordering};

/// Timer ticks since the executor started.
pub type Ticks = u64;

type TimerKey = (Ticks, u64);

pub(crate) struct Timers {
    now: AtomicU64,
    next_registration: AtomicU64,
    /// Guarded by its spin lock, always taken inside the platform's critical section
    /// (`with_pending`): the polling loop may run in interrupt context.
    pending: spin::Mutex<BTreeMap<TimerKey, Waker>>,
    critical: Option<CriticalSection>,
}

impl Timers {
    pub(crate) fn new(critical: Option<CriticalSection>) -> Self {
        Self {
            now: AtomicU64::new(0),
            next_registration: AtomicU64::new(0),
            pending: spin::Mutex::new(BTreeMap::new()),
            critical,
        }
    }

    /// Runs `work` on the pending timers, locked inside the critical section.
    fn with_pending<R>(&self, work: impl FnOnce(&mut BTreeMap<TimerKey, Waker>) -> R) -> R {
        critical::run(self.critical, || work(&mut self.pending.lock()))
    }

    /// One timer tick. Safe in interrupt context: a single atomic add.
    pub(crate) fn advance(&self) -> Ticks {
        self.now.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub(crate) fn now(&self) -> Ticks {
        self.now.load(Ordering::Acquire)
    }

    /// Wakes every timer whose deadline has passed, earliest first. Returns how many fired.
    pub(crate) fn fire_expired(&self) -> usize {
        let mut fired = 0;
        loop {
            let now = self.now();
            let waker = self.with_pending(|pending| match pending.first_key_value() {
                Some((&(deadline, _), _)) if deadline <= now => pending.pop_first().map(|(_, waker)| waker),
                _ => None,
            });
            match waker {
                Some(waker) => {
                    waker.wake();
                    fired += 1;
                }
                None => return fired,
            }
        }
    }

    /// How many timers are armed.
    pub(crate) fn armed(&self) -> usize {
        self.with_pending(|pending| pending.len())
    }
}

/// A future that completes at a tick deadline. Created by `Executor::sleep`.
pub struct Sleep {
    shared: Arc<Shared>,
    deadline: Ticks,
    registration: Option<TimerKey>,
}

impl Sleep {
    pub(crate) fn until(shared: Arc<Shared>, deadline: Ticks) -> Self {
        Self { shared, deadline, registration: None }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let timers = &self.shared.timers;
        if timers.now() >= self.deadline {
            self.disarm();
            return Poll::Ready(());
        }
        let key = match self.registration {
            Some(key) => key,
            None => (self.deadline, timers.next_registration.fetch_add(1, Ordering::Relaxed)),
        };
        let replaced = timers.with_pending(|pending| match pending.get_mut(&key) {
            Some(waker) if waker.will_wake(cx.waker()) => None,
            Some(waker) => Some(core::mem::replace(waker, cx.waker().clone())),
            // First poll, or the timer fired between our clock read and this lock: arm it
            // (again); the next `fire_expired` wakes it if the deadline has passed.
            None => pending.insert(key, cx.waker().clone()),
        });
        drop(replaced);
        self.registration = Some(key);
        Poll::Pending
    }
}

impl Sleep {
    fn disarm(&mut self) {
        if let Some(key) = self.registration.take() {
            let removed = self.shared.timers.with_pending(|pending| pending.remove(&key));
            drop(removed);
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}
