//! fork: a new process whose address space is a copy of the caller's and whose one thread
//! returns from the same system call with 0, while the parent gets the child's pid.
//!
//! Fork either succeeds whole or leaves nothing behind (R3): a copy that runs out of
//! frames gives back what it took, and a child whose thread cannot be made is forgotten.

use alloc::sync::Arc;

use super::lifecycle::{Pid, Process};
use crate::arch::syscall::SyscallFrame;
use crate::mm::{frames::with_frames, window::window};
use crate::sched::{self, SpawnError};

/// Why fork failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkError {
    /// No memory for the copy or the thread (ENOMEM).
    OutOfMemory,
    /// The thread limit is reached (EAGAIN).
    TooManyThreads,
}

/// Forks the calling process, whose registers at the system call are `registers`.
pub fn fork(parent: &Arc<Process>, registers: &SyscallFrame) -> Result<Pid, ForkError> {
    let copy = parent
        .with_space(|space| with_frames(|frames| space.duplicate(window(), frames)))
        .expect("fork: the calling process has no address space");
    let space = copy.map_err(|_| ForkError::OutOfMemory)?;
    let child = Process::new(space, parent.layout(), Some(parent));
    child.inherit_signals(parent);
    let mut child_registers = registers.clone();
    child_registers.rax = 0;
    let me = sched::cpu::this_cpu().current();
    let fs_base = me.fs_base.load(core::sync::atomic::Ordering::Relaxed);
    match sched::spawn_forked(
        me.name(),
        child.clone(),
        child_registers,
        crate::arch::fpu::snapshot(),
        fs_base,
    ) {
        Ok(handle) => {
            child.add_thread(handle.thread_ref());
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
