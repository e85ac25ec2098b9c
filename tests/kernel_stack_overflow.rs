//! Code running on a kernel stack from `mm::stacks` that recurses without end runs into the
//! guard page; the double-fault handler, on its own stack, reports which kernel stack
//! overflowed and who owned it.
#![no_std]
#![no_main]

use bootloader::{BootInfo, entry_point};
use kernel::traps::exceptions::ExpectedFault;
use kernel::{mm::stacks, testing};

entry_point!(main);

fn main(boot_info: &'static BootInfo) -> ! {
    kernel::init(boot_info);
    testing::plan(1);
    kernel::serial_println!("test kernel_stack_overflow_is_reported_with_its_owner ...");
    let stack = stacks::allocate("overflow-test").expect("no kernel stack");
    testing::expect_fault(ExpectedFault::GuardPage);
    kernel::arch::context::run_on_stack(stack, overflow_forever)
}

extern "C" fn overflow_forever() -> ! {
    testing::overflow_the_stack(0);
    panic!("the kernel stack did not overflow");
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    testing::test_panic_handler(info)
}
