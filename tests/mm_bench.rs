//! Memory benchmarks on QEMU: frame allocate+free, address space create + map 256 pages +
//! purge + free, pool allocate+free and kernel stack allocate+free, each printed as one
//! `bench` line (nanoseconds per operation, operations per second, TSC-timed). Each also
//! checks that memory comes back exactly, so the run can fail; the numbers are for reading,
//! not for asserting.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

use kernel::arch::cpu::read_tsc;
use kernel::mm::{frames::with_frames, kernel_root, meminfo, pool::KernelPool, stacks, window::window};
use mm::PAGE_SIZE;
use mm::address_space::{AddressSpace, PageAccess};
use mm::frame_allocator::FrameOwner;

kernel::qemu_test_main!();

/// Runs `operation` `iterations` times, prints the bench line, and checks meminfo is
/// unchanged afterwards.
fn bench(name: &str, iterations: u64, mut operation: impl FnMut(u64)) {
    operation(0);
    let before = meminfo::snapshot().held();
    let start = read_tsc();
    for iteration in 0..iterations {
        operation(iteration);
    }
    let cycles = read_tsc() - start;
    let nanos = u128::from(cycles) * 1_000_000_000 / u128::from(kernel::time::tsc_hz());
    let nanos_per_op = nanos / u128::from(iterations);
    kernel::serial_println!(
        "bench mm name={name} iterations={iterations} ns_per_op={nanos_per_op} ops_per_second={}",
        u128::from(iterations) * 1_000_000_000 / nanos.max(1)
    );
    assert_eq!(meminfo::snapshot().held(), before, "{name} did not give back what it took");
}

#[test_case]
fn frame_allocate_and_free() {
    bench("frame_alloc_free", 100_000, |_| {
        with_frames(|frames| {
            let frame = frames.allocate(FrameOwner::UserPage).expect("out of frames");
            frames.free(frame, FrameOwner::UserPage).expect("free refused");
        });
    });
}

#[test_case]
fn address_space_create_map_256_purge_free() {
    bench("address_space_map256_purge", 200, |_| {
        with_frames(|frames| {
            let mut space = AddressSpace::new(window(), frames, kernel_root()).expect("out of frames");
            for page in 0..256 {
                space
                    .map_zeroed(window(), frames, 0x40_0000 + page * PAGE_SIZE, PageAccess::READ_WRITE)
                    .expect("map");
            }
            space.purge(window(), frames);
            space.free(window(), frames);
        });
    });
}

struct Thread {
    _words: [u64; 32],
}

static THREADS: KernelPool<Thread> = KernelPool::new("bench-threads");

#[test_case]
fn pool_allocate_and_free() {
    bench("pool_alloc_free", 100_000, |_| {
        drop(THREADS.allocate(Thread { _words: [0; 32] }).expect("pool out of frames"));
    });
}

#[test_case]
fn kernel_stack_allocate_and_free() {
    bench("kernel_stack_alloc_free", 10_000, |_| {
        stacks::free(stacks::allocate("bench").expect("no kernel stack"));
    });
}
