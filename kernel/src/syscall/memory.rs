//! Memory calls: `brk`, `mmap` (anonymous mappings only: there are no files), `munmap`
//! and `mprotect`, each run on the calling process's address space and layout
//! (`process::memory`).

use super::current_process;
use crate::process::memory;
use abi::Errno;
use abi::mman::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_GROWSDOWN, MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MAP_STACK,
};

/// Flags `mmap` accepts and ignores (no effect without demand paging or files).
const MAP_IGNORED: u64 = MAP_GROWSDOWN | MAP_NORESERVE | MAP_POPULATE | MAP_STACK;

/// `brk(address)`: moves the program break to `address` if it can, and returns the break
/// as it is then (Linux's rule: a failed brk returns the old break, not an error).
pub(super) fn brk(address: u64) -> Result<u64, Errno> {
    Ok(current_process().with_memory(|space, layout| memory::set_break(space, layout, address)).unwrap_or(0))
}

/// `munmap(addr, length)`.
pub(super) fn munmap(address: u64, length: u64) -> Result<u64, Errno> {
    memory_call(|space, layout| memory::unmap(space, layout, address, length).map(|()| 0))
}

/// Runs a memory call on the current process's address space and layout.
fn memory_call(
    call: impl FnOnce(
        &mut mm::address_space::AddressSpace,
        &mut memory::Layout,
    ) -> Result<u64, memory::MemoryError>,
) -> Result<u64, Errno> {
    match current_process().with_memory(call) {
        Some(Ok(value)) => Ok(value),
        Some(Err(memory::MemoryError::Invalid)) => Err(Errno::EINVAL),
        Some(Err(memory::MemoryError::OutOfMemory | memory::MemoryError::NotMapped)) | None => {
            Err(Errno::ENOMEM)
        }
    }
}

/// `mmap(addr, length, prot, flags, fd, offset)`: anonymous mappings, private or shared
/// with forked children (there are no files).
pub(super) fn mmap(address: u64, length: u64, protection: u64, flags: u64, fd: i64) -> Result<u64, Errno> {
    let access = memory::access_for(protection).map_err(|_| Errno::EINVAL)?;
    if flags & MAP_ANONYMOUS == 0 || fd != -1 {
        return Err(Errno::ENODEV);
    }
    let sharing = match flags & (MAP_SHARED | MAP_PRIVATE) {
        MAP_PRIVATE => memory::Sharing::Private,
        MAP_SHARED => memory::Sharing::Shared,
        _ => return Err(Errno::EINVAL),
    };
    if flags & !(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_IGNORED) != 0 {
        return Err(Errno::EINVAL);
    }
    memory_call(|space, layout| {
        memory::map_anonymous(space, layout, address, length, access, flags & MAP_FIXED != 0, sharing)
    })
}

/// `mprotect(addr, length, prot)`.
pub(super) fn mprotect(address: u64, length: u64, protection: u64) -> Result<u64, Errno> {
    let access = memory::access_for(protection).map_err(|_| Errno::EINVAL)?;
    memory_call(|space, layout| memory::protect(space, layout, address, length, access).map(|()| 0))
}
