//! The context switch: callee-saved registers and RFLAGS pushed on the old stack, stack
//! pointers exchanged, the same popped from the new stack.
//!
//! A saved context is just a stack pointer; the registers live on the stack it points to.
//! RFLAGS travels with the thread, so each resumes with its own interrupt flag. Kernel
//! threads do not touch the FPU/SSE state (the kernel target is soft-float), so it is not
//! saved here; threads that run user code have theirs saved and restored around the switch
//! (`fpu`).
//!
//! Called from: `sched::switch` only, with interrupts disabled.

use core::arch::naked_asm;

/// Saves the current context, storing its stack pointer at `save_rsp_to`, and resumes the
/// context whose stack pointer is `load_rsp`. Returns when something switches back.
///
/// # Safety
/// Interrupts must be disabled. `save_rsp_to` must be valid for an 8-byte write. `load_rsp`
/// must have been saved by this function or made by `prepare_stack`, for a stack that is
/// mapped, alive, and not in use by any running context.
#[unsafe(naked)]
pub unsafe extern "C" fn switch_stacks(save_rsp_to: *mut u64, load_rsp: u64) {
    naked_asm!(
        "pushfq",
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "popfq",
        "ret",
    )
}

/// Words `prepare_stack` writes: six registers, RFLAGS, the entry point, a fake return
/// address.
const FIRST_FRAME_WORDS: usize = 9;

/// RFLAGS a new thread starts with: interrupts off (bit 1 is always set).
const FIRST_RFLAGS: u64 = 0x2;

/// Lays out a fresh stack so that `switch_stacks` to the returned stack pointer "returns"
/// into `entry`, with interrupts off and the stack aligned as for a call.
///
/// # Safety
/// `top` must be the 16-byte-aligned top of a mapped, writable stack of at least
/// `FIRST_FRAME_WORDS * 8` bytes that nothing else uses.
pub unsafe fn prepare_stack(top: u64, entry: extern "C" fn() -> !) -> u64 {
    assert!(top.is_multiple_of(16), "context: stack top {top:#x} is not 16-byte aligned");
    // Popped in order: r15, r14, r13, r12, rbx, rbp, rflags; then `ret` to `entry`, leaving
    // rsp at the fake return address (rsp % 16 == 8 on entry, as after a call).
    let frame: [u64; FIRST_FRAME_WORDS] = [0, 0, 0, 0, 0, 0, FIRST_RFLAGS, entry as usize as u64, 0];
    let start = top - (FIRST_FRAME_WORDS * 8) as u64;
    // SAFETY: the caller guarantees the bytes below `top` are this unused stack's.
    unsafe { (start as *mut [u64; FIRST_FRAME_WORDS]).write(frame) };
    start
}
