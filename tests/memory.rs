//! Memory comes back, exactly: address spaces and kernel stacks churned 10,000 times each
//! leave the frame counts where they started; double frees are reported, not absorbed.
#![no_std]
#![no_main]
#![feature(custom_test_frameworks)]
#![test_runner(kernel::testing::run_tests)]
#![reexport_test_harness_main = "test_main"]

extern crate alloc;

use kernel::mm::{frames::with_frames, kernel_root, meminfo, spaces, stacks, window::window};
use mm::PAGE_SIZE;
use mm::address_space::{AddressSpace, PageAccess};
use mm::frame_allocator::{FrameOwner, FreeError};

kernel::qemu_test_main!();

#[test_case]
fn ten_thousand_address_space_cycles_return_every_frame() {
    const CYCLES: usize = 10_000;
    const PAGES: u64 = 64;
    let before = meminfo::snapshot().held();
    for cycle in 0..CYCLES {
        with_frames(|frames| {
            let mut parent = AddressSpace::new(window(), frames, kernel_root()).expect("out of frames");
            for page in 0..PAGES {
                let address = 0x40_0000 + page * PAGE_SIZE;
                let frame =
                    parent.map_zeroed(window(), frames, address, PageAccess::READ_WRITE).expect("map failed");
                mm::phys::write_byte(window(), frame, 0, cycle as u8);
            }
            let mut child = parent.duplicate(window(), frames).expect("duplicate failed");
            let copied = child.translate(window(), 0x40_0000).expect("child lost a page").frame;
            assert_eq!(mm::phys::read_byte(window(), copied, 0), cycle as u8, "the copy differs");
            assert_eq!(parent.purge(window(), frames).user_pages, PAGES);
            assert_eq!(child.purge(window(), frames).user_pages, PAGES);
            child.free(window(), frames);
            parent.free(window(), frames);
        });
    }
    assert_eq!(meminfo::snapshot().held(), before, "address-space churn changed the counters");
}

#[test_case]
fn ten_thousand_kernel_stack_cycles_return_every_frame() {
    const CYCLES: usize = 10_000;
    let before = meminfo::snapshot().held();
    for _ in 0..CYCLES {
        let stack = stacks::allocate("memory-test").expect("no kernel stack");
        assert_eq!(stacks::in_use(), before.kernel_stacks + 1);
        stacks::free(stack);
    }
    assert_eq!(meminfo::snapshot().held(), before, "kernel-stack churn changed the counters");
}

#[test_case]
fn the_kernel_keeps_running_in_a_fresh_address_space() {
    let before = meminfo::snapshot().held();
    let mut space = spaces::create().expect("out of frames");
    let frame = with_frames(|frames| space.map_zeroed(window(), frames, 0x40_0000, PageAccess::READ_WRITE))
        .expect("map failed");
    mm::phys::write_byte(window(), frame, 0, 0x5a);
    let (user_byte, boxed, ticks) = spaces::run_loaded(&space, || {
        // Its user half is this space's own: the kernel reads the byte back by its address.
        // SAFETY: 0x40_0000 is mapped readable in the space loaded right now, and the read
        // happens inside an explicit user-access window (SMAP).
        let user_byte = kernel::arch::protection::with_user_access(|| unsafe {
            (0x40_0000 as *const u8).read_volatile()
        });
        // Its upper half is the kernel's: heap, console and timer interrupts all work.
        let boxed = alloc::boxed::Box::new(41u64);
        kernel::serial_println!("memory: running with a user address space loaded");
        let start = kernel::time::ticks();
        while kernel::time::ticks() < start + 2 {
            x86_64::instructions::hlt();
        }
        (user_byte, *boxed + 1, kernel::time::ticks() - start)
    });
    assert_eq!(user_byte, 0x5a);
    assert_eq!(boxed, 42);
    assert!(ticks >= 2);
    spaces::destroy(space);
    assert_eq!(meminfo::snapshot().held(), before);
}

#[test_case]
fn a_double_free_is_reported_and_changes_no_count() {
    let frame = with_frames(|frames| frames.allocate(FrameOwner::UserPage)).expect("no frame");
    with_frames(|frames| frames.free(frame, FrameOwner::UserPage)).expect("first free refused");
    let before = meminfo::snapshot().held();
    let second = with_frames(|frames| frames.free(frame, FrameOwner::UserPage));
    assert_eq!(second, Err(FreeError::NotAllocated { address: frame }));
    assert_eq!(meminfo::snapshot().held(), before);
}

#[test_case]
fn meminfo_counts_add_up() {
    let info = meminfo::snapshot();
    let owned: u64 = info.frames.by_owner.iter().sum();
    assert_eq!(info.frames.free + owned, info.frames.total);
    assert!(info.frames.owned_by(FrameOwner::PageTable) > 0, "the stack region's tables are not counted");
    kernel::serial_println!("{info}");
}
