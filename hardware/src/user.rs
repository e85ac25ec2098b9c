//! Ring 3: the first entry into user mode, and GS swapping for interrupts taken there.
//!
//! While the CPU runs user code its GS base is the user's and the kernel's per-CPU pointer
//! waits in KERNEL_GS_BASE; every way into the kernel from ring 3 — `syscall` (see
//! `syscall`), interrupts and exceptions (`UserGsGuard`) — swaps them first, and swaps back
//! on the way out. A user program can load any GS it likes; the kernel never trusts it.

use x86_64::PrivilegeLevel;
use x86_64::structures::idt::InterruptStackFrame;

/// Addresses below this are user addresses (the lower canonical half).
pub const USER_END: u64 = 0x0000_8000_0000_0000;

/// User-mode flags a thread may carry back to ring 3 (Linux's FLAG_MASK): CF, PF, AF, ZF,
/// SF, TF, DF, OF, AC and ID. IOPL, NT, RF, VM and the virtual-interrupt flags never go back.
const USER_SETTABLE_FLAGS: u64 = 0x0024_0dd5;
/// Always set on the way to ring 3: bit 1 (reserved, one) and IF.
const USER_REQUIRED_FLAGS: u64 = 0x202;

/// What a return to ring 3 may carry: `rip` kept if it is a user address, else 0 — the
/// thread then faults in user mode, where the kernel handles it as any user fault, instead
/// of `sysretq` or `iretq` faulting in ring 0 on a non-canonical address with the user's GS
/// loaded; and `rflags` as `USER_SETTABLE_FLAGS` allow, interrupts on.
pub(crate) fn sanitized(rip: u64, rflags: u64) -> (u64, u64) {
    let rip = if rip < USER_END { rip } else { 0 };
    (rip, rflags & USER_SETTABLE_FLAGS | USER_REQUIRED_FLAGS)
}

/// Panics unless this CPU runs on the kernel stack registered for entries from ring 3
/// (`percpu::set_kernel_stack`, which the context switch keeps): an interrupt or system call
/// from the user must land on the stack of the thread that went there.
/// Interrupts must be masked, so that the CPU whose registered stack is read is the CPU
/// that goes on to ring 3.
pub(crate) fn assert_on_registered_kernel_stack() {
    assert!(
        !x86_64::instructions::interrupts::are_enabled(),
        "user: leaving for ring 3 with interrupts enabled"
    );
    let top = crate::percpu::kernel_stack_top();
    let marker = 0u8;
    let here = core::ptr::addr_of!(marker) as u64;
    assert!(
        top != 0 && here < top && here >= top - mm::sizing::THREAD_STACK_BYTES,
        "user: leaving for ring 3 from a stack ({here:#x}) that is not the registered kernel stack (top {top:#x})"
    );
}

/// Leaves for ring 3 at `entry` with stack pointer `stack_pointer`, interrupts on, all
/// other registers zero. Never returns; the thread comes back only through system calls
/// and interrupts, on the kernel stack it leaves from, which must be the one the context
/// switch registered (checked). An `entry` that is not a user address becomes 0 (see
/// `sanitized`); a bad stack pointer faults in user mode.
pub fn enter_user(entry: u64, stack_pointer: u64) -> ! {
    x86_64::instructions::interrupts::disable();
    assert_on_registered_kernel_stack();
    let (entry, _) = sanitized(entry, 0);
    let stack_pointer = if stack_pointer < USER_END { stack_pointer } else { 0 };
    let selectors = super::gdt::selectors();
    let user_code = u64::from(selectors.user_code.0);
    let user_data = u64::from(selectors.user_data.0);
    const USER_RFLAGS: u64 = 0x202; // interrupts on
    // `iretq` cannot fault in ring 0 on the user's rip or rsp (both user addresses, checked
    // above); interrupts are masked from `cli` to `iretq`, so none sees the user GS in ring 0.
    // SAFETY: the kernel stack an entry from ring 3 lands on is this one (checked above).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_return_to_a_kernel_or_non_canonical_address_becomes_a_user_fault_at_zero() {
        assert_eq!(sanitized(0x40_1000, 0x202).0, 0x40_1000);
        assert_eq!(sanitized(USER_END - 1, 0x202).0, USER_END - 1);
        for rip in [USER_END, 0x8000_0000_0000_1000, 0xffff_8000_0000_0000, 0xffff_ffff_8000_0000, u64::MAX] {
            assert_eq!(sanitized(rip, 0x202).0, 0, "rip {rip:#x}");
        }
    }

    #[test]
    fn user_flags_go_back_and_privileged_ones_never_do() {
        const IOPL_3: u64 = 0x3000;
        const NT: u64 = 1 << 14;
        const RF: u64 = 1 << 16;
        const VM: u64 = 1 << 17;
        const VIF_VIP: u64 = 3 << 19;
        let (_, flags) = sanitized(0x1000, IOPL_3 | NT | RF | VM | VIF_VIP);
        assert_eq!(flags, USER_REQUIRED_FLAGS, "only IF and bit 1 survive");
        let arithmetic_and_direction = 0x0cd5;
        let (_, flags) = sanitized(0x1000, arithmetic_and_direction);
        assert_eq!(flags, arithmetic_and_direction | USER_REQUIRED_FLAGS);
        let (_, flags) = sanitized(0x1000, 0);
        assert_ne!(flags & 0x200, 0, "interrupts are always on in user mode");
    }
}
