//! Where page-table code gets frames from, and gives them back to.
//!
//! The frame allocator itself is one source; the kernel's is the allocator behind its
//! lock, taken for each call only (`kernel::mm::frames::LockedFrames`). Code that zeroes
//! or copies frames between its allocations — mapping fresh pages, fork's copy of an
//! address space — takes a source rather than the allocator, so the kernel does that work
//! with the lock free: one CPU's fork does not hold up every other CPU's allocations for
//! the time it takes to copy a whole address space.

use crate::frame_allocator::{FrameAllocator, FrameOwner, FreeError, OutOfFrames};

/// A frame allocator's calls, as a source of frames. See the module doc.
pub trait FrameSource {
    /// A frame, held by `owner` from now on.
    fn allocate(&mut self, owner: FrameOwner) -> Result<u64, OutOfFrames>;
    /// Frees the frame at `address`, which `owner` holds.
    fn free(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError>;
    /// One more holder for the allocated frame at `address`.
    fn add_reference(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError>;
    /// A holder lets go of the frame at `address`; returns whether it was freed.
    fn drop_reference(&mut self, address: u64, owner: FrameOwner) -> Result<bool, FreeError>;
}

impl FrameSource for FrameAllocator {
    fn allocate(&mut self, owner: FrameOwner) -> Result<u64, OutOfFrames> {
        FrameAllocator::allocate(self, owner)
    }

    fn free(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError> {
        FrameAllocator::free(self, address, owner)
    }

    fn add_reference(&mut self, address: u64, owner: FrameOwner) -> Result<(), FreeError> {
        FrameAllocator::add_reference(self, address, owner)
    }

    fn drop_reference(&mut self, address: u64, owner: FrameOwner) -> Result<bool, FreeError> {
        FrameAllocator::drop_reference(self, address, owner)
    }
}
