//! Run at -smp 4 (`cargo stress --test smp_stress -- -smp 4`): four copies of the lifecycle
//! stress run at once, 12,500 fork/exit/wait and 12,500 thread create/join cycles each —
//! 100,000 exits (50,000 processes, 50,000 threads) under each reaping strategy, with threads exiting on every CPU
//! while their teardown (a task pinned to the CPU that made the thread, or a reaper) runs
//! on others. The R1 checks of the teardown body (off its CPU before its stack is freed)
//! run on every teardown, freed stacks are poisoned and guarded, and afterwards every frame,
//! heap byte, pool object, kernel stack, thread slot, user task, pid and process is back
//! (R4, R8).
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests_under_every_strategy)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use alloc::vec::Vec;

use kernel::process::{self, WaitStatus};
use kernel::sched::block_on;
use kernel::testing::Ledger;

kernel::qemu_test_main!();

/// Copies of the stress running at once.
const WORKERS: usize = 4;
/// Cycles of each kind per copy (fewer in a debug build, which is several times slower).
const CYCLES: &str = if cfg!(debug_assertions) { "500" } else { "12500" };

#[test_case]
fn r1_r4_r8_a_hundred_thousand_exits_on_every_cpu_with_teardown_on_others_leave_nothing_behind() {
    assert!(
        kernel::sched::cpu::online_count() >= 2,
        "this stress is for several CPUs: boot it with -smp 4 (cargo stress --test smp_stress -- -smp 4)"
    );
    let before = Ledger::settled();
    let program = kernel::initrd::find("/bin/stress-musl")
        .expect("ramdisk unreadable")
        .expect("/bin/stress-musl is not in the ramdisk (it needs musl-gcc: run scripts/setup)");
    kernel::console::start_capture();
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            process::spawn_program(
                "stress-musl",
                program,
                &[b"/bin/stress-musl", CYCLES.as_bytes(), CYCLES.as_bytes()],
                &[b"HOME=/"],
            )
            .expect("exec failed")
        })
        .collect();
    let statuses: Vec<_> = workers.into_iter().map(|worker| block_on(worker.exited())).collect();
    let output = alloc::string::String::from_utf8_lossy(&kernel::console::take_capture()).into_owned();
    for status in statuses {
        assert_eq!(status, WaitStatus::exited(0), "{output}");
    }
    assert_eq!(output.matches("fork/exit/wait cycles").count(), WORKERS, "{output}");
    kernel::serial_println!("{}", output.trim_end());
    drop(output);
    before.assert_all_given_back("four stress-musl at once");
}
