//! Fault injection's counting rule, after Linux's fail_page_alloc and failslab: a
//! `FaultPoint` stands for one kind of allocation and, once armed with a `Plan`, says which
//! of the allocations it is told about must fail.
//!
//! Invariants (checked by the tests in this file):
//! - an armed point numbers the allocations it sees 1, 2, 3, ... from the moment it was
//!   armed, atomically: concurrent callers each get a distinct number;
//! - `Plan::Nth(n)` fails allocation `n` and no other; `Plan::Every(n)` fails allocations
//!   `n`, `2n`, `3n`, ...;
//! - every failure it orders is counted (`Counts::injected`), so a test can assert that the
//!   failure it asked for happened;
//! - a point that is off counts nothing and costs one relaxed load.
//!
//! The kernel decides which allocations a point is told about (which thread, which kind,
//! when); this file only counts. Safe to call from any context: it only touches atomics.

use core::sync::atomic::{AtomicU64, Ordering};

/// Which allocations fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// None: the point is off.
    Off,
    /// Only the `n`th allocation from the moment the point was armed (1 is the first).
    Nth(u64),
    /// The `n`th, `2n`th, ... allocation; `Every(1)` fails them all.
    Every(u64),
}

/// The flag that marks an `Every` plan in its packed form; the rest of the word is `n`.
const EVERY: u64 = 1 << 63;

impl Plan {
    fn pack(self) -> u64 {
        match self {
            Plan::Off | Plan::Nth(0) | Plan::Every(0) => 0,
            Plan::Nth(n) => n & !EVERY,
            Plan::Every(n) => EVERY | (n & !EVERY),
        }
    }

    fn unpack(word: u64) -> Plan {
        match word {
            0 => Plan::Off,
            word if word & EVERY != 0 => Plan::Every(word & !EVERY),
            n => Plan::Nth(n),
        }
    }

    fn fails(self, number: u64) -> bool {
        match self {
            Plan::Off => false,
            Plan::Nth(n) => number == n,
            Plan::Every(n) => number.is_multiple_of(n),
        }
    }
}

/// What an armed point has seen since it was armed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Allocations it was told about.
    pub seen: u64,
    /// Of those, the ones it failed.
    pub injected: u64,
}

/// One kind of allocation that can be made to fail. Declare one as a `static`.
pub struct FaultPoint {
    plan: AtomicU64,
    seen: AtomicU64,
    injected: AtomicU64,
}

impl Default for FaultPoint {
    fn default() -> Self {
        Self::new()
    }
}

impl FaultPoint {
    pub const fn new() -> Self {
        Self { plan: AtomicU64::new(0), seen: AtomicU64::new(0), injected: AtomicU64::new(0) }
    }

    /// Starts counting afresh under `plan`. Arm while no allocation of the kind is being
    /// told about, or that allocation may be counted under either plan.
    pub fn arm(&self, plan: Plan) {
        self.plan.store(0, Ordering::SeqCst);
        self.seen.store(0, Ordering::SeqCst);
        self.injected.store(0, Ordering::SeqCst);
        self.plan.store(plan.pack(), Ordering::SeqCst);
    }

    /// Turns the point off and returns what it saw while armed.
    pub fn disarm(&self) -> Counts {
        self.plan.store(0, Ordering::SeqCst);
        self.counts()
    }

    /// What the point has seen since it was armed.
    pub fn counts(&self) -> Counts {
        Counts { seen: self.seen.load(Ordering::SeqCst), injected: self.injected.load(Ordering::SeqCst) }
    }

    /// The plan it is armed with.
    pub fn plan(&self) -> Plan {
        Plan::unpack(self.plan.load(Ordering::Relaxed))
    }

    /// Counts one allocation and says whether it must fail.
    pub fn should_fail(&self) -> bool {
        let plan = self.plan();
        if plan == Plan::Off {
            return false;
        }
        let number = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let fails = plan.fails(number);
        if fails {
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
        fails
    }
}

/// Why a boot option's entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Not `KIND:N` or `KIND:every:N`.
    Malformed,
    /// `N` is not a positive number.
    BadCount,
}

/// Reads one entry of a fault-injection option: `KIND:N` fails the `N`th allocation of
/// `KIND`, `KIND:every:N` every `N`th. Returns the kind's name, for the caller to look up.
pub fn parse_entry(entry: &str) -> Result<(&str, Plan), ParseError> {
    let mut parts = entry.trim().split(':');
    let kind = parts.next().filter(|kind| !kind.is_empty()).ok_or(ParseError::Malformed)?;
    let count = |text: &str| text.parse::<u64>().ok().filter(|&n| n > 0 && n & EVERY == 0);
    let plan = match (parts.next(), parts.next(), parts.next()) {
        (Some("every"), Some(n), None) => Plan::Every(count(n).ok_or(ParseError::BadCount)?),
        (Some(n), None, None) => Plan::Nth(count(n).ok_or(ParseError::BadCount)?),
        _ => return Err(ParseError::Malformed),
    };
    Ok((kind, plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tells `point` about `calls` allocations; returns the numbers of those it failed.
    fn failed_numbers(point: &FaultPoint, calls: u64) -> Vec<u64> {
        (1..=calls).filter(|_| point.should_fail()).collect()
    }

    #[test]
    fn nth_fails_only_allocation_n_counted_from_arming() {
        let point = FaultPoint::new();
        assert!(failed_numbers(&point, 5).is_empty(), "an unarmed point failed an allocation");
        point.arm(Plan::Nth(3));
        assert_eq!(failed_numbers(&point, 10), [3]);
        assert_eq!(point.counts(), Counts { seen: 10, injected: 1 });
        point.arm(Plan::Nth(1));
        assert!(point.should_fail(), "re-arming did not restart the count");
    }

    #[test]
    fn every_n_fails_each_multiple_of_n() {
        let point = FaultPoint::new();
        point.arm(Plan::Every(3));
        assert_eq!(failed_numbers(&point, 10), [3, 6, 9]);
        point.arm(Plan::Every(1));
        assert_eq!(failed_numbers(&point, 4), [1, 2, 3, 4]);
    }

    #[test]
    fn an_off_point_counts_nothing_and_disarm_keeps_the_counts() {
        let point = FaultPoint::new();
        point.arm(Plan::Nth(2));
        point.should_fail();
        point.should_fail();
        assert_eq!(point.disarm(), Counts { seen: 2, injected: 1 });
        assert!(!point.should_fail());
        assert_eq!(point.counts(), Counts { seen: 2, injected: 1 });
        assert_eq!(point.plan(), Plan::Off);
    }

    #[test]
    fn concurrent_callers_get_distinct_numbers_so_nth_fails_exactly_once() {
        let point = std::sync::Arc::new(FaultPoint::new());
        point.arm(Plan::Nth(500));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let point = point.clone();
                std::thread::spawn(move || (0..250).filter(|_| point.should_fail()).count())
            })
            .collect();
        let failed: usize = threads.into_iter().map(|thread| thread.join().unwrap()).sum();
        assert_eq!(failed, 1);
        assert_eq!(point.counts(), Counts { seen: 1000, injected: 1 });
    }

    #[test]
    fn boot_option_entries_parse_or_are_refused_by_name() {
        assert_eq!(parse_entry("frame:7"), Ok(("frame", Plan::Nth(7))));
        assert_eq!(parse_entry(" pool:every:2 "), Ok(("pool", Plan::Every(2))));
        assert_eq!(parse_entry("frame:0"), Err(ParseError::BadCount));
        assert_eq!(parse_entry("frame:every:x"), Err(ParseError::BadCount));
        assert_eq!(parse_entry("frame"), Err(ParseError::Malformed));
        assert_eq!(parse_entry(":3"), Err(ParseError::Malformed));
        assert_eq!(parse_entry("frame:every:2:3"), Err(ParseError::Malformed));
        assert_eq!(parse_entry("frame:sometimes:2"), Err(ParseError::Malformed));
    }
}
