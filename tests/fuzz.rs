//! The system-call fuzzer (`user/c/fuzz-musl.c`) in a short run under each reaping
//! strategy: batches of processes with several threads make random calls with hostile
//! arguments while memory is unmapped under them; batches that stop are killed. The
//! kernel must not panic or hang (the test runner's timeout), the fuzzer's own checks —
//! fork, wait, threads, pipes still work after every batch, nothing is left to collect —
//! must hold, and once it is collected everything is given back (R3, R4, R8). The lockup
//! detector must have reported no CPU: a hang the fuzzer causes is a failure even if it
//! ends before the runner's timeout.
//! `cargo stress --test fuzz_stress` is the long soak.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests_under_every_strategy)]
#![reexport_test_harness_main = "test_main"]

use kernel::process::WaitStatus;
use kernel::testing::{self, Ledger};
use kernel::{sched, watchdog};

kernel::qemu_test_main!();

/// Calls per strategy: a debug build under TCG makes a few thousand a second.
const CALLS: &str = "120000";

#[test_case]
fn random_calls_with_hostile_arguments_neither_panic_nor_hang_nor_leak() {
    let before = Ledger::settled();
    let (status, output) = testing::run_program("fuzz-musl", &[CALLS.as_bytes(), b"17"]);
    let summary = output.lines().find(|line| line.contains(" calls in ")).unwrap_or("no summary");
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    assert!(summary.ends_with(" 0 unexpected"), "{output}");
    drop(output);
    before.assert_all_given_back("fuzz-musl");
    for cpu in 0..sched::cpu::online_count() {
        let reports = (watchdog::stuck_reports(cpu), watchdog::silent_reports(cpu));
        assert_eq!(reports, (0, 0), "the lockup detector reported cpu {cpu} (stuck, silent timer)");
    }
}
