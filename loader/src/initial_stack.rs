//! The System V x86-64 initial process stack, as a byte image to copy below the stack top.
//!
//! ```text
//!   top ─► 16 random bytes (AT_RANDOM points here)
//!          argument and environment strings, NUL-terminated
//!          padding to 16 bytes
//!          auxv: (type, value) pairs ... AT_NULL
//!          envp[0..n], NULL
//!          argv[0..n], NULL
//!   sp  ─► argc                      (sp is 16-byte aligned, as _start expects)
//! ```
//!
//! The builder adds `AT_RANDOM` and `AT_EXECFN` itself (it knows where it put them); the
//! caller gives the rest (`AT_PHDR`, `AT_PHNUM`, `AT_PAGESZ`, `AT_ENTRY`, ...).

use alloc::vec::Vec;

/// Auxiliary vector entry types (Linux's numbering).
pub mod auxv {
    pub const AT_NULL: u64 = 0;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_SECURE: u64 = 23;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_EXECFN: u64 = 31;
}

/// The stack's contents: `bytes` go at `stack_pointer..top`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackImage {
    pub stack_pointer: u64,
    pub bytes: Vec<u8>,
}

/// Why no image could be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// The arguments and environment need more than `limit` bytes (E2BIG).
    TooBig,
    /// The heap has no room for the image (ENOMEM).
    OutOfMemory,
}

/// Writes `value` as word number `*word` of `bytes` and moves on to the next.
fn put_word(bytes: &mut [u8], word: &mut usize, value: u64) {
    bytes[*word * 8..*word * 8 + 8].copy_from_slice(&value.to_le_bytes());
    *word += 1;
}

/// Builds the stack for a program started with `argv` and `envp`, whose stack ends at
/// `top` and may take at most `limit` bytes.
pub fn build(
    top: u64,
    limit: usize,
    argv: &[&[u8]],
    envp: &[&[u8]],
    auxv: &[(u64, u64)],
    random: [u8; 16],
) -> Result<StackImage, StackError> {
    let strings_len: usize = argv.iter().chain(envp).map(|s| s.len() + 1).sum();
    let random_at = top - 16;
    let strings_at = random_at - strings_len as u64;
    let auxv_entries = auxv.len() + 3; // + AT_RANDOM, AT_EXECFN, AT_NULL
    let words = 1 + argv.len() + 1 + envp.len() + 1 + 2 * auxv_entries;
    let stack_pointer = (strings_at - 8 * words as u64) & !15;
    let size = (top - stack_pointer) as usize;
    if size > limit {
        return Err(StackError::TooBig);
    }
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(size).map_err(|_| StackError::OutOfMemory)?;
    bytes.resize(size, 0);
    let offset = |address: u64| (address - stack_pointer) as usize;

    let mut word = 0;
    put_word(&mut bytes, &mut word, argv.len() as u64);
    let mut string_at = strings_at;
    for list in [argv, envp] {
        for string in list {
            let start = offset(string_at);
            bytes[start..start + string.len()].copy_from_slice(string);
            put_word(&mut bytes, &mut word, string_at);
            string_at += string.len() as u64 + 1;
        }
        put_word(&mut bytes, &mut word, 0);
    }
    bytes[offset(random_at)..offset(random_at) + 16].copy_from_slice(&random);
    let execfn = if argv.is_empty() { 0 } else { strings_at };
    let added = [(auxv::AT_RANDOM, random_at), (auxv::AT_EXECFN, execfn), (auxv::AT_NULL, 0)];
    for &(kind, value) in auxv.iter().chain(&added) {
        put_word(&mut bytes, &mut word, kind);
        put_word(&mut bytes, &mut word, value);
    }
    debug_assert_eq!(word, words);
    Ok(StackImage { stack_pointer, bytes })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Reads a stack image the way a C runtime's `_start` does.
    struct Parsed {
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    fn parse(image: &StackImage) -> Parsed {
        let word = |address: u64| {
            let at = (address - image.stack_pointer) as usize;
            u64::from_le_bytes(image.bytes[at..at + 8].try_into().unwrap())
        };
        let string = |address: u64| {
            let at = (address - image.stack_pointer) as usize;
            let end = image.bytes[at..].iter().position(|b| *b == 0).unwrap();
            image.bytes[at..at + end].to_vec()
        };
        let mut cursor = image.stack_pointer;
        let argc = word(cursor);
        cursor += 8;
        let argv = (0..argc).map(|i| string(word(cursor + 8 * i))).collect();
        cursor += 8 * (argc + 1);
        let mut envp = Vec::new();
        while word(cursor) != 0 {
            envp.push(string(word(cursor)));
            cursor += 8;
        }
        cursor += 8;
        let mut auxv = Vec::new();
        loop {
            let (kind, value) = (word(cursor), word(cursor + 8));
            cursor += 16;
            if kind == auxv::AT_NULL {
                break;
            }
            auxv.push((kind, value));
        }
        Parsed { argv, envp, auxv }
    }

    const TOP: u64 = 0x7fff_ffff_f000;

    #[test]
    fn argv_envp_and_auxv_read_back_and_sp_is_aligned() {
        let image =
            build(TOP, 1 << 20, &[b"/init", b"-v"], &[b"HOME=/"], &[(auxv::AT_PAGESZ, 4096)], [7; 16])
                .unwrap();
        assert_eq!(image.stack_pointer % 16, 0);
        assert_eq!(image.stack_pointer + image.bytes.len() as u64, TOP);
        let parsed = parse(&image);
        assert_eq!(parsed.argv, [b"/init".to_vec(), b"-v".to_vec()]);
        assert_eq!(parsed.envp, [b"HOME=/".to_vec()]);
        let random_at = parsed.auxv.iter().find(|(k, _)| *k == auxv::AT_RANDOM).unwrap().1;
        let at = (random_at - image.stack_pointer) as usize;
        assert_eq!(&image.bytes[at..at + 16], &[7; 16]);
        assert!(parsed.auxv.contains(&(auxv::AT_PAGESZ, 4096)));
    }

    #[test]
    fn arguments_larger_than_the_limit_are_refused() {
        let huge = vec![b'x'; 5000];
        assert_eq!(build(TOP, 4096, &[&huge], &[], &[], [0; 16]), Err(StackError::TooBig));
    }

    proptest! {
        #[test]
        fn any_arguments_read_back_exactly(
            argv in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..40), 0..10),
            envp in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..40), 0..10),
        ) {
            let argv_refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            let envp_refs: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
            let image = build(TOP, 1 << 20, &argv_refs, &envp_refs, &[(auxv::AT_ENTRY, 0x40_0000)], [1; 16]).unwrap();
            prop_assert_eq!(image.stack_pointer % 16, 0);
            let parsed = parse(&image);
            prop_assert_eq!(parsed.argv, argv);
            prop_assert_eq!(parsed.envp, envp);
        }
    }
}
