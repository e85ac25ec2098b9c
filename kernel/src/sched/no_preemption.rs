//! The lock guardian that disables preemption: a `SpinLock<T, NoPreemption>` keeps this
//! CPU's thread from being switched away while its guard lives, interrupts staying on — for
//! locks held across long work that must still take interrupts (`sync`'s module doc).
//! Preemption is the scheduler's, so this guardian is defined here, over `sync::Guardian`.
//!
//! Called from: thread or task context, wherever such a lock is taken.

use super::PreemptionOff;
use crate::sync::Guardian;

/// Preemption disabled on this CPU while the guard lives; interrupts stay as they were.
pub struct NoPreemption;

impl Guardian for NoPreemption {
    type Token = PreemptionOff;
    fn enter() -> PreemptionOff {
        PreemptionOff::new()
    }
}
