//! The `syscall` instruction's way into the kernel and `sysretq`'s way back.
//!
//! Entry (`syscall_entry`), with interrupts masked by SFMASK:
//! 1. `swapgs`: GS now points at this CPU's `EntryArea` (the first field of `sched::cpu::Cpu`);
//! 2. the user stack pointer is parked in the entry area, and the stack switches to the
//!    running thread's kernel stack top (kept there by the scheduler);
//! 3. a `SyscallFrame` is pushed — number, the six arguments, user rip (rcx), rflags (r11)
//!    and rsp — and `syscall::dispatch` is called with a pointer to it;
//! 4. the frame (with the result in `rax`) is popped back into the registers, `swapgs`
//!    restores the user's GS, and `sysretq` returns.
//!
//! `dispatch` enables interrupts while it works and disables them before it returns, so
//! nothing runs between the `swapgs` and `sysretq` of the way out. Registers other than
//! rax, rcx and r11 reach the user unchanged (callee-saved ones by the Rust ABI, the others
//! from the frame), as Linux's ABI promises.

use core::arch::naked_asm;
use core::sync::atomic::AtomicU64;

use x86_64::VirtAddr;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;

/// What the entry code reaches through GS; must stay the first field of the per-CPU data.
#[repr(C)]
#[derive(Default)]
pub struct EntryArea {
    /// The running thread's kernel stack top.
    pub kernel_stack_top: AtomicU64,
    /// The user stack pointer during a system call's first instructions.
    pub user_stack_pointer: AtomicU64,
}

/// The registers of a system call, as the entry code pushes them.
#[repr(C)]
pub struct SyscallFrame {
    /// The system call number on entry, the result on return.
    pub rax: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub r10: u64,
    pub r8: u64,
    pub r9: u64,
    /// Where the user resumes (rcx on entry).
    pub rip: u64,
    /// The user's RFLAGS (r11 on entry).
    pub rflags: u64,
    pub rsp: u64,
}

/// The kernel side of `syscall`. See the module doc.
#[unsafe(naked)]
unsafe extern "C" fn syscall_entry() {
    naked_asm!(
        "swapgs",
        "mov gs:[{user_rsp}], rsp",
        "mov rsp, gs:[{kernel_stack}]",
        "push qword ptr gs:[{user_rsp}]",
        "push r11",
        "push rcx",
        "push r9",
        "push r8",
        "push r10",
        "push rdx",
        "push rsi",
        "push rdi",
        "push rax",
        "mov rdi, rsp",
        "call {dispatch}",
        "pop rax",
        "pop rdi",
        "pop rsi",
        "pop rdx",
        "pop r10",
        "pop r8",
        "pop r9",
        "pop rcx",
        "pop r11",
        "pop rsp",
        "swapgs",
        "sysretq",
        user_rsp = const 8,
        kernel_stack = const 0,
        dispatch = sym crate::syscall::dispatch,
    )
}

/// Enables `syscall`/`sysret` and points them at `syscall_entry`.
pub fn init() {
    let selectors = super::gdt::selectors();
    Star::write(selectors.user_code, selectors.user_data, selectors.kernel_code, selectors.kernel_data)
        .expect("syscall: GDT order does not suit sysret");
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    // Entry runs with interrupts, traps and string direction cleared.
    SFMask::write(
        RFlags::INTERRUPT_FLAG | RFlags::TRAP_FLAG | RFlags::DIRECTION_FLAG | RFlags::ALIGNMENT_CHECK,
    );
    // SAFETY: turns on `syscall`/`sysret` (the MSRs above are set); NXE and the other
    // flags are kept.
    unsafe { Efer::update(|flags| flags.insert(EferFlags::SYSTEM_CALL_EXTENSIONS)) };
}
