//! The Lethe kernel as a library: everything but the entry point, so that every QEMU test
//! in `tests/` links the same kernel the binary runs.
//!
//! The kernel crate is safe Rust (`forbid(unsafe_code)`): unsafe code lives below it, in the
//! `hardware` crate (descriptor tables, CPU control, contexts and the context switch, FPU
//! state, per-CPU data, user-mode entry and exit, system-call entry, the interrupt
//! controllers, the APs' start-up code, the physical window, taking over from the
//! bootloader, the heap allocator, page-table roots and the kernel root's own mappings),
//! the `mm` crate's raw frame access and typed pools, and the drivers' port and memory
//! accesses — each behind a safe interface.
#![no_std]
#![cfg_attr(test, no_main)]
#![feature(custom_test_frameworks, abi_x86_interrupt, allocator_api)]
#![test_runner(crate::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod arch;
pub mod boot_options;
pub mod console;
pub mod fault_injection;
pub mod files;
pub mod initrd;
pub mod input;
pub mod logger;
pub mod mm;
pub mod process;
pub mod sched;
pub mod smp;
pub mod sync;
pub mod syscall;
pub mod tasks;
pub mod testing;
pub mod time;
pub mod trace;
pub mod traps;
pub mod watchdog;

use bootloader::BootInfo;

/// Brings the machine up: lock spins told to answer TLB shootdowns (`sync`, before any
/// other CPU runs), console, logger, CPU tables with the IDT `traps` builds, memory and
/// heap, the interrupt controllers and the tick (they need the heap for the MADT and `mm`
/// to map their registers), executor (its clock becomes the kernel's), scheduler (the boot
/// context becomes the boot thread), then interrupts on, the TSC calibrated against the
/// tick, and last the other CPUs started (their bring-up times itself with the TSC), each
/// entering the scheduler with its own idle thread and executor.
pub fn init(boot_info: &'static BootInfo) {
    sync::answer_while_spinning(mm::shootdown::serve_pending);
    mm::init_window(boot_info);
    console::init();
    logger::init();
    arch::init(traps::idt::table());
    arch::syscall::set_handler(syscall::dispatch);
    mm::init();
    arch::init_interrupt_controllers(time::TICK_HZ, mm::device_memory::map_uncached);
    tasks::init();
    sched::init();
    input::init();
    initrd::init();
    watchdog::init();
    arch::cpu::enable_interrupts();
    time::calibrate();
    smp::start_application_processors(sched::cpu::run_application_cpu);
}

#[cfg(test)]
bootloader::entry_point!(test_kernel_main);

#[cfg(test)]
fn test_kernel_main(boot_info: &'static BootInfo) -> ! {
    init(boot_info);
    test_main();
    arch::cpu::halt_forever()
}

#[cfg(test)]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    testing::test_panic_handler(info)
}
