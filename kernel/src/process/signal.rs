//! Sending a signal to a process: its default action, or pending while it is blocked.
//!
//! There is no delivery to handlers yet, so a signal ends in one of three ways when it is
//! sent or unblocked: it is discarded (ignored by its action or by default, or sent to
//! init, which Linux shields from every signal it has no handler for), it stays pending
//! in the process's set while the process's mask blocks it, or its default action runs:
//! terminate (the process ends as killed by it). SIGKILL and SIGSTOP cannot be blocked,
//! ignored or caught. Stopping is not there yet: the stop signals are discarded; and a
//! signal with a handler recorded takes its default action, as it did before handlers.
//!
//! Race rule: a signal is marked pending *before* the mask is read again, and
//! `rt_sigprocmask` stores the mask before it takes the pending set, both SeqCst: a signal
//! sent while the mask changes is either seen by the sender as unblocked or found pending
//! by the unblocking thread.

use core::sync::atomic::Ordering;

use abi::signal::{
    SIG_IGN, SIGCHLD, SIGCONT, SIGKILL, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH, bit,
};
use abi::types::Sigaction;

use super::Process;
use super::pid_table::INIT_PID;

/// Signals no mask can block (Linux strips them from every mask it is given).
pub const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);

/// What a signal does when nothing catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
}

fn default_action(signal: i32) -> DefaultAction {
    match signal {
        // SIGCONT: continuing is all it does while nothing stops.
        SIGCHLD | SIGCONT | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// Sends `signal` (1..=64) to `process`, as `kill` does.
pub fn send(process: &Process, signal: i32) {
    if process.status().is_some() {
        return;
    }
    if signal == SIGKILL {
        if process.pid() != INIT_PID {
            process.kill(SIGKILL);
        }
        return;
    }
    if bit(signal) & !UNBLOCKABLE & process.signal_mask() != 0 {
        process.pending_signals.fetch_or(bit(signal), Ordering::SeqCst);
        // The mask may have changed since it was read: act on what it no longer blocks.
        act_on_unblocked(process);
        return;
    }
    act(process, signal);
}

/// Takes every pending signal the mask no longer blocks and acts on it (after
/// `rt_sigprocmask` unblocked some, or a race with it).
pub fn act_on_unblocked(process: &Process) {
    let unblocked = !process.signal_mask();
    let taken = process.pending_signals.fetch_and(!unblocked, Ordering::SeqCst) & unblocked;
    for signal in (1..=64).filter(|signal| taken & bit(*signal) != 0) {
        act(process, signal);
    }
}

/// Signals pending now (`rt_sigpending`).
pub fn pending(process: &Process) -> u64 {
    process.pending_signals.load(Ordering::SeqCst)
}

/// Runs what an unblocked `signal` does to `process`.
fn act(process: &Process, signal: i32) {
    let handler = process.signal_action(signal).handler;
    if handler == SIG_IGN {
        return;
    }
    // Init gets only the signals it has a handler for; handlers are not run yet.
    if process.pid() == INIT_PID {
        return;
    }
    match default_action(signal) {
        DefaultAction::Terminate => process.kill(signal),
        DefaultAction::Ignore | DefaultAction::Stop => {}
    }
}

impl Process {
    /// Takes `parent`'s signal actions, mask and SIGCHLD disposition (fork).
    pub(super) fn inherit_signals(&self, parent: &Process) {
        let actions = *parent.signal_actions.lock();
        *self.signal_actions.lock() = actions;
        self.set_signal_mask(parent.signal_mask());
        self.children_detached.store(parent.children_detached.load(Ordering::Acquire), Ordering::Release);
    }

    /// The action recorded for `signal` (1..=64).
    pub fn signal_action(&self, signal: i32) -> Sigaction {
        self.signal_actions.lock()[signal as usize - 1]
    }

    pub fn set_signal_action(&self, signal: i32, action: Sigaction) {
        self.signal_actions.lock()[signal as usize - 1] = action;
    }

    pub fn signal_mask(&self) -> u64 {
        self.signal_mask.load(Ordering::SeqCst)
    }

    /// Sets the mask (SIGKILL and SIGSTOP stay unblocked) and acts on every pending
    /// signal it no longer blocks.
    pub fn set_signal_mask(&self, mask: u64) {
        self.signal_mask.store(mask & !UNBLOCKABLE, Ordering::SeqCst);
        act_on_unblocked(self);
    }
}
