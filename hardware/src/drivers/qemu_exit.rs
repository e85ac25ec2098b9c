//! QEMU's `isa-debug-exit` device: ends the emulator with a chosen status.
//!
//! QEMU exits with `(value << 1) | 1`, so `Success` gives 33 and `Failed` 35; the bootimage
//! test runner and `scripts/run` treat 33 as success. When the device is absent (an
//! interactive `cargo krun` or `scripts/run --interactive`), the write is ignored and the
//! caller carries on: that is how the kernel knows whether it may end the session.

/// The I/O port the device is configured at (`iobase=0xf4` in the QEMU arguments).
pub const PORT: u16 = 0xf4;

/// What to tell QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    Success = 0x10,
    Failed = 0x11,
}

/// Asks QEMU to exit. QEMU acts on the request asynchronously, so this returns and the
/// caller should halt, or wait a little before concluding that there is no exit device.
pub fn exit_qemu(code: ExitCode) {
    let mut port = x86_64::instructions::port::Port::<u32>::new(PORT);
    // SAFETY: port 0xf4 is reserved for the debug-exit device in Lethe's QEMU setups; with
    // no device there the write goes nowhere, and it has no other side effect.
    unsafe { port.write(code as u32) };
}
