//! fork: a new process whose address space is a copy of the caller's and whose one thread
//! returns from the same system call with 0, while the parent gets the child's pid.
//!
//! Fork either succeeds whole or leaves nothing behind (R3): a copy that runs out of
//! frames gives back what it took, and a child whose thread cannot be made is forgotten.

use alloc::sync::Arc;

use super::process_count::ProcessCount;
use super::{Pid, Process};
use crate::arch::syscall::SyscallFrame;
use crate::mm::{frames::LockedFrames, window::window};
use crate::sched::TaskCharge;
use crate::sched::{self, SpawnError};

/// Why fork failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkError {
    /// No memory for the copy or the thread (ENOMEM).
    OutOfMemory,
    /// The system's thread limit or the user's (RLIMIT_NPROC) is reached (EAGAIN).
    TooManyThreads,
    /// The process limit is reached (EAGAIN).
    TooManyProcesses,
    /// The caller was killed while forking; the child is gone (the caller never sees this:
    /// it dies on its way back to user mode).
    Killed,
}

/// Forks the calling process, whose registers at the system call are `registers`.
pub fn fork(parent: &Arc<Process>, registers: &SyscallFrame) -> Result<Pid, ForkError> {
    let limits = parent.limits();
    let task_charge = sched::reclaim::with_room(|| TaskCharge::take(limits.task_limit()))
        .ok_or(ForkError::TooManyThreads)?;
    let counted = ProcessCount::take().ok_or(ForkError::TooManyProcesses)?;
    // Fail fast, before the copy, when no thread slot is free (a fork bomb meets this limit
    // first: kernel threads hold slots too); the claim when the thread is made decides.
    let slot_free = || (sched::slots::in_use() < sched::slots::max_threads()).then_some(());
    if sched::reclaim::with_room(slot_free).is_none() {
        return Err(ForkError::TooManyThreads);
    }
    // The space and the layout copied together, so that the child's reserved ranges are
    // the parent's at the moment of the copy.
    let copy = parent
        .with_memory(|space, layout| {
            let layout = layout.try_clone().map_err(|_| ForkError::OutOfMemory)?;
            let space = space.duplicate(window(), &mut LockedFrames).map_err(|_| ForkError::OutOfMemory)?;
            Ok((space, layout))
        })
        .expect("fork: the calling process has no address space");
    let (space, layout) = copy?;
    let Ok(files) = parent.with_files(|table| table.try_clone()) else {
        crate::mm::spaces::destroy(space);
        return Err(ForkError::OutOfMemory);
    };
    let id = sched::ThreadId::reserve_for_process();
    let child = Process::new(Pid(id.0 as u32), counted, space, layout, limits, files, Some(parent))
        .map_err(|_| ForkError::OutOfMemory)?;
    // After the child is in the process table: a `kill_all_but` that did not see the child
    // had already marked this parent, or sees the child on its next pass.
    if parent.group_exiting() {
        parent.abandon_child(&child);
        return Err(ForkError::Killed);
    }
    child.inherit_signals(parent);
    let mut child_registers = registers.clone();
    child_registers.rax = 0;
    let me = sched::cpu::current_thread();
    let fs_base = me.fs_base.load(core::sync::atomic::Ordering::Relaxed);
    if child.reserve_thread().is_err() {
        parent.abandon_child(&child);
        return Err(ForkError::OutOfMemory);
    }
    let spawned = sched::spawn_forked(
        me.name(),
        child.clone(),
        task_charge,
        child_registers,
        sched::UserThread { fpu: crate::arch::fpu::snapshot(), fs_base, clear_child_tid: 0, id },
    );
    if spawned.is_err() {
        child.unreserve_thread();
    }
    match spawned {
        Ok(_) => {
            crate::trace::process_event(child.pid().0, "fork");
            Ok(child.pid())
        }
        Err(error) => {
            parent.abandon_child(&child);
            Err(match error {
                SpawnError::TooManyThreads => ForkError::TooManyThreads,
                SpawnError::OutOfMemory => ForkError::OutOfMemory,
            })
        }
    }
}

/// clone flags: Linux's (`abi::clone`), and the sets of them Lethe accepts.
pub mod clone_flags {
    pub use abi::clone::*;
    /// What a new thread of the same process needs (musl's pthread_create passes these).
    pub const THREAD: u64 = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
    /// Everything accepted with `THREAD`.
    pub const THREAD_OPTIONAL: u64 = CLONE_FS
        | CLONE_FILES
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_CHILD_SETTID
        | CLONE_DETACHED;
}

/// What a clone asks for.
pub struct CloneRequest {
    pub flags: u64,
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
}

/// Why clone failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneError {
    /// A flag combination other than a thread of the same process (EINVAL).
    Unsupported,
    /// A tid pointer is bad (EFAULT).
    BadAddress,
    Fork(ForkError),
}

/// clone for a new thread of `process`: it returns to user mode with `registers` (0 in rax)
/// on `request.stack`, with TLS and tid pointers as the flags ask. Returns its thread id.
pub fn clone_thread(
    process: &Arc<Process>,
    registers: &SyscallFrame,
    request: &CloneRequest,
) -> Result<u64, CloneError> {
    use clone_flags::*;
    let flags = request.flags & !0xff; // the low byte is the exit signal
    if flags & THREAD != THREAD || flags & !(THREAD | THREAD_OPTIONAL) != 0 {
        return Err(CloneError::Unsupported);
    }
    let mut child_registers = registers.clone();
    child_registers.rax = 0;
    if request.stack != 0 {
        child_registers.rsp = request.stack;
    }
    let me = sched::cpu::current_thread();
    let fs_base = if flags & CLONE_SETTLS != 0 {
        request.tls
    } else {
        me.fs_base.load(core::sync::atomic::Ordering::Relaxed)
    };
    let clear_child_tid = if flags & CLONE_CHILD_CLEARTID != 0 { request.child_tid } else { 0 };
    // The tid pointers are written before the thread exists: on another CPU it may run at
    // once, and musl's thread-list lock compares a thread's own tid (found at -smp 4: a new
    // thread that read tid 0 took the lock its creator held, and the thread list broke).
    let id = sched::ThreadId::reserve();
    for (flag, address) in
        [(CLONE_PARENT_SETTID, request.parent_tid), (CLONE_CHILD_SETTID, request.child_tid)]
    {
        if flags & flag != 0 {
            super::usercopy::write_val(process, address, &(id.0 as u32))
                .map_err(|_| CloneError::BadAddress)?;
        }
    }
    let task_charge = sched::reclaim::with_room(|| TaskCharge::take(process.limits().task_limit()))
        .ok_or(CloneError::Fork(ForkError::TooManyThreads))?;
    process.reserve_thread().map_err(|_| CloneError::Fork(ForkError::OutOfMemory))?;
    let spawned = sched::spawn_forked(
        me.name(),
        process.clone(),
        task_charge,
        child_registers,
        sched::UserThread { fpu: crate::arch::fpu::snapshot(), fs_base, clear_child_tid, id },
    );
    let handle = match spawned {
        Ok(handle) => handle,
        Err(error) => {
            process.unreserve_thread();
            return Err(CloneError::Fork(match error {
                SpawnError::TooManyThreads => ForkError::TooManyThreads,
                SpawnError::OutOfMemory => ForkError::OutOfMemory,
            }));
        }
    };
    debug_assert_eq!(handle.thread().id(), id);
    crate::trace::process_event(process.pid().0, "clone");
    Ok(id.0)
}
