//! The GDT and the TSS: kernel and user segments, a separate interrupt stack for double
//! faults, and the kernel stack the CPU switches to when an interrupt comes from ring 3.
//!
//! Segment order is what `syscall`/`sysret` require: kernel code, kernel data, then user
//! data and user code (sysret derives the user selectors from one base).
//!
//! The double-fault handler runs on its own stack (IST slot `DOUBLE_FAULT_IST_INDEX`), so a
//! kernel stack overflow — which faults again as soon as the CPU pushes the exception frame
//! on the overflowed stack — still reaches the handler instead of triple-faulting.
//!
//! `set_kernel_stack` is called by the scheduler on every switch (interrupts off), so the
//! TSS's ring-0 stack is always the running thread's own.

use core::cell::UnsafeCell;

use spin::LazyLock;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST slot of the double-fault stack.
pub const DOUBLE_FAULT_IST_INDEX: u16 = 0;

/// Size of the double-fault stack.
const DOUBLE_FAULT_STACK_SIZE: usize = 5 * 4096;

/// The double-fault stack; only the CPU writes it, through the IST.
static mut DOUBLE_FAULT_STACK: [u8; DOUBLE_FAULT_STACK_SIZE] = [0; DOUBLE_FAULT_STACK_SIZE];

/// The TSS, which the CPU reads on every interrupt from ring 3; written only by
/// `set_kernel_stack` on this CPU with interrupts off.
struct TssCell(UnsafeCell<TaskStateSegment>);

// SAFETY: one CPU uses this TSS, and its only writer runs with interrupts off on that CPU.
unsafe impl Sync for TssCell {}

static TSS: LazyLock<TssCell> = LazyLock::new(|| {
    let mut tss = TaskStateSegment::new();
    let stack_start = VirtAddr::from_ptr(&raw const DOUBLE_FAULT_STACK);
    tss.interrupt_stack_table[DOUBLE_FAULT_IST_INDEX as usize] = stack_start + DOUBLE_FAULT_STACK_SIZE as u64;
    TssCell(UnsafeCell::new(tss))
});

/// The selectors of the GDT's segments.
pub struct Selectors {
    pub kernel_code: SegmentSelector,
    pub kernel_data: SegmentSelector,
    pub user_data: SegmentSelector,
    pub user_code: SegmentSelector,
    tss: SegmentSelector,
}

static GDT: LazyLock<(GlobalDescriptorTable, Selectors)> = LazyLock::new(|| {
    let mut gdt = GlobalDescriptorTable::new();
    let kernel_code = gdt.append(Descriptor::kernel_code_segment());
    let kernel_data = gdt.append(Descriptor::kernel_data_segment());
    let user_data = gdt.append(Descriptor::user_data_segment());
    let user_code = gdt.append(Descriptor::user_code_segment());
    // SAFETY: the TSS lives in a static for the kernel's lifetime; the only other access is
    // `set_kernel_stack`'s write of one field, which the CPU reads only on interrupts.
    let tss = gdt.append(Descriptor::tss_segment(unsafe { &*TSS.0.get() }));
    (gdt, Selectors { kernel_code, kernel_data, user_data, user_code, tss })
});

/// The GDT's selectors.
pub fn selectors() -> &'static Selectors {
    &GDT.1
}

/// The address range of the double-fault stack, for reports.
pub fn double_fault_stack() -> core::ops::Range<u64> {
    let start = VirtAddr::from_ptr(&raw const DOUBLE_FAULT_STACK).as_u64();
    start..start + DOUBLE_FAULT_STACK_SIZE as u64
}

/// Makes `top` the stack the CPU switches to on an interrupt from ring 3. Interrupts must
/// be off.
pub fn set_kernel_stack(top: u64) {
    assert!(!x86_64::instructions::interrupts::are_enabled(), "gdt: set_kernel_stack with interrupts on");
    // SAFETY: interrupts are off, so the CPU is not reading the TSS for an interrupt, and
    // this CPU is its only user.
    unsafe { (*TSS.0.get()).privilege_stack_table[0] = VirtAddr::new(top) };
}

/// Loads the GDT, reloads the segment registers and loads the TSS.
pub fn init() {
    let (gdt, selectors) = &*GDT;
    gdt.load();
    // SAFETY: the selectors index descriptors of the GDT just loaded, which lives for the
    // kernel's lifetime; the code and data segments are the flat 64-bit kernel segments.
    unsafe {
        CS::set_reg(selectors.kernel_code);
        SS::set_reg(selectors.kernel_data);
        DS::set_reg(selectors.kernel_data);
        ES::set_reg(selectors.kernel_data);
        load_tss(selectors.tss);
    }
}
