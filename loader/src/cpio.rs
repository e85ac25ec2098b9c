//! cpio "newc" archives (what Linux initramfs uses): reading entries, and writing them for
//! the build that packs the built-in ramdisk.
//!
//! Each entry is a 110-byte ASCII header (magic `070701`, then thirteen 8-digit hex
//! fields), the NUL-terminated name padded to 4 bytes, then the data padded to 4 bytes.
//! The archive ends with an entry named `TRAILER!!!`. Anything malformed is an error, never
//! a panic: the archive may come from the user (QEMU's fw_cfg).

use alloc::vec::Vec;
use core::fmt;

const MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// File type bits of `mode`.
pub const MODE_TYPE_MASK: u32 = 0o170000;
pub const MODE_REGULAR: u32 = 0o100000;
pub const MODE_DIRECTORY: u32 = 0o040000;

/// One archive member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The path as stored, without a leading `/` or `./`.
    pub name: &'a str,
    pub mode: u32,
    pub data: &'a [u8],
}

impl Entry<'_> {
    pub fn is_regular_file(&self) -> bool {
        self.mode & MODE_TYPE_MASK == MODE_REGULAR
    }
}

/// Why an archive could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpioError {
    /// The header at this offset does not start with `070701`.
    BadMagic { offset: usize },
    /// A header field is not 8 hex digits.
    BadField { offset: usize },
    /// An entry runs past the end of the archive.
    Truncated { offset: usize },
    /// A name is not UTF-8 or lacks its terminating NUL.
    BadName { offset: usize },
    /// The archive ended without `TRAILER!!!`.
    NoTrailer,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpioError::BadMagic { offset } => write!(f, "cpio: no newc magic at byte {offset}"),
            CpioError::BadField { offset } => write!(f, "cpio: bad header field at byte {offset}"),
            CpioError::Truncated { offset } => write!(f, "cpio: entry at byte {offset} runs past the end"),
            CpioError::BadName { offset } => write!(f, "cpio: bad file name at byte {offset}"),
            CpioError::NoTrailer => f.write_str("cpio: archive has no TRAILER!!! entry"),
        }
    }
}

fn hex_field(header: &[u8], index: usize, offset: usize) -> Result<u32, CpioError> {
    let start = 6 + index * 8;
    let digits =
        core::str::from_utf8(&header[start..start + 8]).map_err(|_| CpioError::BadField { offset })?;
    u32::from_str_radix(digits, 16).map_err(|_| CpioError::BadField { offset })
}

fn pad4(length: usize) -> usize {
    length.next_multiple_of(4)
}

fn normalize(name: &str) -> &str {
    let name = name.strip_prefix("./").unwrap_or(name);
    name.strip_prefix('/').unwrap_or(name)
}

/// Every entry of `archive` before the trailer, in order.
pub fn entries(archive: &[u8]) -> Result<Vec<Entry<'_>>, CpioError> {
    let mut found = Vec::new();
    let mut offset = 0;
    loop {
        let header = archive.get(offset..offset + HEADER_LEN).ok_or(if offset >= archive.len() {
            CpioError::NoTrailer
        } else {
            CpioError::Truncated { offset }
        })?;
        if &header[..6] != MAGIC {
            return Err(CpioError::BadMagic { offset });
        }
        let mode = hex_field(header, 1, offset)?;
        let file_size = hex_field(header, 6, offset)? as usize;
        let name_size = hex_field(header, 11, offset)? as usize;
        let name_start = offset + HEADER_LEN;
        let name_bytes =
            archive.get(name_start..name_start + name_size).ok_or(CpioError::Truncated { offset })?;
        let name = match name_bytes.split_last() {
            Some((0, name)) => core::str::from_utf8(name).map_err(|_| CpioError::BadName { offset })?,
            _ => return Err(CpioError::BadName { offset }),
        };
        let data_start = pad4(name_start + name_size);
        let data = archive.get(data_start..data_start + file_size).ok_or(CpioError::Truncated { offset })?;
        if name == TRAILER {
            return Ok(found);
        }
        found.push(Entry { name: normalize(name), mode, data });
        offset = pad4(data_start + file_size);
    }
}

/// The contents of regular file `path` (leading `/` optional).
pub fn find<'a>(archive: &'a [u8], path: &str) -> Result<Option<&'a [u8]>, CpioError> {
    let wanted = normalize(path);
    Ok(entries(archive)?
        .into_iter()
        .find(|entry| entry.name == wanted && entry.is_regular_file())
        .map(|e| e.data))
}

/// Writes a newc archive of `files` (path, mode, contents), for building a ramdisk.
pub fn write(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut archive = Vec::new();
    let mut append = |inode: usize, name: &str, mode: u32, data: &[u8]| {
        let fields =
            [inode as u32, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
        archive.extend_from_slice(MAGIC);
        for field in fields {
            archive.extend_from_slice(alloc::format!("{field:08x}").as_bytes());
        }
        archive.extend_from_slice(name.as_bytes());
        archive.push(0);
        archive.resize(pad4(archive.len()), 0);
        archive.extend_from_slice(data);
        archive.resize(pad4(archive.len()), 0);
    };
    for (inode, (name, mode, data)) in files.iter().enumerate() {
        append(inode + 1, name, *mode, data);
    }
    append(0, TRAILER, 0, &[]);
    archive
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn files_are_found_by_path_with_or_without_a_leading_slash() {
        let archive =
            write(&[("init", MODE_REGULAR | 0o755, b"\x7fELF..."), ("bin", MODE_DIRECTORY | 0o755, b"")]);
        assert_eq!(find(&archive, "/init"), Ok(Some(&b"\x7fELF..."[..])));
        assert_eq!(find(&archive, "init"), Ok(Some(&b"\x7fELF..."[..])));
        assert_eq!(find(&archive, "/bin"), Ok(None), "a directory is not a file");
        assert_eq!(find(&archive, "/missing"), Ok(None));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(entries(b""), Err(CpioError::NoTrailer));
        assert_eq!(entries(b"070707 old binary cpio"), Err(CpioError::Truncated { offset: 0 }));
        let mut archive = write(&[("init", MODE_REGULAR, b"hello")]);
        archive[0] = b'1';
        assert_eq!(entries(&archive), Err(CpioError::BadMagic { offset: 0 }));
        let archive = write(&[("init", MODE_REGULAR, b"hello")]);
        assert_eq!(entries(&archive[..archive.len() - 200]), Err(CpioError::Truncated { offset: 0 }));
    }

    proptest! {
        #[test]
        fn what_is_written_reads_back(files in proptest::collection::vec(("[a-z]{1,12}", proptest::collection::vec(any::<u8>(), 0..300)), 0..8)) {
            let borrowed: Vec<(&str, u32, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), MODE_REGULAR | 0o644, d.as_slice())).collect();
            let archive = write(&borrowed);
            let read = entries(&archive).unwrap();
            prop_assert_eq!(read.len(), files.len());
            for (entry, (name, data)) in read.iter().zip(&files) {
                prop_assert_eq!(entry.name, name.as_str());
                prop_assert_eq!(entry.data, data.as_slice());
            }
        }

        #[test]
        fn any_bytes_are_rejected_or_read_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = entries(&bytes);
        }
    }
}
