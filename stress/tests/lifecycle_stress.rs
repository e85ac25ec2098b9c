//! 100,000 fork/exit/wait cycles and 100,000 thread create/join cycles in one user program
//! under each reaping strategy — 1,000,000 thread cycles under `future`, docs/design.md's R5
//! ("a program that creates and joins a million threads never runs out") — and afterwards
//! every frame, heap byte, pool object, kernel stack, thread slot, user task, pid and
//! process is back (R4, R8). The R1 checks in the teardown body (off its CPU before its
//! stack is freed) run on every one of the 1.5 million teardowns; freed stacks are
//! poisoned and guarded.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests_under_every_strategy)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use kernel::process::{self, WaitStatus};
use kernel::sched::block_on;
use kernel::testing::Ledger;

kernel::qemu_test_main!();

/// Cycles of each kind (fewer in a debug build, which is several times slower).
const CYCLES: &str = if cfg!(debug_assertions) { "2000" } else { "100000" };
/// Thread cycles under the `future` strategy.
const FUTURE_THREAD_CYCLES: &str = if cfg!(debug_assertions) { "20000" } else { "1000000" };

#[test_case]
fn r4_r5_r8_a_hundred_thousand_forks_and_a_million_threads_leave_nothing_behind() {
    let before = Ledger::settled();
    let threads = match kernel::sched::reaping::strategy() {
        kernel::sched::reaping::Strategy::Future => FUTURE_THREAD_CYCLES,
        _ => CYCLES,
    };
    let program = kernel::initrd::find("/bin/stress-musl")
        .expect("ramdisk unreadable")
        .expect("/bin/stress-musl is not in the ramdisk (it needs musl-gcc: run scripts/setup)");
    kernel::console::start_capture();
    let process = process::spawn_program(
        "stress-musl",
        program,
        &[b"/bin/stress-musl", CYCLES.as_bytes(), threads.as_bytes()],
        &[b"HOME=/"],
    )
    .expect("exec failed");
    let status = block_on(process.exited());
    let output = alloc::string::String::from_utf8_lossy(&kernel::console::take_capture()).into_owned();
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    assert!(output.contains("fork/exit/wait cycles"), "{output}");
    drop(output);
    before.assert_all_given_back("stress-musl");
}
