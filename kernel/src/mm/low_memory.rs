//! The start-up page: the one page below 1 MiB where application processors begin
//! (`arch::smp`). A start-up IPI names a 4 KiB page below 1 MiB by its page number, and the
//! CPU it wakes runs in real mode from there.
//!
//! Invariants: `reserve_start_up_page` takes the highest whole usable page below 1 MiB out of
//! usable RAM before the boot allocator and the frame allocator see it, so no allocator ever
//! hands it out; it stays the kernel's for good. The page is mapped at its own physical
//! address in the kernel root only while an `IdentityMapping` lives: the kernel uses nothing
//! in the kernel root's lower half (the bootloader's identity mapping of its own low memory
//! is still there, and the start-up page lies outside it), and user address spaces never
//! see the kernel root's lower half.
//!
//! Called from: `mm::init` (`reserve_start_up_page`); `arch::smp` on the boot CPU during
//! bring-up (`take_start_up_page` once, `identity_map`).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use hardware::trampoline::StartUpPage;

use mm::PAGE_SIZE;
use mm::boot_frames::PhysRange;
use x86_64::structures::paging::{Mapper, Page, PageTableFlags, PhysFrame, Size4KiB};
use x86_64::{PhysAddr, VirtAddr};

use super::paging::edit_kernel_root;

/// Real mode reaches the first MiB only.
const REAL_MODE_LIMIT: u64 = 0x10_0000;

/// The start-up page's physical address; 0 while none is reserved (page 0 never is).
static START_UP_PAGE: AtomicU64 = AtomicU64::new(0);
/// Whether `take_start_up_page` has handed the page out.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// The highest whole page of `ranges` below 1 MiB, other than page 0.
fn highest_low_page(ranges: impl Iterator<Item = PhysRange>) -> Option<u64> {
    ranges
        .filter_map(|range| {
            let first = range.start.next_multiple_of(PAGE_SIZE).max(PAGE_SIZE);
            let end = range.end.min(REAL_MODE_LIMIT) & !(PAGE_SIZE - 1);
            (end >= first + PAGE_SIZE).then(|| end - PAGE_SIZE)
        })
        .max()
}

/// `ranges` (usable RAM, ascending) with the start-up page cut out; records that page.
pub(super) fn reserve_start_up_page<I>(ranges: I) -> impl Iterator<Item = PhysRange>
where
    I: Iterator<Item = PhysRange> + Clone,
{
    let page = highest_low_page(ranges.clone());
    match page {
        Some(page) => {
            START_UP_PAGE.store(page, Ordering::Relaxed);
            log::info!("mm: page {page:#x} kept for starting application processors");
        }
        None => log::warn!("mm: no usable page below 1 MiB: application processors cannot be started"),
    }
    without_page(ranges, page)
}

/// `ranges` with the page at `page`, if any, cut out.
fn without_page(
    ranges: impl Iterator<Item = PhysRange>,
    page: Option<u64>,
) -> impl Iterator<Item = PhysRange> {
    ranges.flat_map(move |range| {
        let pieces = match page {
            Some(page) if (range.start..range.end).contains(&page) => [
                PhysRange { start: range.start, end: page },
                PhysRange { start: page + PAGE_SIZE, end: range.end },
            ],
            _ => [range, PhysRange { start: range.end, end: range.end }],
        };
        pieces.into_iter().filter(|piece| piece.end > piece.start)
    })
}

/// The start-up page, if there is usable RAM below 1 MiB: handed out once (later calls
/// get `None`).
pub fn take_start_up_page() -> Option<StartUpPage> {
    let address = START_UP_PAGE.load(Ordering::Relaxed);
    if address == 0 || TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: `reserve_start_up_page` took this page below 1 MiB out of usable RAM before
    // any allocator saw it, so nothing else uses it, and `TAKEN` makes this the only
    // `StartUpPage` for it.
    Some(unsafe { StartUpPage::new(address) })
}

/// The start-up page mapped at its own address in the kernel root; unmapped on drop.
pub struct IdentityMapping {
    page: Page<Size4KiB>,
}

/// Maps the start-up page at its own physical address in the kernel root, writable and
/// executable, until the returned guard is dropped.
pub fn identity_map(start_up_page: &StartUpPage) -> IdentityMapping {
    let address = start_up_page.physical();
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(address));
    let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(address));
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
    edit_kernel_root(|tables, table_frames| {
        // SAFETY: the page is the start-up page, which no allocator hands out, mapped at its
        // own address in the kernel root's lower half, where the kernel keeps nothing.
        unsafe { tables.map_to(page, frame, flags, table_frames) }
            .expect("mm: the start-up page is mapped in the kernel root already")
            .flush();
    });
    IdentityMapping { page }
}

impl Drop for IdentityMapping {
    fn drop(&mut self) {
        edit_kernel_root(|tables, _| {
            tables.unmap(self.page).expect("mm: the start-up page's identity mapping vanished").1.flush();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test_case]
    fn the_start_up_page_is_the_highest_usable_page_below_one_mib() {
        let ranges =
            [PhysRange { start: 0x9d000, end: 0x9f800 }, PhysRange { start: 0x10_0000, end: 0x40_0000 }];
        assert_eq!(highest_low_page(ranges.iter().copied()), Some(0x9e000));
        assert_eq!(highest_low_page([PhysRange { start: 0x10_0000, end: 0x20_0000 }].into_iter()), None);
    }

    #[test_case]
    fn the_start_up_page_is_cut_out_of_usable_ram() {
        let ranges =
            [PhysRange { start: 0x9d000, end: 0x9f000 }, PhysRange { start: 0x10_0000, end: 0x40_0000 }];
        let left: alloc::vec::Vec<PhysRange> = without_page(ranges.iter().copied(), Some(0x9e000)).collect();
        assert_eq!(
            left,
            [PhysRange { start: 0x9d000, end: 0x9e000 }, PhysRange { start: 0x10_0000, end: 0x40_0000 }]
        );
    }
}
