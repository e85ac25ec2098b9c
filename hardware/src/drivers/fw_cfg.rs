//! QEMU's firmware configuration device (fw_cfg) over I/O ports: named files the user hands
//! the guest with `-fw_cfg name=...,file=...` — Lethe reads its initial ramdisk from
//! `opt/lethe/initrd` this way.
//!
//! Protocol: write a 16-bit selector to port 0x510, then read the item byte by byte from
//! port 0x511. Selector 0 holds the signature "QEMU"; selector 0x19 the file directory: a
//! big-endian count, then per file a big-endian size, selector, two reserved bytes and a
//! 56-byte NUL-padded name. `parse_directory` is the logic, tested on the host.

/// One file of the fw_cfg directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileEntry {
    pub size: u32,
    pub selector: u16,
}

const ENTRY_SIZE: usize = 64;
const NAME_SIZE: usize = 56;

/// Finds `name` in a directory image (as read from selector 0x19).
pub fn parse_directory(directory: &[u8], name: &str) -> Option<FileEntry> {
    let count = u32::from_be_bytes(directory.get(..4)?.try_into().ok()?) as usize;
    (0..count).find_map(|index| {
        let entry = directory.get(4 + index * ENTRY_SIZE..4 + (index + 1) * ENTRY_SIZE)?;
        let name_bytes = &entry[8..8 + NAME_SIZE];
        let length = name_bytes.iter().position(|&byte| byte == 0).unwrap_or(NAME_SIZE);
        (&name_bytes[..length] == name.as_bytes()).then(|| FileEntry {
            size: u32::from_be_bytes(entry[..4].try_into().unwrap()),
            selector: u16::from_be_bytes(entry[4..6].try_into().unwrap()),
        })
    })
}

#[cfg(target_arch = "x86_64")]
mod device {
    use alloc::vec::Vec;

    use x86_64::instructions::port::Port;

    use super::{FileEntry, parse_directory};

    const SELECTOR_PORT: u16 = 0x510;
    const DATA_PORT: u16 = 0x511;
    const SIGNATURE: u16 = 0x0000;
    const DIRECTORY: u16 = 0x0019;

    /// Reads `buffer.len()` bytes of item `selector` from its start.
    fn read(selector: u16, buffer: &mut [u8]) {
        let mut select = Port::<u16>::new(SELECTOR_PORT);
        let mut data = Port::<u8>::new(DATA_PORT);
        // SAFETY: 0x510/0x511 are fw_cfg's ports on QEMU's PC machine, used only by this
        // driver (at boot, one caller at a time); without the device, reads return 0xff.
        unsafe {
            select.write(selector);
            for byte in buffer {
                *byte = data.read();
            }
        }
    }

    /// Whether QEMU's fw_cfg device is there.
    pub fn present() -> bool {
        let mut signature = [0u8; 4];
        read(SIGNATURE, &mut signature);
        &signature == b"QEMU"
    }

    /// The file named `name`, if QEMU was given one.
    pub fn find(name: &str) -> Option<FileEntry> {
        if !present() {
            return None;
        }
        let mut count = [0u8; 4];
        read(DIRECTORY, &mut count);
        let files = u32::from_be_bytes(count) as usize;
        let mut directory = alloc::vec![0u8; 4 + files * super::ENTRY_SIZE];
        read(DIRECTORY, &mut directory);
        parse_directory(&directory, name)
    }

    /// The contents of `file`.
    pub fn read_file(file: FileEntry) -> Vec<u8> {
        let mut contents = alloc::vec![0u8; file.size as usize];
        read(file.selector, &mut contents);
        contents
    }
}

#[cfg(target_arch = "x86_64")]
pub use device::{find, present, read_file};

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(files: &[(&str, u32, u16)]) -> Vec<u8> {
        let mut image = (files.len() as u32).to_be_bytes().to_vec();
        for (name, size, selector) in files {
            image.extend_from_slice(&size.to_be_bytes());
            image.extend_from_slice(&selector.to_be_bytes());
            image.extend_from_slice(&[0, 0]);
            let mut padded = [0u8; NAME_SIZE];
            padded[..name.len()].copy_from_slice(name.as_bytes());
            image.extend_from_slice(&padded);
        }
        image
    }

    #[test]
    fn a_named_file_is_found_with_its_size_and_selector() {
        let image = directory(&[("etc/boot-fail-wait", 4, 0x20), ("opt/lethe/initrd", 123_456, 0x21)]);
        assert_eq!(
            parse_directory(&image, "opt/lethe/initrd"),
            Some(FileEntry { size: 123_456, selector: 0x21 })
        );
        assert_eq!(parse_directory(&image, "opt/lethe"), None, "a prefix is not a match");
        assert_eq!(parse_directory(&image, "missing"), None);
    }

    #[test]
    fn a_truncated_directory_finds_nothing_rather_than_panicking() {
        let image = directory(&[("opt/lethe/initrd", 1, 0x21)]);
        assert_eq!(parse_directory(&image[..30], "opt/lethe/initrd"), None);
        assert_eq!(parse_directory(&[], "x"), None);
    }
}
