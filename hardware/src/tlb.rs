//! This CPU's TLB: flushing a range of pages, global ones included.
//!
//! Kernel stacks are mapped global (they survive CR3 loads while CR4.PGE is on), so a
//! flush must reach global entries too: page by page with `invlpg`, or — for long ranges —
//! all at once by turning CR4.PGE off and on again, which drops every entry (or, with PGE
//! off, by reloading CR3). Callable from any context.

use core::ops::Range;

use x86_64::VirtAddr;
use x86_64::instructions::tlb;
use x86_64::registers::control::{Cr4, Cr4Flags};

/// Above this many pages one full flush is cheaper than one `invlpg` each.
const PAGE_BY_PAGE_LIMIT: u64 = 32;

/// Flushes every page of `range` (page-aligned or not) from this CPU's TLB.
pub fn flush_pages(range: Range<u64>) {
    let first = range.start & !0xfff;
    let pages = range.end.saturating_sub(first).div_ceil(4096);
    if pages > PAGE_BY_PAGE_LIMIT {
        flush_everything();
        return;
    }
    for page in 0..pages {
        tlb::flush(VirtAddr::new(first + page * 4096));
    }
}

/// Drops every TLB entry of this CPU, global ones included.
fn flush_everything() {
    let flags = Cr4::read();
    if !flags.contains(Cr4Flags::PAGE_GLOBAL) {
        // Without PGE no entry is global, and reloading CR3 drops them all; writing CR4
        // unchanged would drop nothing.
        tlb::flush_all();
        return;
    }
    x86_64::instructions::interrupts::without_interrupts(|| {
        // SAFETY: clearing and restoring PGE changes no translation, it only empties the
        // TLB; interrupts are off so nothing runs between the two writes.
        unsafe {
            Cr4::write(flags - Cr4Flags::PAGE_GLOBAL);
            Cr4::write(flags);
        }
    });
}
