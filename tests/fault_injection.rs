//! Fault injection walks every allocation fork, clone (pthread_create), execve, mmap (a
//! PROT_NONE one too, and a munmap splitting a reservation) and pipe make, of every kind (frames, pool objects, fallible heap, kernel stacks, thread
//! slots): each injected failure ends the call with the errno Linux gives and leaves
//! nothing behind (R3, R4, R8); and exits made while every allocation fails still complete
//! and give everything back, without one heap call (R3: exit never allocates).
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

use kernel::fault_injection::{self, Kind, Plan, Scope};
use kernel::process::{self, WaitStatus};
use kernel::sched::block_on;
use kernel::serial_println;
use kernel::testing::Ledger;

kernel::qemu_test_main!();

const MMAP: u64 = 9;
const MUNMAP: u64 = 11;
const PIPE: u64 = 22;
const CLONE: u64 = 56;
const FORK: u64 = 57;
const EXECVE: u64 = 59;
const EXIT: u64 = 60;
const EXIT_GROUP: u64 = 231;

const EAGAIN: i32 = 11;
const ENOMEM: i32 = 12;

/// No call makes this many allocations of one kind: a sweep that gets here is stuck.
const MAX_ALLOCATIONS: u64 = 500;

/// Runs `/bin/faultcall-musl CALL` to its end and returns how it ended.
fn run(call: &'static str) -> WaitStatus {
    let path = "/bin/faultcall-musl";
    let program = kernel::initrd::find(path).expect("ramdisk unreadable").unwrap_or_else(|| {
        panic!("{path} is not in the ramdisk (C programs need musl-gcc: run scripts/setup)")
    });
    let process =
        process::spawn_program("faultcall-musl", program, &[path.as_bytes(), call.as_bytes()], &[b"HOME=/"])
            .expect("exec of faultcall-musl failed");
    block_on(process.exited())
}

/// Panics unless everything is back to `before`, naming the run.
fn assert_given_back(before: &Ledger, call: &str, kind: Kind, n: u64) {
    let now = Ledger::settled();
    assert!(now == *before, "{call}: failing {} allocation {n} left {now:?}, before {before:?}", kind.name());
}

/// Fails allocation 1, 2, 3, ... of each kind that system call `number` makes when
/// faultcall-musl makes it as `call`, until a run sees no failure injected: each failed
/// run must end with one of `errnos` (or succeed, if the kernel got over the failure) and
/// leave nothing behind; and every heap allocator call the call makes must be one of the
/// places that can fail (no infallible allocation on the path). Returns the failures
/// injected.
fn sweep(call: &'static str, number: u64, errnos: &[i32]) -> u64 {
    assert_eq!(run(call), WaitStatus::exited(0), "{call} fails without injection");
    let before = Ledger::settled();
    fault_injection::arm(Scope::NextSystemCall(number), &[]);
    run(call);
    let heap_calls = fault_injection::disarm().heap_calls;
    let mut injected = 0;
    for kind in Kind::ALL {
        let mut failed_runs = 0;
        let mut survived = 0;
        for n in 1..=MAX_ALLOCATIONS {
            fault_injection::arm(Scope::NextSystemCall(number), &[(kind, Plan::Nth(n))]);
            let status = run(call);
            let report = fault_injection::disarm();
            assert!(report.entered, "{call}: the program never made system call {number}");
            assert_given_back(&before, call, kind, n);
            if report.of(kind).injected == 0 {
                assert_eq!(
                    status,
                    WaitStatus::exited(0),
                    "{call} with {} allocation {n} not failed",
                    kind.name()
                );
                break;
            }
            assert!(n < MAX_ALLOCATIONS, "{call}: {} allocations of kind {} and counting", n, kind.name());
            injected += 1;
            match status.exit_code() {
                Some(0) => survived += 1,
                Some(code) if errnos.contains(&code) => failed_runs += 1,
                _ => panic!(
                    "{call}: failing {} allocation {n} ended it with {status:?}, not {errnos:?}",
                    kind.name()
                ),
            }
        }
        serial_println!(
            "fault_injection: {call}: {} {} allocations failed one at a time: {failed_runs} failed the call, {survived} were got over",
            failed_runs + survived,
            kind.name()
        );
        if kind == Kind::Heap {
            let places = failed_runs + survived;
            serial_println!(
                "fault_injection: {call}: {heap_calls} heap allocator calls in all, {places} places that can fail them"
            );
            assert_eq!(
                heap_calls, places,
                "{call}: heap allocator calls that no failure can reach: an infallible allocation \
                 (Box::new, Vec::push, ...) is on the path, and a full heap there stops the kernel"
            );
        }
    }
    injected
}

#[test_case]
fn r3_every_allocation_fork_makes_can_fail_and_fork_then_leaves_nothing_behind() {
    assert!(sweep("fork", FORK, &[ENOMEM, EAGAIN]) > 0);
}

#[test_case]
fn r3_every_allocation_pthread_create_makes_can_fail_and_clone_then_leaves_nothing_behind() {
    assert!(sweep("thread", CLONE, &[ENOMEM, EAGAIN]) > 0);
}

#[test_case]
fn every_allocation_execve_makes_can_fail_and_execve_then_returns_enomem_leaving_nothing() {
    assert!(sweep("execve", EXECVE, &[ENOMEM, EAGAIN]) > 0);
}

#[test_case]
fn every_allocation_mmap_makes_can_fail_and_mmap_then_returns_enomem_leaving_nothing() {
    assert!(sweep("mmap", MMAP, &[ENOMEM]) > 0);
    assert!(sweep("mmap-reserve", MMAP, &[ENOMEM]) > 0, "a PROT_NONE mmap's room for its reserved range");
}

#[test_case]
fn every_allocation_a_munmap_splitting_a_reservation_makes_can_fail_and_munmap_then_returns_enomem() {
    assert!(sweep("munmap-split", MUNMAP, &[ENOMEM]) > 0, "munmap's room for the split-off range");
}

#[test_case]
fn every_allocation_pipe_makes_can_fail_and_pipe_then_returns_enomem_leaving_nothing() {
    assert!(sweep("pipe", PIPE, &[ENOMEM]) > 0);
}

#[test_case]
fn heap_calls_of_the_thread_in_scope_are_counted_so_an_allocating_exit_would_be_seen() {
    fault_injection::arm(Scope::NextSystemCall(FORK), &[]);
    assert_eq!(run("fork"), WaitStatus::exited(0));
    let report = fault_injection::disarm();
    assert!(report.entered && report.heap_calls > 0, "fork's heap calls were not counted: {report:?}");
    assert_eq!(report.injected(), 0);
}

/// Runs faultcall-musl as `call` with every allocation of every kind failing from the
/// moment system call `number` (an exit) is made; the exit must complete, give everything
/// back, and have allocated nothing.
fn exit_with_every_allocation_failing(call: &'static str, number: u64) {
    assert_eq!(run(call), WaitStatus::exited(0), "{call} fails without injection");
    let before = Ledger::settled();
    let every: [(Kind, Plan); 5] = Kind::ALL.map(|kind| (kind, Plan::Every(1)));
    fault_injection::arm(Scope::NextSystemCall(number), &every);
    let status = run(call);
    let report = fault_injection::disarm();
    assert!(report.entered, "{call}: the program never made system call {number}");
    assert_eq!(status, WaitStatus::exited(0), "{call}: the exit did not complete as it should");
    for kind in Kind::ALL {
        assert_eq!(report.of(kind).seen, 0, "{call}: the exit asked for {} allocations", kind.name());
    }
    assert_eq!(report.heap_calls, 0, "{call}: the exit made heap allocations");
    let now = Ledger::settled();
    assert!(now == before, "{call}: the exit left {now:?}, before {before:?}");
}

#[test_case]
fn r3_exit_group_allocates_nothing_and_gives_everything_back_when_every_allocation_fails() {
    exit_with_every_allocation_failing("exit", EXIT_GROUP);
}

#[test_case]
fn r3_a_thread_exit_with_clear_child_tid_allocates_nothing_when_every_allocation_fails() {
    exit_with_every_allocation_failing("thread-exit", EXIT);
}

#[test_case]
fn r3_r9_an_exit_leaving_orphans_allocates_nothing_when_every_allocation_fails() {
    exit_with_every_allocation_failing("orphans", EXIT_GROUP);
}
