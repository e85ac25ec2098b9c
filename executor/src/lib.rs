//! Lethe's cooperative async executor: tasks, wakers, a ready queue, timers, an idle loop.
//!
//! The kernel runs every piece of deferred work — and, later, every dead thread's teardown —
//! as a task here. The crate has no hardware in it: the kernel supplies interrupt control
//! through [`Platform`] and a trace sink through [`TraceSink`], so all of it tests on the host.
//!
//! Invariants kept across the crate (each has a test):
//! - a task is in the ready queue at most once, however often it is woken;
//! - a wake that races with a poll is never lost (see `task.rs` for the handshake);
//! - a wake after a task finished is ignored;
//! - the idle loop halts only with interrupts disabled and the ready queue empty;
//! - a one-shot event wakes its waiter whether it fires before or after the wait, and
//!   firing it never allocates or waits for a lock.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![feature(allocator_api)]
// Under loom only the wake/poll handshake is built into a model; the polling loop is not.
#![cfg_attr(loom, allow(dead_code))]

extern crate alloc;

mod critical;
mod event;
mod executor;
mod idle;
mod ready_queue;
mod sync;
mod task;
mod timer;
mod trace;
mod yield_now;

pub use critical::CriticalSection;
pub use event::{OneShotEvent, Wait};
pub use executor::{Config, Executor, PushHook, SpawnError};
pub use idle::Platform;
pub use task::TaskId;
pub use timer::{Sleep, Ticks};
pub use trace::{TaskEvent, TraceRecord, TraceSink};
pub use yield_now::{YieldNow, yield_now};

#[cfg(loom)]
pub mod loom_support;
