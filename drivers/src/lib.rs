//! Lethe's device drivers: small, each in its own file, with register access kept here.
//!
//! The logic of each driver (screen scrolling, the scancode queue, the PIT count) builds
//! and tests on the host; the port and memory-mapped accesses are x86-only and marked
//! `unsafe` at the one place each happens.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod fw_cfg;
pub mod input_queue;
#[cfg(target_arch = "x86_64")]
pub mod keyboard;
pub mod pit;
#[cfg(target_arch = "x86_64")]
pub mod qemu_exit;
#[cfg(target_arch = "x86_64")]
pub mod serial;
pub mod vga;
