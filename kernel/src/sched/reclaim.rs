//! Room for a new thread: a creation that finds a thread limit reached while dead threads
//! still hold it tears them down itself, then tries again — Linux's direct reclaim, for
//! thread slots and task charges.
//!
//! A dead thread keeps its slot and its user's task charge until its teardown (R8), so
//! without this a storm of short-lived threads could meet EAGAIN although every thread
//! that counts against the limit is already dead: its teardown had only not run yet. Under
//! `future` the creator runs ready tasks itself — teardown tasks among them, on its own
//! CPU's queue and whatever it may take from others'. Under a reaper strategy it can only
//! give its CPU up, once, to a reaper waiting there; a reaper that cannot keep up means
//! EAGAIN, as it does on the BSDs. The creator gives up with EAGAIN once a round brings no
//! thread back, so a limit held by live threads fails as fast as before.
//!
//! Called from: thread context (fork, clone, `spawn`), preemption enabled; elsewhere (a
//! task spawning a thread) the first refusal stands.

use super::{reaping, reaping_stats, switch};

/// Rounds in a row that tore nothing down before the creation gives up.
const ROUNDS_WITHOUT_PROGRESS: usize = 2;

/// Runs `attempt` until it succeeds, or until it fails while no dead thread awaits
/// teardown, or `ROUNDS_WITHOUT_PROGRESS` rounds of teardown in a row brought none back.
pub fn with_room<T>(mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let mut idle_rounds = 0;
    loop {
        if let Some(room) = attempt() {
            return Some(room);
        }
        if reaping_stats::dead_threads() == 0 {
            return None;
        }
        if idle_rounds == ROUNDS_WITHOUT_PROGRESS
            || switch::preemption_disabled()
            || !x86_64::instructions::interrupts::are_enabled()
        {
            reaping_stats::refused_while_dead_waited();
            return None;
        }
        let torn_down_before = reaping::reaped_in_all();
        if switch::poll_ready_tasks() == 0 {
            switch::yield_now();
        }
        let progress = reaping::reaped_in_all() > torn_down_before;
        idle_rounds = if progress { 0 } else { idle_rounds + 1 };
    }
}
