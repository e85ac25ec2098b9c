//! Ring 3: the first entry into user mode, and GS swapping for interrupts taken there.
//!
//! While the CPU runs user code its GS base is the user's and the kernel's per-CPU pointer
//! waits in KERNEL_GS_BASE; every way into the kernel from ring 3 — `syscall` (see
//! `syscall`), interrupts and exceptions (`UserGsGuard`) — swaps them first, and swaps back
//! on the way out. A user program can load any GS it likes; the kernel never trusts it.

use x86_64::PrivilegeLevel;
use x86_64::structures::idt::InterruptStackFrame;

/// Leaves for ring 3 at `entry` with stack pointer `stack_pointer`, interrupts on, all
/// other registers zero. Never returns; the thread comes back only through system calls
/// and interrupts.
///
/// # Safety
/// The current address space must map `entry` executable and the stack writable for user
/// mode, and the scheduler must have made this thread's kernel stack the TSS's ring-0
/// stack and the entry area's kernel stack.
pub unsafe fn enter_user(entry: u64, stack_pointer: u64) -> ! {
    let selectors = super::gdt::selectors();
    let user_code = u64::from(selectors.user_code.0);
    let user_data = u64::from(selectors.user_data.0);
    const USER_RFLAGS: u64 = 0x202; // interrupts on
    // SAFETY: the caller guarantees the user mappings and kernel stacks; interrupts are
    // masked from `cli` to `iretq`, so no interrupt sees the user GS in kernel mode.
    unsafe {
        core::arch::asm!(
            "cli",
            "push {user_data}",
            "push {stack_pointer}",
            "push {rflags}",
            "push {user_code}",
            "push {entry}",
            "swapgs",
            "xor eax, eax", "xor ebx, ebx", "xor ecx, ecx", "xor edx, edx",
            "xor esi, esi", "xor edi, edi", "xor ebp, ebp",
            "xor r8d, r8d", "xor r9d, r9d", "xor r10d, r10d", "xor r11d, r11d",
            "xor r12d, r12d", "xor r13d, r13d", "xor r14d, r14d", "xor r15d, r15d",
            "iretq",
            user_data = in(reg) user_data,
            stack_pointer = in(reg) stack_pointer,
            rflags = in(reg) USER_RFLAGS,
            user_code = in(reg) user_code,
            entry = in(reg) entry,
            options(noreturn),
        );
    }
}

/// Sets the FS base user code sees (its thread pointer). Kernel code does not use FS.
pub fn set_fs_base(base: u64) {
    x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::new_truncate(base));
}

/// Whether an interrupt or exception came from ring 3.
pub fn from_user(frame: &InterruptStackFrame) -> bool {
    frame.code_segment.rpl() == PrivilegeLevel::Ring3
}

/// Swaps in the kernel's GS for a handler entered from ring 3, and back when dropped.
pub struct UserGsGuard {
    swapped: bool,
}

impl UserGsGuard {
    pub fn enter(frame: &InterruptStackFrame) -> Self {
        let swapped = from_user(frame);
        if swapped {
            // SAFETY: entered from ring 3, so GS holds the user's base and KERNEL_GS_BASE
            // the kernel's; swapping gives the handler the kernel's, as everywhere in ring 0.
            unsafe { core::arch::asm!("swapgs", options(nomem, nostack)) };
        }
        Self { swapped }
    }
}

impl Drop for UserGsGuard {
    fn drop(&mut self) {
        if self.swapped {
            // SAFETY: undoes `enter` on the way back to ring 3, with interrupts off (the
            // handler's epilogue runs with IF clear until `iretq`).
            unsafe { core::arch::asm!("swapgs", options(nomem, nostack)) };
        }
    }
}
