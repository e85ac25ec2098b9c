//! The kernel's window onto physical memory: the bootloader maps all of it at a fixed
//! offset (`map_physical_memory`), so frame `f` is at virtual `offset + f`.

use conquer_once::spin::OnceCell;
use mm::phys::PhysWindow;

/// All of physical memory, mapped at `offset`.
pub struct OffsetWindow {
    offset: u64,
}

static WINDOW: OnceCell<OffsetWindow> = OnceCell::uninit();

/// Records the offset. Called once, by the kernel's `mm::init`.
///
/// # Safety
/// All physical memory must be mapped, writable, at `offset` for the kernel's lifetime.
pub unsafe fn init(offset: u64) {
    WINDOW.init_once(|| OffsetWindow { offset });
}

impl OffsetWindow {
    /// Where physical address 0 appears.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where `physical` (any physical address, not only a frame's start) appears.
    pub fn virtual_address(&self, physical: u64) -> u64 {
        self.offset + physical
    }
}

/// The window. Panics before `mm::init`.
pub fn window() -> &'static OffsetWindow {
    WINDOW.get().expect("mm: physical window used before mm::init")
}

// SAFETY: `init`'s contract maps every physical frame at `offset`, 4 KiB-aligned since the
// offset is; the kernel holds no Rust references into frames the frame allocator manages.
unsafe impl PhysWindow for OffsetWindow {
    fn frame_pointer(&self, frame: u64) -> *mut u8 {
        (self.offset + frame) as *mut u8
    }
}
