//! A one-shot event: one side fires it once, the other awaits it — the off-CPU event.
//!
//! Fire side (`OneShotEvent::fire`) is safe on the context-switch path with interrupts
//! off: it never allocates and never waits for a lock. It takes a *capability* `C` by
//! value, a type the firing code alone can make (the kernel's switch path), so no other
//! code can fire the event by mistake; firing twice is a broken rule that panics.
//!
//! States: `IDLE → FIRING → FIRED`. The firer's very last access to the event is the write
//! of `FIRED` (Release); a waiter proceeds only once it reads `FIRED` (Acquire). So when the
//! waiter goes on to free the memory the event lives in (a dead thread's slot), the firer
//! is guaranteed to be done with it — Linux's `on_cpu` release/acquire pattern. A waiter
//! that sees `FIRING` yields (wakes itself) and looks again: the firer is a few
//! instructions from the end with interrupts off.
//!
//! Handshake (Acquire/Release only, so loom checks it exactly):
//!
//! ```text
//!   wait side (poll)                           fire side
//!   ----------------                           ---------
//!   state.load(Acquire): FIRED → Ready         state.swap(FIRING, AcqRel)
//!   lock slot; store waker; unlock             try_lock slot: if free, take waker, unlock
//!   state.fetch_or(0, AcqRel):                 wake the waker (it is ours now)
//!     FIRED → Ready, FIRING → yield, IDLE →    state.swap(FIRED, Release)    ← last access
//!     Pending
//! ```
//!
//! The RMWs on `state` are totally ordered. If the poll's comes first, the fire's swap
//! reads it and synchronises with it, so the slot's unlock and the waker are visible to the
//! fire's `try_lock`; a `try_lock` can then only fail because a *later* poll is registering,
//! and that poll's RMW comes after the swap and sees `FIRING` or `FIRED`. If the swap comes
//! first, the poll sees it. Either way the waiter is not stranded. `tests/loom.rs` checks
//! this under every interleaving, including a waiter that gives up.

use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use crate::sync::{AtomicU8, Ordering, WakerSlot, spin_hint};

const IDLE: u8 = 0;
const FIRING: u8 = 1;
const FIRED: u8 = 2;

/// A one-shot event fired with capability `C`.
pub struct OneShotEvent<C> {
    state: AtomicU8,
    waiter: WakerSlot,
    _capability: PhantomData<fn(C)>,
}

impl<C> Default for OneShotEvent<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> OneShotEvent<C> {
    pub fn new() -> Self {
        Self { state: AtomicU8::new(IDLE), waiter: WakerSlot::new(), _capability: PhantomData }
    }

    /// Whether firing has finished (Acquire: what the firer did before is visible).
    pub fn has_fired(&self) -> bool {
        self.state.load(Ordering::Acquire) == FIRED
    }

    /// Fires the event and wakes its waiter, if one is registered. Never allocates, never
    /// waits for a lock. Panics if the event had fired already.
    pub fn fire(&self, _capability: C) {
        let before = self.state.swap(FIRING, Ordering::AcqRel);
        assert_eq!(before, IDLE, "executor: one-shot event fired twice");
        if let Some(waker) = self.waiter.try_take() {
            waker.wake();
        }
        // A swap rather than a store: equally a Release write, and loom (issue #254) mis-orders
        // a plain store after another thread's RMW on the same atomic.
        let firing = self.state.swap(FIRED, Ordering::Release);
        debug_assert_eq!(firing, FIRING);
    }

    /// Makes a fired event ready to fire again, for a slot that is being reused. Its last
    /// waiter must be gone; panics if the event has not finished firing.
    pub fn rearm(&self) {
        let rearmed = self.state.compare_exchange(FIRED, IDLE, Ordering::AcqRel, Ordering::Acquire);
        assert!(rearmed.is_ok(), "executor: rearming an event that has not fired");
        drop(self.waiter.try_take());
    }

    /// The loom model's "free" of the memory the event lives in.
    #[cfg(loom)]
    pub fn free_memory_in_model(&self) {
        self.waiter.free_memory();
    }

    /// A future that completes once the event has fired.
    pub fn wait(&self) -> Wait<'_, C> {
        Wait { event: self }
    }
}

/// The future `OneShotEvent::wait` returns. Dropping it before the event fires is harmless:
/// it takes its waker back, so a stale waker cannot keep its task (or a blocked thread)
/// alive or wake it later.
pub struct Wait<'a, C> {
    event: &'a OneShotEvent<C>,
}

impl<C> Drop for Wait<'_, C> {
    fn drop(&mut self) {
        if !self.event.has_fired() {
            drop(self.event.waiter.try_take());
        }
    }
}

impl<C> Future for Wait<'_, C> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let event = self.event;
        match event.state.load(Ordering::Acquire) {
            FIRED => return Poll::Ready(()),
            FIRING => return yield_while_firing(cx),
            _ => {}
        }
        let replaced: Option<Waker> = event.waiter.register(cx.waker());
        drop(replaced);
        match event.state.fetch_or(0, Ordering::AcqRel) {
            FIRED => Poll::Ready(()),
            FIRING => yield_while_firing(cx),
            _ => Poll::Pending,
        }
    }
}

/// The firer is between `FIRING` and `FIRED`, a few instructions with interrupts off: look
/// again on the next poll.
fn yield_while_firing(cx: &mut Context<'_>) -> Poll<()> {
    spin_hint();
    cx.waker().wake_by_ref();
    Poll::Pending
}
