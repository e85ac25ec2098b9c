//! Taking over from the bootloader: the physical window, the kernel root, usable RAM less
//! the page kept for starting application processors, and the heap, mapped with boot-time
//! frames — after which the kernel's frame allocator manages what is left.
//!
//! Invariants: `take_over` runs once, with the `&'static BootInfo` the bootloader passed
//! to the kernel's entry point, which the kernel hands here first thing: its memory map
//! and physical-memory offset are what the rest of this crate trusts (the window maps all
//! of RAM at that offset; usable regions are RAM nothing else uses). The start-up page is
//! cut out of usable RAM before any frame is handed out, so no allocator ever sees it, and
//! is handed out once (`take_start_up_page`).
//!
//! Called from: the kernel's `mm::init`, first thing, on the boot CPU with interrupts off.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bootloader::BootInfo;
use bootloader::bootinfo::MemoryRegionType;
use conquer_once::spin::OnceCell;
use mm::boot_frames::{BootFrames, PhysRange, highest_low_page, without_page};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

use crate::heap::{HEAP_MAX_SIZE, HEAP_START};
use crate::trampoline::StartUpPage;

/// The bootloader's stack, which the boot CPU's first context runs on for good: from
/// `kernel-stack-address` in kernel/Cargo.toml's bootloader table (and stress/Cargo.toml's),
/// whose first page the bootloader leaves unmapped as a guard, `kernel-stack-size` pages.
const BOOT_STACK_GUARD: u64 = 0xffff_ff80_0000_0000;
const BOOT_STACK_PAGES: u64 = 128;
const BOOT_STACK: core::ops::Range<u64> =
    BOOT_STACK_GUARD + mm::PAGE_SIZE..BOOT_STACK_GUARD + (1 + BOOT_STACK_PAGES) * mm::PAGE_SIZE;

static BOOT_INFO: OnceCell<&'static BootInfo> = OnceCell::uninit();
/// The start-up page's physical address; 0 while none is reserved (page 0 never is).
static START_UP_PAGE: AtomicU64 = AtomicU64::new(0);
static START_UP_PAGE_TAKEN: AtomicBool = AtomicBool::new(false);

/// Records where the bootloader mapped physical memory, so that the window (the VGA screen
/// through it, first) works. First thing at boot, before `take_over`; once.
pub fn init_window(boot_info: &'static BootInfo) {
    let mut first = false;
    BOOT_INFO.init_once(|| {
        first = true;
        boot_info
    });
    assert!(first, "boot: the bootloader's information taken twice");
    // This is the bootloader's own BootInfo (module doc).
    // SAFETY: the bootloader maps all physical memory at `physical_memory_offset` (its
    // `map_physical_memory` feature) for the kernel's lifetime.
    unsafe { crate::window::init(boot_info.physical_memory_offset) };
    crate::context::set_first_stack(0, BOOT_STACK);
}

fn boot_info() -> &'static BootInfo {
    BOOT_INFO.get().expect("boot: used before init_window")
}

/// Usable RAM as the bootloader reports it.
pub fn usable_ranges() -> impl Iterator<Item = PhysRange> + Clone + 'static {
    boot_info()
        .memory_map
        .iter()
        .filter(|region| region.region_type == MemoryRegionType::Usable)
        .map(|region| PhysRange { start: region.range.start_addr(), end: region.range.end_addr() })
}

/// Whether any byte of the page at `physical` is RAM the bootloader reported usable.
pub(crate) fn is_usable_ram(physical: u64) -> bool {
    let page = physical & !(mm::PAGE_SIZE - 1);
    usable_ranges().any(|range| range.start < page + mm::PAGE_SIZE && page < range.end)
}

/// What the kernel's frame allocator takes over.
pub struct TakenOver {
    /// Usable RAM not handed out at boot, ascending.
    pub remaining: Vec<PhysRange>,
    /// Frames handed out for the heap and its page tables, never freed.
    pub boot_frames: u64,
}

/// Records the kernel root, keeps the start-up page out of usable RAM, maps `heap_bytes`
/// of heap with frames of the rest and hands them to the global allocator. Once, after
/// `init_window`.
pub fn take_over(heap_bytes: usize) -> TakenOver {
    assert!(heap_bytes <= HEAP_MAX_SIZE, "boot: a heap of {heap_bytes} bytes overruns its range");
    crate::paging::record_kernel_root();
    let page = highest_low_page(usable_ranges());
    match page {
        Some(page) => {
            START_UP_PAGE.store(page, Ordering::Relaxed);
            log::info!("boot: page {page:#x} kept for starting application processors");
        }
        None => log::warn!("boot: no usable page below 1 MiB: application processors cannot be started"),
    }
    let mut frames = BootFrameAllocator(BootFrames::new(without_page(usable_ranges(), page)));
    let window = VirtAddr::new(crate::window::window().offset());
    let root = (window + crate::paging::kernel_root()).as_mut_ptr::<PageTable>();
    // SAFETY: the window maps the root CR3 names; nothing else holds a reference into the
    // page tables at boot, and this handle is dropped before anyone else edits them.
    let mut tables = unsafe { OffsetPageTable::new(&mut *root, window) };
    let first = Page::<Size4KiB>::containing_address(VirtAddr::new(HEAP_START));
    let last = Page::containing_address(VirtAddr::new(HEAP_START + heap_bytes as u64 - 1));
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
    for heap_page in Page::range_inclusive(first, last) {
        let frame = frames.allocate_frame().expect("boot: out of memory while mapping the heap");
        // SAFETY: the heap's range is mapped nowhere else (this is its one mapping, made
        // once), and the frame is usable RAM handed out once.
        unsafe { tables.map_to(heap_page, frame, flags, &mut frames) }
            .expect("boot: heap page already mapped")
            .flush();
    }
    // SAFETY: the range was just mapped writable, for good, and belongs to the heap alone.
    unsafe { crate::heap::init(heap_bytes) };
    let boot_frames = frames.0.handed_out();
    TakenOver { remaining: frames.0.into_remaining().collect(), boot_frames }
}

/// The start-up page, if there is usable RAM below 1 MiB: handed out once (later calls
/// get `None`).
pub fn take_start_up_page() -> Option<StartUpPage> {
    let address = START_UP_PAGE.load(Ordering::Relaxed);
    if address == 0 || START_UP_PAGE_TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: `take_over` cut this page below 1 MiB out of usable RAM before any allocator
    // saw it, so nothing else uses it, and the flag makes this the only `StartUpPage`.
    Some(unsafe { StartUpPage::new(address) })
}

/// Frames for the heap and its page tables during boot: usable RAM, each frame once.
struct BootFrameAllocator<I: Iterator<Item = PhysRange>>(BootFrames<I>);

// SAFETY: `BootFrames` hands out each frame of its ranges once, and those ranges are
// usable RAM that nothing else uses (the start-up page cut out).
unsafe impl<I: Iterator<Item = PhysRange>> FrameAllocator<Size4KiB> for BootFrameAllocator<I> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        self.0.allocate().map(|address| PhysFrame::containing_address(PhysAddr::new(address)))
    }
}
