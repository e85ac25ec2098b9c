//! The fuzzer's soak: 1,000,000 system calls with hostile arguments under each reaping
//! strategy (`user/c/fuzz-musl.c`, see tests/fuzz.rs for the short run), then the exact
//! leak check. The kernel must neither panic nor hang, and the fuzzer's checks after every
//! batch must hold. Run at -smp 4: `cargo stress --test fuzz_stress -- -smp 4`. The call
//! count and seed are read at build time from `LETHE_FUZZ_CALLS` and `LETHE_FUZZ_SEED`.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests_under_every_strategy)]
#![reexport_test_harness_main = "test_main"]

use kernel::process::WaitStatus;
use kernel::testing::{self, Ledger};

kernel::qemu_test_main!();

/// Calls per strategy.
const CALLS: &str = match option_env!("LETHE_FUZZ_CALLS") {
    Some(calls) => calls,
    None => "1000000",
};
/// The seed of every strategy's run.
const SEED: &str = match option_env!("LETHE_FUZZ_SEED") {
    Some(seed) => seed,
    None => "1",
};

#[test_case]
fn a_million_random_calls_with_hostile_arguments_neither_panic_nor_hang_nor_leak() {
    let before = Ledger::settled();
    let (status, output) = testing::run_program("fuzz-musl", &[CALLS.as_bytes(), SEED.as_bytes()]);
    let summary = output.lines().find(|line| line.contains(" calls in ")).unwrap_or("no summary");
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    assert!(summary.ends_with(" 0 unexpected"), "{output}");
    drop(output);
    before.assert_all_given_back("fuzz-musl");
}
