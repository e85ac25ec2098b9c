//! The ranges of an address space reserved without being mapped (PROT_NONE mappings),
//! which no page table shows: a sorted set of disjoint ranges.
//!
//! Invariants (checked by the proptest in this file against a set of single addresses):
//! - the ranges are sorted, non-empty, disjoint and never adjacent (touching ranges merge),
//!   so the set holds as few ranges as the reserved addresses allow;
//! - a query costs a binary search and a change a shift of the ranges after it: what is
//!   reserved (the number of ranges), never the length of the range asked;
//! - a change never allocates: `insert` and `remove` each need room for one more range,
//!   which the caller reserves beforehand (`would_allocate`, `try_reserve`), so the kernel
//!   can make that reservation fallible and fail it on purpose; without the room a change
//!   that needs it is refused and nothing changes.
//!
//! Plain data: the owner's lock guards it; callable from any context but the switch path
//! (dropping a set frees its storage).

use alloc::collections::TryReserveError;
use alloc::vec::Vec;
use core::ops::Range;

/// A change needed room for one more range and found none (`try_reserve` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom;

/// Reserved ranges, sorted, disjoint, never adjacent.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReservedRanges {
    ranges: Vec<Range<u64>>,
}

impl ReservedRanges {
    pub const fn new() -> Self {
        ReservedRanges { ranges: Vec::new() }
    }

    /// How many ranges the set holds.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.ranges.iter().cloned()
    }

    /// Whether room for `additional` more ranges would take an allocation.
    pub fn would_allocate(&self, additional: usize) -> bool {
        self.ranges.capacity() - self.ranges.len() < additional
    }

    /// Makes room for `additional` more ranges (amortized growth).
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), TryReserveError> {
        self.ranges.try_reserve(additional)
    }

    /// Makes room for exactly `additional` more ranges.
    pub fn try_reserve_exact(&mut self, additional: usize) -> Result<(), TryReserveError> {
        self.ranges.try_reserve_exact(additional)
    }

    /// The index of the first range ending after `address`.
    fn first_ending_after(&self, address: u64) -> usize {
        self.ranges.partition_point(|range| range.end <= address)
    }

    /// Whether any address of `range` is reserved.
    pub fn overlaps(&self, range: Range<u64>) -> bool {
        range.start < range.end
            && self
                .ranges
                .get(self.first_ending_after(range.start))
                .is_some_and(|found| found.start < range.end)
    }

    /// The reserved range holding `address`, if any.
    pub fn containing(&self, address: u64) -> Option<Range<u64>> {
        self.ranges.get(self.first_ending_after(address)).filter(|found| found.start <= address).cloned()
    }

    /// The highest reserved range that meets `range`, if any.
    pub fn highest_overlapping(&self, range: Range<u64>) -> Option<Range<u64>> {
        if range.start >= range.end {
            return None;
        }
        let after = self.ranges.partition_point(|found| found.start < range.end);
        after.checked_sub(1).map(|index| self.ranges[index].clone()).filter(|found| found.end > range.start)
    }

    /// Reserves every address of `range`, merging it with the ranges it meets or touches.
    /// Needs room for one more range when it meets none.
    pub fn insert(&mut self, range: Range<u64>) -> Result<(), NoRoom> {
        if range.start >= range.end {
            return Ok(());
        }
        let first = self.ranges.partition_point(|found| found.end < range.start);
        let after = self.ranges.partition_point(|found| found.start <= range.end);
        if first == after {
            if self.would_allocate(1) {
                return Err(NoRoom);
            }
            self.ranges.insert(first, range);
            return Ok(());
        }
        let merged = range.start.min(self.ranges[first].start)..range.end.max(self.ranges[after - 1].end);
        self.ranges[first] = merged;
        self.ranges.drain(first + 1..after);
        Ok(())
    }

    /// Releases every address of `range`, trimming or splitting the ranges it meets.
    /// Needs room for one more range when it splits one in two.
    pub fn remove(&mut self, range: Range<u64>) -> Result<(), NoRoom> {
        if range.start >= range.end {
            return Ok(());
        }
        let first = self.first_ending_after(range.start);
        let after = self.ranges.partition_point(|found| found.start < range.end);
        if first >= after {
            return Ok(());
        }
        let below = self.ranges[first].start..range.start;
        let above = range.end..self.ranges[after - 1].end;
        let survivors = [below, above].into_iter().filter(|survivor| survivor.start < survivor.end);
        let met = after - first;
        if survivors.clone().count() > met && self.would_allocate(1) {
            return Err(NoRoom);
        }
        let mut kept = 0;
        for survivor in survivors {
            if kept < met {
                self.ranges[first + kept] = survivor;
            } else {
                self.ranges.insert(first + kept, survivor);
            }
            kept += 1;
        }
        if kept < met {
            self.ranges.drain(first + kept..after);
        }
        Ok(())
    }

    /// Makes `target` a copy of this set; `target`'s room must hold every range.
    pub fn copy_into(&self, target: &mut ReservedRanges) -> Result<(), NoRoom> {
        if target.ranges.capacity() < self.ranges.len() {
            return Err(NoRoom);
        }
        target.ranges.clear();
        target.ranges.extend_from_slice(&self.ranges);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use proptest::prelude::*;

    /// Addresses 0..UNIVERSE, so that ranges meet often.
    const UNIVERSE: u64 = 48;

    fn check_invariants(set: &ReservedRanges) {
        for range in &set.ranges {
            assert!(range.start < range.end, "empty range in {set:?}");
        }
        for pair in set.ranges.windows(2) {
            assert!(pair[0].end < pair[1].start, "ranges out of order, overlapping or adjacent: {set:?}");
        }
    }

    fn addresses(set: &ReservedRanges) -> BTreeSet<u64> {
        set.iter().flatten().collect()
    }

    #[derive(Debug, Clone)]
    enum Operation {
        Insert(Range<u64>),
        Remove(Range<u64>),
        /// Makes room for one more range, or gives up all spare room.
        Room(bool),
    }

    fn range() -> impl Strategy<Value = Range<u64>> {
        (0..UNIVERSE, 0..12u64).prop_map(|(start, length)| start..(start + length).min(UNIVERSE))
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            range().prop_map(Operation::Insert),
            range().prop_map(Operation::Remove),
            any::<bool>().prop_map(Operation::Room),
        ]
    }

    proptest! {
        #[test]
        fn the_set_holds_exactly_the_addresses_a_model_holds_and_changes_without_room_change_nothing(
            operations in proptest::collection::vec(operation(), 1..120)
        ) {
            let mut set = ReservedRanges::new();
            let mut model = BTreeSet::new();
            for operation in operations {
                let before = set.ranges.clone();
                let capacity = set.ranges.capacity();
                let result = match operation.clone() {
                    Operation::Insert(range) => set.insert(range.clone()).map(|()| model.extend(range)),
                    Operation::Remove(range) => set.remove(range.clone()).map(|()| range.for_each(|a| { model.remove(&a); })),
                    Operation::Room(true) => { set.try_reserve(1).unwrap(); Ok(()) }
                    Operation::Room(false) => { set.ranges.shrink_to_fit(); Ok(()) }
                };
                check_invariants(&set);
                if result.is_err() {
                    prop_assert_eq!(&set.ranges, &before, "a refused {:?} changed the set", operation);
                    prop_assert!(set.would_allocate(1));
                }
                if !matches!(operation, Operation::Room(_)) {
                    prop_assert_eq!(set.ranges.capacity(), capacity, "{:?} allocated", operation);
                }
                prop_assert_eq!(addresses(&set), model.clone());
            }
        }

        #[test]
        fn queries_answer_as_the_model_does(
            inserted in proptest::collection::vec(range(), 0..12),
            removed in proptest::collection::vec(range(), 0..12),
            asked in range(),
        ) {
            let mut set = ReservedRanges::new();
            let mut model = BTreeSet::new();
            for range in inserted {
                set.try_reserve(1).unwrap();
                set.insert(range.clone()).unwrap();
                model.extend(range);
            }
            for range in removed {
                set.try_reserve(1).unwrap();
                set.remove(range.clone()).unwrap();
                range.for_each(|a| { model.remove(&a); });
            }
            let met: Vec<u64> = asked.clone().filter(|a| model.contains(a)).collect();
            prop_assert_eq!(set.overlaps(asked.clone()), !met.is_empty());
            let highest = set.highest_overlapping(asked.clone());
            match met.last() {
                None => prop_assert_eq!(highest, None),
                Some(&top) => {
                    let highest = highest.unwrap();
                    prop_assert!(highest.contains(&top));
                    prop_assert_eq!(set.containing(top), Some(highest));
                }
            }
            for address in 0..UNIVERSE {
                let containing = set.containing(address);
                prop_assert_eq!(containing.is_some(), model.contains(&address));
                if let Some(found) = containing {
                    prop_assert!(found.clone().all(|a| model.contains(&a)));
                    prop_assert!(found.start == 0 || !model.contains(&(found.start - 1)));
                    prop_assert!(!model.contains(&found.end));
                }
            }
            let mut copy = ReservedRanges::new();
            prop_assert_eq!(set.copy_into(&mut copy).is_err(), !set.is_empty());
            copy.try_reserve_exact(set.len()).unwrap();
            set.copy_into(&mut copy).unwrap();
            prop_assert_eq!(copy, set);
        }
    }

    #[test]
    fn removing_the_middle_of_a_range_splits_it_and_needs_room() {
        let mut set = ReservedRanges::new();
        set.try_reserve_exact(1).unwrap();
        set.insert(10..20).unwrap();
        assert_eq!(set.remove(12..14), Err(NoRoom));
        assert_eq!(set.containing(10), Some(10..20));
        assert_eq!(set.len(), 1);
        assert_eq!(set.remove(10..12), Ok(()), "trimming needs no room");
        set.try_reserve(1).unwrap();
        assert_eq!(set.remove(14..16), Ok(()));
        assert_eq!(set.iter().collect::<Vec<_>>(), [12..14, 16..20]);
    }

    #[test]
    fn touching_ranges_merge_without_room() {
        let mut set = ReservedRanges::new();
        set.try_reserve_exact(2).unwrap();
        set.insert(0..4).unwrap();
        set.insert(8..12).unwrap();
        assert!(set.would_allocate(1));
        assert_eq!(set.insert(4..8), Ok(()));
        assert_eq!(set.containing(0), Some(0..12));
        assert_eq!(set.len(), 1);
    }
}
