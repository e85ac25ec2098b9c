//! Process and thread lifecycle benchmarks from user space (`/bin/reapbench-musl`), run
//! under each reaping strategy in one boot and printed as `bench reap` lines: fork+exit+
//! wait, exit-to-wait latency, thread create+join, forking many children, and exit latency
//! beside CPU-bound processes; and context switches per fork+exit+wait cycle and per
//! thread create+join cycle (`/bin/stress-musl`). The run fails if a program fails or
//! anything leaks; the numbers are for reading (see BENCHMARKS.md).
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests_under_every_strategy)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use kernel::process::{self, WaitStatus};
use kernel::sched::{self, block_on};

kernel::qemu_test_main!();

/// What the kernel held after the first run. Kernel tables keep the capacity they grew to
/// (the pid table, the timer heap), so the first run sets the baseline and every later run,
/// under another strategy, must end exactly there: a leak grows with every run.
static BASELINE: spin::Mutex<Option<(kernel::mm::meminfo::Held, usize)>> = spin::Mutex::new(None);

#[test_case]
fn reapbench() {
    const PATH: &str = "/bin/reapbench-musl";
    let program = kernel::initrd::find(PATH)
        .expect("ramdisk unreadable")
        .unwrap_or_else(|| panic!("{PATH} is not in the ramdisk (it needs musl-gcc: run scripts/setup)"));
    let process = process::spawn_program("reapbench", program, &[PATH.as_bytes()], &[]).expect("exec failed");
    assert_eq!(block_on(process.exited()), WaitStatus::exited(0));
    kernel::testing::settle_processes();
    let now = (kernel::testing::held(), sched::slots::in_use());
    let mut baseline = BASELINE.lock();
    match &*baseline {
        None => *baseline = Some(now),
        Some(first) => assert_eq!(&now, first, "a run left memory or thread slots behind"),
    }
}

/// Runs `/bin/stress-musl FORKS THREADS` and returns the context switches it took.
fn switches_during(forks: &str, threads: &str) -> u64 {
    const PATH: &str = "/bin/stress-musl";
    let program = kernel::initrd::find(PATH).expect("ramdisk unreadable").expect("no /bin/stress-musl");
    let cpu = sched::cpu::this_cpu();
    let before = cpu.switches();
    let process = process::spawn_program(
        "stress",
        program,
        &[PATH.as_bytes(), forks.as_bytes(), threads.as_bytes()],
        &[],
    )
    .expect("exec failed");
    assert_eq!(block_on(process.exited()), WaitStatus::exited(0));
    cpu.switches() - before
}

#[test_case]
fn context_switches_per_exit() {
    const CYCLES: u64 = 500;
    let strategy = sched::reaping::strategy().name();
    let per_fork = switches_during("500", "0") as f64 / CYCLES as f64;
    let per_thread = switches_during("0", "500") as f64 / CYCLES as f64;
    kernel::serial_println!(
        "bench reap strategy={strategy} name=switches_per_fork_exit_wait cycles={CYCLES} switches_per_cycle={per_fork:.2}"
    );
    kernel::serial_println!(
        "bench reap strategy={strategy} name=switches_per_thread_create_join cycles={CYCLES} switches_per_cycle={per_thread:.2}"
    );
    kernel::testing::settle_processes();
}
