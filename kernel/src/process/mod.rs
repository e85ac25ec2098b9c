//! User processes: an address space, threads, an exit status, a parent and children.
//!
//! `control_block` is what a process is made of and its lock order; `exit` is how it and
//! its threads die (the state diagram); `exec` loads a static ELF from the ramdisk into a
//! fresh address space, makes the other threads exit and only then frees the old space;
//! `fork` copies the calling process; `wait` collects ended children; `pid_table` and
//! `process_count` are the kernel-wide tables; `signal` sends signals.

mod control_block;
mod exec;
mod exit;
mod fork;
pub mod futex;
pub mod limits;
pub mod memory;
mod pid_map;
mod pid_table;
mod process_count;
pub mod signal;
pub mod usage;
pub mod usercopy;
mod wait;

pub use abi::WaitStatus;
pub use control_block::{Process, current};
pub use exec::{ARGUMENT_ROOM, ExecError, execve, spawn_program};
pub use exit::{exit, exit_group, exit_if_group_exiting};
pub use fork::{CloneError, CloneRequest, ForkError, clone_thread, fork};
pub use pid_table::{Pid, find, kill_all_but, pids_in_use};
pub use process_count::{MAX_PROCESSES, process_count};
pub use wait::{WaitError, WaitOptions, wait4};
