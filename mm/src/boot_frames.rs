//! Boot-time frame source: hands out each 4 KiB frame of the usable RAM regions once, in
//! address order, in O(1) per frame. It never takes a frame back; what it handed out is
//! reported by `handed_out`, so the allocator that replaces it can start after those.

use crate::PAGE_SIZE;

/// A range of usable physical memory, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhysRange {
    pub start: u64,
    pub end: u64,
}

/// Hands out the frames of a list of usable ranges, lowest first.
pub struct BootFrames<I: Iterator<Item = PhysRange>> {
    ranges: I,
    /// Next frame to hand out and the end of the range it lies in.
    next: u64,
    end: u64,
    handed_out: u64,
}

impl<I: Iterator<Item = PhysRange>> BootFrames<I> {
    /// `ranges` must be in ascending order and must not overlap.
    pub fn new(ranges: I) -> Self {
        Self { ranges, next: 0, end: 0, handed_out: 0 }
    }

    /// The physical address of a fresh frame, or `None` when usable RAM is exhausted.
    pub fn allocate(&mut self) -> Option<u64> {
        while self.end.saturating_sub(self.next) < PAGE_SIZE {
            let range = self.ranges.next()?;
            self.next = range.start.next_multiple_of(PAGE_SIZE);
            self.end = range.end & !(PAGE_SIZE - 1);
        }
        let frame = self.next;
        self.next += PAGE_SIZE;
        self.handed_out += 1;
        Some(frame)
    }

    /// How many frames have been handed out.
    pub fn handed_out(&self) -> u64 {
        self.handed_out
    }

    /// The frames never handed out, as ranges: what the real allocator takes over.
    pub fn into_remaining(self) -> impl Iterator<Item = PhysRange> {
        let current = PhysRange { start: self.next, end: self.end };
        core::iter::once(current).filter(|range| range.end > range.start).chain(self.ranges)
    }
}

/// Real mode reaches the first MiB only: the start-up page of application processors lies
/// below it.
pub const REAL_MODE_LIMIT: u64 = 0x10_0000;

/// The highest whole page of `ranges` below 1 MiB, other than page 0: where application
/// processors can start (a start-up IPI names a page below 1 MiB).
pub fn highest_low_page(ranges: impl Iterator<Item = PhysRange>) -> Option<u64> {
    ranges
        .filter_map(|range| {
            let first = range.start.next_multiple_of(PAGE_SIZE).max(PAGE_SIZE);
            let end = range.end.min(REAL_MODE_LIMIT) & !(PAGE_SIZE - 1);
            (end >= first + PAGE_SIZE).then(|| end - PAGE_SIZE)
        })
        .max()
}

/// `ranges` with the page at `page`, if any, cut out.
pub fn without_page(
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn drain(ranges: &[PhysRange]) -> Vec<u64> {
        let mut frames = BootFrames::new(ranges.iter().copied());
        core::iter::from_fn(|| frames.allocate()).collect()
    }

    #[test]
    fn partial_frames_at_range_edges_are_skipped() {
        let frames = drain(&[PhysRange { start: 0x1800, end: 0x4800 }]);
        assert_eq!(frames, [0x2000, 0x3000]);
    }

    #[test]
    fn the_remaining_ranges_hold_exactly_the_frames_not_handed_out() {
        let ranges = [PhysRange { start: 0x1000, end: 0x4000 }, PhysRange { start: 0x10000, end: 0x12000 }];
        let mut frames = BootFrames::new(ranges.iter().copied());
        assert_eq!(frames.allocate(), Some(0x1000));
        let rest: Vec<PhysRange> = frames.into_remaining().collect();
        assert_eq!(
            rest,
            [PhysRange { start: 0x2000, end: 0x4000 }, PhysRange { start: 0x10000, end: 0x12000 }]
        );
    }

    #[test]
    fn a_range_smaller_than_a_frame_gives_nothing() {
        assert!(drain(&[PhysRange { start: 0x1000, end: 0x1fff }]).is_empty());
    }

    proptest! {
        #[test]
        fn every_whole_frame_is_handed_out_once_and_nothing_else(
            raw in proptest::collection::vec((0u64..64, 0u64..16 * PAGE_SIZE), 0..8)
        ) {
            // Build ascending, disjoint ranges from (gap, length) pairs.
            let mut ranges = Vec::new();
            let mut cursor = 0;
            for (gap_pages, length) in raw {
                let start = cursor + gap_pages * 1000;
                ranges.push(PhysRange { start, end: start + length });
                cursor = start + length;
            }
            let frames = drain(&ranges);
            let expected: Vec<u64> = ranges
                .iter()
                .flat_map(|r| (r.start.next_multiple_of(PAGE_SIZE)..(r.end & !(PAGE_SIZE - 1))).step_by(PAGE_SIZE as usize))
                .collect();
            prop_assert_eq!(frames, expected);
        }
    }

    #[test]
    fn the_start_up_page_is_the_highest_usable_page_below_one_mib() {
        let ranges =
            [PhysRange { start: 0x9d000, end: 0x9f800 }, PhysRange { start: 0x10_0000, end: 0x40_0000 }];
        assert_eq!(highest_low_page(ranges.iter().copied()), Some(0x9e000));
        assert_eq!(highest_low_page([PhysRange { start: 0x10_0000, end: 0x20_0000 }].into_iter()), None);
        assert_eq!(highest_low_page([PhysRange { start: 0, end: 0x1000 }].into_iter()), None, "never page 0");
    }

    #[test]
    fn the_start_up_page_is_cut_out_of_usable_ram() {
        let ranges =
            [PhysRange { start: 0x9d000, end: 0x9f000 }, PhysRange { start: 0x10_0000, end: 0x40_0000 }];
        let left: Vec<PhysRange> = without_page(ranges.iter().copied(), Some(0x9e000)).collect();
        assert_eq!(
            left,
            [PhysRange { start: 0x9d000, end: 0x9e000 }, PhysRange { start: 0x10_0000, end: 0x40_0000 }]
        );
        let untouched: Vec<PhysRange> = without_page(ranges.iter().copied(), None).collect();
        assert_eq!(untouched, ranges);
    }
}
