//! The ramdisk's /init as pid 1: it starts its programs with fork and execve, reports how
//! each ended, and collects the orphans another program leaves behind (R9).
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use kernel::process::{self, Pid, WaitStatus};
use kernel::sched::block_on;

kernel::qemu_test_main!();

#[test_case]
fn r9_init_runs_its_programs_and_collects_every_orphan() {
    let init = kernel::initrd::find("/init").expect("ramdisk unreadable").expect("no /init");
    kernel::console::start_capture();
    let process = process::spawn_program("init", init, &[b"/init"], &[]).expect("cannot start /init");
    assert_eq!(process.pid(), Pid(1), "init must be the first process");
    let status = block_on(process.exited());
    let output = alloc::string::String::from_utf8_lossy(&kernel::console::take_capture()).into_owned();
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    for line in [
        "init: still here after SIGKILL and SIGTERM to pid 1",
        "/bin/hello (pid ",
        ") exited with 0",
        "hello from musl, 42",
        "100 threads created and joined",
        " (status 0x700)",
        " (status 0x800)",
        "2 orphan(s) collected, 0 failure(s)",
    ] {
        assert!(output.contains(line), "init's output lacks {line:?}:\n{output}");
    }
}
