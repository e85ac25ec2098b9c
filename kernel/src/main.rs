//! Lethe's entry point: bring the machine up, show what it does, run the ramdisk's
//! `/init` as pid 1, and stop.
//!
//! With QEMU's exit device present (`scripts/run`) the kernel ends the session when init
//! has ended — with success if init exited with status 0; without it (`scripts/run
//! --interactive`, `cargo krun`) it stays up, echoing keys and serving tasks.
//!
//! Whatever keeps `/init` from running — a ramdisk QEMU supplied that cannot be used
//! (found before the demonstration runs), no `/init`, a file that cannot be loaded — is one
//! console line `lethe: error: REASON`, and the session ends with failure: `scripts/run`
//! reports that line. The built-in ramdisk never stands in for a supplied one.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use bootloader::{BootInfo, entry_point};
use hardware::drivers::qemu_exit::ExitCode;
use kernel::process::{self, WaitStatus};
use kernel::{println, sched, tasks};

mod demo;

entry_point!(kernel_main);

fn kernel_main(boot_info: &'static BootInfo) -> ! {
    kernel::init(boot_info);
    if let Err(error) = kernel::initrd::archive() {
        println!("lethe: error: cannot use the initrd QEMU supplied: {error}");
        end_session(ExitCode::Failed);
    }
    demo::run(boot_info);
    let init_status = run_init();
    end_session(if init_status.exit_code() == Some(0) { ExitCode::Success } else { ExitCode::Failed })
}

/// Ends the session through QEMU's exit device; without one, stays up serving the keyboard.
fn end_session(code: ExitCode) -> ! {
    hardware::drivers::qemu_exit::exit_qemu(code);
    // QEMU acts on the exit request asynchronously: give it a few ticks before concluding
    // that there is no exit device.
    let asked_at = kernel::time::ticks();
    tasks::run_until(|| kernel::time::ticks() >= asked_at + 5);
    println!("lethe: no exit device, staying up: type on the keyboard (VGA window) to see it echoed");
    kernel::tasks::set_tracing(false);
    tasks::run_until(|| false);
    kernel::arch::cpu::halt_forever()
}

/// Runs the ramdisk's `/init` as the first user process and waits for it to end.
fn run_init() -> WaitStatus {
    let init = match kernel::initrd::find("/init") {
        Ok(Some(init)) => init,
        Ok(None) => {
            println!("lethe: error: the ramdisk has no /init");
            return WaitStatus::exited(127);
        }
        Err(error) => {
            println!("lethe: error: cannot read the ramdisk: {error}");
            return WaitStatus::exited(127);
        }
    };
    let tracing = kernel::boot_options::trace_init();
    if let Some(faults) = kernel::fault_injection::arm_from_boot_option() {
        println!("lethe: fault injection armed for every thread: {faults} (opt/lethe/fault)");
    }
    kernel::trace::set_thread_tracing(tracing);
    let process = match process::spawn_program("init", init, &[b"/init"], &[b"HOME=/", b"TERM=linux"]) {
        Ok(process) => process,
        Err(error) => {
            println!("lethe: error: cannot start /init: {error}");
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
