//! Lethe's memory management, in logic that tests on the host.
//!
//! - `boot_frames`: the boot-time frame source, used until the heap is up;
//! - `frame_allocator`: the physical frame allocator that frees, with per-owner counts.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod boot_frames;
pub mod frame_allocator;

/// Size of a page and of a physical frame.
pub const PAGE_SIZE: u64 = 4096;
