//! Lethe's memory management, in logic that tests on the host.
//!
//! So far: the boot-time frame source that hands out the usable RAM the bootloader reports.
//! The frame allocator that frees, address spaces, guarded kernel stacks and object pools
//! come next (issue 3) and replace it.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod boot_frames;

/// Size of a page and of a physical frame.
pub const PAGE_SIZE: u64 = 4096;
