//! Lethe's cooperative async executor: tasks, wakers, per-CPU ready queues with stealing,
//! timers, an idle loop.
//!
//! The kernel runs every piece of deferred work — every dead thread's teardown among it —
//! as a task here. One executor serves every CPU: a wake makes its task ready on the queue
//! of the CPU the wake runs on, and any CPU may poll it (its own queue first, then
//! stealing). The crate has no hardware in it: the kernel supplies interrupt control through
//! [`Platform`], the current CPU's queue through [`Config::current_queue`] and a trace sink
//! through [`TraceSink`], so all of it tests on the host.
//!
//! Invariants kept across the crate (each has a test):
//! - a task is in at most one ready queue, at most once, however often it is woken;
//! - a task is polled by at most one CPU at a time, stolen or not;
//! - a wake that races with a poll is never lost (see `task.rs` for the handshake);
//! - a wake after a task finished is ignored;
//! - the idle loop halts only with interrupts disabled and every ready queue empty;
//! - a one-shot event wakes its waiter whether it fires before or after the wait, and
//!   firing it never allocates or waits for a lock.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![feature(allocator_api)]

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
pub use executor::{Config, Executor, SpawnError};
pub use idle::Platform;
pub use task::TaskId;
pub use timer::{Sleep, Ticks};
pub use trace::{TaskEvent, TraceRecord, TraceSink};
pub use yield_now::{YieldNow, yield_now};
