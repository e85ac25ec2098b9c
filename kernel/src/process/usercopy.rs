//! Copying to and from user memory: the one way the kernel reads or writes what a user
//! pointer points at.
//!
//! Every page is looked up in the process's own page tables and accessed through the
//! physical-memory window, so a bad pointer — unmapped, kernel, or (for writes) read-only —
//! is `Efault`, never a kernel fault, and the kernel never dereferences a user address.
//!
//! The copies that name a process (`copy_from`, `copy_to`, `writable_room`, `read_val`,
//! `write_val`) treat an address in the main stack's growth area as the program's own
//! access would: a copy that fails there grows the stack down to it (within RLIMIT_STACK)
//! and is tried once more, as Linux's fault path grows the stack for its copies. The growth
//! takes the memory lock, so it happens between tries, never under `with_space`.

use mm::PAGE_SIZE;
use mm::address_space::{AddressSpace, USER_END};

use abi::{Errno, FromBytes, Immutable, IntoBytes};

use super::Process;
use crate::mm::window::window;

/// A user pointer that does not point at accessible user memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Efault;

/// Calls `visit(frame, offset_in_frame, range_in_buffer)` for each page piece of
/// `address..address + length`, failing at the first page that is unmapped or, when
/// `writable` is asked for, read-only.
fn for_each_piece(
    space: &AddressSpace,
    address: u64,
    length: usize,
    writable: bool,
    mut visit: impl FnMut(u64, usize, core::ops::Range<usize>),
) -> Result<(), Efault> {
    let end = address.checked_add(length as u64).ok_or(Efault)?;
    if end > USER_END {
        return Err(Efault);
    }
    let mut cursor = address;
    while cursor < end {
        let page_end = (cursor | (PAGE_SIZE - 1)) + 1;
        let piece_end = page_end.min(end);
        let translation = space.translate(window(), cursor).ok_or(Efault)?;
        if writable && !translation.access.writable {
            return Err(Efault);
        }
        let frame = translation.frame & !(PAGE_SIZE - 1);
        let offset = (cursor & (PAGE_SIZE - 1)) as usize;
        let done = (cursor - address) as usize;
        visit(frame, offset, done..done + (piece_end - cursor) as usize);
        cursor = piece_end;
    }
    Ok(())
}

/// Whether `address..address + length` lies in the user half: what Linux's `access_ok`
/// asks of a buffer before a call moves anything (a length past it is EFAULT at once).
pub fn within_user_half(address: u64, length: u64) -> bool {
    address.checked_add(length).is_some_and(|end| end <= USER_END)
}

/// How many bytes from `address` on, at most `limit`, lie in writable user pages: a copy
/// of that many to `address` cannot fault. Costs the pages it looks at (at most `limit`'s),
/// so a huge `limit` over a small mapping stops at the mapping's end.
pub fn writable_length(space: &AddressSpace, address: u64, limit: usize) -> usize {
    let end = address.saturating_add(limit as u64).min(USER_END);
    let mut cursor = address;
    while cursor < end {
        match space.translate(window(), cursor) {
            Some(translation) if translation.access.writable => cursor = (cursor | (PAGE_SIZE - 1)) + 1,
            _ => break,
        }
    }
    (cursor.min(end).saturating_sub(address)) as usize
}

/// Fills `buffer` from user memory at `address`.
pub fn copy_from_user(space: &AddressSpace, address: u64, buffer: &mut [u8]) -> Result<(), Efault> {
    for_each_piece(space, address, buffer.len(), false, |_, _, _| {})?;
    for_each_piece(space, address, buffer.len(), false, |frame, offset, range| {
        mm::phys::read_into(window(), frame, offset, &mut buffer[range]);
    })
}

/// Writes `bytes` into the pages of `space` at `address` whatever their user access (for
/// loading a program's read-only text); the pages must be mapped.
pub(super) fn load_into(space: &AddressSpace, address: u64, bytes: &[u8]) -> Result<(), Efault> {
    for_each_piece(space, address, bytes.len(), false, |frame, offset, range| {
        mm::phys::write_from(window(), frame, offset, &bytes[range]);
    })
}

/// Writes `bytes` to user memory at `address`; all or nothing.
pub fn copy_to_user(space: &AddressSpace, address: u64, bytes: &[u8]) -> Result<(), Efault> {
    for_each_piece(space, address, bytes.len(), true, |_, _, _| {})?;
    for_each_piece(space, address, bytes.len(), true, |frame, offset, range| {
        mm::phys::write_from(window(), frame, offset, &bytes[range]);
    })
}

/// Runs `copy` on the address space of `process`; if it fails and `address` lies where the
/// main stack may grow, grows the stack down to `address` and runs `copy` once more.
fn growing_the_stack<R>(
    process: &Process,
    address: u64,
    mut copy: impl FnMut(&AddressSpace) -> Result<R, Efault>,
) -> Result<R, Efault> {
    match process.with_space(|space| copy(space)) {
        Some(Ok(result)) => Ok(result),
        Some(Err(Efault)) if process.grow_stack(address) => {
            process.with_space(|space| copy(space)).unwrap_or(Err(Efault))
        }
        _ => Err(Efault),
    }
}

/// Fills `buffer` from the user memory of `process` at `address` (growing the main stack to
/// it if it lies in the stack's growth area).
pub fn copy_from(process: &Process, address: u64, buffer: &mut [u8]) -> Result<(), Efault> {
    growing_the_stack(process, address, |space| copy_from_user(space, address, buffer))
}

/// Writes `bytes` to the user memory of `process` at `address`, all or nothing (growing the
/// main stack to it if it lies in the stack's growth area).
pub fn copy_to(process: &Process, address: u64, bytes: &[u8]) -> Result<(), Efault> {
    growing_the_stack(process, address, |space| copy_to_user(space, address, bytes))
}

/// `writable_length` in the memory of `process`, growing the main stack to `address` if
/// it lies in the stack's growth area.
pub fn writable_room(process: &Process, address: u64, limit: usize) -> usize {
    let room = |space: &AddressSpace| match writable_length(space, address, limit) {
        0 => Err(Efault),
        room => Ok(room),
    };
    growing_the_stack(process, address, room).unwrap_or(0)
}

/// Reads a `T` from user memory of `process` at `address`: EFAULT if it is not all there.
pub fn read_val<T: FromBytes + IntoBytes>(process: &Process, address: u64) -> Result<T, Errno> {
    let mut value = T::new_zeroed();
    copy_from(process, address, value.as_mut_bytes()).map_err(|Efault| Errno::EFAULT)?;
    Ok(value)
}

/// Writes `value` to user memory of `process` at `address`, all or nothing: EFAULT if it
/// does not all fit in writable user pages.
pub fn write_val<T: IntoBytes + Immutable + ?Sized>(
    process: &Process,
    address: u64,
    value: &T,
) -> Result<(), Errno> {
    copy_to(process, address, value.as_bytes()).map_err(|Efault| Errno::EFAULT)
}

/// Why a user string could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringError {
    Fault,
    /// No NUL within the limit.
    TooLong,
    /// The kernel heap could not hold it.
    OutOfMemory,
}

/// Appends the NUL-terminated string at `address`, without its NUL, to `into` and returns
/// its length: at most `limit` bytes before the NUL. The heap it takes is reserved
/// fallibly, a page's worth at a time.
pub fn append_c_string_from_user(
    space: &AddressSpace,
    address: u64,
    limit: usize,
    into: &mut alloc::vec::Vec<u8>,
) -> Result<usize, StringError> {
    let start = into.len();
    let mut cursor = address;
    loop {
        // Up to the end of the page, so that a string ending just before an unmapped page
        // is still read.
        let piece = (PAGE_SIZE - (cursor & (PAGE_SIZE - 1))) as usize;
        let mut buffer = [0u8; PAGE_SIZE as usize];
        copy_from_user(space, cursor, &mut buffer[..piece]).map_err(|_| StringError::Fault)?;
        let end = buffer[..piece].iter().position(|&byte| byte == 0);
        let taken = end.unwrap_or(piece);
        if into.len() - start + taken > limit {
            return Err(StringError::TooLong);
        }
        crate::fault_injection::try_reserve(into, taken).map_err(|_| StringError::OutOfMemory)?;
        into.extend_from_slice(&buffer[..taken]);
        if end.is_some() {
            return Ok(into.len() - start);
        }
        cursor = cursor.checked_add(piece as u64).ok_or(StringError::Fault)?;
    }
}
