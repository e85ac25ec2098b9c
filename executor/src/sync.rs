//! Atomics and `Arc` from `core`/`alloc`, or from loom when the crate is model-checked.
//!
//! Code that takes part in the wake/poll handshake imports its atomics from here so that
//! `RUSTFLAGS="--cfg loom"` builds run it under loom's exhaustive scheduler.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use alloc::sync::Arc;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
