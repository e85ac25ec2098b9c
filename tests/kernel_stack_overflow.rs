//! Code running on a kernel stack from `mm::stacks` that recurses without end runs into the
//! guard page; the double-fault handler, on its own stack, reports which kernel stack
//! overflowed and who owned it.
#![no_std]
#![no_main]

use bootloader::{BootInfo, entry_point};
use kernel::arch::exceptions::{ExpectedFault, expect_fault};
use kernel::{mm::stacks, testing};

entry_point!(main);

fn main(boot_info: &'static BootInfo) -> ! {
    kernel::init(boot_info);
    testing::plan(1);
    kernel::serial_println!("test kernel_stack_overflow_is_reported_with_its_owner ...");
    let stack = stacks::allocate("overflow-test").expect("no kernel stack");
    expect_fault(ExpectedFault::GuardPage);
    stacks::run_on_stack(stack, overflow_forever)
}

extern "C" fn overflow_forever() -> ! {
    recurse(0);
    panic!("the kernel stack did not overflow");
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    // `black_box` keeps the frame alive and the recursion from being turned into a loop.
    let frame = [depth; 8];
    recurse(depth + 1) + core::hint::black_box(frame)[7]
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    testing::test_panic_handler(info)
}
