//! Resources: `getrlimit`, `setrlimit` and `prlimit64` — a process's limits, as Linux's
//! `struct rlimit` (two u64s: soft, then hard; every limit is stored, RLIMIT_NPROC is
//! enforced: `process::limits`) — and `getrusage`, the CPU time used (`process::usage`).

use super::current_process;
use crate::process::{self, limits::Limit, usercopy};
use abi::Errno;
use abi::types::Rlimit;

/// `getrusage(who, usage)`: RUSAGE_SELF (0) the process's threads, live and gone;
/// RUSAGE_CHILDREN (-1) its collected children; RUSAGE_THREAD (1) the caller.
pub(super) fn getrusage(who: u64, address: u64) -> Result<u64, Errno> {
    let process = current_process();
    let time = match who as i32 {
        0 => process.usage().own,
        -1 => process.usage().children,
        1 => crate::sched::cpu_time::of(&crate::sched::cpu::current_thread()),
        _ => return Err(Errno::EINVAL),
    };
    usercopy::write_val(&process, address, &process::usage::rusage(time)).map(|()| 0)
}

/// `getrlimit(resource, old)`.
pub(super) fn getrlimit(resource: u64, old: u64) -> Result<u64, Errno> {
    prlimit64(0, resource, 0, old)
}

/// `setrlimit(resource, new)`.
pub(super) fn setrlimit(resource: u64, new: u64) -> Result<u64, Errno> {
    prlimit64(0, resource, new, 0)
}

/// `prlimit64(pid, resource, new, old)`: sets the limit of process `pid` (0: the caller)
/// to `*new` if `new` is not NULL, and stores the previous one in `*old` if `old` is not
/// NULL. Raising a hard limit is allowed: the one user, uid 0, may.
pub(super) fn prlimit64(pid: u64, resource: u64, new: u64, old: u64) -> Result<u64, Errno> {
    let caller = current_process();
    // Like Linux: the new limit is read before anything is checked.
    let requested = if new == 0 {
        None
    } else {
        let limit: Rlimit = usercopy::read_val(&caller, new)?;
        Some(Limit { soft: limit.soft, hard: limit.hard })
    };
    let target = match pid {
        0 => caller.clone(),
        pid => {
            let pid = u32::try_from(pid).map_err(|_| Errno::ESRCH)?;
            process::find(process::Pid(pid)).ok_or(Errno::ESRCH)?
        }
    };
    let resource = usize::try_from(resource).map_err(|_| Errno::EINVAL)?;
    let current = target.limits().get(resource).ok_or(Errno::EINVAL)?;
    let previous = match requested {
        None => current,
        Some(limit) => target.set_limit(resource, limit).map_err(|_| Errno::EINVAL)?,
    };
    if old != 0 {
        usercopy::write_val(&caller, old, &Rlimit { soft: previous.soft, hard: previous.hard })?;
    }
    Ok(0)
}
