//! Hardware interrupts and inter-processor interrupts: the local APIC timer's tick, the
//! PS/2 keyboard and COM1's receiver (routed by the I/O APIC to the boot CPU), the
//! reschedule and TLB-shootdown IPIs, and the local APIC's error and spurious vectors.
//!
//! The vectors are `hardware::vectors`'s. The 8259 PICs are masked (`hardware::pic`); a
//! masked PIC can still raise a spurious IRQ 7 or 15, whose handlers ignore it (IRQ 15's is
//! acknowledged to the master alone, as the cascade requires).
//!
//! Each handler starts with a `UserGsGuard`: an interrupt taken in ring 3 runs with the
//! kernel's GS, and gives the user's back on the way out. Every handler but the spurious
//! ones acknowledges at the local APIC (`apic::end_of_interrupt`).
//!
//! Handlers do the least they can — advance the executor's clock, queue a scancode or a
//! received byte, count an IPI, let the lockup detector count the tick (`watchdog::on_tick`,
//! which reports from here) — and acknowledge the interrupt; the work happens in tasks,
//! which the tick and the reschedule IPI poll after their acknowledgement with interrupts
//! enabled again (`sched::switch::on_timer_tick`, `on_reschedule_ipi`).
//! Locks they take: the PICs' (the slave's spurious handler) and, in the serial handler and
//! lockup reports, the port's (every holder masks interrupts).
//!
//! Called from: the CPU, in interrupt context; `install` once, as the IDT is built (`idt`).

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame};

use crate::arch::MAX_CPUS;
use crate::arch::apic::end_of_interrupt;
use crate::arch::vectors::{
    APIC_ERROR_VECTOR, APIC_SPURIOUS_VECTOR, KEYBOARD_VECTOR, PIC_MASTER_SPURIOUS_VECTOR,
    PIC_SLAVE_SPURIOUS_VECTOR, RESCHEDULE_VECTOR, SERIAL_VECTOR, TIMER_VECTOR, TLB_SHOOTDOWN_VECTOR,
};

/// Per-CPU counts of IPIs received, by CPU index.
static RESCHEDULE_IPIS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static TLB_SHOOTDOWN_IPIS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Local APIC error interrupts, all CPUs.
static APIC_ERRORS: AtomicU64 = AtomicU64::new(0);

pub(super) fn install(idt: &mut InterruptDescriptorTable) {
    idt[TIMER_VECTOR].set_handler_fn(timer);
    idt[KEYBOARD_VECTOR].set_handler_fn(keyboard);
    idt[SERIAL_VECTOR].set_handler_fn(serial);
    idt[PIC_MASTER_SPURIOUS_VECTOR].set_handler_fn(master_spurious);
    idt[PIC_SLAVE_SPURIOUS_VECTOR].set_handler_fn(slave_spurious);
    idt[RESCHEDULE_VECTOR].set_handler_fn(reschedule);
    idt[TLB_SHOOTDOWN_VECTOR].set_handler_fn(tlb_shootdown);
    idt[APIC_ERROR_VECTOR].set_handler_fn(apic_error);
    idt[APIC_SPURIOUS_VECTOR].set_handler_fn(apic_spurious);
}

/// Tasks a tick (or reschedule IPI) polls, with interrupts enabled, before it preempts the
/// running thread: few, since the time is the interrupted thread's. Teardown still keeps
/// up: the idle loop polls more, and a thread that creates threads faster than a busy
/// CPU's ticks tear them down runs the teardown itself when it meets the limit
/// (`sched::reclaim`).
const TICK_TASK_BUDGET: usize = 8;

extern "x86-interrupt" fn timer(frame: InterruptStackFrame) {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(&frame);
    crate::watchdog::on_tick(&frame);
    // The boot CPU's tick is the kernel's clock; other CPUs' ticks only preempt.
    if crate::arch::cpu::id() == 0
        && let Some(executor) = crate::tasks::try_executor()
    {
        executor.tick();
    }
    end_of_interrupt();
    crate::sched::switch::on_timer_tick(TICK_TASK_BUDGET);
    // A process killed while it computes dies here, before it runs another instruction.
    if crate::arch::user::from_user(&frame) {
        crate::process::exit_if_group_exiting();
        crate::sched::switch::on_return_to_user();
    }
}

extern "x86-interrupt" fn keyboard(frame: InterruptStackFrame) {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(&frame);
    hardware::drivers::keyboard::handle_interrupt();
    end_of_interrupt();
}

extern "x86-interrupt" fn serial(frame: InterruptStackFrame) {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(&frame);
    hardware::drivers::serial::handle_interrupt();
    end_of_interrupt();
}

extern "x86-interrupt" fn reschedule(frame: InterruptStackFrame) {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(&frame);
    end_of_interrupt();
    reschedule_requested(&frame);
}

/// The scheduler's point for a reschedule IPI, run after its end-of-interrupt: counts it,
/// then does what a tick does — poll ready tasks (with interrupts enabled), switch if a
/// switch is due (`sched::switch::on_reschedule_ipi`), end a killed process's thread.
fn reschedule_requested(frame: &InterruptStackFrame) {
    RESCHEDULE_IPIS[crate::arch::cpu::id() as usize].fetch_add(1, Ordering::Relaxed);
    crate::sched::switch::on_reschedule_ipi(TICK_TASK_BUDGET);
    if crate::arch::user::from_user(frame) {
        crate::process::exit_if_group_exiting();
        crate::sched::switch::on_return_to_user();
    }
}

/// Reschedule IPIs CPU `cpu_index` has received since boot.
pub fn reschedule_ipis_received(cpu_index: u32) -> u64 {
    RESCHEDULE_IPIS[cpu_index as usize].load(Ordering::Relaxed)
}

/// Counts the IPI and makes the flush a shootdown owes this CPU, if any
/// (`mm::shootdown`).
extern "x86-interrupt" fn tlb_shootdown(frame: InterruptStackFrame) {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(&frame);
    TLB_SHOOTDOWN_IPIS[crate::arch::cpu::id() as usize].fetch_add(1, Ordering::Relaxed);
    crate::mm::shootdown::serve_pending();
    end_of_interrupt();
}

/// TLB-shootdown IPIs CPU `cpu_index` has received since boot.
pub fn tlb_shootdown_ipis_received(cpu_index: u32) -> u64 {
    TLB_SHOOTDOWN_IPIS[cpu_index as usize].load(Ordering::Relaxed)
}

extern "x86-interrupt" fn apic_error(frame: InterruptStackFrame) {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(&frame);
    APIC_ERRORS.fetch_add(1, Ordering::Relaxed);
    log::warn!(
        "apic: error interrupt on CPU {}: status {:#x}",
        crate::arch::cpu::id(),
        crate::arch::apic::error_status()
    );
    end_of_interrupt();
}

/// Local APIC error interrupts since boot, all CPUs.
pub fn apic_errors() -> u64 {
    APIC_ERRORS.load(Ordering::Relaxed)
}

extern "x86-interrupt" fn apic_spurious(frame: InterruptStackFrame) {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(&frame);
    // A spurious local APIC interrupt is not in service: no end-of-interrupt.
}

extern "x86-interrupt" fn master_spurious(frame: InterruptStackFrame) {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(&frame);
    // A spurious master interrupt is not in service: no end-of-interrupt.
}

extern "x86-interrupt" fn slave_spurious(frame: InterruptStackFrame) {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(&frame);
    crate::arch::pic::acknowledge_slave_spurious();
}
