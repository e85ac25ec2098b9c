//! wait4: collecting ended children.
//!
//! R6: `WNOHANG` returns 0 while a matching child lives, its pid once it is a zombie, and
//! `ECHILD` when there is no matching child. A child's status is published before its
//! parent is woken, and a zombie stays collectable until a `wait4` that could write the
//! status collects it — there is no window in which a child was reported dead but cannot
//! be collected.

use alloc::sync::Arc;

use abi::wait::{WALL, WCLONE, WCONTINUED, WNOHANG, WNOTHREAD, WUNTRACED};

use super::usercopy::write_val;
use super::{Pid, Process, WaitStatus};

/// wait4's options (Linux's bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions(pub u64);

impl WaitOptions {
    const KNOWN: u64 = WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE;
}

/// Why wait4 failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitError {
    /// No child matches (ECHILD).
    NoChild,
    /// Unknown option bits (EINVAL).
    BadOptions,
    /// The status or rusage pointer is bad (EFAULT); the child stays collectable.
    BadAddress,
    /// The caller was killed while waiting (EINTR; it dies on the way out).
    Interrupted,
}

/// wait4 for `process`: `pid` -1 (or 0, or -pgid: there are no process groups, so every
/// child is in the caller's) means any child. Returns the collected child's pid, or 0 with
/// `WNOHANG` while matching children live.
pub fn wait4(
    process: &Arc<Process>,
    pid: i64,
    status_address: u64,
    options: WaitOptions,
    rusage_address: u64,
) -> Result<Pid, WaitError> {
    if options.0 & !WaitOptions::KNOWN != 0 {
        return Err(WaitError::BadOptions);
    }
    let pid = if pid < -1 || pid == 0 { -1 } else { pid };
    loop {
        let (matching, zombie) = process.find_child(pid);
        if matching == 0 {
            return Err(WaitError::NoChild);
        }
        if let Some((child, status)) = zombie {
            let usage = child.total_usage();
            write_results(process, status, usage, status_address, rusage_address)
                .map_err(|_| WaitError::BadAddress)?;
            if process.collect_child(&child) {
                process.add_child_usage(usage);
                crate::trace::process_event(child.pid().0, "waited");
                return Ok(child.pid());
            }
            // Collected meanwhile by another of our threads: look again.
            continue;
        }
        if options.0 & WNOHANG != 0 {
            return Ok(Pid(0));
        }
        if process.group_exiting() {
            return Err(WaitError::Interrupted);
        }
        process.wait_for_child(pid);
    }
}

fn write_results(
    process: &Process,
    status: WaitStatus,
    usage: crate::sched::cpu_time::CpuTime,
    status_address: u64,
    rusage_address: u64,
) -> Result<(), abi::Errno> {
    if status_address != 0 {
        write_val(process, status_address, &status.0)?;
    }
    if rusage_address != 0 {
        write_val(process, rusage_address, &super::usage::rusage(usage))?;
    }
    Ok(())
}

impl Process {
    /// Children matching `pid` (-1: any), and among them the zombie of lowest pid with its
    /// status.
    fn find_child(&self, pid: i64) -> (usize, Option<(Arc<Process>, WaitStatus)>) {
        self.adopt_orphans();
        let zombie = |child: &Arc<Process>| child.status().map(|status| (child.clone(), status));
        let children = self.children.lock();
        if pid == -1 {
            return (children.len(), children.values().find_map(zombie));
        }
        let child = u32::try_from(pid).ok().and_then(|pid| children.get(pid));
        (usize::from(child.is_some()), child.and_then(zombie))
    }

    /// Blocks until a child matching `pid` has ended, none is left, or the process must
    /// exit.
    fn wait_for_child(&self, pid: i64) {
        self.child_ended.wait_until(|| {
            let (matching, zombie) = self.find_child(pid);
            matching == 0 || zombie.is_some() || self.group_exiting()
        });
    }
}
