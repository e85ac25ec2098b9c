//! A one-shot event: one side fires it once, the other awaits it — the off-CPU event.
//!
//! Fire side (`OneShotEvent::fire`) is safe on the context-switch path with interrupts
//! off: it never allocates and never waits for a lock. It takes a *capability* `C` by
//! value, a type the firing code alone can make (the kernel's switch path), so no other
//! code can fire the event by mistake; and firing twice is a broken rule that panics.
//!
//! Handshake (all Acquire/Release; no SeqCst needed, so loom checks it exactly):
//!
//! ```text
//!   wait side (poll)                           fire side
//!   ----------------                           ---------
//!   fired.load(Acquire)? → Ready               fired.swap(true, AcqRel)   (publishes)
//!   lock slot; store waker; unlock             try_lock slot: if free, take waker;
//!   fired.fetch_or(false, AcqRel)? → Ready        unlock; wake it (outside the lock)
//!   Pending
//! ```
//!
//! The two RMWs on `fired` are totally ordered. If the poll's comes first, the fire's swap
//! reads it and synchronises with it, so the slot's unlock (and the waker in it) is visible
//! to the fire's `try_lock`; a `try_lock` can then only fail because a *later* poll is
//! registering, and that poll's RMW comes after the swap and sees `fired`. If the fire's
//! swap comes first, the poll's RMW sees `fired`. Either way the waiter is not stranded.
//! `tests/loom.rs` checks this under every interleaving, including a dropped waiter.

use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use crate::sync::{AtomicBool, Ordering, WakerSlot};

/// A one-shot event fired with capability `C`.
pub struct OneShotEvent<C> {
    fired: AtomicBool,
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
        Self { fired: AtomicBool::new(false), waiter: WakerSlot::new(), _capability: PhantomData }
    }

    /// Whether the event has fired (Acquire: what the firer did before is visible).
    pub fn has_fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    /// Fires the event and wakes its waiter, if one is registered. Never allocates, never
    /// waits for a lock. Panics if the event had fired already.
    pub fn fire(&self, _capability: C) {
        let already = self.fired.swap(true, Ordering::AcqRel);
        assert!(!already, "executor: one-shot event fired twice");
        let waker = self.waiter.try_take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A future that completes once the event has fired.
    pub fn wait(&self) -> Wait<'_, C> {
        Wait { event: self }
    }
}

/// The future `OneShotEvent::wait` returns. Dropping it before the event fires is harmless.
pub struct Wait<'a, C> {
    event: &'a OneShotEvent<C>,
}

impl<C> Future for Wait<'_, C> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let event = self.event;
        if event.fired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        let replaced: Option<Waker> = event.waiter.register(cx.waker());
        drop(replaced);
        if event.fired.fetch_or(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}
