//! Raw access to physical frames through a window: the one place in `mm` with `unsafe`.
//!
//! The kernel reaches physical memory through the bootloader's offset mapping; the host
//! tests through a heap buffer standing in for RAM (`SimulatedRam`). Either way the rest of
//! `mm` only reads and writes whole 64-bit page-table entries and whole frames through the
//! functions here, by physical address, and never holds a reference into a frame — so no
//! two parts of the code can alias one mutably.

use crate::PAGE_SIZE;

/// A window onto physical memory.
///
/// # Safety
/// For every frame address that the frame allocator in use can hand out, `frame_pointer`
/// must return a pointer to that frame's 4096 bytes, 4096-aligned and valid for reads and
/// writes for as long as the window lives, and nothing may hold a Rust reference into that
/// memory while `mm` uses it.
pub unsafe trait PhysWindow {
    fn frame_pointer(&self, frame: u64) -> *mut u8;
}

fn frame_start(window: &impl PhysWindow, frame: u64) -> *mut u8 {
    assert!(frame.is_multiple_of(PAGE_SIZE), "mm: frame address {frame:#x} is not 4 KiB aligned");
    window.frame_pointer(frame)
}

/// Reads 64-bit word `index` (0..512) of `frame`.
pub fn read_word(window: &impl PhysWindow, frame: u64, index: usize) -> u64 {
    assert!(index < 512, "mm: word index {index} outside a frame");
    // SAFETY: `PhysWindow` promises 4096 valid, aligned bytes at the frame's start, and the
    // index was checked; volatile because the memory may be in use by the MMU.
    unsafe { frame_start(window, frame).cast::<u64>().add(index).read_volatile() }
}

/// Writes 64-bit word `index` (0..512) of `frame`.
pub fn write_word(window: &impl PhysWindow, frame: u64, index: usize, value: u64) {
    assert!(index < 512, "mm: word index {index} outside a frame");
    // SAFETY: as in `read_word`.
    unsafe { frame_start(window, frame).cast::<u64>().add(index).write_volatile(value) }
}

/// Sets every byte of `frame` to `byte`.
pub fn fill(window: &impl PhysWindow, frame: u64, byte: u8) {
    // SAFETY: the window promises 4096 writable bytes at the frame's start.
    unsafe { frame_start(window, frame).write_bytes(byte, PAGE_SIZE as usize) }
}

/// Copies frame `from` into frame `to`.
pub fn copy(window: &impl PhysWindow, from: u64, to: u64) {
    assert_ne!(from, to, "mm: copy of a frame onto itself");
    // SAFETY: both frames are valid for 4096 bytes; distinct frames do not overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(frame_start(window, from), frame_start(window, to), PAGE_SIZE as usize)
    }
}

/// Copies `buffer.len()` bytes from `frame` at `offset` into `buffer`.
pub fn read_into(window: &impl PhysWindow, frame: u64, offset: usize, buffer: &mut [u8]) {
    assert!(offset + buffer.len() <= PAGE_SIZE as usize, "mm: read past the end of a frame");
    // SAFETY: the range lies inside the frame (checked), which the window maps; `buffer` is
    // ordinary memory, not a frame the window reaches.
    unsafe {
        core::ptr::copy_nonoverlapping(
            frame_start(window, frame).add(offset),
            buffer.as_mut_ptr(),
            buffer.len(),
        )
    }
}

/// Copies `bytes` into `frame` at `offset`.
pub fn write_from(window: &impl PhysWindow, frame: u64, offset: usize, bytes: &[u8]) {
    assert!(offset + bytes.len() <= PAGE_SIZE as usize, "mm: write past the end of a frame");
    // SAFETY: as in `read_into`, in the other direction.
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), frame_start(window, frame).add(offset), bytes.len())
    }
}

/// Reads byte `offset` of `frame`.
pub fn read_byte(window: &impl PhysWindow, frame: u64, offset: usize) -> u8 {
    assert!(offset < PAGE_SIZE as usize, "mm: byte offset {offset} outside a frame");
    // SAFETY: offset checked; the frame is valid for reads.
    unsafe { frame_start(window, frame).add(offset).read_volatile() }
}

/// Writes byte `offset` of `frame`.
pub fn write_byte(window: &impl PhysWindow, frame: u64, offset: usize, value: u8) {
    assert!(offset < PAGE_SIZE as usize, "mm: byte offset {offset} outside a frame");
    // SAFETY: offset checked; the frame is valid for writes.
    unsafe { frame_start(window, frame).add(offset).write_volatile(value) }
}

/// RAM for host tests: a heap buffer whose frames have made-up physical addresses from
/// `base`.
#[cfg(test)]
pub mod simulated {
    use core::cell::UnsafeCell;

    use super::PhysWindow;
    use crate::PAGE_SIZE;
    use crate::boot_frames::PhysRange;

    #[repr(C, align(4096))]
    struct Frame(UnsafeCell<[u8; PAGE_SIZE as usize]>);

    pub struct SimulatedRam {
        frames: Box<[Frame]>,
        base: u64,
    }

    impl SimulatedRam {
        pub fn new(base: u64, frames: usize) -> Self {
            let frames = (0..frames).map(|_| Frame(UnsafeCell::new([0; PAGE_SIZE as usize]))).collect();
            Self { frames, base }
        }

        pub fn range(&self) -> PhysRange {
            PhysRange { start: self.base, end: self.base + self.frames.len() as u64 * PAGE_SIZE }
        }
    }

    // SAFETY: each frame is an aligned 4096-byte cell owned by this struct; pointers come
    // from `UnsafeCell::get`, and no reference into a frame is handed out.
    unsafe impl PhysWindow for SimulatedRam {
        fn frame_pointer(&self, frame: u64) -> *mut u8 {
            let index = ((frame - self.base) / PAGE_SIZE) as usize;
            self.frames[index].0.get().cast()
        }
    }

    // SAFETY: like RAM, the simulation hands out only raw pointers to its frames; who may
    // touch a frame from which thread is the callers' contract, as it is for real frames.
    unsafe impl Sync for SimulatedRam {}

    /// A window that counts how often frames are reached through it: how a test checks
    /// that a walk costs what is mapped, not what was asked.
    pub struct Counting<'ram> {
        ram: &'ram SimulatedRam,
        reads: core::cell::Cell<u64>,
    }

    impl<'ram> Counting<'ram> {
        pub fn new(ram: &'ram SimulatedRam) -> Self {
            Self { ram, reads: core::cell::Cell::new(0) }
        }

        /// Frames reached so far (one per page-table entry read or written).
        pub fn reads(&self) -> u64 {
            self.reads.get()
        }
    }

    // SAFETY: every pointer is the wrapped `SimulatedRam`'s, which keeps the promise.
    unsafe impl PhysWindow for Counting<'_> {
        fn frame_pointer(&self, frame: u64) -> *mut u8 {
            self.reads.set(self.reads.get() + 1);
            self.ram.frame_pointer(frame)
        }
    }
}
