//! The pid table: every process with a pid, by pid, for `kill` and for finding init.
//!
//! A pid enters the table when its process is made (`Process::new`) and leaves it when
//! the process is collected by its parent, let go unwaited for (SIGCHLD ignored), or
//! dropped — whichever comes first (`release`); from then on it may be reused, never
//! while a zombie holds it (R4). The table holds weak references: it never keeps a
//! process alive. Its lock masks interrupts and is taken briefly, never with another
//! process lock held inside it.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use super::Process;
use super::pid_map::PidMap;
use crate::fault_injection::OutOfHeap;
use crate::sync::SpinLock;

/// A process id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pid(pub u32);

/// The pid of init, the first process made, which adopts orphans (R9). Found through the
/// table rather than held: a held reference would keep a collected init's memory.
pub(super) const INIT_PID: Pid = Pid(1);

static TABLE: SpinLock<PidMap<Weak<Process>>> = SpinLock::new(PidMap::new());

/// Enters `process` under its pid; fails, changing nothing, when the heap has no room.
pub(super) fn enter(process: &Arc<Process>) -> Result<(), OutOfHeap> {
    TABLE.lock().try_insert(process.pid().0, Arc::downgrade(process))
}

/// Takes `pid` out of the table: from now on it may be reused.
pub(super) fn release(pid: Pid) {
    TABLE.lock().remove(pid.0);
}

/// Pids in use: processes not yet collected, zombies included.
pub fn pids_in_use() -> usize {
    TABLE.lock().len()
}

/// The process with `pid`, if it exists (zombies included).
pub fn find(pid: Pid) -> Option<Arc<Process>> {
    TABLE.lock().get(pid.0).and_then(Weak::upgrade)
}

/// Sends `signal` to every process but init and `spared` (`kill(-1, signal)`,
/// what stops a fork bomb), or with `signal` `None` only counts them (`kill(-1, 0)`);
/// returns how many there were. Races with fork are closed by fork's order — the child
/// enters the table before fork checks whether its parent is exiting — and by taking the
/// table again until a pass finds no pid it had not seen: a child made after one pass's
/// look is either refused by its exiting parent's fork or seen by the next pass. Children
/// that `spared`'s own other threads keep making could keep that going: after
/// `MAX_PASSES` it stops.
pub fn kill_all_but(spared: &Process, signal: Option<i32>) -> usize {
    const MAX_PASSES: usize = 64;
    let mut seen = alloc::collections::BTreeSet::new();
    for _ in 0..MAX_PASSES {
        let everyone: Vec<Arc<Process>> = TABLE.lock().values().filter_map(Weak::upgrade).collect();
        let mut unseen = 0;
        for process in everyone {
            if process.pid() == INIT_PID || process.pid() == spared.pid() || !seen.insert(process.pid().0) {
                continue;
            }
            unseen += 1;
            if let Some(signal) = signal {
                super::signal::send(&process, signal);
            }
        }
        if unseen == 0 || signal.is_none() {
            break;
        }
    }
    seen.len()
}
