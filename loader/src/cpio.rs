//! cpio "newc" archives (what Linux initramfs uses): reading entries, and writing them for
//! the build that packs the built-in ramdisk and for `scripts/mkinitrd` (`src/bin/mkcpio.rs`).
//!
//! Each entry is a 110-byte ASCII header (magic `070701`, then thirteen 8-digit hex
//! fields), the NUL-terminated name padded to 4 bytes, then the data padded to 4 bytes.
//! The archive ends with an entry named `TRAILER!!!`. Anything malformed is an error, never
//! a panic: the archive may come from the user (QEMU's fw_cfg). Every range is checked
//! against the archive before it is sliced, with overflow-checked arithmetic.

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

/// The part of an entry that runs past the end of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Header,
    Name,
    Data,
}

/// Why an archive could not be read. Offsets are those of the entry's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpioError {
    /// Not a single byte.
    Empty,
    /// The header at this offset does not start with `070701`.
    BadMagic { offset: usize },
    /// A header field is not 8 hex digits.
    BadField { offset: usize },
    /// This part of the entry runs past the end of the archive.
    Truncated { offset: usize, part: Part },
    /// A name is not UTF-8 or lacks its terminating NUL.
    BadName { offset: usize },
    /// The archive ended without `TRAILER!!!`.
    NoTrailer,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpioError::Empty => f.write_str("cpio: the archive is empty"),
            CpioError::BadMagic { offset } => write!(f, "cpio: no newc magic (070701) at byte {offset}"),
            CpioError::BadField { offset } => {
                write!(f, "cpio: a header field of the entry at byte {offset} is not 8 hex digits")
            }
            CpioError::Truncated { offset, part } => {
                let part = match part {
                    Part::Header => "header",
                    Part::Name => "name",
                    Part::Data => "file data",
                };
                write!(f, "cpio: the {part} of the entry at byte {offset} runs past the end of the archive")
            }
            CpioError::BadName { offset } => {
                write!(f, "cpio: the name of the entry at byte {offset} is not NUL-terminated UTF-8")
            }
            CpioError::NoTrailer => f.write_str("cpio: the archive ends without a TRAILER!!! entry"),
        }
    }
}

/// Field `index` of a header: exactly 8 hex digits (no sign, unlike `from_str_radix`).
fn hex_field(header: &[u8], index: usize, offset: usize) -> Result<u32, CpioError> {
    let start = 6 + index * 8;
    header[start..start + 8].iter().try_fold(0u32, |value, &digit| {
        let digit = char::from(digit).to_digit(16).ok_or(CpioError::BadField { offset })?;
        Ok(value << 4 | digit)
    })
}

/// `archive[start..start + length]`, or `Truncated` if that runs past the end.
fn slice(archive: &[u8], start: usize, length: usize, offset: usize, part: Part) -> Result<&[u8], CpioError> {
    start
        .checked_add(length)
        .and_then(|end| archive.get(start..end))
        .ok_or(CpioError::Truncated { offset, part })
}

fn pad4(length: usize) -> usize {
    length.next_multiple_of(4)
}

fn normalize(name: &str) -> &str {
    let name = name.strip_prefix("./").unwrap_or(name);
    name.strip_prefix('/').unwrap_or(name)
}

/// The entry at `offset` and where the next one starts, or `None` at the trailer.
fn entry_at(archive: &[u8], offset: usize) -> Result<Option<(Entry<'_>, usize)>, CpioError> {
    if offset >= archive.len() {
        return Err(CpioError::NoTrailer);
    }
    // A header cut short by the end is `Truncated` if what is left starts like the magic.
    let magic = &archive[offset..archive.len().min(offset + MAGIC.len())];
    if !MAGIC.starts_with(magic) {
        return Err(CpioError::BadMagic { offset });
    }
    let header = slice(archive, offset, HEADER_LEN, offset, Part::Header)?;
    let mode = hex_field(header, 1, offset)?;
    let file_size = hex_field(header, 6, offset)? as usize;
    let name_size = hex_field(header, 11, offset)? as usize;
    let name_start = offset + HEADER_LEN;
    let name_bytes = slice(archive, name_start, name_size, offset, Part::Name)?;
    let name = match name_bytes.split_last() {
        Some((0, name)) => core::str::from_utf8(name).map_err(|_| CpioError::BadName { offset })?,
        _ => return Err(CpioError::BadName { offset }),
    };
    let data_start = pad4(name_start + name_size);
    let data = slice(archive, data_start, file_size, offset, Part::Data)?;
    if name == TRAILER {
        return Ok(None);
    }
    Ok(Some((Entry { name: normalize(name), mode, data }, pad4(data_start + file_size))))
}

/// Calls `visit` with every entry of `archive` before the trailer, in order; fails, having
/// visited those before it, at the first malformed one. Allocates nothing.
fn for_each_entry<'a>(archive: &'a [u8], mut visit: impl FnMut(Entry<'a>)) -> Result<(), CpioError> {
    if archive.is_empty() {
        return Err(CpioError::Empty);
    }
    let mut offset = 0;
    while let Some((entry, next)) = entry_at(archive, offset)? {
        visit(entry);
        offset = next;
    }
    Ok(())
}

/// Every entry of `archive` before the trailer, in order.
pub fn entries(archive: &[u8]) -> Result<Vec<Entry<'_>>, CpioError> {
    let mut found = Vec::new();
    for_each_entry(archive, |entry| found.push(entry))?;
    Ok(found)
}

/// The contents of regular file `path` (leading `/` optional): the first entry of that
/// name, if the whole archive is well formed. Allocates nothing.
pub fn find<'a>(archive: &'a [u8], path: &str) -> Result<Option<&'a [u8]>, CpioError> {
    let wanted = normalize(path);
    let mut found = None;
    for_each_entry(archive, |entry| {
        if found.is_none() && entry.name == wanted && entry.is_regular_file() {
            found = Some(entry.data);
        }
    })?;
    Ok(found)
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

    const FILE_SIZE_FIELD: usize = 6;
    const NAME_SIZE_FIELD: usize = 11;

    fn one_file() -> Vec<u8> {
        write(&[("init", MODE_REGULAR | 0o755, b"hello")])
    }

    /// `archive` with header field `index` of its first entry replaced by `digits`.
    fn with_field(mut archive: Vec<u8>, index: usize, digits: &[u8; 8]) -> Vec<u8> {
        archive[6 + index * 8..6 + (index + 1) * 8].copy_from_slice(digits);
        archive
    }

    #[test]
    fn an_empty_archive_is_refused_as_empty() {
        assert_eq!(entries(b""), Err(CpioError::Empty));
    }

    #[test]
    fn a_header_cut_short_is_truncated() {
        let archive = one_file();
        for length in [1, 6, 50, HEADER_LEN - 1] {
            assert_eq!(
                entries(&archive[..length]),
                Err(CpioError::Truncated { offset: 0, part: Part::Header }),
                "cut at {length}"
            );
        }
    }

    #[test]
    fn another_magic_is_refused() {
        assert_eq!(entries(b"070707 old binary cpio"), Err(CpioError::BadMagic { offset: 0 }));
        assert_eq!(entries(b"\x7fELF"), Err(CpioError::BadMagic { offset: 0 }));
        let mut archive = one_file();
        archive[0] = b'1';
        assert_eq!(entries(&archive), Err(CpioError::BadMagic { offset: 0 }));
    }

    #[test]
    fn a_header_field_must_be_eight_hex_digits() {
        for digits in [b"+0000005", b"0000005 ", b"0000000g", b"-0000001"] {
            assert_eq!(
                entries(&with_field(one_file(), FILE_SIZE_FIELD, digits)),
                Err(CpioError::BadField { offset: 0 }),
                "{}",
                core::str::from_utf8(digits).unwrap()
            );
        }
    }

    #[test]
    fn a_name_size_past_the_end_is_truncated() {
        for digits in [b"ffffffff", b"00001000"] {
            assert_eq!(
                entries(&with_field(one_file(), NAME_SIZE_FIELD, digits)),
                Err(CpioError::Truncated { offset: 0, part: Part::Name })
            );
        }
    }

    #[test]
    fn a_file_size_past_the_end_is_truncated() {
        for digits in [b"ffffffff", b"00001000"] {
            assert_eq!(
                entries(&with_field(one_file(), FILE_SIZE_FIELD, digits)),
                Err(CpioError::Truncated { offset: 0, part: Part::Data })
            );
        }
        let archive = one_file();
        assert_eq!(
            entries(&archive[..HEADER_LEN + 8 + 2]),
            Err(CpioError::Truncated { offset: 0, part: Part::Data }),
            "cut inside the data"
        );
    }

    #[test]
    fn a_name_without_its_nul_is_refused() {
        assert_eq!(
            entries(&with_field(one_file(), NAME_SIZE_FIELD, b"00000004")),
            Err(CpioError::BadName { offset: 0 })
        );
        assert_eq!(
            entries(&with_field(one_file(), NAME_SIZE_FIELD, b"00000000")),
            Err(CpioError::BadName { offset: 0 })
        );
    }

    #[test]
    fn an_archive_without_its_trailer_is_refused() {
        let archive = one_file();
        let trailer_start = pad4(pad4(HEADER_LEN + 5) + 5);
        assert_eq!(entries(&archive[..trailer_start]), Err(CpioError::NoTrailer));
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

        #[test]
        fn every_cut_of_an_archive_is_refused(length in 0usize..1000) {
            let archive = write(&[("init", MODE_REGULAR, &[0x90; 100]), ("bin/hello", MODE_REGULAR, b"hi")]);
            prop_assert!(entries(&archive[..length % archive.len()]).is_err());
        }

        #[test]
        fn a_corrupted_archive_is_refused_or_read_without_panicking(
            flips in proptest::collection::vec((0usize..400, any::<u8>()), 1..20),
            fields in proptest::collection::vec((0usize..13, "[0-9a-fA-F+ -]{8}"), 0..4),
        ) {
            let mut archive = write(&[("init", MODE_REGULAR, &[0x90; 100]), ("bin/hello", MODE_REGULAR, b"hi")]);
            for (index, digits) in fields {
                let digits: [u8; 8] = digits.as_bytes().try_into().unwrap();
                archive = with_field(archive, index, &digits);
            }
            for (index, byte) in flips {
                let index = index % archive.len();
                archive[index] = byte;
            }
            let _ = entries(&archive);
        }
    }
}
