//! The in-kernel test harness for `custom_test_frameworks`: each QEMU test binary runs its
//! tests in order on the serial console and ends QEMU with success or failure.
//!
//! Output contract, read by `scripts/test`: one `test NAME ... ok` line per passing test,
//! and, last, `kernel tests: P passed, F failed` — also printed by the panic handler, where
//! the failed count covers the test that panicked and those it kept from running.

use core::sync::atomic::{AtomicUsize, Ordering};

use hardware::drivers::qemu_exit::{ExitCode, exit_qemu};

use crate::{emergency_println, serial_println};

static PLANNED: AtomicUsize = AtomicUsize::new(0);
static PASSED: AtomicUsize = AtomicUsize::new(0);

/// Which reaping strategy a test runs under, if the runner says; printed after its name
/// without allocating (leak checks in tests see the heap).
#[derive(Clone, Copy)]
pub struct Variant(Option<&'static str>);

impl core::fmt::Display for Variant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(strategy) => write!(f, " [{strategy}]"),
            None => Ok(()),
        }
    }
}

/// Something the harness can run: any `fn()`, named by its path and its variant.
pub trait Testable {
    fn run(&self, variant: Variant);
}

impl<T: Fn()> Testable for T {
    fn run(&self, variant: Variant) {
        let name = core::any::type_name::<T>();
        serial_println!("test {name}{variant} ...");
        self();
        PASSED.fetch_add(1, Ordering::Relaxed);
        serial_println!("test {name}{variant} ... ok");
    }
}

/// The test runner `custom_test_frameworks` calls.
pub fn run_tests(tests: &[&dyn Testable]) {
    PLANNED.store(tests.len(), Ordering::Relaxed);
    serial_println!("running {} tests", tests.len());
    for test in tests {
        test.run(Variant(None));
    }
    finish();
}

/// A test runner that runs every test under each reaping strategy in turn (threads made
/// by a test are reaped the way the strategy says), naming each run `NAME [strategy]`.
pub fn run_tests_under_every_strategy(tests: &[&dyn Testable]) {
    run_tests_under(&crate::sched::reaping::Strategy::ALL, tests);
}

/// A test runner for tests of the reaper threads: every test under the `reaper` and
/// `percpu-reaper` strategies in turn.
pub fn run_tests_under_reaper_strategies(tests: &[&dyn Testable]) {
    use crate::sched::reaping::Strategy;
    run_tests_under(&[Strategy::Reaper, Strategy::PerCpuReaper], tests);
}

/// Runs every test under each of `strategies` in turn, naming each run `NAME [strategy]`,
/// then goes back to the default strategy.
fn run_tests_under(strategies: &[crate::sched::reaping::Strategy], tests: &[&dyn Testable]) {
    use crate::sched::reaping::{self, Strategy};
    PLANNED.store(tests.len() * strategies.len(), Ordering::Relaxed);
    serial_println!("running {} tests under {} reaping strategies", tests.len(), strategies.len());
    for &strategy in strategies {
        reaping::set_strategy(strategy);
        for test in tests {
            test.run(Variant(Some(strategy.name())));
        }
    }
    reaping::set_strategy(Strategy::Future);
    finish();
}

/// For `harness = false` tests: counts `planned` tests to be reported by `pass`/the panic
/// handler.
pub fn plan(planned: usize) {
    PLANNED.store(planned, Ordering::Relaxed);
}

/// For `harness = false` tests: marks one test as passed.
pub fn pass(name: &str) {
    PASSED.fetch_add(1, Ordering::Relaxed);
    serial_println!("test {name} ... ok");
}

/// Tells the fault handlers that the running test provokes `fault` on purpose: the handler
/// reports it, then passes the test and ends the run (`finish`).
pub fn expect_fault(fault: crate::traps::exceptions::ExpectedFault) {
    crate::traps::exceptions::expect_fault(fault, pass_and_finish);
}

fn pass_and_finish(name: &str) -> ! {
    pass(name);
    finish()
}

/// What the kernel holds now (frames, heap bytes, pool objects, kernel stacks), with the
/// thread pool's empty pages given back first — what leak checks compare.
pub fn held() -> crate::mm::meminfo::Held {
    crate::sched::thread::release_idle_pool_pages();
    crate::mm::meminfo::snapshot().held()
}

/// Everything a workload takes that must come back once it has ended and been collected:
/// memory (frames, heap bytes, pool objects, kernel stacks), thread slots, processes, pids
/// and the user's tasks (R4, R8).
#[derive(Debug, PartialEq, Eq)]
pub struct Ledger {
    pub held: crate::mm::meminfo::Held,
    pub thread_slots: usize,
    pub processes: usize,
    pub pids: usize,
    pub user_tasks: usize,
}

impl Ledger {
    /// The ledger now, once every ended process is freed (`settle_processes`).
    pub fn settled() -> Ledger {
        settle_processes();
        Ledger {
            held: held(),
            thread_slots: crate::sched::slots::in_use(),
            processes: crate::process::process_count(),
            pids: crate::process::pids_in_use(),
            user_tasks: crate::sched::user_tasks(),
        }
    }

    /// Panics, naming `workload`, unless everything is back to what `self` recorded. The
    /// caller must have dropped what the workload left it (captured output) first.
    pub fn assert_all_given_back(&self, workload: &str) {
        let now = Ledger::settled();
        assert_eq!(now.thread_slots, self.thread_slots, "{workload}: thread slots were not all given back");
        assert_eq!(now.user_tasks, self.user_tasks, "{workload}: user tasks were not all uncounted");
        assert_eq!(now.pids, self.pids, "{workload}: pids were not all released");
        assert_eq!(now.processes, self.processes, "{workload}: processes were not all freed");
        assert_eq!(now.held, self.held, "{workload}: memory was not all given back");
    }
}

/// Runs the ramdisk's `/bin/NAME` with `arguments` after its path to its end, capturing
/// what it prints; returns how it ended and the output.
pub fn run_program(name: &str, arguments: &[&[u8]]) -> (crate::process::WaitStatus, alloc::string::String) {
    let path = alloc::format!("/bin/{name}");
    let program = crate::initrd::find(&path).expect("ramdisk unreadable").unwrap_or_else(|| {
        panic!("{path} is not in the ramdisk (C programs need musl-gcc: run scripts/setup)")
    });
    let mut argv = alloc::vec![path.as_bytes()];
    argv.extend_from_slice(arguments);
    crate::console::start_capture();
    let process = crate::process::spawn_program("test-program", program, &argv, &[b"HOME=/"])
        .unwrap_or_else(|error| panic!("exec of {path} failed: {error}"));
    let status = crate::sched::block_on(process.exited());
    let output = alloc::string::String::from_utf8_lossy(&crate::console::take_capture()).into_owned();
    (status, output)
}

/// Lets every process that has ended be torn down and freed: waits, a tick at a time, until
/// no process exists (up to 10 s), then two ticks more. Teardown comes after the parent sees
/// the exit, and a fixed wait is not enough: under emulation timer ticks can arrive in a
/// burst, ending it before the dying thread has even run. Leak checks call this first, and
/// still fail if a process is never freed.
pub fn settle_processes() {
    let sleep_a_tick = || crate::sched::block_on(crate::tasks::sleep(1));
    for _ in 0..10 * u64::from(crate::time::TICK_HZ) {
        if crate::process::process_count() == 0 {
            break;
        }
        sleep_a_tick();
    }
    sleep_a_tick();
    sleep_a_tick();
}

/// Prints the summary and ends QEMU with success.
pub fn finish() -> ! {
    let passed = PASSED.load(Ordering::Relaxed);
    let planned = PLANNED.load(Ordering::Relaxed);
    let failed = planned.saturating_sub(passed);
    serial_println!("kernel tests: {passed} passed, {failed} failed");
    exit_qemu(if failed == 0 { ExitCode::Success } else { ExitCode::Failed });
    crate::arch::cpu::halt_forever()
}

/// Recurses until the stack it runs on overflows into its guard page — for the tests that
/// check an overflow is caught. Returns only if the stack never ran out.
#[allow(unconditional_recursion)]
pub fn overflow_the_stack(depth: u64) -> u64 {
    // `black_box` keeps the frame alive and the recursion from being turned into a loop.
    let frame = [depth; 8];
    overflow_the_stack(depth + 1) + core::hint::black_box(frame)[7]
}

/// Panic handler for test binaries: report, count, and end QEMU with failure.
pub fn test_panic_handler(info: &core::panic::PanicInfo) -> ! {
    emergency_println!("\n[failed]\n{info}");
    let passed = PASSED.load(Ordering::Relaxed);
    let failed = PLANNED.load(Ordering::Relaxed).saturating_sub(passed).max(1);
    emergency_println!("kernel tests: {passed} passed, {failed} failed");
    exit_qemu(ExitCode::Failed);
    crate::arch::cpu::halt_forever()
}

/// Panic handler for the kernel proper: report and stop.
pub fn kernel_panic_handler(info: &core::panic::PanicInfo) -> ! {
    emergency_println!("KERNEL PANIC: {info}");
    exit_qemu(ExitCode::Failed);
    crate::arch::cpu::halt_forever()
}

/// The boilerplate of a QEMU test binary on the `#[test_case]` harness: its entry point
/// (boot, `kernel::init`, then an optional setup block, then the tests) and its panic
/// handler. Use it after the crate attributes; the binary must name `test_main` as its
/// `reexport_test_harness_main`.
#[macro_export]
macro_rules! qemu_test_main {
    ($($setup:block)?) => {
        bootloader::entry_point!(qemu_test_entry);

        fn qemu_test_entry(boot_info: &'static bootloader::BootInfo) -> ! {
            $crate::init(boot_info);
            $($setup)?
            test_main();
            $crate::arch::cpu::halt_forever()
        }

        #[panic_handler]
        fn qemu_test_panic(info: &core::panic::PanicInfo) -> ! {
            $crate::testing::test_panic_handler(info)
        }
    };
}
