//! The GDT and the TSS, with a separate interrupt stack for double faults.
//!
//! The double-fault handler runs on its own stack (IST slot `DOUBLE_FAULT_IST_INDEX`), so a
//! kernel stack overflow — which faults again as soon as the CPU pushes the exception frame
//! on the overflowed stack — still reaches the handler instead of triple-faulting.

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

static TSS: LazyLock<TaskStateSegment> = LazyLock::new(|| {
    let mut tss = TaskStateSegment::new();
    let stack_start = VirtAddr::from_ptr(&raw const DOUBLE_FAULT_STACK);
    tss.interrupt_stack_table[DOUBLE_FAULT_IST_INDEX as usize] = stack_start + DOUBLE_FAULT_STACK_SIZE as u64;
    tss
});

struct Selectors {
    kernel_code: SegmentSelector,
    kernel_data: SegmentSelector,
    tss: SegmentSelector,
}

static GDT: LazyLock<(GlobalDescriptorTable, Selectors)> = LazyLock::new(|| {
    let mut gdt = GlobalDescriptorTable::new();
    let kernel_code = gdt.append(Descriptor::kernel_code_segment());
    let kernel_data = gdt.append(Descriptor::kernel_data_segment());
    let tss = gdt.append(Descriptor::tss_segment(&TSS));
    (gdt, Selectors { kernel_code, kernel_data, tss })
});

/// The address range of the double-fault stack, for reports.
pub fn double_fault_stack() -> core::ops::Range<u64> {
    let start = VirtAddr::from_ptr(&raw const DOUBLE_FAULT_STACK).as_u64();
    start..start + DOUBLE_FAULT_STACK_SIZE as u64
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
