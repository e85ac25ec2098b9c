//! The start-up trampoline: the code an application processor runs from the start-up page,
//! from real mode through protected mode into long mode and on to the kernel's entry (`install`) in the
//! kernel half, and the data it reads there.
//!
//! Page layout: the code at offset 0, the data at `DATA` (see `Data`'s offsets). The code
//! never names an absolute address of its own: the far jumps go through pointers the boot
//! CPU fills in (`install`), and every data access is relative to the page's base (DS in
//! real mode, EBX/RBX after), which the AP computes from CS.
//!
//! The AP's path:
//! 1. real mode, CS = page >> 4: marks `STARTED`, loads the trampoline's GDT, sets CR0.PE,
//!    far-jumps to 32-bit code;
//! 2. protected mode, flat: CR4.PAE, CR3 = the kernel root, EFER = the boot CPU's (LME,
//!    NXE, SCE), CR0 = the boot CPU's (PG on: long mode, compatibility), far-jumps to 64-bit
//!    code — the page is identity-mapped in the kernel root for this;
//! 3. long mode: CR4 = the boot CPU's, RSP = `STACK_TOP`, calls `ENTRY(CPU_INDEX)`.
//!
//! Invariant: the page is the trampoline's alone — a `StartUpPage` is made once, by the
//! code that reserved the page (`StartUpPage::new`'s contract) — so writing it disturbs
//! nothing else.
//!
//! Called from: the kernel's AP bring-up on the boot CPU, one AP at a time: `install` once,
//! `prepare` before each AP, `started` while waiting.

use core::sync::atomic::{AtomicU8, Ordering};

/// Offset of the data in the page; the code must end before it.
const DATA: usize = 0xf00;

/// Offsets of the data fields in the page.
mod field {
    use super::DATA;
    /// Four descriptors: null, 32-bit code, flat data, 64-bit code.
    pub const GDT: usize = DATA;
    /// The GDT pointer: 16-bit limit, 32-bit base.
    pub const GDT_POINTER: usize = DATA + 0x20;
    /// Far pointer to the 32-bit code: 32-bit offset, 16-bit selector.
    pub const FAR_JUMP_32: usize = DATA + 0x28;
    /// Far pointer to the 64-bit code: 32-bit offset, 16-bit selector.
    pub const FAR_JUMP_64: usize = DATA + 0x30;
    pub const CR0: usize = DATA + 0x38;
    pub const CR3: usize = DATA + 0x40;
    pub const CR4: usize = DATA + 0x48;
    pub const EFER: usize = DATA + 0x50;
    pub const STACK_TOP: usize = DATA + 0x58;
    pub const ENTRY: usize = DATA + 0x60;
    pub const CPU_INDEX: usize = DATA + 0x68;
    /// A byte the AP sets to 1 as its first act.
    pub const STARTED: usize = DATA + 0x70;
    pub const END: usize = DATA + 0x78;
}

const CODE_32_SELECTOR: u16 = 0x08;
const DATA_SELECTOR: u16 = 0x10;
const CODE_64_SELECTOR: u16 = 0x18;
const GDT: [u64; 4] = [0, 0x00cf_9a00_0000_ffff, 0x00cf_9200_0000_ffff, 0x00af_9a00_0000_ffff];
/// CR4.PAE, which long mode needs before paging is turned on.
const CR4_PAE: u32 = 1 << 5;
const IA32_EFER: u32 = 0xc000_0080;

core::arch::global_asm!(
    ".pushsection .text.ap_trampoline, \"ax\"",
    ".global ap_trampoline_start",
    ".global ap_trampoline_protected",
    ".global ap_trampoline_long",
    ".global ap_trampoline_end",
    ".code16",
    "ap_trampoline_start:",
    "cli",
    "cld",
    "mov ax, cs",
    "mov ds, ax",
    "mov byte ptr [{started}], 1",
    "xor ebx, ebx",
    "mov bx, ax",
    "shl ebx, 4",
    "lgdt [{gdt_pointer}]",
    "mov eax, cr0",
    "or eax, 1",
    "mov cr0, eax",
    "jmp fword ptr [{far_jump_32}]",
    ".code32",
    "ap_trampoline_protected:",
    "mov ax, {data_selector}",
    "mov ds, ax",
    "mov es, ax",
    "mov ss, ax",
    "mov fs, ax",
    "mov gs, ax",
    "mov eax, cr4",
    "or eax, {cr4_pae}",
    "mov cr4, eax",
    "mov eax, [ebx + {cr3}]",
    "mov cr3, eax",
    "mov ecx, {efer_msr}",
    "mov eax, [ebx + {efer}]",
    "mov edx, [ebx + {efer} + 4]",
    "wrmsr",
    "mov eax, [ebx + {cr0}]",
    "mov cr0, eax",
    "jmp fword ptr [ebx + {far_jump_64}]",
    ".code64",
    "ap_trampoline_long:",
    "mov ebx, ebx",
    "xor eax, eax",
    "mov ds, ax",
    "mov es, ax",
    "mov ss, ax",
    "mov fs, ax",
    "mov gs, ax",
    "mov rax, [rbx + {cr4}]",
    "mov cr4, rax",
    "mov rsp, [rbx + {stack_top}]",
    "mov edi, [rbx + {cpu_index}]",
    "mov rax, [rbx + {entry}]",
    "call rax",
    "ud2",
    "ap_trampoline_end:",
    ".popsection",
    started = const field::STARTED,
    gdt_pointer = const field::GDT_POINTER,
    far_jump_32 = const field::FAR_JUMP_32,
    far_jump_64 = const field::FAR_JUMP_64,
    data_selector = const DATA_SELECTOR,
    cr4_pae = const CR4_PAE,
    cr0 = const field::CR0,
    cr3 = const field::CR3,
    cr4 = const field::CR4,
    efer_msr = const IA32_EFER,
    efer = const field::EFER,
    stack_top = const field::STACK_TOP,
    cpu_index = const field::CPU_INDEX,
    entry = const field::ENTRY,
);

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_protected: u8;
    static ap_trampoline_long: u8;
    static ap_trampoline_end: u8;
}

/// The boot CPU's control registers, which each AP takes on.
struct ControlRegisters {
    cr0: u64,
    cr3: u64,
    cr4: u64,
    efer: u64,
}

/// The boot CPU's control registers as each AP must have them: CR3 the kernel root (which
/// must lie below 4 GiB, where 32-bit code can load it), EFER without the read-only LMA.
fn boot_cpu_registers() -> ControlRegisters {
    use x86_64::registers::control::{Cr0, Cr3, Cr4};
    use x86_64::registers::model_specific::{Efer, EferFlags};

    let cr3 = crate::paging::kernel_root();
    assert!(
        cr3 < 1 << 32,
        "trampoline: the kernel root {cr3:#x} lies above 4 GiB, out of the trampoline's reach"
    );
    assert_eq!(Cr3::read().0.start_address().as_u64(), cr3, "trampoline: APs are started on the kernel root");
    ControlRegisters {
        cr0: Cr0::read_raw(),
        cr3,
        cr4: Cr4::read_raw(),
        efer: (Efer::read() - EferFlags::LONG_MODE_ACTIVE).bits(),
    }
}

/// Where `symbol` lies relative to the trampoline's start.
fn offset_of(symbol: *const u8) -> usize {
    symbol as usize - (&raw const ap_trampoline_start) as usize
}

/// The page below 1 MiB an AP starts in, seen through the physical-memory window.
pub struct StartUpPage {
    base: *mut u8,
    physical: u64,
}

impl StartUpPage {
    /// Made only by `boot::take_start_up_page`.
    ///
    /// # Safety
    /// `physical` must be the start of a page of RAM below 1 MiB that nothing else uses
    /// or hands out for the kernel's lifetime, and this must be its only `StartUpPage`.
    #[cfg(target_os = "none")]
    pub(crate) unsafe fn new(physical: u64) -> Self {
        assert!(
            physical.is_multiple_of(4096) && physical < 1 << 20,
            "trampoline: {physical:#x} is not a page below 1 MiB"
        );
        Self { base: crate::window::window().virtual_address(physical) as *mut u8, physical }
    }

    /// The page's physical address.
    pub fn physical(&self) -> u64 {
        self.physical
    }

    /// The page number a start-up IPI names.
    pub fn number(&self) -> u8 {
        (self.physical >> 12) as u8
    }

    fn write<T: Copy>(&self, offset: usize, value: T) {
        assert!(offset + size_of::<T>() <= field::END, "trampoline: write beyond the data");
        // Unaligned, because the far pointers are packed.
        // SAFETY: the start-up page is `smp`'s alone (no allocator hands it out), mapped
        // through the window, and the offset is inside it (checked).
        unsafe { self.base.add(offset).cast::<T>().write_unaligned(value) };
    }

    fn far_pointer(&self, symbol: *const u8, selector: u16) -> [u16; 3] {
        let target =
            u32::try_from(self.physical + offset_of(symbol) as u64).expect("trampoline: page above 4 GiB");
        [target as u16, (target >> 16) as u16, selector]
    }
}

/// Copies the trampoline into the start-up page at `physical` and fills in what every AP
/// shares: the GDT and its pointer, the far jumps, the boot CPU's control registers and
/// the AP's entry point.
pub fn install(page: &StartUpPage, entry: extern "C" fn(u32) -> !) {
    let registers = boot_cpu_registers();
    let physical = page.physical;
    let code_length = offset_of(&raw const ap_trampoline_end);
    assert!(code_length <= DATA, "trampoline: {code_length} bytes of code overrun the data at {DATA:#x}");
    // SAFETY: `code_length` bytes of the kernel image from `ap_trampoline_start` go to the
    // start-up page (only `smp`'s, mapped through the window), before its data (checked).
    unsafe { core::ptr::copy_nonoverlapping(&raw const ap_trampoline_start, page.base, code_length) };
    for (index, descriptor) in GDT.iter().enumerate() {
        page.write(field::GDT + index * 8, *descriptor);
    }
    page.write(field::GDT_POINTER, (size_of_val(&GDT) - 1) as u16);
    let gdt_base = u32::try_from(physical + field::GDT as u64).expect("trampoline: page above 4 GiB");
    page.write(field::GDT_POINTER + 2, gdt_base);
    page.write(field::FAR_JUMP_32, page.far_pointer(&raw const ap_trampoline_protected, CODE_32_SELECTOR));
    page.write(field::FAR_JUMP_64, page.far_pointer(&raw const ap_trampoline_long, CODE_64_SELECTOR));
    page.write(field::CR0, registers.cr0);
    page.write(field::CR3, registers.cr3);
    page.write(field::CR4, registers.cr4);
    page.write(field::EFER, registers.efer);
    page.write(field::ENTRY, entry as usize as u64);
}

/// Sets up the start-up page for the next AP: its index and stack, `STARTED` cleared. The
/// stack is the AP's for good (never freed: taken by value and kept), the stack its first
/// context runs on.
pub fn prepare(page: &StartUpPage, cpu_index: u32, stack: mm::kernel_stacks::KernelStack) {
    crate::context::set_first_stack(cpu_index, stack.bottom()..stack.top());
    page.write(field::CPU_INDEX, cpu_index);
    page.write(field::STACK_TOP, stack.top());
    page.write(field::STARTED, 0u8);
}

/// Whether the AP last prepared for has begun running the trampoline.
pub fn started(page: &StartUpPage) -> bool {
    // SAFETY: the byte lies in the start-up page, mapped through the window; the AP writes
    // it concurrently, so it is read as an atomic.
    let flag = unsafe { AtomicU8::from_ptr(page.base.add(field::STARTED)) };
    flag.load(Ordering::Acquire) == 1
}
