//! Lethe's entry point: bring the machine up, show what it does, and stop.
//!
//! With QEMU's exit device present (`scripts/run`) the kernel runs its demonstration and
//! ends the session with success; without it (`scripts/run --interactive`, `cargo krun`)
//! it stays up, echoing keys and serving tasks.
#![no_std]
#![no_main]

use bootloader::{BootInfo, entry_point};
use kernel::{println, tasks};

mod demo;

entry_point!(kernel_main);

fn kernel_main(boot_info: &'static BootInfo) -> ! {
    kernel::init(boot_info);
    demo::run(boot_info);
    drivers::qemu_exit::exit_qemu(drivers::qemu_exit::ExitCode::Success);
    // QEMU acts on the exit request asynchronously: give it a few ticks before concluding
    // that there is no exit device.
    let asked_at = kernel::time::ticks();
    tasks::run_until(|| kernel::time::ticks() >= asked_at + 5);
    println!("lethe: no exit device, staying up: type on the keyboard (VGA window) to see it echoed");
    kernel::trace::set_task_tracing(false);
    tasks::run_until(|| false);
    kernel::arch::cpu::halt_forever()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    kernel::testing::kernel_panic_handler(info)
}
