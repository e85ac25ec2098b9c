//! Lethe's program loading, in logic that tests on the host.
//!
//! - `cpio`: the initial ramdisk's format (cpio "newc"), read and — for the build that
//!   packs the built-in ramdisk and for `mkcpio` (`src/bin/mkcpio.rs`, behind
//!   `scripts/mkinitrd`) — written;
//! - `elf_plan`: what an ELF64 static executable (ET_EXEC or static-PIE ET_DYN) asks to be
//!   mapped, checked against the user half of the address space;
//! - `initial_stack`: the System V initial process stack (argc, argv, envp, auxv, strings).
//!
//! Nothing here touches memory it was not handed: the kernel maps what the plan says and
//! copies the stack image this crate builds.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod cpio;
pub mod elf_plan;
pub mod initial_stack;
