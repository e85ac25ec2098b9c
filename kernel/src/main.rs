//! Lethe's entry point: bring the machine up, show what it does, run the ramdisk's
//! `/init` as pid 1, and stop.
//!
//! With QEMU's exit device present (`scripts/run`) the kernel ends the session when init
//! has ended — with success if init exited with status 0; without it (`scripts/run
//! --interactive`, `cargo krun`) it stays up, echoing keys and serving tasks.
#![no_std]
#![no_main]

use bootloader::{BootInfo, entry_point};
use drivers::qemu_exit::ExitCode;
use kernel::process::{self, WaitStatus};
use kernel::{println, sched, tasks};

mod demo;

entry_point!(kernel_main);

fn kernel_main(boot_info: &'static BootInfo) -> ! {
    kernel::init(boot_info);
    demo::run(boot_info);
    let init_status = run_init();
    let code = if init_status.exit_code() == Some(0) { ExitCode::Success } else { ExitCode::Failed };
    drivers::qemu_exit::exit_qemu(code);
    // QEMU acts on the exit request asynchronously: give it a few ticks before concluding
    // that there is no exit device.
    let asked_at = kernel::time::ticks();
    tasks::run_until(|| kernel::time::ticks() >= asked_at + 5);
    println!("lethe: no exit device, staying up: type on the keyboard (VGA window) to see it echoed");
    kernel::trace::set_task_tracing(false);
    tasks::run_until(|| false);
    kernel::arch::cpu::halt_forever()
}

/// Runs the ramdisk's `/init` as the first user process and waits for it to end.
fn run_init() -> WaitStatus {
    let Some(init) = kernel::initrd::find("/init").ok().flatten() else {
        println!("lethe: the ramdisk has no /init");
        return WaitStatus::exited(127);
    };
    let tracing = kernel::boot_options::trace_init();
    kernel::trace::set_thread_tracing(tracing);
    let process = match process::spawn_program("init", init, &[b"/init"], &[b"HOME=/", b"TERM=linux"]) {
        Ok(process) => process,
        Err(error) => {
            println!("lethe: cannot start /init: {error}");
            return WaitStatus::exited(126);
        }
    };
    println!(
        "lethe: started /init as pid {}, with lifecycle tracing {}",
        process.pid().0,
        if tracing { "on" } else { "off (opt/lethe/trace=off)" }
    );
    let status = sched::block_on(process.exited());
    kernel::trace::set_thread_tracing(false);
    match (status.exit_code(), status.signal()) {
        (Some(code), _) => println!("lethe: init exited with status {code}"),
        (_, Some(signal)) => println!("lethe: init was killed by signal {signal}"),
        _ => println!("lethe: init ended with wait status {:#x}", status.0),
    }
    status
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    kernel::testing::kernel_panic_handler(info)
}
