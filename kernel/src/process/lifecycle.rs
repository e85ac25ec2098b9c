//! The process and its lifecycle: its pid, address space, and how it ended.
//!
//! Exit status uses Linux's wait-status encoding (`W_EXITCODE`): an exit code `c` is
//! `(c & 0xff) << 8`, death by signal `s` is `s`.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use executor::OneShotEvent;
use mm::address_space::AddressSpace;

use crate::mm::spaces;
use crate::sched::{self, cpu::this_cpu};

/// A process id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pid(pub u32);

/// How a process ended, in Linux's wait-status encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitStatus(pub i32);

impl WaitStatus {
    pub fn exited(code: i32) -> Self {
        WaitStatus((code & 0xff) << 8)
    }

    pub fn signaled(signal: i32) -> Self {
        WaitStatus(signal & 0x7f)
    }

    /// The exit code, if the process exited (`WIFEXITED`/`WEXITSTATUS`).
    pub fn exit_code(self) -> Option<i32> {
        (self.0 & 0x7f == 0).then_some((self.0 >> 8) & 0xff)
    }

    /// The signal that killed the process, if one did (`WIFSIGNALED`/`WTERMSIG`).
    pub fn signal(self) -> Option<i32> {
        let signal = self.0 & 0x7f;
        (signal != 0 && signal != 0x7f).then_some(signal)
    }
}

/// Capability to fire a process's exited event: only `finish` makes one.
pub struct Exited(());

pub struct Process {
    pid: Pid,
    /// Physical address of the address space's root (what CR3 holds for its threads).
    root: u64,
    /// The address space; taken (and freed) when the process goes.
    space: spin::Mutex<Option<AddressSpace>>,
    status: spin::Mutex<Option<WaitStatus>>,
    exited: OneShotEvent<Exited>,
}

static NEXT_PID: AtomicU32 = AtomicU32::new(1);

impl Process {
    pub(super) fn new(space: AddressSpace) -> Arc<Self> {
        Arc::new(Process {
            pid: Pid(NEXT_PID.fetch_add(1, Ordering::Relaxed)),
            root: space.root(),
            space: spin::Mutex::new(Some(space)),
            status: spin::Mutex::new(None),
            exited: OneShotEvent::new(),
        })
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The page-table root to load for this process's threads.
    pub fn page_table_root(&self) -> u64 {
        self.root
    }

    /// Runs `work` on the address space, with preemption off (the lock is a spin lock).
    pub fn with_space<R>(&self, work: impl FnOnce(&mut AddressSpace) -> R) -> Option<R> {
        sched::without_preemption(|| self.space.lock().as_mut().map(work))
    }

    /// How the process ended, once it has.
    pub fn status(&self) -> Option<WaitStatus> {
        *self.status.lock()
    }

    /// Completes when the process has ended and its user memory is gone.
    pub async fn exited(self: Arc<Self>) -> WaitStatus {
        self.exited.wait().await;
        self.status().expect("process: exited without a status")
    }

    /// Ends the process from its own (last) thread: purge the user half (R2), then publish
    /// the status and fire `exited`. The root stays until the process is dropped.
    fn finish(&self, status: WaitStatus) {
        let purged = self.with_space(|space| {
            crate::mm::frames::with_frames(|frames| space.purge(crate::mm::window::window(), frames))
        });
        debug_assert!(purged.is_some(), "process: finished twice");
        *self.status.lock() = Some(status);
        self.exited.fire(Exited(()));
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(space) = self.space.get_mut().take() {
            spaces::destroy(space);
        }
    }
}

/// The process of the running thread, if it is a user thread.
pub fn current() -> Option<Arc<Process>> {
    this_cpu().current().process().cloned()
}

/// Ends the calling user thread's process with exit code `code` (exit, exit_group).
pub fn exit_current(code: i32) -> ! {
    end_current(WaitStatus::exited(code))
}

/// Ends the calling user thread's process as killed by `signal` (a fault in user mode).
pub fn kill_current(signal: i32) -> ! {
    end_current(WaitStatus::signaled(signal))
}

fn end_current(status: WaitStatus) -> ! {
    let process = current().expect("process: exit from a kernel thread");
    process.finish(status);
    drop(process);
    sched::thread::exit_current()
}
