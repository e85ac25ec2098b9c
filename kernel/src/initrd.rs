//! The initial ramdisk: a cpio newc archive of programs, `/init` first among them.
//!
//! The built-in one is packed by `build.rs` from the programs in `user/` and embedded in
//! the kernel image.

use loader::cpio::{self, CpioError};

/// The ramdisk built into the kernel image.
pub static BUILT_IN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/initrd.cpio"));

/// The ramdisk in use.
pub fn archive() -> &'static [u8] {
    BUILT_IN
}

/// The contents of regular file `path` in the ramdisk.
pub fn find(path: &str) -> Result<Option<&'static [u8]>, CpioError> {
    cpio::find(archive(), path)
}
