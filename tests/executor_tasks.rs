//! The kernel's executor under real interrupts: many tasks, timers driven by the PIT, wakes
//! and spawns from interrupt context.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use kernel::tasks;

kernel::qemu_test_main!();

#[test_case]
fn ten_thousand_tasks_run_to_completion() {
    const TASKS: usize = 10_000;
    let live_before = tasks::live_tasks();
    let heap_before = kernel::mm::heap::bytes_in_use();
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..TASKS {
        let done = done.clone();
        tasks::spawn("many", async move {
            executor::yield_now().await;
            done.fetch_add(1, Ordering::Relaxed);
        })
        .expect("spawn refused below the task limit");
    }
    tasks::run_until(|| done.load(Ordering::Relaxed) == TASKS);
    // A task counts itself done just before it completes: on another CPU, its slot may come
    // back a moment after the count is full. A tick is ample; a leaked slot never comes.
    let deadline = kernel::time::ticks() + 2;
    tasks::run_until(|| tasks::live_tasks() == live_before || kernel::time::ticks() > deadline);
    assert_eq!(tasks::live_tasks(), live_before, "task slots were not all given back");
    drop(done);
    assert_eq!(kernel::mm::heap::bytes_in_use(), heap_before, "finished tasks left heap memory behind");
}

#[test_case]
fn sleeps_end_at_their_deadline_in_deadline_order() {
    let order = Arc::new(spin::Mutex::new(alloc::vec::Vec::new()));
    let finished = Arc::new(AtomicUsize::new(0));
    for delay in [7u64, 2, 5] {
        let order = order.clone();
        let finished = finished.clone();
        tasks::spawn("sleeper", async move {
            let start = kernel::time::ticks();
            tasks::sleep(delay).await;
            let slept = kernel::time::ticks() - start;
            assert!(slept >= delay, "woke after {slept} ticks, asked for {delay}");
            order.lock().push(delay);
            finished.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    }
    tasks::run_until(|| finished.load(Ordering::Relaxed) == 3);
    assert_eq!(*order.lock(), [2, 5, 7]);
}

#[test_case]
fn the_idle_loop_comes_back_when_only_the_tick_can_wake_it() {
    // Liveness: no task is ready, so the idle loop halts and only the timer interrupt ends
    // each wait. (The lost-wakeup rule itself is tested on the host, `executor/tests`.)
    let start = kernel::time::ticks();
    tasks::run_until(|| kernel::time::ticks() >= start + 3);
    assert!(kernel::time::ticks() >= start + 3);
}

#[test_case]
fn a_task_spawned_from_an_interrupt_handler_runs() {
    let before = kernel::traps::exceptions::breakpoints_handled();
    static RAN: AtomicUsize = AtomicUsize::new(0);
    kernel::traps::exceptions::run_at_next_breakpoint(|| {
        tasks::spawn("from-interrupt", async {
            RAN.fetch_add(1, Ordering::SeqCst);
        })
        .expect("spawn from interrupt context was refused");
    });
    x86_64::instructions::interrupts::int3();
    assert_eq!(kernel::traps::exceptions::breakpoints_handled(), before + 1);
    tasks::run_until(|| RAN.load(Ordering::SeqCst) == 1);
}
