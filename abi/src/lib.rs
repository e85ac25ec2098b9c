//! The Linux x86-64 system-call ABI as Lethe implements it, shared by the kernel and its
//! user programs so that both sides read one definition.
//!
//! Every value here is Linux's: the same call numbers, errno values, signal numbers,
//! wait-status encoding and structure layouts (`#[repr(C)]`, checked against Linux's
//! sizes by the tests). Lethe's own additions — the `lethe_reaping` call and its strategy
//! numbers — sit above Linux's numbers, where Linux has none. The structures derive
//! zerocopy's traits, so the kernel copies them to and from user memory as plain bytes
//! without a line of unsafe code.

#![no_std]
#![forbid(unsafe_code)]

pub mod errno;
pub mod number;
pub mod reaping;
pub mod signal;
pub mod types;
pub mod wait;

pub use errno::Errno;
pub use wait::WaitStatus;
pub use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
