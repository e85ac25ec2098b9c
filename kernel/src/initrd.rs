//! The initial ramdisk: a cpio newc archive of programs, `/init` first among them.
//!
//! The built-in one is packed by `build.rs` from the programs in `user/` and embedded in
//! the kernel image. QEMU can hand the kernel another at boot as the fw_cfg file
//! `opt/lethe/initrd` (`scripts/run --initrd PATH`); `init` then uses that one instead, so
//! anyone can run their own static binaries without rebuilding the kernel.

use alloc::vec::Vec;

use conquer_once::spin::OnceCell;
use loader::cpio::{self, CpioError};

/// The ramdisk built into the kernel image.
pub static BUILT_IN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/initrd.cpio"));

/// The fw_cfg file a user's ramdisk comes in.
const FW_CFG_NAME: &str = "opt/lethe/initrd";

/// Largest ramdisk accepted over fw_cfg (it is read into the kernel heap).
const MAX_SUPPLIED_SIZE: u32 = 4 * 1024 * 1024;

static SUPPLIED: OnceCell<Vec<u8>> = OnceCell::uninit();

/// Looks for a ramdisk handed over through fw_cfg and, if it is a readable archive, makes it
/// the one in use. Call once the heap is up.
pub fn init() {
    let Some(file) = drivers::fw_cfg::find(FW_CFG_NAME) else { return };
    if file.size > MAX_SUPPLIED_SIZE {
        log::error!(
            "initrd: {FW_CFG_NAME} is {} bytes, over the {MAX_SUPPLIED_SIZE}-byte limit; using the built-in one",
            file.size
        );
        return;
    }
    let archive = drivers::fw_cfg::read_file(file);
    match cpio::entries(&archive) {
        Ok(entries) => {
            log::info!(
                "initrd: using {FW_CFG_NAME} from QEMU: {} bytes, {} entries",
                archive.len(),
                entries.len()
            );
            SUPPLIED.init_once(|| archive);
        }
        Err(error) => {
            log::error!("initrd: {FW_CFG_NAME} is not a cpio newc archive ({error}); using the built-in one")
        }
    }
}

/// The ramdisk in use.
pub fn archive() -> &'static [u8] {
    SUPPLIED.get().map_or(BUILT_IN, Vec::as_slice)
}

/// The contents of regular file `path` in the ramdisk.
pub fn find(path: &str) -> Result<Option<&'static [u8]>, CpioError> {
    cpio::find(archive(), path)
}
