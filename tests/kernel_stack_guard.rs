//! A write just below a kernel stack lands in its guard page and is caught: the page-fault
//! handler reports it as that stack's overflow, naming the stack's owner.
#![no_std]
#![no_main]

use bootloader::{BootInfo, entry_point};
use kernel::traps::exceptions::ExpectedFault;
use kernel::{mm::stacks, testing};

entry_point!(main);

fn main(boot_info: &'static BootInfo) -> ! {
    kernel::init(boot_info);
    testing::plan(1);
    kernel::serial_println!("test guard_page_write_is_caught_and_reported ...");
    let stack = stacks::allocate("guard-test").expect("no kernel stack");
    let guard = (stack.bottom() - 8) as *mut u64;
    testing::expect_fault(ExpectedFault::GuardPage);
    // SAFETY: not safe on purpose: the address is in the unmapped guard page, and the page
    // fault handler ends the test when it sees the fault it was told to expect.
    unsafe { guard.write_volatile(0x5eed) };
    panic!("the write to the guard page at {guard:p} did not fault");
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    testing::test_panic_handler(info)
}
