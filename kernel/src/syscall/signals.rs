//! Signal calls: `kill`, `rt_sigaction`, `rt_sigprocmask` and `rt_sigpending`
//! (`process::signal` sends them and keeps the mask and the pending set).

use super::current_process;
use super::errno::Errno;
use crate::process::{self, usercopy};

/// `kill(pid, sig)`: signal 0 checks that the process exists; any other is sent
/// (`process::signal`: its default action, or pending while blocked). pid -1 means every
/// process but init and the caller (the one user may signal them all); ESRCH if there are
/// none.
pub(super) fn kill(pid: i64, signal: u64) -> Result<u64, Errno> {
    if signal > 64 {
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
    const SIGKILL: u64 = 9;
    const SIGSTOP: u64 = 19;
    const SIGCHLD: u64 = 17;
    const SIG_IGN: u64 = 1;
    const SA_NOCLDWAIT: u64 = 2;
    if set_size != 8 || !(1..=64).contains(&signal) {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let index = signal as usize - 1;
    let previous = process.signal_action(index);
    if old_action != 0 {
        let mut bytes = [0u8; 32];
        for (word, value) in bytes.chunks_mut(8).zip(previous) {
            word.copy_from_slice(&value.to_le_bytes());
        }
        match process.with_space(|space| usercopy::copy_to_user(space, old_action, &bytes)) {
            Some(Ok(())) => {}
            _ => return Err(Errno::EFAULT),
        }
    }
    if action != 0 {
        if signal == SIGKILL || signal == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let mut bytes = [0u8; 32];
        match process.with_space(|space| usercopy::copy_from_user(space, action, &mut bytes)) {
            Some(Ok(())) => {}
            _ => return Err(Errno::EFAULT),
        }
        let words: [u64; 4] =
            core::array::from_fn(|i| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap()));
        process.set_signal_action(index, words);
        if signal == SIGCHLD {
            process.set_children_detached(words[0] == SIG_IGN || words[1] & SA_NOCLDWAIT != 0);
        }
    }
    Ok(0)
}

/// `rt_sigpending(set, sigsetsize)`: the signals sent while blocked, not yet acted on.
pub(super) fn rt_sigpending(set: u64, set_size: u64) -> Result<u64, Errno> {
    if set_size > 8 {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let pending = process::signal::pending(&process).to_le_bytes();
    match process.with_space(|space| usercopy::copy_to_user(space, set, &pending[..set_size as usize])) {
        Some(Ok(())) => Ok(0),
        _ => Err(Errno::EFAULT),
    }
}

/// `rt_sigprocmask(how, set, oldset, sigsetsize)`: the mask is kept per process; a
/// signal it blocks stays pending until it is unblocked (`process::signal`).
pub(super) fn rt_sigprocmask(how: u64, set: u64, old_set: u64, set_size: u64) -> Result<u64, Errno> {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    if set_size != 8 {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let previous = process.signal_mask();
    if old_set != 0 {
        match process.with_space(|space| usercopy::copy_to_user(space, old_set, &previous.to_le_bytes())) {
            Some(Ok(())) => {}
            _ => return Err(Errno::EFAULT),
        }
    }
    if set != 0 {
        let mut bytes = [0u8; 8];
        match process.with_space(|space| usercopy::copy_from_user(space, set, &mut bytes)) {
            Some(Ok(())) => {}
            _ => return Err(Errno::EFAULT),
        }
        let given = u64::from_le_bytes(bytes);
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
