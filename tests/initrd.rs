//! The built-in initial ramdisk holds `/init` and the other user programs, each a static
//! ELF executable that plans into the user half.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

kernel::qemu_test_main!();

/// Where programs must end: below the mapping area, where the stack grows (exec's limit).
const PROGRAM_LIMIT: u64 = kernel::process::memory::MMAP_TOP;

#[test_case]
fn the_built_in_ramdisk_has_an_init_that_can_be_loaded() {
    let init = kernel::initrd::find("/init").expect("ramdisk unreadable").expect("no /init");
    let plan = loader::elf_plan::plan(init, PROGRAM_LIMIT).expect("/init cannot be loaded");
    assert!(plan.entry < PROGRAM_LIMIT);
    assert!(plan.segments.iter().any(|segment| segment.executable));
}

#[test_case]
fn every_program_in_the_ramdisk_is_a_loadable_executable() {
    let archive = kernel::initrd::archive().expect("ramdisk unusable");
    let entries = loader::cpio::entries(archive).expect("ramdisk unreadable");
    assert!(entries.len() >= 2, "the ramdisk lost programs: {entries:?}");
    for entry in entries.iter().filter(|entry| entry.is_regular_file()) {
        if let Err(error) = loader::elf_plan::plan(entry.data, PROGRAM_LIMIT) {
            panic!("{} cannot be loaded: {error}", entry.name);
        }
    }
}
