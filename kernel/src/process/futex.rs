//! Futexes: how user-space locks sleep in the kernel (FUTEX_WAIT), are woken (FUTEX_WAKE)
//! or moved to another word's queue (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE — musl's condition
//! variables hand waiters to the mutex this way), and what a thread's exit wakes
//! (CLONE_CHILD_CLEARTID).
//!
//! Waiters are kept per (process, address): every futex is the process's own (there is no
//! shared memory across processes yet). `wait` reads the word and queues the waiter under
//! the table lock, and `wake` and `requeue` take or move waiters under the same lock, so a
//! wake cannot slip between the check and the sleep. A waiter records which address it is
//! queued on (changed only under the lock, by a requeue), so it can take itself out of the
//! right queue when it stops waiting. The lock is taken with interrupts masked.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::task::{Context, Poll, Waker};

use x86_64::instructions::interrupts::without_interrupts;

use super::Process;
use super::usercopy;
use crate::sched;
use crate::sync::SpinLock;

struct Waiter {
    woken: AtomicBool,
    waker: SpinLock<Option<Waker>>,
    /// The address whose queue holds the waiter; written under the table lock.
    address: AtomicU64,
}

type Key = (u32, u64);

static WAITERS: SpinLock<BTreeMap<Key, VecDeque<Arc<Waiter>>>> = SpinLock::new(BTreeMap::new());

/// Why a wait ended without a wake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FutexError {
    /// The word did not hold the expected value (EAGAIN).
    WouldBlock,
    /// The timeout passed (ETIMEDOUT).
    TimedOut,
    /// The process is ending (EINTR).
    Interrupted,
    /// The address is not a mapped, aligned user word (EFAULT, EINVAL).
    Fault,
    Misaligned,
}

fn key(process: &Process, address: u64) -> Key {
    (process.pid().0, address)
}

/// FUTEX_WAIT: sleeps while the word at `address` holds `expected`, until a wake, the
/// timeout (in ticks), or the process ending.
pub fn wait(
    process: &Arc<Process>,
    address: u64,
    expected: u32,
    timeout_ticks: Option<u64>,
) -> Result<(), FutexError> {
    if !address.is_multiple_of(4) {
        return Err(FutexError::Misaligned);
    }
    let waiter = Arc::new(Waiter {
        woken: AtomicBool::new(false),
        waker: SpinLock::new(None),
        address: AtomicU64::new(address),
    });
    without_interrupts(|| {
        let mut waiters = WAITERS.lock();
        expect_word(process, address, expected)?;
        waiters.entry(key(process, address)).or_default().push_back(waiter.clone());
        Ok(())
    })?;
    let sleep = timeout_ticks.map(crate::tasks::sleep);
    let outcome = sched::block_on_unless(Woken { waiter: waiter.clone(), sleep }, || process.group_exiting());
    // Still queued unless a wake took it: take it out, from wherever a requeue moved it.
    // A wake that took it after the timeout or the kill ended the sleep still counts (as
    // Linux's unqueue): returning an error would swallow the only wake of a lock's release.
    let still_queued = without_interrupts(|| {
        let mut waiters = WAITERS.lock();
        let key = key(process, waiter.address.load(Ordering::Relaxed));
        let Some(queue) = waiters.get_mut(&key) else { return false };
        let before = queue.len();
        queue.retain(|queued| !Arc::ptr_eq(queued, &waiter));
        let removed = queue.len() < before;
        if queue.is_empty() {
            remove_queue(&mut waiters, key);
        }
        removed
    });
    match outcome {
        Some(true) => Ok(()),
        _ if !still_queued => Ok(()),
        Some(false) => Err(FutexError::TimedOut),
        None => Err(FutexError::Interrupted),
    }
}

/// Checks that the user word at `address` holds `expected` (called under the table lock,
/// so that no wake slips between this check and what the caller does next).
fn expect_word(process: &Process, address: u64, expected: u32) -> Result<(), FutexError> {
    match usercopy::read_val::<u32>(process, address) {
        Ok(word) if word == expected => Ok(()),
        Ok(_) => Err(FutexError::WouldBlock),
        Err(_) => Err(FutexError::Fault),
    }
}

/// FUTEX_WAKE: wakes up to `count` waiters on `address`; returns how many. One at a time,
/// so that it never allocates (a thread's exit wakes its joiner through here, R3).
pub fn wake(process: &Process, address: u64, count: usize) -> usize {
    let mut woken = 0;
    while woken < count {
        let Some(waiter) = take_waiter(&mut WAITERS.lock(), key(process, address)) else {
            break;
        };
        wake_all(core::slice::from_ref(&waiter));
        woken += 1;
    }
    woken
}

/// What a requeue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requeued {
    pub woken: usize,
    pub moved: usize,
}

/// FUTEX_REQUEUE and FUTEX_CMP_REQUEUE: wakes up to `wake_count` waiters on `address` and
/// moves up to `move_count` of the rest to the queue of `target` — if `expected` is given,
/// only while the word at `address` still holds it (checked under the table lock).
pub fn requeue(
    process: &Process,
    address: u64,
    target: u64,
    wake_count: usize,
    move_count: usize,
    expected: Option<u32>,
) -> Result<Requeued, FutexError> {
    if !address.is_multiple_of(4) || !target.is_multiple_of(4) {
        return Err(FutexError::Misaligned);
    }
    let (woken, moved) = without_interrupts(|| {
        let mut waiters = WAITERS.lock();
        if let Some(expected) = expected {
            expect_word(process, address, expected)?;
        }
        let woken = take_waiters(&mut waiters, key(process, address), wake_count);
        let moving = take_waiters(&mut waiters, key(process, address), move_count);
        let moved = moving.len();
        if moved > 0 {
            let queue = waiters.entry(key(process, target)).or_default();
            for waiter in moving {
                waiter.address.store(target, Ordering::Relaxed);
                queue.push_back(waiter);
            }
        }
        Ok((woken, moved))
    })?;
    wake_all(&woken);
    Ok(Requeued { woken: woken.len(), moved })
}

/// Takes up to `count` waiters off the front of `key`'s queue (under the table lock).
fn take_waiters(
    waiters: &mut BTreeMap<Key, VecDeque<Arc<Waiter>>>,
    key: Key,
    count: usize,
) -> alloc::vec::Vec<Arc<Waiter>> {
    let Some(queue) = waiters.get_mut(&key) else { return alloc::vec::Vec::new() };
    let taken = queue.drain(..count.min(queue.len())).collect();
    if queue.is_empty() {
        remove_queue(waiters, key);
    }
    taken
}

/// Takes the first waiter off `key`'s queue (under the table lock).
fn take_waiter(waiters: &mut BTreeMap<Key, VecDeque<Arc<Waiter>>>, key: Key) -> Option<Arc<Waiter>> {
    let queue = waiters.get_mut(&key)?;
    let taken = queue.pop_front();
    if queue.is_empty() {
        remove_queue(waiters, key);
    }
    taken
}

/// Wakes waiters taken off their queue (outside the table lock).
fn wake_all(woken: &[Arc<Waiter>]) {
    for waiter in woken {
        waiter.woken.store(true, Ordering::Release);
        let waker = waiter.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Drops the (empty) queue of `key`; an emptied table also gives back the node a B-tree
/// keeps for its root, so that no futex use leaves heap behind.
fn remove_queue(waiters: &mut BTreeMap<Key, VecDeque<Arc<Waiter>>>, key: Key) {
    waiters.remove(&key);
    if waiters.is_empty() {
        *waiters = BTreeMap::new();
    }
}

/// Completes with `true` once woken, or `false` when the sleep (if any) ends first.
struct Woken {
    waiter: Arc<Waiter>,
    sleep: Option<executor::Sleep>,
}

impl Future for Woken {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        if self.waiter.woken.load(Ordering::Acquire) {
            return Poll::Ready(true);
        }
        let replaced = self.waiter.waker.lock().replace(cx.waker().clone());
        drop(replaced);
        if self.waiter.woken.load(Ordering::Acquire) {
            return Poll::Ready(true);
        }
        match self.sleep.as_mut().map(|sleep| Pin::new(sleep).poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(false),
            _ => Poll::Pending,
        }
    }
}
