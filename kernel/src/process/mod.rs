//! User processes: an address space, threads, an exit status, a parent and children.
//! exec loads a static ELF from the ramdisk into a fresh address space, makes the other
//! threads leave and only then frees the old space; fork copies the calling process;
//! wait4 collects ended children.
//!
//! Exit follows DESIGN.md's order already: in the exiting thread's own context the user
//! address space is purged (R2), then the exit status is published and the `exited` event
//! fires, then the thread exits and its teardown task reaps it. The page-table root goes
//! when the process does (after its last thread is torn down and its parent has collected
//! it). Orphans go to init, pid 1 (R9).

mod exec;
mod fork;
pub mod futex;
mod lifecycle;
pub mod limits;
pub mod memory;
mod pid_map;
pub mod signal;
pub mod usage;
pub mod usercopy;
mod wait;

pub use exec::{ARGUMENT_ROOM, ExecError, execve, spawn_program};
pub(crate) use exec::{enter_user_mode, return_to_user_mode};
pub use fork::{CloneError, CloneRequest, ForkError, clone_thread, fork};
pub use lifecycle::{
    MAX_PROCESSES, Pid, Process, WaitStatus, current, die_if_killed, exit_current, exit_thread, find,
    kill_all_but, kill_current, pids_in_use, process_count,
};
pub use limits::TaskCharge;
pub use wait::{WaitError, WaitOptions, wait4};
