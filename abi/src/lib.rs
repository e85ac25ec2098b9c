//! The Linux x86-64 system-call ABI as Lethe implements it, shared by the kernel and its
//! user programs so that both sides read one definition.
//!
//! Every value here is Linux's: the same call numbers, errno values, signal numbers,
//! flags, clock ids, codes, wait-status encoding and structure layouts (`#[repr(C)]`),
//! each checked against the host's `libc` crate by `tests/linux.rs`. Lethe's own additions — the `lethe_reaping` call and its strategy
//! numbers — sit above Linux's numbers, where Linux has none. The structures derive
//! zerocopy's traits, so the kernel copies them to and from user memory as plain bytes
//! without a line of unsafe code.

#![no_std]
#![forbid(unsafe_code)]

pub mod arch_prctl;
pub mod clock;
pub mod clone;
pub mod errno;
pub mod fcntl;
pub mod futex;
pub mod ioctl;
pub mod mman;
pub mod number;
pub mod reaping;
pub mod resource;
pub mod signal;
pub mod types;
pub mod wait;

pub use errno::Errno;
pub use wait::WaitStatus;
pub use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
