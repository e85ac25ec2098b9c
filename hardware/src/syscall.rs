//! The `syscall` instruction's way into the kernel and `sysretq`'s way back.
//!
//! Entry (`syscall_entry`), with interrupts masked by SFMASK:
//! 1. `swapgs`: GS now points at this CPU's `EntryArea` (the first field of its
//!    `percpu::PerCpu`, whatever the kernel keeps beside it);
//! 2. the user stack pointer is parked in the entry area, and the stack switches to the
//!    running thread's kernel stack top (kept there by the scheduler);
//! 3. a `SyscallFrame` is pushed — every general register: the number, the six arguments,
//!    the callee-saved ones, user rip (rcx), rflags (r11) and rsp — and the kernel's
//!    handler (`set_handler`) is called with it: control goes back to the kernel here;
//! 4. `leave_to_user` pops the frame (with the result in `rax`) back into the registers,
//!    `swapgs` restores the user's GS, and `sysretq` returns. A forked child enters ring 3
//!    through the same path (`return_to_user`).
//!
//! The handler enables interrupts while it works and disables them before it returns, so
//! nothing runs between the `swapgs` and `sysretq` of the way out. Registers other than
//! rax, rcx and r11 reach the user unchanged (callee-saved ones by the Rust ABI, the others
//! from the frame), as Linux's ABI promises.

use core::arch::naked_asm;
use core::sync::atomic::AtomicU64;

use conquer_once::spin::OnceCell;

use x86_64::VirtAddr;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;

/// What the entry code reaches through GS: the first field of every `percpu::PerCpu`.
#[repr(C)]
#[derive(Default)]
pub struct EntryArea {
    /// The running thread's kernel stack top (`percpu::set_kernel_stack`).
    pub(crate) kernel_stack_top: AtomicU64,
    /// The user stack pointer during a system call's first instructions.
    user_stack_pointer: AtomicU64,
}

/// The kernel's system-call handler: gets the caller's registers, leaves the result in
/// `rax`, and returns with interrupts off.
pub type Handler = fn(&mut SyscallFrame);

static HANDLER: OnceCell<Handler> = OnceCell::uninit();

/// Makes `handler` the kernel's system-call handler; once, before any CPU runs user code.
pub fn set_handler(handler: Handler) {
    HANDLER.init_once(|| handler);
}

/// What the entry code calls: the kernel's handler; then the frame is made safe to return
/// with (`user::sanitized`), whatever the handler wrote to it.
extern "C" fn call_handler(frame: &mut SyscallFrame) {
    let handler = HANDLER.get().expect("syscall: a system call before syscall::set_handler");
    handler(frame);
    (frame.rip, frame.rflags) = crate::user::sanitized(frame.rip, frame.rflags);
}

/// The user's registers at a system call, as the entry code pushes them: everything a
/// forked child needs to resume as a copy of its parent.
#[repr(C)]
#[derive(Clone)]
pub struct SyscallFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
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

impl SyscallFrame {
    /// A frame that returns to a fresh program: `rip` and `rsp` set, every other register
    /// zero, interrupts on.
    pub fn entering(rip: u64, rsp: u64) -> Self {
        SyscallFrame {
            r15: 0,
            r14: 0,
            r13: 0,
            r12: 0,
            rbp: 0,
            rbx: 0,
            rax: 0,
            rdi: 0,
            rsi: 0,
            rdx: 0,
            r10: 0,
            r8: 0,
            r9: 0,
            rip,
            rflags: 0x202,
            rsp,
        }
    }
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
        "push rbx",
        "push rbp",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov rdi, rsp",
        "call {dispatch}",
        "jmp {leave}",
        user_rsp = const 8,
        kernel_stack = const 0,
        dispatch = sym call_handler,
        leave = sym leave_to_user,
    )
}

/// The way out of a system call, and a forked child's way into ring 3: loads every
/// register from the `SyscallFrame` at rsp and returns to the user with `sysretq`.
/// Interrupts must be off.
#[unsafe(naked)]
unsafe extern "C" fn leave_to_user() {
    naked_asm!(
        "pop r15", "pop r14", "pop r13", "pop r12", "pop rbp", "pop rbx", "pop rax", "pop rdi", "pop rsi",
        "pop rdx", "pop r10", "pop r8", "pop r9", "pop rcx", "pop r11", "pop rsp", "swapgs", "sysretq",
    )
}

/// Resumes user mode with the registers of `frame` (a forked child's first return), made
/// safe to return with (`user::sanitized`), from the kernel stack the context switch
/// registered for entries from ring 3 (checked).
pub fn return_to_user(frame: &SyscallFrame) -> ! {
    x86_64::instructions::interrupts::disable();
    crate::user::assert_on_registered_kernel_stack();
    let mut frame = frame.clone();
    (frame.rip, frame.rflags) = crate::user::sanitized(frame.rip, frame.rflags);
    let frame = &frame;
    let on_stack = core::mem::size_of::<SyscallFrame>();
    // Copies the frame below rsp and jumps into the common exit path, which pops it.
    // Interrupts are masked from here to `sysretq`; `sysretq` cannot fault in ring 0 on
    // the frame's rip, a user address (sanitized above).
    // SAFETY: the copy goes below rsp on this thread's kernel stack, the one an entry from
    // ring 3 lands on (checked above).
    unsafe {
        core::arch::asm!(
            "cli",
            "sub rsp, rcx",
            "mov rdi, rsp",
            "cld",
            "rep movsb",
            "jmp {leave}",
            in("rcx") on_stack,
            in("rsi") frame as *const SyscallFrame,
            leave = sym leave_to_user,
            options(noreturn),
        );
    }
}

/// Enables `syscall`/`sysret` on this CPU and points them at `syscall_entry`.
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
