//! Lethe's memory management, in logic that tests on the host.
//!
//! - `boot_frames`: the boot-time frame source, used until the heap is up;
//! - `frame_allocator`: the physical frame allocator that frees, with per-owner counts;
//! - `fault_injection`: which allocation of a kind to fail (Linux's fail_page_alloc);
//! - `frame_source`: what page-table code allocates from (the allocator, or a locked one);
//! - `address_space`: 4-level page tables with a shared kernel half and an owned user half;
//! - `kernel_stacks`: guarded, poisoned-on-free kernel stacks in a dedicated region;
//! - `reserved_ranges`: the ranges a process reserved without mapping them (PROT_NONE);
//! - `pool`: fixed-size object pools on full/partial/empty page lists (NetBSD's pool(9));
//! - `typed_pool`: boxes and reference-counted objects in those pools' slots, for a host
//!   kernel that supplies the window, the frames and the lock rule;
//! - `handoff`: a lock-free one-place cell passing a pooled reference between contexts;
//! - `sizing`: the thread limit and the heap's size, from the RAM the machine has;
//! - `phys`: raw access to frames through a window; it, `typed_pool` and `handoff` are the
//!   crate's only `unsafe`.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod address_space;
pub mod boot_frames;
pub mod fault_injection;
pub mod frame_allocator;
pub mod frame_source;
#[allow(unsafe_code)]
pub mod handoff;
pub mod kernel_stacks;
mod page_table;
#[allow(unsafe_code)]
pub mod phys;
pub mod pool;
pub mod reserved_ranges;
pub mod sizing;
#[allow(unsafe_code)]
pub mod typed_pool;

/// Size of a page and of a physical frame.
pub const PAGE_SIZE: u64 = 4096;
