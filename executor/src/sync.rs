//! Atomics from `core`, or from loom when the crate is model-checked.
//!
//! Code that takes part in the wake/poll handshake imports its atomics from here so that
//! `RUSTFLAGS="--cfg loom"` builds run it under loom's exhaustive scheduler. `Arc` is
//! `alloc`'s in both builds: a `Waker` is built from it (`alloc::task::Wake`), which loom's
//! `Arc` cannot back, and its reference counts are not what the models check.

pub(crate) use alloc::sync::Arc;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};

/// Tells the processor — or loom's scheduler — that this thread waits on another.
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}

/// A slot holding one waker: registered under a lock by the waiting side, taken with
/// `try_lock` by the firing side, which therefore never waits. Wakers are handed out of the
/// lock to be woken or dropped after it is released.
#[cfg(not(loom))]
pub(crate) struct WakerSlot {
    waker: spin::Mutex<Option<core::task::Waker>>,
}

#[cfg(not(loom))]
impl WakerSlot {
    pub(crate) fn new() -> Self {
        Self { waker: spin::Mutex::new(None) }
    }

    /// Stores `waker` (unless an equivalent one is there); returns the one it replaced.
    pub(crate) fn register(&self, waker: &core::task::Waker) -> Option<core::task::Waker> {
        let mut slot = self.waker.lock();
        match slot.as_ref() {
            Some(current) if current.will_wake(waker) => None,
            _ => slot.replace(waker.clone()),
        }
    }

    /// Takes the waker if the slot is not being registered into right now.
    pub(crate) fn try_take(&self) -> Option<core::task::Waker> {
        self.waker.try_lock().and_then(|mut slot| slot.take())
    }
}

/// The loom build of `WakerSlot`. loom's own `Mutex` is sequentially consistent inside the
/// model, which would hide what a real spin lock allows (a failed `try_lock` reading a
/// stale "locked"); so the lock here is a loom atomic with `spin::Mutex`'s orderings
/// (Acquire compare-exchange to take, Release store to give back), and the loom mutex
/// inside only stores the waker. `memory` stands for the slot's bytes: every access marks
/// it, so a model that "frees" the slot (`free_memory`) while a firer still touches it is a
/// data race loom reports.
#[cfg(loom)]
pub(crate) struct WakerSlot {
    locked: AtomicBool,
    waker: loom::sync::Mutex<Option<core::task::Waker>>,
    memory: loom::cell::UnsafeCell<()>,
}

#[cfg(loom)]
impl WakerSlot {
    pub(crate) fn new() -> Self {
        Self {
            locked: AtomicBool::new(false),
            waker: loom::sync::Mutex::new(None),
            memory: Default::default(),
        }
    }

    /// The model's "free" of the slot's memory.
    pub(crate) fn free_memory(&self) {
        self.memory.with_mut(|_| ());
    }

    fn try_lock(&self) -> bool {
        self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    pub(crate) fn register(&self, waker: &core::task::Waker) -> Option<core::task::Waker> {
        while !self.try_lock() {
            loom::thread::yield_now();
        }
        self.memory.with_mut(|_| ());
        let replaced = {
            let mut slot = self.waker.lock().unwrap();
            match slot.as_ref() {
                Some(current) if current.will_wake(waker) => None,
                _ => slot.replace(waker.clone()),
            }
        };
        self.locked.store(false, Ordering::Release);
        replaced
    }

    pub(crate) fn try_take(&self) -> Option<core::task::Waker> {
        if !self.try_lock() {
            return None;
        }
        self.memory.with_mut(|_| ());
        let waker = self.waker.lock().unwrap().take();
        self.locked.store(false, Ordering::Release);
        waker
    }
}
