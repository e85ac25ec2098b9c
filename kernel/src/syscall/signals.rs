//! Signal calls: `kill`, `rt_sigaction`, `rt_sigprocmask` and `rt_sigpending`
//! (`process::signal` sends them and keeps the mask and the pending set).

use super::current_process;
use crate::process::{self, usercopy};
use abi::Errno;
use abi::signal::*;
use abi::types::Sigaction;

/// `kill(pid, sig)`: signal 0 checks that the process exists; any other is sent
/// (`process::signal`: its default action, or pending while blocked). pid -1 means every
/// process but init and the caller (the one user may signal them all); ESRCH if there are
/// none.
pub(super) fn kill(pid: i64, signal: u64) -> Result<u64, Errno> {
    if signal > SIGNALS as u64 {
        return Err(Errno::EINVAL);
    }
    let signal = (signal != 0).then_some(signal as i32);
    if pid == -1 {
        return match process::kill_all_but(&current_process(), signal) {
            0 => Err(Errno::ESRCH),
            _ => Ok(0),
        };
    }
    // Process groups (pid 0, pid < -1) are not there yet.
    let pid = u32::try_from(pid).ok().filter(|&pid| pid > 0).ok_or(Errno::EINVAL)?;
    let target = process::find(process::Pid(pid)).ok_or(Errno::ESRCH)?;
    if let Some(signal) = signal {
        process::signal::send(&target, signal);
    }
    Ok(0)
}

/// `rt_sigaction(sig, act, oldact, sigsetsize)`. Actions are recorded per process, but only
/// default actions take effect (there is no signal delivery to handlers yet); SIGCHLD set
/// to SIG_IGN, or with SA_NOCLDWAIT, means children are not kept as zombies.
pub(super) fn rt_sigaction(signal: u64, action: u64, old_action: u64, set_size: u64) -> Result<u64, Errno> {
    let signal = i32::try_from(signal).ok().filter(|signal| (1..=SIGNALS).contains(signal));
    let Some(signal) = signal.filter(|_| set_size == SET_SIZE) else {
        return Err(Errno::EINVAL);
    };
    let process = current_process();
    let previous = process.signal_action(signal);
    if old_action != 0 {
        usercopy::write_val(&process, old_action, &previous)?;
    }
    if action != 0 {
        if signal == SIGKILL || signal == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let action: Sigaction = usercopy::read_val(&process, action)?;
        process.set_signal_action(signal, action);
        if signal == SIGCHLD {
            process.set_children_detached(action.handler == SIG_IGN || action.flags & SA_NOCLDWAIT != 0);
        }
    }
    Ok(0)
}

/// `rt_sigpending(set, sigsetsize)`: the signals sent while blocked, not yet acted on.
pub(super) fn rt_sigpending(set: u64, set_size: u64) -> Result<u64, Errno> {
    if set_size > SET_SIZE {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let pending = process::signal::pending(&process).to_le_bytes();
    usercopy::write_val(&process, set, &pending[..set_size as usize]).map(|()| 0)
}

/// `rt_sigprocmask(how, set, oldset, sigsetsize)`: the mask is kept per process; a
/// signal it blocks stays pending until it is unblocked (`process::signal`).
pub(super) fn rt_sigprocmask(how: u64, set: u64, old_set: u64, set_size: u64) -> Result<u64, Errno> {
    if set_size != SET_SIZE {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let previous = process.signal_mask();
    if old_set != 0 {
        usercopy::write_val(&process, old_set, &previous)?;
    }
    if set != 0 {
        let given: u64 = usercopy::read_val(&process, set)?;
        let mask = match how {
            SIG_BLOCK => previous | given,
            SIG_UNBLOCK => previous & !given,
            SIG_SETMASK => given,
            _ => return Err(Errno::EINVAL),
        };
        process.set_signal_mask(mask);
    }
    Ok(0)
}
