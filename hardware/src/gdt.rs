//! The GDTs and TSSs, one of each per CPU: kernel and user segments, a separate interrupt
//! stack for double faults, and the kernel stack the CPU switches to when an interrupt
//! comes from ring 3.
//!
//! Segment order is what `syscall`/`sysret` require: kernel code, kernel data, then user
//! data and user code (sysret derives the user selectors from one base). Every CPU's GDT is
//! built the same way, so the selectors are the same on every CPU (`init` checks it).
//!
//! Each CPU's double-fault handler runs on that CPU's own stack (IST slot
//! `DOUBLE_FAULT_IST_INDEX`), so a kernel stack overflow — which faults again as soon as
//! the CPU pushes the exception frame on the overflowed stack — still reaches the handler
//! instead of triple-faulting.
//!
//! Invariants: a CPU's tables are written only by that CPU — built by its `init`, then its
//! TSS's ring-0 stack by `set_kernel_stack`, which the scheduler calls on every switch with
//! interrupts off, so the TSS's ring-0 stack is always the running thread's own.
//!
//! Called from: `init` during each CPU's bring-up; `set_kernel_stack` from the switch path;
//! the rest from anywhere.

use core::cell::UnsafeCell;

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::idt::{DivergingHandlerFuncWithErrCode, InterruptDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

use super::MAX_CPUS;

/// IST slot of the double-fault stack.
const DOUBLE_FAULT_IST_INDEX: u16 = 0;

/// Size of each CPU's double-fault stack.
const DOUBLE_FAULT_STACK_SIZE: usize = 5 * 4096;

/// The selectors of the GDT's segments, the same on every CPU.
#[derive(Debug, PartialEq, Eq)]
pub struct Selectors {
    pub kernel_code: SegmentSelector,
    pub kernel_data: SegmentSelector,
    pub user_data: SegmentSelector,
    pub user_code: SegmentSelector,
    tss: SegmentSelector,
}

/// One CPU's descriptor tables and double-fault stack.
struct CpuTables {
    /// Read by the CPU on every interrupt from ring 3 and every double fault.
    tss: UnsafeCell<TaskStateSegment>,
    gdt: spin::Once<(GlobalDescriptorTable, Selectors)>,
    /// Written only by the CPU itself, through the IST.
    double_fault_stack: UnsafeCell<[u8; DOUBLE_FAULT_STACK_SIZE]>,
}

// SAFETY: each CPU writes only its own `CpuTables` (see the module doc): the TSS before its
// GDT is loaded and then with interrupts off, the stack only through the IST.
unsafe impl Sync for CpuTables {}

impl CpuTables {
    const fn new() -> Self {
        Self {
            tss: UnsafeCell::new(TaskStateSegment::new()),
            gdt: spin::Once::new(),
            double_fault_stack: UnsafeCell::new([0; DOUBLE_FAULT_STACK_SIZE]),
        }
    }

    fn double_fault_stack(&self) -> core::ops::Range<u64> {
        let start = self.double_fault_stack.get() as u64;
        start..start + DOUBLE_FAULT_STACK_SIZE as u64
    }

    /// Builds the GDT around this CPU's TSS, once.
    fn gdt(&'static self) -> &'static (GlobalDescriptorTable, Selectors) {
        self.gdt.call_once(|| {
            let tss = self.tss.get();
            // SAFETY: the GDT is not built yet, so no CPU uses this TSS; the calling CPU is
            // its owner.
            unsafe {
                (*tss).interrupt_stack_table[DOUBLE_FAULT_IST_INDEX as usize] =
                    VirtAddr::new(self.double_fault_stack().end);
            }
            let mut gdt = GlobalDescriptorTable::new();
            let kernel_code = gdt.append(Descriptor::kernel_code_segment());
            let kernel_data = gdt.append(Descriptor::kernel_data_segment());
            let user_data = gdt.append(Descriptor::user_data_segment());
            let user_code = gdt.append(Descriptor::user_code_segment());
            // SAFETY: the TSS lives in a static for the kernel's lifetime; the only later
            // write is `set_kernel_stack`'s, of one field, with interrupts off.
            let tss = gdt.append(Descriptor::tss_segment(unsafe { &*tss }));
            (gdt, Selectors { kernel_code, kernel_data, user_data, user_code, tss })
        })
    }
}

static TABLES: [CpuTables; MAX_CPUS] = [const { CpuTables::new() }; MAX_CPUS];

/// The calling CPU's tables.
fn this_cpu() -> &'static CpuTables {
    &TABLES[super::cpu::id() as usize]
}

/// The GDT's selectors (the same on every CPU).
pub fn selectors() -> &'static Selectors {
    &TABLES[0].gdt().1
}

/// The address range of this CPU's double-fault stack, for reports.
pub fn double_fault_stack() -> core::ops::Range<u64> {
    this_cpu().double_fault_stack()
}

/// Makes `handler` the double-fault handler of `idt`, run on the double-fault stack of
/// whichever CPU faults. `idt` must be loaded only on CPUs that ran `init`.
pub fn set_double_fault_handler(
    idt: &mut InterruptDescriptorTable,
    handler: DivergingHandlerFuncWithErrCode,
) {
    // No other vector is routed to this IST slot: only this function names it.
    // SAFETY: every CPU's TSS holds its own double-fault stack in the slot (`CpuTables`
    // builds it), loaded by `init`.
    unsafe { idt.double_fault.set_handler_fn(handler).set_stack_index(DOUBLE_FAULT_IST_INDEX) };
}

/// Makes `top` the stack this CPU switches to on an interrupt from ring 3. Interrupts must
/// be off.
pub(crate) fn set_kernel_stack(top: u64) {
    assert!(!x86_64::instructions::interrupts::are_enabled(), "gdt: set_kernel_stack with interrupts on");
    // SAFETY: interrupts are off, so this CPU is not reading its TSS for an interrupt, and
    // no other CPU writes it.
    unsafe { (*this_cpu().tss.get()).privilege_stack_table[0] = VirtAddr::new(top) };
}

/// Loads CPU `cpu_index`'s GDT on the calling CPU, reloads the segment registers and loads
/// its TSS. Called once per CPU, by that CPU, with interrupts off.
pub fn init(cpu_index: u32) {
    let (gdt, selectors) = TABLES[cpu_index as usize].gdt();
    assert_eq!(selectors, self::selectors(), "gdt: CPU {cpu_index}'s selectors differ from the boot CPU's");
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded (it lives for good): flat 64-bit kernel
    // code and data segments, and this CPU's own TSS.
    unsafe {
        CS::set_reg(selectors.kernel_code);
        SS::set_reg(selectors.kernel_data);
        DS::set_reg(selectors.kernel_data);
        ES::set_reg(selectors.kernel_data);
        load_tss(selectors.tss);
    }
}
