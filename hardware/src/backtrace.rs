//! Frame-pointer backtraces of interrupted kernel code, for reports made from interrupt
//! context (the lockup detector).
//!
//! The kernel is built with frame pointers (`.cargo/config.toml`): a function's prologue
//! pushes its caller's RBP and points RBP at that word, so `[rbp]` is the caller's frame
//! pointer and `[rbp + 8]` the return address into the caller. An `x86-interrupt` handler's
//! prologue does the same right on top of the frame the CPU pushed, so its `[rbp + 8]` is the
//! interrupted RIP and its `[rbp]` the interrupted RBP. Functions of the precompiled `core`
//! keep no frame pointer: a walk through one misses its caller or stops early.
//!
//! Invariant: a walk never faults and always ends. It reads only 8-byte-aligned words inside
//! the kernel stack this CPU runs on (`context::running_stack`, mapped whole while the CPU
//! is on it), each frame strictly above the one before, at most `MAX_FRAMES` of them, and it
//! stops at the first return address outside the kernel's code. An interrupt taken in ring 0
//! pushes its frame on the interrupted stack (only the double fault has an IST stack), so
//! the handler's frames and the interrupted ones are on that one stack.
//!
//! Called from: an interrupt handler, or code it calls, about the interrupt it is handling.

use core::ops::Range;

use x86_64::structures::idt::InterruptStackFrame;

/// Return addresses a backtrace keeps, at most.
pub const MAX_FRAMES: usize = 16;

/// Frames between the walk's start and the interrupt handler's own frame, at most.
const MAX_HANDLER_DEPTH: usize = 32;

/// Where the kernel image is linked (`.cargo/config.toml`: code model `kernel`).
const KERNEL_IMAGE_START: u64 = 0xffff_ffff_8000_0000;

unsafe extern "C" {
    /// The end of the kernel's code, defined by the linker.
    static etext: u8;
}

/// Addresses that may be return addresses: the kernel image up to the end of its code.
fn kernel_code() -> Range<u64> {
    KERNEL_IMAGE_START..&raw const etext as u64
}

/// The return addresses of an interrupted kernel context, innermost first.
#[derive(Debug, Clone, Copy)]
pub struct Backtrace {
    return_addresses: [u64; MAX_FRAMES],
    len: usize,
}

impl Backtrace {
    pub const EMPTY: Self = Self { return_addresses: [0; MAX_FRAMES], len: 0 };

    pub fn return_addresses(&self) -> &[u64] {
        &self.return_addresses[..self.len]
    }

    fn push(&mut self, address: u64) {
        self.return_addresses[self.len] = address;
        self.len += 1;
    }
}

/// The backtrace of the code the interrupt with `frame` interrupted: the return addresses
/// above its RIP. Empty for an interrupt from ring 3, or when the handler's frame is not
/// found on the stack this CPU runs on.
pub fn of_interrupted(frame: &InterruptStackFrame) -> Backtrace {
    let mut backtrace = Backtrace::EMPTY;
    if crate::user::from_user(frame) {
        return backtrace;
    }
    let here: u64;
    // SAFETY: copies RBP to a register; no memory is touched.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) here, options(nomem, nostack, preserves_flags)) };
    let Some(stack) = crate::context::running_stack() else { return backtrace };
    if !stack.contains(&here) {
        return backtrace;
    }
    let Some(interrupted) = interrupted_frame_pointer(&stack, here, frame) else { return backtrace };
    let code = kernel_code();
    let mut frame_pointer = interrupted;
    while backtrace.len < MAX_FRAMES {
        let Some([caller_frame, return_address]) = read_frame(&stack, frame_pointer) else { break };
        if !code.contains(&return_address) {
            break;
        }
        backtrace.push(return_address);
        if caller_frame <= frame_pointer {
            break;
        }
        frame_pointer = caller_frame;
    }
    backtrace
}

/// Walks up from `frame_pointer` to the frame of the handler of the interrupt with
/// `frame` — the one whose return-address slot holds the CPU-pushed RIP, followed by the
/// pushed CS and, two words on, RSP — and returns the interrupted RBP saved in it.
fn interrupted_frame_pointer(
    stack: &Range<u64>,
    mut frame_pointer: u64,
    frame: &InterruptStackFrame,
) -> Option<u64> {
    for _ in 0..MAX_HANDLER_DEPTH {
        let [saved, return_slot] = read_frame(stack, frame_pointer)?;
        if return_slot == frame.instruction_pointer.as_u64()
            && read_word(stack, frame_pointer + 16) == Some(u64::from(frame.code_segment.0))
            && read_word(stack, frame_pointer + 32) == Some(frame.stack_pointer.as_u64())
        {
            return Some(saved);
        }
        if saved <= frame_pointer {
            return None;
        }
        frame_pointer = saved;
    }
    None
}

/// The two words of the frame at `frame_pointer` (saved RBP, return address), if the frame
/// lies in `stack`.
fn read_frame(stack: &Range<u64>, frame_pointer: u64) -> Option<[u64; 2]> {
    Some([read_word(stack, frame_pointer)?, read_word(stack, frame_pointer.checked_add(8)?)?])
}

/// The word at `address`, if it is 8-byte aligned and lies in `stack`.
fn read_word(stack: &Range<u64>, address: u64) -> Option<u64> {
    let end = address.checked_add(8)?;
    if !address.is_multiple_of(8) || address < stack.start || end > stack.end {
        return None;
    }
    // `stack` is the kernel stack this CPU runs on (`of_interrupted` found it from RBP);
    // only this CPU writes it, and the code owning these frames is suspended under this handler.
    // SAFETY: the stack is mapped whole while this CPU is on it (`context::running_stack`),
    // and the word is aligned and inside it.
    Some(unsafe { core::ptr::read_volatile(address as *const u64) })
}
