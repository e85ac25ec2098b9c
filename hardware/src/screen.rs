//! The VGA text screen, reached through the physical-memory window: `crate::drivers::vga` draws
//! on it once `init` has handed it the buffer.
//!
//! Invariant: the text buffer is the driver's alone; nothing else in the kernel maps or
//! writes it.

/// Hands the VGA text buffer, as the window maps it, to `crate::drivers::vga` and clears it.
/// Later calls do nothing. Panics before the window is set up (`window::init`).
pub fn init() {
    let offset = crate::window::window().offset();
    // SAFETY: the window maps all physical memory, writable, for the kernel's lifetime
    // (`window::init`'s contract), and only the driver uses the text buffer.
    unsafe { crate::drivers::vga::init(offset) };
}
