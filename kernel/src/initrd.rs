//! The initial ramdisk: a cpio newc archive of programs, `/init` first among them.
//!
//! The built-in one is packed by `build.rs` from the programs in `user/` and embedded in
//! the kernel image. QEMU can hand the kernel another at boot as the fw_cfg file
//! `opt/lethe/initrd` (`scripts/run --initrd PATH`); `init` then uses that one instead, so
//! anyone can run their own static binaries without rebuilding the kernel.
//!
//! A supplied ramdisk is used whole or not at all: one over `MAX_SUPPLIED_SIZE`, not a cpio
//! newc archive, or without a regular file `/init` makes `archive` and `find` fail for the
//! rest of the boot. The kernel never falls back to the built-in ramdisk then, so a user's
//! program that cannot run is never silently replaced by the demonstration's. `init` runs
//! once, from `kernel::init` once the heap is up; everything after reads what it decided.

use alloc::vec::Vec;
use core::fmt;

use conquer_once::spin::OnceCell;
use loader::cpio::{self, CpioError};

/// The ramdisk built into the kernel image.
pub static BUILT_IN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/initrd.cpio"));

/// The fw_cfg file a user's ramdisk comes in.
const FW_CFG_NAME: &str = "opt/lethe/initrd";

/// Largest ramdisk accepted over fw_cfg (it is read into the kernel heap).
const MAX_SUPPLIED_SIZE: u32 = 4 * 1024 * 1024;

/// What QEMU supplied, if it did: the archive, or why it cannot be used.
static SUPPLIED: OnceCell<Result<Vec<u8>, RamdiskError>> = OnceCell::uninit();

/// Why the ramdisk cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamdiskError {
    /// The supplied ramdisk is over `MAX_SUPPLIED_SIZE`.
    TooLarge { size: u32 },
    /// It is not a cpio newc archive.
    NotAnArchive(CpioError),
    /// The supplied ramdisk has no regular file `/init`.
    NoInit,
}

impl fmt::Display for RamdiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RamdiskError::TooLarge { size } => {
                write!(f, "it is {size} bytes, over the limit of {MAX_SUPPLIED_SIZE} bytes")
            }
            RamdiskError::NotAnArchive(error) => write!(f, "not a cpio newc archive ({error})"),
            RamdiskError::NoInit => f.write_str("it has no regular file /init"),
        }
    }
}

/// Looks for a ramdisk handed over through fw_cfg and decides, once, whether it is the one
/// in use or an error. Call once the heap is up.
pub fn init() {
    let Some(file) = hardware::drivers::fw_cfg::find(FW_CFG_NAME) else { return };
    let supplied = read_supplied(file);
    if let Ok(archive) = &supplied {
        log::info!("initrd: using {FW_CFG_NAME} from QEMU: {} bytes", archive.len());
    }
    SUPPLIED.init_once(|| supplied);
}

fn read_supplied(file: hardware::drivers::fw_cfg::FileEntry) -> Result<Vec<u8>, RamdiskError> {
    if file.size > MAX_SUPPLIED_SIZE {
        return Err(RamdiskError::TooLarge { size: file.size });
    }
    let archive = hardware::drivers::fw_cfg::read_file(file);
    match cpio::find(&archive, "/init") {
        Ok(Some(_)) => Ok(archive),
        Ok(None) => Err(RamdiskError::NoInit),
        Err(error) => Err(RamdiskError::NotAnArchive(error)),
    }
}

/// The ramdisk in use: the one QEMU supplied, if it did, else the built-in one. An error
/// only if QEMU supplied one that cannot be used.
pub fn archive() -> Result<&'static [u8], RamdiskError> {
    match SUPPLIED.get() {
        None => Ok(BUILT_IN),
        Some(Ok(archive)) => Ok(archive),
        Some(Err(error)) => Err(*error),
    }
}

/// The contents of regular file `path` in the ramdisk in use.
pub fn find(path: &str) -> Result<Option<&'static [u8]>, RamdiskError> {
    cpio::find(archive()?, path).map_err(RamdiskError::NotAnArchive)
}
