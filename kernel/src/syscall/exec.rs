//! `execve`: the path, argv and envp copied in from the caller, each charged against the
//! room the new program's stack gives them (`process::ARGUMENT_ROOM`), every allocation
//! fallible, then `process::execve`.

use super::current_process;
use crate::arch::syscall::SyscallFrame;
use crate::process::{self, usercopy};
use abi::Errno;

/// Longest path execve takes, its NUL included (Linux's PATH_MAX).
const PATH_MAX: usize = 4096;

/// Longest single argument or environment string, its NUL included (Linux's MAX_ARG_STRLEN).
const MAX_ARG_STRLEN: usize = 128 * 1024;

/// argv or envp as execve copies it: the strings, without their NULs, back to back.
struct Strings {
    bytes: alloc::vec::Vec<u8>,
    ends: alloc::vec::Vec<usize>,
}

impl Strings {
    fn slices(&self) -> impl Iterator<Item = &[u8]> {
        let starts = core::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied()).map(|(start, end)| &self.bytes[start..end])
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

/// Takes `bytes` from `room`, or fails with E2BIG.
fn charge(room: &mut u64, bytes: u64) -> Result<(), Errno> {
    *room = room.checked_sub(bytes).ok_or(Errno::E2BIG)?;
    Ok(())
}

/// Reads the NULL-terminated array of string pointers at `address` (NULL: empty), each
/// pointer and each string with its NUL charged to `room`. Every heap reservation is
/// fallible: ENOMEM rather than a kernel out of heap.
fn read_strings(process: &process::Process, address: u64, room: &mut u64) -> Result<Strings, Errno> {
    let mut strings = Strings { bytes: alloc::vec::Vec::new(), ends: alloc::vec::Vec::new() };
    if address == 0 {
        return Ok(strings);
    }
    let mut at = address;
    loop {
        let pointer: u64 = usercopy::read_val(process, at)?;
        if pointer == 0 {
            return Ok(strings);
        }
        charge(room, 8)?;
        let limit = (MAX_ARG_STRLEN - 1).min(usize::try_from(room.saturating_sub(1)).unwrap_or(usize::MAX));
        let length = process
            .with_space(|space| {
                usercopy::append_c_string_from_user(space, pointer, limit, &mut strings.bytes)
            })
            .ok_or(Errno::EFAULT)?
            .map_err(|error| match error {
                usercopy::StringError::Fault => Errno::EFAULT,
                usercopy::StringError::TooLong => Errno::E2BIG,
                usercopy::StringError::OutOfMemory => Errno::ENOMEM,
            })?;
        charge(room, length as u64 + 1)?;
        crate::fault_injection::try_reserve(&mut strings.ends, 1).map_err(|_| Errno::ENOMEM)?;
        strings.ends.push(strings.bytes.len());
        at = at.checked_add(8).ok_or(Errno::EFAULT)?;
    }
}

/// The slices of `strings`, in a vector reserved fallibly.
fn slices(strings: &Strings) -> Result<alloc::vec::Vec<&[u8]>, Errno> {
    let mut slices = alloc::vec::Vec::new();
    crate::fault_injection::try_reserve_exact(&mut slices, strings.len()).map_err(|_| Errno::ENOMEM)?;
    slices.extend(strings.slices());
    Ok(slices)
}

/// `execve(path, argv, envp)`: runs a program from the ramdisk in place of this one.
pub(super) fn execve(frame: &mut SyscallFrame) -> Result<u64, Errno> {
    let process = current_process();
    let mut path = alloc::vec::Vec::new();
    process
        .with_space(|space| usercopy::append_c_string_from_user(space, frame.rdi, PATH_MAX - 1, &mut path))
        .ok_or(Errno::EFAULT)?
        .map_err(|error| match error {
            usercopy::StringError::Fault => Errno::EFAULT,
            usercopy::StringError::TooLong => Errno::ENAMETOOLONG,
            usercopy::StringError::OutOfMemory => Errno::ENOMEM,
        })?;
    // Past the room the new stack gives them, E2BIG before more is copied.
    let mut room = process::ARGUMENT_ROOM as u64;
    let argv = read_strings(&process, frame.rsi, &mut room)?;
    let envp = read_strings(&process, frame.rdx, &mut room)?;
    let argv = slices(&argv)?;
    let envp = slices(&envp)?;
    match process::execve(&process, &path, &argv, &envp, frame) {
        // The frame now starts the new program; its rax (0) is what it sees.
        Ok(()) => Ok(0),
        Err(process::ExecError::NotFound) => Err(Errno::ENOENT),
        Err(process::ExecError::NotExecutable(_)) => Err(Errno::ENOEXEC),
        Err(process::ExecError::ArgumentsTooLong) => Err(Errno::E2BIG),
        Err(process::ExecError::OutOfMemory) => Err(Errno::ENOMEM),
        Err(process::ExecError::TooManyThreads | process::ExecError::TooManyProcesses) => Err(Errno::EAGAIN),
        // Never seen: the thread exits on its way back (`exit_if_group_exiting`).
        Err(process::ExecError::Evicted) => Err(Errno::EINTR),
    }
}
