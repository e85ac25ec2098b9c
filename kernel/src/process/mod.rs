//! User processes — first cut: a process is an address space, one thread, and an exit
//! status; exec loads a static ELF from the ramdisk into a fresh address space.
//!
//! Exit follows DESIGN.md's order already: in the exiting thread's own context the user
//! address space is purged (R2), then the exit status is published and the `exited` event
//! fires, then the thread exits and its teardown task reaps it. The page-table root goes
//! when the process does (after its last thread is torn down). Fork, wait, zombies and the
//! process table come with the next slices of issue 5 and with issue 6.

mod exec;
mod lifecycle;
pub mod usercopy;

pub(crate) use exec::enter_user_mode;
pub use exec::{ExecError, spawn_program};
pub use lifecycle::{Pid, Process, WaitStatus, current, exit_current, kill_current};
