//! What `scripts/run` shows: the banner, the memory map, the tick, a few traced tasks
//! sleeping, yielding and finishing on the executor, and a kernel thread's death traced
//! from exit to the freeing of its stack under each reaping strategy.

use core::sync::atomic::{AtomicUsize, Ordering};

use bootloader::BootInfo;
use bootloader::bootinfo::MemoryRegionType;
use kernel::{mm, println, sched, tasks, time, trace};

/// Demo tasks still running.
static DEMO_TASKS_LEFT: AtomicUsize = AtomicUsize::new(0);

pub fn run(boot_info: &'static BootInfo) {
    println!("Lethe {}: an x86_64 kernel where reaping is a future", env!("CARGO_PKG_VERSION"));
    print_memory_map(boot_info);
    println!("{}", mm::meminfo::snapshot());
    println!("timer: {} Hz; TSC {} MHz", time::TICK_HZ, time::tsc_hz() / 1_000_000);

    println!("executor: spawning demo tasks with tracing on");
    tasks::set_tracing(true);
    spawn_demo("heartbeat", heartbeat());
    spawn_demo("sleeper-short", sleeper(5));
    spawn_demo("sleeper-long", sleeper(15));
    spawn_demo("yielder", yielder(3));
    tasks::run_until(|| DEMO_TASKS_LEFT.load(Ordering::Acquire) == 0);
    tasks::set_tracing(false);
    println!(
        "executor: demo tasks done at tick {}; {} task(s) still alive (the keyboard and serial input)",
        time::ticks(),
        tasks::live_tasks()
    );
    reap_a_thread();
}

/// Spawns a kernel thread under each reaping strategy with lifecycle tracing on and waits
/// until it is torn down: by its teardown task, then by the global reaper, then by the
/// per-CPU reaper.
fn reap_a_thread() {
    use sched::reaping::{self, Strategy};
    println!(
        "threads: a kernel thread runs and exits under each reaping strategy; it is freed once off the CPU"
    );
    trace::set_thread_tracing(true);
    for strategy in Strategy::ALL {
        let previous = reaping::set_strategy(strategy);
        let worker = sched::spawn("demo-worker", move || {
            println!("demo-worker: hello from a kernel thread, reaped by the {} strategy", strategy.name())
        })
        .expect("demo: spawn failed");
        reaping::set_strategy(previous);
        sched::block_on(worker.torn_down());
        println!(
            "threads: {}: torn down {} us after exit (printing the trace included)",
            strategy.name(),
            sched::last_exit_to_teardown_cycles() * 1_000_000 / time::tsc_hz().max(1)
        );
    }
    trace::set_thread_tracing(false);
    println!("threads: {} thread(s) exist (boot, idle, reapers)", sched::slots::in_use());
    println!("{}", mm::meminfo::snapshot());
}

fn spawn_demo(name: &'static str, body: impl Future<Output = ()> + Send + 'static) {
    DEMO_TASKS_LEFT.fetch_add(1, Ordering::AcqRel);
    tasks::spawn(name, async move {
        body.await;
        DEMO_TASKS_LEFT.fetch_sub(1, Ordering::AcqRel);
    })
    .expect("demo: spawn failed");
}

async fn heartbeat() {
    for beat in 1..=3 {
        tasks::sleep(10).await;
        println!("tick: heartbeat {beat} at tick {}", time::ticks());
    }
}

async fn sleeper(ticks: u64) {
    let start = time::ticks();
    tasks::sleep(ticks).await;
    println!("sleeper: asked for {ticks} ticks, woke after {}", time::ticks() - start);
}

async fn yielder(times: usize) {
    for _ in 0..times {
        executor::yield_now().await;
    }
    println!("yielder: yielded {times} times");
}

fn print_memory_map(boot_info: &'static BootInfo) {
    let mut usable = 0;
    let mut reserved_ranges = 0;
    let mut in_use = 0;
    for region in boot_info.memory_map.iter() {
        let size = region.range.end_addr() - region.range.start_addr();
        match region.region_type {
            MemoryRegionType::Usable => usable += size,
            MemoryRegionType::Reserved | MemoryRegionType::BadMemory => reserved_ranges += 1,
            _ => in_use += size,
        }
    }
    println!(
        "memory: {} regions; usable {} KiB, used by kernel/bootloader {} KiB, {} reserved ranges",
        boot_info.memory_map.iter().count(),
        usable / 1024,
        in_use / 1024,
        reserved_ranges
    );
}
