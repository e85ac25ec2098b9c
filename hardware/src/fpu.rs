//! FPU/SSE state for threads that run user code: enabled at boot, saved with `fxsave64`
//! when such a thread leaves its CPU and restored with `fxrstor64` when it comes back.
//!
//! The kernel itself is built soft-float and never touches x87/SSE registers, so kernel
//! threads need no FPU area and the switch saves only for threads created with one.
//!
//! Called from: `init` at boot; `save`/`restore` from the context switch (interrupts off).

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

/// An `fxsave64` image: 512 bytes, 16-byte aligned.
#[repr(C, align(16))]
pub struct FpuState([u8; 512]);

impl FpuState {
    /// The state a thread starts with: x87 control word 0x037f (all exceptions masked,
    /// extended precision), MXCSR 0x1f80 (all SSE exceptions masked, round to nearest).
    pub fn initial() -> Self {
        let mut image = [0u8; 512];
        image[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        image[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        Self(image)
    }
}

/// Turns on x87 and SSE for code that uses them: no emulation, monitor coprocessor,
/// `fxsave`/`fxrstor` with SSE state, SIMD exceptions reported as #XM.
pub fn init() {
    // SAFETY: the flags only permit x87/SSE instructions and their state saving; the
    // kernel (soft-float) issues none of its own, and every other flag is kept.
    unsafe {
        Cr0::update(|flags| {
            flags.remove(Cr0Flags::EMULATE_COPROCESSOR);
            flags.insert(Cr0Flags::MONITOR_COPROCESSOR);
        });
        Cr4::update(|flags| flags.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE));
    }
}

/// A copy of this CPU's x87/SSE registers now (for a forked child).
pub fn snapshot() -> FpuState {
    let mut state = FpuState::initial();
    save(&mut state);
    state
}

/// Saves this CPU's x87/SSE registers into `state`.
pub fn save(state: &mut FpuState) {
    // SAFETY: `state` is 512 writable bytes, 16-byte aligned; FXSR is enabled by `init`.
    unsafe { core::arch::x86_64::_fxsave64(state.0.as_mut_ptr()) };
}

/// Loads this CPU's x87/SSE registers from `state`.
pub fn restore(state: &FpuState) {
    // SAFETY: `state` is a 16-byte-aligned image made by `save` or `initial` (reserved
    // MXCSR bits clear), so `fxrstor64` cannot fault.
    unsafe { core::arch::x86_64::_fxrstor64(state.0.as_ptr()) };
}
