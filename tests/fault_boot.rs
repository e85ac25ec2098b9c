//! The fault-injection boot option end to end: QEMU is given `opt/lethe/fault` (through
//! `-fw_cfg`), the kernel arms it for every thread as it does before `/init`
//! (`fault_injection::arm_from_boot_option`), and fork, clone, execve, mmap and pipe
//! workloads run under it. Whatever fails must fail cleanly: no panic, the kernel still
//! runs programs once it is disarmed, and every frame, slot, process and pid comes back.
//!
//! Not run by a plain `cargo ktest` (`test = false` in kernel/Cargo.toml): the boot needs
//! the option, which scripts/test gives it:
//! `cargo ktest --test fault_boot -- -smp N -fw_cfg name=opt/lethe/fault,string=frame:every:97`.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

use kernel::fault_injection::{self, Kind};
use kernel::process::{self, WaitStatus};
use kernel::sched::block_on;
use kernel::serial_println;
use kernel::testing::Ledger;

kernel::qemu_test_main!();

/// faultcall-musl's calls: each makes its call once, and exits with its errno.
const CALLS: [&str; 5] = ["fork", "thread", "execve", "mmap", "pipe"];
/// Runs of each call under injection: enough that the failures land at many points.
const ROUNDS: usize = 40;

/// Runs `/bin/faultcall-musl CALL`; `None` if the process could not even be made.
fn run(call: &str) -> Option<WaitStatus> {
    let path = "/bin/faultcall-musl";
    let program = kernel::initrd::find(path).expect("ramdisk unreadable").unwrap_or_else(|| {
        panic!("{path} is not in the ramdisk (C programs need musl-gcc: run scripts/setup)")
    });
    let process =
        process::spawn_program("faultcall-musl", program, &[path.as_bytes(), call.as_bytes()], &[b"HOME=/"])
            .ok()?;
    Some(block_on(process.exited()))
}

#[test_case]
fn the_fault_boot_option_fails_allocations_of_fork_clone_execve_mmap_and_pipe_and_all_comes_back() {
    for call in CALLS {
        assert_eq!(run(call), Some(WaitStatus::exited(0)), "{call} fails without injection");
    }
    let before = Ledger::settled();
    let option = fault_injection::arm_from_boot_option().expect(
        "no opt/lethe/fault boot option: run with -fw_cfg name=opt/lethe/fault,string=frame:every:97",
    );
    let (mut succeeded, mut failed, mut not_started) = (0, 0, 0);
    for _ in 0..ROUNDS {
        for call in CALLS {
            match run(call) {
                Some(status) if status == WaitStatus::exited(0) => succeeded += 1,
                Some(_) => failed += 1,
                None => not_started += 1,
            }
        }
    }
    let report = fault_injection::disarm();
    serial_println!(
        "fault_boot: opt/lethe/fault={option}: {succeeded} runs succeeded, {failed} failed, \
         {not_started} could not start; {} frame failures injected of {} asked for",
        report.of(Kind::Frame).injected,
        report.of(Kind::Frame).seen
    );
    assert!(report.injected() > 0, "the boot option injected nothing: {report:?}");
    assert!(succeeded > 0, "no run got through: the injection is too dense to test anything");
    assert!(failed + not_started > 0, "no run saw a failure");
    drop(option);
    for call in CALLS {
        assert_eq!(run(call), Some(WaitStatus::exited(0)), "{call} fails once disarmed");
    }
    before.assert_all_given_back("fault_boot");
}
