//! User programs from the ramdisk run in ring 3, make Linux system calls, exit with a
//! status, and are killed by the right signal — without harm to the kernel — when they
//! fault or touch kernel memory.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests_under_every_strategy)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use kernel::process::{self, WaitStatus};
use kernel::sched::block_on;

kernel::qemu_test_main!();

/// Runs `/bin/NAME` from the ramdisk to its end and returns how it ended.
fn run(name: &'static str) -> WaitStatus {
    let path = alloc::format!("/bin/{name}");
    let program = kernel::initrd::find(&path).expect("ramdisk unreadable").unwrap_or_else(|| {
        panic!("{path} is not in the ramdisk (C programs need musl-gcc: run scripts/setup)")
    });
    let process =
        process::spawn_program(name, program, &[path.as_bytes()], &[b"HOME=/"]).expect("exec failed");
    block_on(process.exited())
}

#[test_case]
fn a_program_prints_and_exits_with_status_zero() {
    assert_eq!(run("hello"), WaitStatus::exited(0));
}

#[test_case]
fn system_call_error_paths_return_linux_errnos() {
    let status = run("syscalls");
    assert_eq!(status.exit_code(), Some(0), "check {:?} failed", status.exit_code());
}

#[test_case]
fn a_null_pointer_write_kills_only_that_process_with_sigsegv() {
    let status = run("segfault");
    assert_eq!(status.signal(), Some(11), "{status:?}");
    assert_eq!(run("hello"), WaitStatus::exited(0), "the kernel did not survive");
}

#[test_case]
fn reading_kernel_memory_kills_the_reader_and_the_kernel_survives() {
    assert_eq!(run("kernel-read").signal(), Some(11));
    assert_eq!(run("hello"), WaitStatus::exited(0));
}

#[test_case]
fn processes_give_back_every_frame_once_reaped() {
    run("hello");
    kernel::testing::settle_processes();
    let before = kernel::testing::held();
    for _ in 0..20 {
        assert_eq!(run("hello"), WaitStatus::exited(0));
    }
    kernel::testing::settle_processes();
    assert_eq!(kernel::testing::held(), before);
}

#[test_case]
fn smep_and_smap_are_on() {
    assert_eq!(kernel::arch::protection::enabled(), (true, true), "QEMU runs with -cpu max, which has both");
}

#[test_case]
fn fork_and_wait4_follow_linux_semantics() {
    let status = run("forkwait");
    assert_eq!(status.exit_code(), Some(0), "check {:?} failed ({status:?})", status.exit_code());
}

/// Runs `/bin/NAME` and returns how it ended and what it printed.
fn run_and_capture(name: &'static str) -> (WaitStatus, alloc::string::String) {
    kernel::console::start_capture();
    let status = run(name);
    let output = kernel::console::take_capture();
    (status, alloc::string::String::from_utf8_lossy(&output).into_owned())
}

#[test_case]
fn an_unmodified_static_musl_program_prints_with_printf() {
    let (status, output) = run_and_capture("hello-musl");
    assert_eq!(status, WaitStatus::exited(0));
    assert_eq!(output, "hello from musl, 42\n");
}

#[test_case]
fn an_unmodified_musl_program_forks_and_waits() {
    let (status, output) = run_and_capture("forkwait-musl");
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    assert!(output.contains("fork and waitpid work"), "{output}");
}

#[test_case]
fn musl_malloc_mmap_and_time_work() {
    let (status, output) = run_and_capture("memtime-musl");
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    assert!(output.contains("work"), "{output}");
}

#[test_case]
fn kill_ends_spinning_and_sleeping_children_with_their_signal() {
    let (status, output) = run_and_capture("killtest");
    assert_eq!(status.exit_code(), Some(0), "check {:?} failed: {output}", status.exit_code());
}

#[test_case]
fn ignoring_sigchld_leaves_no_zombies_frees_the_children_and_uname_answers() {
    run_leaving_nothing("signals-musl", "ignored SIGCHLD leaves no zombies");
}

#[test_case]
fn musl_pthreads_create_join_lock_and_keep_their_tls() {
    kernel::testing::settle_processes();
    let before = kernel::testing::held();
    let (status, output) = run_and_capture("threads-musl");
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    assert!(output.contains("100 threads created and joined, counter 100000"), "{output}");
    drop(output);
    kernel::testing::settle_processes();
    assert_eq!(kernel::testing::held(), before, "threads or their stacks were not all given back");
}

#[test_case]
fn every_call_refuses_every_garbage_pointer() {
    let (status, output) = run_and_capture("badpointers");
    assert_eq!(status.exit_code(), Some(0), "failure {:?}: {output}", status.exit_code());
}

#[test_case]
fn a_program_reads_a_line_of_console_input() {
    kernel::input::feed(b"lethe\n");
    let (status, output) = run_and_capture("readline");
    assert_eq!(status, WaitStatus::exited(5), "{output}");
    assert!(output.contains("readline: got \"lethe\""), "{output}");
}

#[test_case]
fn map_shared_memory_is_shared_with_forked_children() {
    kernel::testing::settle_processes();
    let before = kernel::testing::held();
    let (status, output) = run_and_capture("shared-musl");
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    drop(output);
    kernel::testing::settle_processes();
    assert_eq!(kernel::testing::held(), before, "shared frames were not all given back");
}

#[test_case]
fn a_static_pie_program_is_loaded_at_the_pie_base_and_runs() {
    let (status, output) = run_and_capture("hello-pie");
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    assert!(output.contains("main at 0x5555555"), "not at the PIE base: {output}");
}

/// Runs `/bin/NAME`, which must exit 0 and print `expected`, and checks that once it and
/// its children are collected everything in `testing::Ledger` is back: memory, thread
/// slots, user tasks, pids and processes (R4, R8).
fn run_leaving_nothing(name: &'static str, expected: &str) {
    let before = kernel::testing::Ledger::settled();
    let (status, output) = run_and_capture(name);
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    assert!(output.contains(expected), "{output}");
    drop(output);
    before.assert_all_given_back(name);
}

#[test_case]
fn r4_r6_three_hundred_children_are_collected_once_each_and_wnohang_is_exact() {
    run_leaving_nothing("waitmany-musl", "300 children collected");
}

#[test_case]
fn a_thousand_readers_of_one_pipe_each_get_a_byte_or_end_of_file_and_a_kill_ends_them_all() {
    run_leaving_nothing(
        "pipewaiters-musl",
        "300 bytes and 700 ends of file to 1000 readers; 1000 blocked readers killed",
    );
}

#[test_case]
fn r5_threads_are_reaped_while_their_process_lives_and_exit_group_ends_running_threads() {
    run_leaving_nothing("threadsmany-musl", "3000 threads in sequence");
}

#[test_case]
fn r5_r8_a_child_under_a_limit_of_500_threads_makes_1000_in_sequence_and_hits_eagain_holding_them() {
    run_leaving_nothing("threadlimit-musl", "limits hold");
}

#[test_case]
fn cpu_time_is_settled_at_exit_and_passed_up_to_the_parent_at_wait() {
    run_leaving_nothing("rusage-musl", "times add up");
}

#[test_case]
fn pipes_carry_bytes_in_order_to_end_of_file_and_a_readerless_write_is_epipe_and_sigpipe() {
    run_leaving_nothing("pipes-musl", "order, end of file, EPIPE and SIGPIPE");
}

#[test_case]
fn r2_a_big_process_is_torn_down_and_its_last_shared_writes_are_visible_at_wait() {
    run_leaving_nothing("bigexit-musl", "shared writes visible at wait");
}

#[test_case]
fn r8_a_live_fork_bomb_gets_eagain_the_system_answers_and_kill_all_brings_every_counter_back() {
    run_leaving_nothing("forkbomb-live-musl", "all killed by kill(-1)");
}

#[test_case]
fn r8_a_fork_bomb_stops_at_the_process_limit_and_every_counter_comes_back() {
    // This test process is the only one: MAX_PROCESSES - 1 children fit.
    let expected = alloc::format!("{} zombies, then EAGAIN", process::MAX_PROCESSES - 1);
    run_leaving_nothing("forkbomb-musl", &expected);
}

/// The counts `placement-musl` printed, by name.
fn placement_counts(output: &str) -> alloc::collections::BTreeMap<&str, u32> {
    let line = output.lines().find(|line| line.starts_with("placement-musl:")).expect("no placement line");
    line.split_whitespace()
        .filter_map(|field| field.split_once('='))
        .map(|(name, count)| (name, count.parse().expect("a count")))
        .collect()
}

/// Placement beside the creator is a performance policy, not a guarantee: a tick may
/// preempt the creator, or an idle CPU steal the new thread, between its creation and the
/// creator's wait, and how often depends on the host's load (on a busy 2-core host at
/// -smp 4, under 150 of 200 rounds). So with several CPUs the counts are a measurement,
/// printed in the log (169-200 of 200 measured on an idle host; 45 for threads and 62 for
/// children with new threads spread to idle CPUs instead); with one CPU every round must
/// run where it started.
#[test_case]
fn a_new_thread_or_child_runs_and_its_waiter_resumes_and_with_one_cpu_all_stay_on_it() {
    let (status, output) = run_and_capture("placement-musl");
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    let counts = placement_counts(&output);
    let rounds = counts["rounds"];
    assert_eq!(rounds, 200, "{output}");
    for name in
        ["thread_beside_creator", "joiner_beside_thread", "child_beside_parent", "parent_beside_child"]
    {
        let count = counts[name];
        assert!(count <= rounds, "{name}: {count} of {rounds} rounds; {output}");
        if kernel::sched::cpu::online_count() == 1 {
            assert_eq!(count, rounds, "{name} with one CPU; {output}");
        }
    }
}

#[test_case]
fn a_page_unmapped_on_one_cpu_faults_for_a_thread_reading_it_on_another() {
    let (status, output) = run_and_capture("tlbshootdown-musl");
    assert_eq!(status, WaitStatus::exited(0), "{output}");
    assert!(output.contains("the reader faulted after munmap"), "{output}");
    if kernel::sched::cpu::online_count() > 1 {
        assert!(output.contains("side by side"), "with several CPUs the threads should run apart: {output}");
    }
}

/// Issue 17's bugs 1–3 and 9–12, each a check of `robust-musl` named after it.
#[test_case]
fn hostile_ranges_hints_stack_growth_tids_pending_signals_and_killed_readers_behave_as_on_linux() {
    run_leaving_nothing("robust-musl", "all as on Linux");
}

#[test_case]
fn execve_in_a_process_of_several_threads_makes_the_others_leave_first() {
    run_leaving_nothing("execthreads-musl", "from another leaves one thread");
}
