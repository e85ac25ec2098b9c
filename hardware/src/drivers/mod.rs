//! The machine's fixed devices: 16550 serial (COM1), the VGA text buffer, the PS/2
//! keyboard's scancode stream, the PIT (for calibration), QEMU's exit device and fw_cfg.
//! Small, each in its own file, with its register access kept there.
//!
//! The logic of each driver (screen scrolling, the scancode queue, the PIT count) builds
//! and tests on the host; the port and memory-mapped accesses are x86-only, each behind the
//! safe interface of its driver, which alone names its ports.

pub mod fw_cfg;
pub mod input_queue;
#[cfg(target_arch = "x86_64")]
pub mod keyboard;
pub mod pit;
#[cfg(target_arch = "x86_64")]
pub mod qemu_exit;
#[cfg(target_arch = "x86_64")]
pub mod serial;
pub mod vga;
