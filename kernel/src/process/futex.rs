//! Futexes: how user-space locks sleep in the kernel (FUTEX_WAIT) and are woken
//! (FUTEX_WAKE), and what a thread's exit wakes (CLONE_CHILD_CLEARTID).
//!
//! Waiters are kept per (process, address): every futex is the process's own (there is no
//! shared memory across processes yet). `wait` reads the word and queues the waiter under
//! the table lock, and `wake` takes waiters under the same lock, so a wake cannot slip
//! between the check and the sleep. The lock is taken with interrupts masked.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};

use x86_64::instructions::interrupts::without_interrupts;

use super::lifecycle::Process;
use super::usercopy;
use crate::sched;

struct Waiter {
    woken: AtomicBool,
    waker: spin::Mutex<Option<Waker>>,
}

type Key = (u32, u64);

static WAITERS: spin::Mutex<BTreeMap<Key, VecDeque<Arc<Waiter>>>> = spin::Mutex::new(BTreeMap::new());

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
    let waiter = Arc::new(Waiter { woken: AtomicBool::new(false), waker: spin::Mutex::new(None) });
    without_interrupts(|| {
        let mut waiters = WAITERS.lock();
        let mut word = [0u8; 4];
        match process.with_space(|space| usercopy::copy_from_user(space, address, &mut word)) {
            Some(Ok(())) => {}
            _ => return Err(FutexError::Fault),
        }
        if u32::from_le_bytes(word) != expected {
            return Err(FutexError::WouldBlock);
        }
        waiters.entry(key(process, address)).or_default().push_back(waiter.clone());
        Ok(())
    })?;
    let sleep = timeout_ticks.map(|ticks| crate::tasks::executor().sleep(ticks));
    let outcome = sched::block_on_unless(Woken { waiter: waiter.clone(), sleep }, || process.exiting());
    // Still queued unless a wake took it: take it out.
    without_interrupts(|| {
        let mut waiters = WAITERS.lock();
        if let Some(queue) = waiters.get_mut(&key(process, address)) {
            queue.retain(|queued| !Arc::ptr_eq(queued, &waiter));
            if queue.is_empty() {
                remove_queue(&mut waiters, key(process, address));
            }
        }
    });
    match outcome {
        Some(true) => Ok(()),
        Some(false) => Err(FutexError::TimedOut),
        None => Err(FutexError::Interrupted),
    }
}

/// FUTEX_WAKE: wakes up to `count` waiters on `address`; returns how many.
pub fn wake(process: &Process, address: u64, count: usize) -> usize {
    let woken: alloc::vec::Vec<Arc<Waiter>> = without_interrupts(|| {
        let mut waiters = WAITERS.lock();
        let Some(queue) = waiters.get_mut(&key(process, address)) else { return alloc::vec::Vec::new() };
        let taken = queue.drain(..count.min(queue.len())).collect();
        if queue.is_empty() {
            remove_queue(&mut waiters, key(process, address));
        }
        taken
    });
    for waiter in &woken {
        waiter.woken.store(true, Ordering::Release);
        if let Some(waker) = without_interrupts(|| waiter.waker.lock().take()) {
            waker.wake();
        }
    }
    woken.len()
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
        let replaced = without_interrupts(|| self.waiter.waker.lock().replace(cx.waker().clone()));
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
