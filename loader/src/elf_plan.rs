//! What a static ELF64 x86-64 executable asks to be mapped: its loadable segments, entry
//! point and program headers, checked so the kernel can map it without further doubt.
//!
//! Accepted: `ET_EXEC` (fixed addresses) and static-PIE `ET_DYN` (no `PT_INTERP`), which is
//! placed at `STATIC_PIE_BASE`. Refused with an error that says why, never a panic, since
//! the file may come from the user: anything without the ELF magic, cut short or
//! unparsable, other classes or machines, dynamically linked programs, segments outside
//! `[PAGE_SIZE, user_end)` or overlapping each other, file ranges past the end of the file
//! or larger than their segment. A plan that is returned keeps all of these, so the kernel
//! may slice the file and map the pages it names without checking again.

use alloc::vec::Vec;
use core::fmt;

use elf::abi::{
    EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB, EM_X86_64, ET_DYN, ET_EXEC, PF_W, PF_X, PT_INTERP, PT_LOAD,
    PT_PHDR,
};
use elf::endian::LittleEndian;
use elf::{ElfBytes, ParseError};

/// Where a static-PIE executable is loaded (page-aligned, like Linux's 0x555555554000).
pub const STATIC_PIE_BASE: u64 = 0x5555_5555_4000;

const PAGE_SIZE: u64 = 4096;

/// One `PT_LOAD` segment, at its final address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub writable: bool,
    pub executable: bool,
}

impl Segment {
    /// The page-aligned range the segment needs mapped.
    pub fn pages(&self) -> core::ops::Range<u64> {
        (self.vaddr & !(PAGE_SIZE - 1))..(self.vaddr + self.mem_size).next_multiple_of(PAGE_SIZE)
    }
}

/// Everything the kernel needs to map and start the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPlan {
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// Where the program headers are once loaded (for `AT_PHDR`), if they are loaded.
    pub program_headers: Option<u64>,
    pub program_header_count: u16,
    pub program_header_size: u16,
    /// Added to every address of the file (non-zero for static PIE).
    pub load_bias: u64,
    /// The highest address any segment ends at: where the program break starts.
    pub end: u64,
}

/// Why a file cannot be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// No `\x7fELF` magic: not an ELF file at all.
    NotElf,
    /// Not ELF64 little-endian (`e_ident`'s class and data bytes).
    WrongClass,
    /// The ELF header, program header table or section header table runs past the end of
    /// the file (or its offset and size overflow).
    Truncated,
    /// A header cannot be parsed (bad version, entry size or counts).
    Malformed,
    /// Built for another machine than x86-64.
    WrongMachine,
    /// Not an executable (`ET_EXEC` or `ET_DYN`).
    NotAnExecutable,
    /// Needs a dynamic loader (`PT_INTERP`).
    DynamicallyLinked,
    /// No `PT_LOAD` segment (or no program headers at all).
    NothingToLoad,
    /// A segment's file range (`p_offset + p_filesz`) runs past the end of the file.
    FileRangePastEnd,
    /// A segment has more bytes in the file than in memory (`p_filesz > p_memsz`).
    FileLargerThanMemory,
    /// A segment (or the entry point) lies outside the user half.
    OutsideUserSpace,
    /// Two segments overlap.
    Overlapping,
    /// The heap has no room for the plan (not the file's fault: ENOMEM).
    OutOfMemory,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElfError::NotElf => "not an ELF file (no \\x7fELF magic)",
            ElfError::WrongClass => "not a 64-bit little-endian ELF file",
            ElfError::Truncated => "its ELF headers run past the end of the file (truncated?)",
            ElfError::Malformed => "its ELF headers are malformed",
            ElfError::WrongMachine => "not built for x86-64",
            ElfError::NotAnExecutable => "not an executable (ELF type is not EXEC or DYN)",
            ElfError::DynamicallyLinked => "dynamically linked (needs an interpreter); build it static",
            ElfError::NothingToLoad => "no loadable segment",
            ElfError::FileRangePastEnd => "a segment's file range runs past the end of the file",
            ElfError::FileLargerThanMemory => "a segment's file size exceeds its memory size",
            ElfError::OutsideUserSpace => "a segment or the entry point is outside user space",
            ElfError::Overlapping => "segments overlap",
            ElfError::OutOfMemory => "no memory to plan its loading",
        })
    }
}

impl From<ParseError> for ElfError {
    fn from(error: ParseError) -> Self {
        match error {
            ParseError::BadMagic(_) => ElfError::NotElf,
            ParseError::UnsupportedElfClass(_) | ParseError::UnsupportedElfEndianness(_) => {
                ElfError::WrongClass
            }
            ParseError::SliceReadError(_)
            | ParseError::BadOffset(_)
            | ParseError::TryFromSliceError(_)
            | ParseError::IntegerOverflow => ElfError::Truncated,
            _ => ElfError::Malformed,
        }
    }
}

/// Plans the loading of `file` into user memory below `user_end`.
pub fn plan(file: &[u8], user_end: u64) -> Result<LoadPlan, ElfError> {
    if !file.starts_with(b"\x7fELF") {
        return Err(ElfError::NotElf);
    }
    match (file.get(EI_CLASS), file.get(EI_DATA)) {
        (Some(&ELFCLASS64), Some(&ELFDATA2LSB)) => {}
        (Some(_), Some(_)) => return Err(ElfError::WrongClass),
        _ => return Err(ElfError::Truncated),
    }
    let elf = ElfBytes::<LittleEndian>::minimal_parse(file)?;
    let header = elf.ehdr;
    if header.e_machine != EM_X86_64 {
        return Err(ElfError::WrongMachine);
    }
    let load_bias = match header.e_type {
        ET_EXEC => 0,
        ET_DYN => STATIC_PIE_BASE,
        _ => return Err(ElfError::NotAnExecutable),
    };
    let program_headers = elf.segments().ok_or(ElfError::NothingToLoad)?;
    let mut segments: Vec<Segment> = Vec::new();
    let mut phdr_address = None;
    for header in program_headers.iter() {
        match header.p_type {
            PT_INTERP => return Err(ElfError::DynamicallyLinked),
            PT_PHDR => {
                phdr_address = Some(header.p_vaddr.checked_add(load_bias).ok_or(ElfError::OutsideUserSpace)?)
            }
            PT_LOAD => {
                let file_end =
                    header.p_offset.checked_add(header.p_filesz).ok_or(ElfError::FileRangePastEnd)?;
                if file_end > file.len() as u64 {
                    return Err(ElfError::FileRangePastEnd);
                }
                if header.p_filesz > header.p_memsz {
                    return Err(ElfError::FileLargerThanMemory);
                }
                let vaddr = header.p_vaddr.checked_add(load_bias).ok_or(ElfError::OutsideUserSpace)?;
                let end = vaddr.checked_add(header.p_memsz).ok_or(ElfError::OutsideUserSpace)?;
                if vaddr < PAGE_SIZE || end > user_end {
                    return Err(ElfError::OutsideUserSpace);
                }
                segments.try_reserve(1).map_err(|_| ElfError::OutOfMemory)?;
                segments.push(Segment {
                    vaddr,
                    mem_size: header.p_memsz,
                    file_offset: header.p_offset,
                    file_size: header.p_filesz,
                    writable: header.p_flags & PF_W != 0,
                    executable: header.p_flags & PF_X != 0,
                });
            }
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ElfError::NothingToLoad);
    }
    segments.sort_by_key(|segment| segment.vaddr);
    if segments.windows(2).any(|pair| pair[0].vaddr + pair[0].mem_size > pair[1].vaddr) {
        return Err(ElfError::Overlapping);
    }
    // Without PT_PHDR, the headers are loaded if a segment's file range covers them.
    let program_headers = phdr_address.or_else(|| {
        segments
            .iter()
            .find(|s| (s.file_offset..s.file_offset + s.file_size).contains(&header.e_phoff))
            .map(|s| s.vaddr + (header.e_phoff - s.file_offset))
    });
    let entry = header.e_entry.checked_add(load_bias).ok_or(ElfError::OutsideUserSpace)?;
    if !segments.iter().any(|s| s.executable && (s.vaddr..s.vaddr + s.mem_size).contains(&entry)) {
        return Err(ElfError::OutsideUserSpace);
    }
    let end = segments.iter().map(|s| s.vaddr + s.mem_size).max().unwrap_or(0);
    Ok(LoadPlan {
        entry,
        segments,
        program_headers,
        program_header_count: header.e_phnum,
        program_header_size: header.e_phentsize,
        load_bias,
        end,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const USER_END: u64 = 0x0000_8000_0000_0000;

    /// One program header for `elf64`: (type, flags, offset, vaddr, filesz, memsz).
    type Phdr = (u32, u32, u64, u64, u64, u64);

    /// A minimal ELF64 x86-64 file: header, program headers right after, then `body`.
    fn elf64(e_type: u16, entry: u64, phdrs: &[Phdr], body: &[u8]) -> Vec<u8> {
        let mut file = Vec::new();
        file.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&e_type.to_le_bytes());
        file.extend_from_slice(&EM_X86_64.to_le_bytes());
        file.extend_from_slice(&1u32.to_le_bytes());
        file.extend_from_slice(&entry.to_le_bytes());
        file.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
        file.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        file.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        file.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
        file.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
        file.extend_from_slice(&(phdrs.len() as u16).to_le_bytes());
        file.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
        for &(p_type, flags, offset, vaddr, filesz, memsz) in phdrs {
            file.extend_from_slice(&p_type.to_le_bytes());
            file.extend_from_slice(&flags.to_le_bytes());
            for word in [offset, vaddr, vaddr, filesz, memsz, 0x1000] {
                file.extend_from_slice(&word.to_le_bytes());
            }
        }
        file.extend_from_slice(body);
        file
    }

    fn static_executable() -> Vec<u8> {
        let text: Phdr = (PT_LOAD, elf::abi::PF_R | PF_X, 0, 0x40_0000, 0x200, 0x200);
        let data: Phdr = (PT_LOAD, elf::abi::PF_R | PF_W, 0x200, 0x40_1200, 0x10, 0x1000);
        elf64(ET_EXEC, 0x40_0100, &[text, data], &[0x90; 0x200])
    }

    #[test]
    fn a_static_executable_is_planned_at_its_addresses() {
        let plan = plan(&static_executable(), USER_END).unwrap();
        assert_eq!(plan.entry, 0x40_0100);
        assert_eq!(plan.load_bias, 0);
        assert_eq!(plan.segments.len(), 2);
        assert!(plan.segments[0].executable && !plan.segments[0].writable);
        assert!(plan.segments[1].writable && !plan.segments[1].executable);
        assert_eq!(plan.segments[1].pages(), 0x40_1000..0x40_3000);
        assert_eq!(plan.program_headers, Some(0x40_0040), "headers lie in the first segment's file range");
        assert_eq!(plan.program_header_count, 2);
        assert_eq!(plan.end, 0x40_2200);
    }

    #[test]
    fn a_static_pie_is_placed_at_the_pie_base() {
        let text: Phdr = (PT_LOAD, elf::abi::PF_R | PF_X, 0, 0, 0x200, 0x200);
        let plan = plan(&elf64(ET_DYN, 0x100, &[text], &[0; 0x200]), USER_END).unwrap();
        assert_eq!(plan.entry, STATIC_PIE_BASE + 0x100);
        assert_eq!(plan.segments[0].vaddr, STATIC_PIE_BASE);
    }

    /// `file` with the bytes at `offset` replaced by `bytes`.
    fn patched(mut file: Vec<u8>, offset: usize, bytes: &[u8]) -> Vec<u8> {
        file[offset..offset + bytes.len()].copy_from_slice(bytes);
        file
    }

    const E_MACHINE: usize = 18;
    const E_PHOFF: usize = 32;
    const E_PHENTSIZE: usize = 54;
    const E_PHNUM: usize = 56;

    fn text_at(vaddr: u64, mem_size: u64) -> Phdr {
        (PT_LOAD, elf::abi::PF_R | PF_X, 0, vaddr, 0x200, mem_size)
    }

    fn refusal(phdrs: &[Phdr], entry: u64) -> Result<LoadPlan, ElfError> {
        plan(&elf64(ET_EXEC, entry, phdrs, &[0; 0x200]), USER_END)
    }

    #[test]
    fn a_file_without_the_elf_magic_is_not_elf() {
        assert_eq!(plan(b"", USER_END), Err(ElfError::NotElf));
        assert_eq!(plan(b"#!/bin/sh\n", USER_END), Err(ElfError::NotElf));
        assert_eq!(plan(&patched(static_executable(), 0, b"\x7fELV"), USER_END), Err(ElfError::NotElf));
    }

    #[test]
    fn a_file_cut_inside_its_headers_is_truncated() {
        let file = static_executable();
        for length in [4, 5, 16, 40, 63, 64, 64 + 56, 64 + 2 * 56 - 1] {
            assert_eq!(plan(&file[..length], USER_END), Err(ElfError::Truncated), "cut at {length}");
        }
    }

    #[test]
    fn a_file_cut_inside_a_segment_runs_past_its_end() {
        let file = static_executable();
        assert_eq!(plan(&file[..300], USER_END), Err(ElfError::FileRangePastEnd));
    }

    #[test]
    fn another_class_or_machine_is_refused() {
        let file = static_executable();
        assert_eq!(plan(&patched(file.clone(), 4, &[1]), USER_END), Err(ElfError::WrongClass), "ELF32");
        assert_eq!(plan(&patched(file.clone(), 5, &[2]), USER_END), Err(ElfError::WrongClass), "big-endian");
        assert_eq!(plan(&patched(file.clone(), 4, &[7]), USER_END), Err(ElfError::WrongClass));
        let i386 = patched(file, E_MACHINE, &elf::abi::EM_386.to_le_bytes());
        assert_eq!(plan(&i386, USER_END), Err(ElfError::WrongMachine));
    }

    #[test]
    fn bad_program_header_tables_are_refused() {
        let file = static_executable();
        assert_eq!(
            plan(&patched(file.clone(), E_PHENTSIZE, &32u16.to_le_bytes()), USER_END),
            Err(ElfError::Malformed),
            "entry size"
        );
        assert_eq!(
            plan(&patched(file.clone(), E_PHOFF, &0x10_0000u64.to_le_bytes()), USER_END),
            Err(ElfError::Truncated),
            "table past the end"
        );
        assert_eq!(
            plan(&patched(file.clone(), E_PHOFF, &u64::MAX.to_le_bytes()), USER_END),
            Err(ElfError::Truncated),
            "table offset wraps"
        );
        assert_eq!(
            plan(&patched(file.clone(), E_PHNUM, &500u16.to_le_bytes()), USER_END),
            Err(ElfError::Truncated),
            "count past the end"
        );
        assert_eq!(
            plan(&patched(file.clone(), E_PHNUM, &0u16.to_le_bytes()), USER_END),
            Err(ElfError::NothingToLoad),
            "zero phnum"
        );
        assert_eq!(
            plan(&patched(file, E_PHOFF, &0u64.to_le_bytes()), USER_END),
            Err(ElfError::NothingToLoad),
            "no table"
        );
    }

    #[test]
    fn segments_outside_the_user_half_are_refused() {
        let kernel = text_at(0xffff_ffff_8000_0000, 0x200);
        assert_eq!(refusal(&[kernel], 0xffff_ffff_8000_0000), Err(ElfError::OutsideUserSpace));
        let straddling = text_at(USER_END - 0x1000, 0x2000);
        assert_eq!(refusal(&[straddling], USER_END - 0x1000), Err(ElfError::OutsideUserSpace));
        let wrapping = text_at(0x40_0000, u64::MAX - 0x1000);
        assert_eq!(refusal(&[wrapping], 0x40_0000), Err(ElfError::OutsideUserSpace), "huge p_memsz");
        let page_zero = text_at(0, 0x200);
        assert_eq!(refusal(&[page_zero], 0x100), Err(ElfError::OutsideUserSpace));
        assert_eq!(
            plan(&elf64(ET_EXEC, 0x40_0000, &[text_at(0x40_0000, 0x200)], &[0; 0x200]), 0x40_0100),
            Err(ElfError::OutsideUserSpace),
            "past the limit the caller sets"
        );
    }

    #[test]
    fn file_ranges_past_the_end_or_beyond_memory_are_refused() {
        let past_end: Phdr = (PT_LOAD, elf::abi::PF_R | PF_X, 0, 0x40_0000, 0x9000, 0x9000);
        assert_eq!(refusal(&[past_end], 0x40_0000), Err(ElfError::FileRangePastEnd), "huge p_filesz");
        let offset_past_end: Phdr = (PT_LOAD, elf::abi::PF_R | PF_X, 0x10_0000, 0x40_0000, 0x10, 0x10);
        assert_eq!(refusal(&[offset_past_end], 0x40_0000), Err(ElfError::FileRangePastEnd), "p_offset");
        let wrapping: Phdr = (PT_LOAD, elf::abi::PF_R | PF_X, u64::MAX, 0x40_0000, 0x10, 0x10);
        assert_eq!(refusal(&[wrapping], 0x40_0000), Err(ElfError::FileRangePastEnd), "p_offset wraps");
        let bigger_than_memory: Phdr = (PT_LOAD, elf::abi::PF_R | PF_X, 0, 0x40_0000, 0x200, 0x100);
        assert_eq!(refusal(&[bigger_than_memory], 0x40_0000), Err(ElfError::FileLargerThanMemory));
    }

    #[test]
    fn what_cannot_run_here_is_refused() {
        let text = text_at(0x40_0000, 0x200);
        let interp: Phdr = (PT_INTERP, elf::abi::PF_R, 0, 0x40_0000, 0x10, 0x10);
        assert_eq!(refusal(&[interp, text], 0x40_0000), Err(ElfError::DynamicallyLinked));
        let overlapping: Phdr = (PT_LOAD, elf::abi::PF_R, 0, 0x40_0100, 0x100, 0x100);
        assert_eq!(refusal(&[text, overlapping], 0x40_0000), Err(ElfError::Overlapping));
        assert_eq!(refusal(&[text], 0x50_0000), Err(ElfError::OutsideUserSpace), "entry outside code");
        let data_only: Phdr = (PT_LOAD, elf::abi::PF_R | PF_W, 0, 0x40_0000, 0x200, 0x200);
        assert_eq!(refusal(&[data_only], 0x40_0000), Err(ElfError::OutsideUserSpace), "entry not executable");
        assert_eq!(
            plan(&elf64(1, 0, &[text], &[0; 0x200]), USER_END),
            Err(ElfError::NotAnExecutable),
            "ET_REL"
        );
    }

    /// A program header of hostile values: small ones near the usual layout mixed with
    /// extremes, so that both the checks and the arithmetic behind them are reached.
    fn hostile_word() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..0x2000,
            0x40_0000u64..0x40_4000,
            Just(USER_END - 0x1000),
            Just(USER_END),
            Just(0xffff_ffff_8000_0000),
            Just(u64::MAX),
            any::<u64>(),
        ]
    }

    fn hostile_phdr() -> impl Strategy<Value = Phdr> {
        (
            prop_oneof![Just(PT_LOAD), Just(PT_PHDR), Just(PT_INTERP), any::<u32>()],
            0u32..8,
            hostile_word(),
            hostile_word(),
            hostile_word(),
            hostile_word(),
        )
    }

    /// What a returned plan promises the kernel.
    fn check_plan_is_sound(plan: &LoadPlan, file: &[u8], user_end: u64) -> Result<(), TestCaseError> {
        for segment in &plan.segments {
            prop_assert!(segment.vaddr >= PAGE_SIZE);
            prop_assert!(segment.vaddr + segment.mem_size <= user_end);
            prop_assert!(segment.pages().end <= user_end.next_multiple_of(PAGE_SIZE));
            prop_assert!(segment.file_size <= segment.mem_size);
            prop_assert!(segment.file_offset + segment.file_size <= file.len() as u64);
        }
        for pair in plan.segments.windows(2) {
            prop_assert!(pair[0].vaddr + pair[0].mem_size <= pair[1].vaddr);
        }
        prop_assert!(
            plan.segments
                .iter()
                .any(|s| s.executable && (s.vaddr..s.vaddr + s.mem_size).contains(&plan.entry))
        );
        prop_assert!(plan.end <= user_end);
        Ok(())
    }

    proptest! {
        #[test]
        fn corrupted_files_are_refused_without_panicking(flips in proptest::collection::vec((0usize..300, any::<u8>()), 1..20)) {
            let mut file = static_executable();
            for (index, byte) in flips {
                let index = index % file.len();
                file[index] = byte;
            }
            if let Ok(plan) = plan(&file, USER_END) {
                check_plan_is_sound(&plan, &file, USER_END)?;
            }
        }

        #[test]
        fn every_cut_inside_the_loaded_bytes_is_refused(length in 0usize..0x210) {
            prop_assert!(plan(&static_executable()[..length], USER_END).is_err());
        }

        #[test]
        fn hostile_program_headers_are_refused_or_planned_soundly(
            e_type in prop_oneof![Just(ET_EXEC), Just(ET_DYN), any::<u16>()],
            entry in hostile_word(),
            phdrs in proptest::collection::vec(hostile_phdr(), 0..5),
            body_length in 0usize..0x3000,
            user_end in prop_oneof![Just(USER_END), 0x1000u64..0x50_0000],
        ) {
            let file = elf64(e_type, entry, &phdrs, &alloc::vec![0x90; body_length]);
            if let Ok(plan) = plan(&file, user_end) {
                check_plan_is_sound(&plan, &file, user_end)?;
            }
        }
    }
}
