//! CPU exception handlers. An exception in ring 3 ends only the faulting process, with the
//! signal Linux would send (SIGSEGV for page and protection faults, SIGILL, SIGFPE, ...) as
//! its wait status. An exception in the kernel prints a report on the serial console — name,
//! vector, error code, faulting RIP and stack frame, CR2 for page faults — and then ends
//! the run: QEMU exits with the failure status where the exit device is present (tests,
//! `scripts/run`), otherwise the CPU halts. A breakpoint is reported and execution resumes.
//!
//! The double-fault handler runs on its own IST stack (see `arch::gdt`). A fault address in a
//! kernel stack's guard page is reported as an overflow of that stack, naming its owner.
//! A test that provokes a fault on purpose announces it with `expect_fault`, naming what
//! ends the boot then (the test harness's pass, `testing::expect_fault`); the handler
//! reports as usual and calls it.
//!
//! Called from: the CPU, in interrupt context; `expect_fault` and the breakpoint hooks from
//! a test's thread. Reports go through the serial port's emergency writer, which breaks the
//! port lock if the faulting code held it, so a fault in the middle of a print still gets
//! reported instead of spinning on the lock.

use abi::signal;
use core::sync::atomic::{AtomicUsize, Ordering};

use hardware::drivers::qemu_exit::{ExitCode, exit_qemu};
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptStackFrame, PageFaultErrorCode};

use crate::emergency_println as report_println;
use crate::sync::SpinLock;

static BREAKPOINTS: AtomicUsize = AtomicUsize::new(0);
/// The fault a test provokes on purpose, and what ends the boot when it comes.
static EXPECTED_FAULT: spin::Once<(ExpectedFault, EndOfTest)> = spin::Once::new();

/// Ends the boot, passing the test it names.
type EndOfTest = fn(passed_test: &str) -> !;

/// A fault a test provokes on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedFault {
    /// A double fault handled on the IST stack.
    DoubleFault,
    /// A page fault (or the double fault it escalates to) in a kernel stack's guard page.
    GuardPage,
}

/// Work the next breakpoint runs in interrupt context; a test hook.
static AT_NEXT_BREAKPOINT: SpinLock<Option<fn()>> = SpinLock::new(None);

/// Breakpoint exceptions handled since boot.
pub fn breakpoints_handled() -> usize {
    BREAKPOINTS.load(Ordering::SeqCst)
}

/// Has the next breakpoint exception run `work` in its handler, so tests can exercise code
/// in interrupt context.
pub fn run_at_next_breakpoint(work: fn()) {
    *AT_NEXT_BREAKPOINT.lock() = Some(work);
}

/// Tells the fault handlers that the next fault of this kind is a test's doing: once it is
/// reported, the handler calls `end` with the name of the test it passes, and `end` ends
/// the boot. Once per boot (the fault ends it).
pub fn expect_fault(fault: ExpectedFault, end: EndOfTest) {
    assert!(EXPECTED_FAULT.get().is_none(), "exceptions: one expected fault per boot");
    EXPECTED_FAULT.call_once(|| (fault, end));
}

/// Ends the boot through the expecting test's `end` if the fault is of kind `fault` and a
/// test expects one; `passed_test` names the test that provoking it passes.
fn end_if_expected(fault: ExpectedFault, passed_test: &str) {
    if let Some(&(expected, end)) = EXPECTED_FAULT.get()
        && expected == fault
    {
        report_println!("  this fault was expected by the running test");
        end(passed_test);
    }
}

/// Reports a fault address that lies in a kernel stack's guard page. Returns whether it did.
fn report_guard_page(address: u64) -> bool {
    match crate::mm::stacks::guard_page_owner(address) {
        Some((slot, owner)) => {
            report_println!(
                "  kernel stack overflow: {address:#x} is the guard page of kernel stack #{slot} (owner: {})",
                owner.unwrap_or("unknown")
            );
            true
        }
        None => false,
    }
}

fn report(name: &str, vector: u8, error_code: Option<u64>, frame: &InterruptStackFrame) {
    report_println!("EXCEPTION: {name} (vector {vector})");
    if let Some(code) = error_code {
        report_println!("  error code: {code:#x}");
    }
    report_println!(
        "  rip: {:#x}  cs: {:#x}  rflags: {:#x}  rsp: {:#x}  ss: {:#x}",
        frame.instruction_pointer.as_u64(),
        frame.code_segment.0,
        frame.cpu_flags.bits(),
        frame.stack_pointer.as_u64(),
        frame.stack_segment.0
    );
}

fn fatal() -> ! {
    report_println!("  the kernel cannot continue");
    exit_qemu(ExitCode::Failed);
    x86_64::instructions::interrupts::disable();
    loop {
        x86_64::instructions::hlt();
    }
}

/// A fault in ring 3 ends only that process, with `signal` as its wait status; the kernel
/// goes on. The GS swap of the way in is not undone: the thread never returns to ring 3.
/// `touching` is the address a page fault failed on.
fn kill_user_process(name: &str, frame: &InterruptStackFrame, signal: i32, touching: Option<u64>) -> ! {
    let _kernel_gs = crate::arch::user::UserGsGuard::enter(frame);
    core::mem::forget(_kernel_gs);
    if let Some(process) = crate::process::current() {
        let at = frame.instruction_pointer.as_u64();
        let pid = process.pid().0;
        match touching {
            Some(address) => {
                log::info!(
                    "process {pid}: {name} at {at:#x} touching {address:#x}, killed by signal {signal}"
                )
            }
            None => log::info!("process {pid}: {name} at {at:#x}, killed by signal {signal}"),
        }
    }
    x86_64::instructions::interrupts::enable();
    crate::process::exit_group(crate::process::WaitStatus::signaled(signal))
}

macro_rules! exception {
    ($handler:ident, $name:literal, $vector:literal, $signal:expr) => {
        pub(super) extern "x86-interrupt" fn $handler(frame: InterruptStackFrame) {
            if crate::arch::user::from_user(&frame) {
                kill_user_process($name, &frame, $signal, None);
            }
            report($name, $vector, None, &frame);
            fatal();
        }
    };
}

macro_rules! exception_with_code {
    ($handler:ident, $name:literal, $vector:literal, $signal:expr) => {
        pub(super) extern "x86-interrupt" fn $handler(frame: InterruptStackFrame, error_code: u64) {
            if crate::arch::user::from_user(&frame) {
                kill_user_process($name, &frame, $signal, None);
            }
            report($name, $vector, Some(error_code), &frame);
            fatal();
        }
    };
}

exception!(divide_error, "divide error", 0, signal::SIGFPE);
exception!(debug, "debug", 1, signal::SIGTRAP);
exception!(non_maskable_interrupt, "non-maskable interrupt", 2, signal::SIGSEGV);
exception!(overflow, "overflow", 4, signal::SIGSEGV);
exception!(bound_range_exceeded, "bound range exceeded", 5, signal::SIGSEGV);
exception!(invalid_opcode, "invalid opcode", 6, signal::SIGILL);
exception!(device_not_available, "device not available", 7, signal::SIGSEGV);
exception_with_code!(invalid_tss, "invalid TSS", 10, signal::SIGSEGV);
exception_with_code!(segment_not_present, "segment not present", 11, signal::SIGBUS);
exception_with_code!(stack_segment_fault, "stack-segment fault", 12, signal::SIGBUS);
exception_with_code!(general_protection_fault, "general protection fault", 13, signal::SIGSEGV);
exception!(x87_floating_point, "x87 floating-point error", 16, signal::SIGFPE);
exception_with_code!(alignment_check, "alignment check", 17, signal::SIGBUS);
exception!(simd_floating_point, "SIMD floating-point error", 19, signal::SIGFPE);
exception!(virtualization, "virtualization exception", 20, signal::SIGSEGV);
exception_with_code!(cp_protection, "control protection exception", 21, signal::SIGSEGV);
exception!(hv_injection, "hypervisor injection exception", 28, signal::SIGSEGV);
exception_with_code!(vmm_communication, "VMM communication exception", 29, signal::SIGSEGV);
exception_with_code!(security, "security exception", 30, signal::SIGSEGV);

pub(super) extern "x86-interrupt" fn breakpoint(frame: InterruptStackFrame) {
    if crate::arch::user::from_user(&frame) {
        kill_user_process("breakpoint", &frame, signal::SIGTRAP, None);
    }
    BREAKPOINTS.fetch_add(1, Ordering::SeqCst);
    report("breakpoint", 3, None, &frame);
    if let Some(work) = AT_NEXT_BREAKPOINT.lock().take() {
        work();
    }
    report_println!("  resuming");
}

/// A user page fault on a missing page below the main stack: the stack grows to it, in the
/// faulting thread's context with interrupts on (it zeroes pages), and the access is
/// retried on return.
fn grow_user_stack(frame: &InterruptStackFrame, address: u64) -> bool {
    let kernel_gs = crate::arch::user::UserGsGuard::enter(frame);
    x86_64::instructions::interrupts::enable();
    let grown = crate::process::current().is_some_and(|process| process.grow_stack(address));
    x86_64::instructions::interrupts::disable();
    drop(kernel_gs);
    grown
}

pub(super) extern "x86-interrupt" fn page_fault(frame: InterruptStackFrame, error_code: PageFaultErrorCode) {
    if crate::arch::user::from_user(&frame) {
        let touching = Cr2::read().ok().map(|address| address.as_u64());
        if let Some(address) = touching
            && !error_code.contains(PageFaultErrorCode::PROTECTION_VIOLATION)
            && grow_user_stack(&frame, address)
        {
            return;
        }
        kill_user_process("page fault", &frame, signal::SIGSEGV, touching);
    }
    report("page fault", 14, Some(error_code.bits()), &frame);
    match Cr2::read() {
        Ok(address) => {
            report_println!("  cr2: {:#x} ({error_code:?})", address.as_u64());
            if report_guard_page(address.as_u64()) {
                end_if_expected(ExpectedFault::GuardPage, "guard_page_write_is_caught_and_reported");
            }
        }
        Err(invalid) => report_println!("  cr2: non-canonical {invalid:?} ({error_code:?})"),
    }
    fatal();
}

pub(super) extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, error_code: u64) -> ! {
    report("double fault", 8, Some(error_code), &frame);
    // A local's address tells which stack this handler runs on.
    let marker = 0u8;
    let here = &raw const marker as u64;
    let ist = crate::arch::gdt::double_fault_stack();
    let on_ist = ist.contains(&here);
    report_println!(
        "  handler stack: {here:#x} ({})",
        if on_ist { "the double-fault IST stack" } else { "NOT the IST stack" }
    );
    // A page fault whose exception frame could not be pushed escalates to this double fault
    // with CR2 still naming the address that failed: a guard page means a stack overflow.
    let guard_hit = Cr2::read().is_ok_and(|address| report_guard_page(address.as_u64()));
    if !guard_hit {
        report_println!("  a faulting rsp near a stack's low end means a kernel stack overflow");
    }
    if on_ist {
        end_if_expected(ExpectedFault::DoubleFault, "double_fault_is_handled_on_its_own_stack");
    }
    if on_ist && guard_hit {
        end_if_expected(ExpectedFault::GuardPage, "kernel_stack_overflow_is_reported_with_its_owner");
    }
    fatal();
}

pub(super) extern "x86-interrupt" fn machine_check(frame: InterruptStackFrame) -> ! {
    report("machine check", 18, None, &frame);
    fatal();
}
