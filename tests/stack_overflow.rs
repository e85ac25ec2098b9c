//! A kernel stack overflow is caught by the kernel's own double-fault handler, running on
//! its IST stack, and reported — not a triple fault (which would reboot and time out).
#![no_std]
#![no_main]

use bootloader::{BootInfo, entry_point};
use kernel::testing;

entry_point!(main);

fn main(boot_info: &'static BootInfo) -> ! {
    kernel::init(boot_info);
    testing::plan(1);
    kernel::serial_println!("test double_fault_is_handled_on_its_own_stack ...");
    testing::expect_fault(kernel::traps::exceptions::ExpectedFault::DoubleFault);
    testing::overflow_the_stack(0);
    panic!("the stack did not overflow");
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    testing::test_panic_handler(info)
}
