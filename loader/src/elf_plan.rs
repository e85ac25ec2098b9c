//! What a static ELF64 x86-64 executable asks to be mapped: its loadable segments, entry
//! point and program headers, checked so the kernel can map it without further doubt.
//!
//! Accepted: `ET_EXEC` (fixed addresses) and static-PIE `ET_DYN` (no `PT_INTERP`), which is
//! placed at `STATIC_PIE_BASE`. Refused with an error, never a panic: anything unparsable,
//! other machines or classes, dynamically linked programs, segments outside the user half
//! or overlapping each other, file ranges past the end of the file.

use alloc::vec::Vec;
use core::fmt;

use elf::ElfBytes;
use elf::abi::{EM_X86_64, ET_DYN, ET_EXEC, PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR};
use elf::endian::LittleEndian;

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
    /// Not a well-formed ELF64 little-endian file.
    Malformed,
    /// Not an x86-64 executable (`ET_EXEC` or `ET_DYN`).
    NotAnExecutable,
    /// Needs a dynamic loader (`PT_INTERP`).
    DynamicallyLinked,
    /// No `PT_LOAD` segment.
    NothingToLoad,
    /// A segment's file range runs past the end of the file, or is larger than its memory.
    BadFileRange,
    /// A segment (or the entry point) lies outside the user half.
    OutsideUserSpace,
    /// Two segments overlap.
    Overlapping,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElfError::Malformed => "not a well-formed ELF64 file",
            ElfError::NotAnExecutable => "not an x86-64 executable",
            ElfError::DynamicallyLinked => "dynamically linked (needs an interpreter)",
            ElfError::NothingToLoad => "no loadable segment",
            ElfError::BadFileRange => "a segment's file range is invalid",
            ElfError::OutsideUserSpace => "a segment or the entry point is outside user space",
            ElfError::Overlapping => "segments overlap",
        })
    }
}

/// Plans the loading of `file` into a user half ending at `user_end`.
pub fn plan(file: &[u8], user_end: u64) -> Result<LoadPlan, ElfError> {
    let elf = ElfBytes::<LittleEndian>::minimal_parse(file).map_err(|_| ElfError::Malformed)?;
    let header = elf.ehdr;
    if header.class != elf::file::Class::ELF64 || header.e_machine != EM_X86_64 {
        return Err(ElfError::NotAnExecutable);
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
                let file_end = header.p_offset.checked_add(header.p_filesz).ok_or(ElfError::BadFileRange)?;
                if header.p_filesz > header.p_memsz || file_end > file.len() as u64 {
                    return Err(ElfError::BadFileRange);
                }
                let vaddr = header.p_vaddr.checked_add(load_bias).ok_or(ElfError::OutsideUserSpace)?;
                let end = vaddr.checked_add(header.p_memsz).ok_or(ElfError::OutsideUserSpace)?;
                if vaddr < PAGE_SIZE || end > user_end {
                    return Err(ElfError::OutsideUserSpace);
                }
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

    #[test]
    fn what_cannot_run_here_is_refused() {
        let text: Phdr = (PT_LOAD, elf::abi::PF_R | PF_X, 0, 0x40_0000, 0x200, 0x200);
        let interp: Phdr = (PT_INTERP, elf::abi::PF_R, 0, 0x40_0000, 0x10, 0x10);
        assert_eq!(
            plan(&elf64(ET_EXEC, 0x40_0000, &[interp, text], &[0; 0x200]), USER_END),
            Err(ElfError::DynamicallyLinked)
        );
        let kernel: Phdr = (PT_LOAD, elf::abi::PF_R | PF_X, 0, 0xffff_ffff_8000_0000, 0x200, 0x200);
        assert_eq!(
            plan(&elf64(ET_EXEC, 0xffff_ffff_8000_0000, &[kernel], &[0; 0x200]), USER_END),
            Err(ElfError::OutsideUserSpace)
        );
        let past_end: Phdr = (PT_LOAD, elf::abi::PF_R | PF_X, 0, 0x40_0000, 0x9000, 0x9000);
        assert_eq!(
            plan(&elf64(ET_EXEC, 0x40_0000, &[past_end], &[0; 0x200]), USER_END),
            Err(ElfError::BadFileRange)
        );
        let overlapping: Phdr = (PT_LOAD, elf::abi::PF_R, 0, 0x40_0100, 0x100, 0x100);
        assert_eq!(
            plan(&elf64(ET_EXEC, 0x40_0000, &[text, overlapping], &[0; 0x200]), USER_END),
            Err(ElfError::Overlapping)
        );
        assert_eq!(
            plan(&elf64(ET_EXEC, 0x50_0000, &[text], &[0; 0x200]), USER_END),
            Err(ElfError::OutsideUserSpace),
            "entry outside code"
        );
        assert_eq!(plan(b"#!/bin/sh\n", USER_END), Err(ElfError::Malformed));
        assert_eq!(
            plan(&elf64(1, 0, &[text], &[0; 0x200]), USER_END),
            Err(ElfError::NotAnExecutable),
            "ET_REL"
        );
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
                for segment in &plan.segments {
                    prop_assert!(segment.vaddr + segment.mem_size <= USER_END);
                    prop_assert!(segment.file_offset + segment.file_size <= file.len() as u64);
                }
            }
        }
    }
}
