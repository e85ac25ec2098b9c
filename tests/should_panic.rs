//! A failed assertion reaches the panic handler, which reports it: the test passes only
//! if the kernel panics.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, Ordering};

use bootloader::{BootInfo, entry_point};
use kernel::testing;

/// Set just before the assertion, so that a panic anywhere else fails the test.
static ASSERTING: AtomicBool = AtomicBool::new(false);

entry_point!(main);

fn main(boot_info: &'static BootInfo) -> ! {
    kernel::init(boot_info);
    testing::plan(1);
    kernel::serial_println!("test a_failed_assertion_panics ...");
    ASSERTING.store(true, Ordering::SeqCst);
    assert_eq!(1, 2, "this assertion fails on purpose");
    kernel::serial_println!("the assertion did not panic");
    testing::finish()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if !ASSERTING.load(Ordering::SeqCst) {
        testing::test_panic_handler(info);
    }
    kernel::serial_println!("panicked as expected: {info}");
    testing::pass("a_failed_assertion_panics");
    testing::finish()
}
