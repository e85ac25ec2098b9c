//! Fault injection: makes the Nth allocation of a kind fail, as Linux's fail_page_alloc
//! and failslab do, so that tests can walk every failure path of a system call.
//!
//! Kinds (`Kind`), each with its own `mm::fault_injection::FaultPoint`, and where each is
//! asked:
//! - `frame`: every physical frame (`mm::frame_allocator`'s refusal hook, so page tables,
//!   user pages, pool pages and stack frames alike);
//! - `pool`: every pool object (`mm::pool::KernelPool`);
//! - `heap`: the kernel's *fallible* heap allocations only — `try_reserve`,
//!   `try_reserve_exact`, `try_arc` and `try_box` through this module (the reservations
//!   only when they would really allocate).
//!   Rust's infallible `Box::new`/`Vec::push` end in the alloc error handler on a null
//!   return, so failing those would turn injection into panics; instead every global
//!   allocator call made in scope is counted (`Report::heap_calls`), never failed, which is
//!   how tests check that a path (exit, R3) does not allocate at all;
//! - `stack`: kernel stacks (`mm::stacks::allocate`);
//! - `slot`: thread slots (`sched::slots::claim`).
//!
//! Scope: armed plans apply to one thread at a time, or to every thread. `Scope::NextSystemCall`
//! waits for the next system call of that number by any user thread and applies to that
//! thread for the length of the call (or for good, for a call that does not return, such as
//! `exit`): allocations made meanwhile by other threads, other CPUs or the created child are
//! not counted, so the sweep over a call's allocations is deterministic.
//!
//! Cost when off: the hooks read one atomic (`SCOPE`), relaxed. Arm and disarm only while
//! nothing else arms (tests run one at a time; the boot option is read before `/init`).
//!
//! Boot option `opt/lethe/fault`: entries `KIND:N` (fail the Nth allocation of KIND from
//! the start of `/init`) or `KIND:every:N` (every Nth), for every thread, separated by
//! spaces (or commas, which QEMU's `-fw_cfg` wants doubled); e.g.
//! `-fw_cfg "name=opt/lethe/fault,string=frame:every:50 pool:3"`. An unknown kind or a
//! malformed entry is logged and skipped.
//!
//! The hooks may be called from any context, locks held or not: they touch atomics and read
//! the current thread under its CPU's `current` lock, which no allocation is made under.
//! That read goes through the hook `sched::init` sets (`set_current_thread`), since this
//! module lies below the scheduler; until it is set no thread runs, and only a plan for
//! every thread applies.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use mm::fault_injection::FaultPoint;
pub use mm::fault_injection::{Counts, Plan};

/// A kind of allocation that can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Frame,
    Pool,
    Heap,
    Stack,
    ThreadSlot,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Frame, Kind::Pool, Kind::Heap, Kind::Stack, Kind::ThreadSlot];

    /// The kind's name in the boot option and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Frame => "frame",
            Kind::Pool => "pool",
            Kind::Heap => "heap",
            Kind::Stack => "stack",
            Kind::ThreadSlot => "slot",
        }
    }

    fn point(self) -> &'static FaultPoint {
        &POINTS[self as usize]
    }
}

static POINTS: [FaultPoint; Kind::ALL.len()] = [const { FaultPoint::new() }; Kind::ALL.len()];

/// No thread is in scope: every hook returns at once.
const NOBODY: u64 = 0;
/// Every thread is in scope.
const EVERYONE: u64 = u64::MAX;
/// The thread whose allocations the armed points are told about (its id), or one of the
/// two values above.
static SCOPE: AtomicU64 = AtomicU64::new(NOBODY);
/// The system call whose next caller comes into scope, plus one; 0: none awaited.
static TRIGGER: AtomicU64 = AtomicU64::new(0);
/// Global allocator calls made in scope since arming.
static HEAP_CALLS: AtomicU64 = AtomicU64::new(0);
/// Whether a thread came into scope since arming.
static ENTERED: AtomicBool = AtomicBool::new(false);

/// Which threads armed plans apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every thread, from now on.
    EveryThread,
    /// The thread making the next system call numbered so, from its entry to its return.
    NextSystemCall(u64),
}

/// What happened while armed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Per kind, in `Kind::ALL`'s order.
    pub counts: [Counts; Kind::ALL.len()],
    /// Global allocator calls made in scope (counted, never failed).
    pub heap_calls: u64,
    /// Whether a thread came into scope (for `Scope::NextSystemCall`: the call was made).
    pub entered: bool,
}

impl Report {
    pub fn of(&self, kind: Kind) -> Counts {
        self.counts[kind as usize]
    }

    /// Failures injected, all kinds together.
    pub fn injected(&self) -> u64 {
        self.counts.iter().map(|counts| counts.injected).sum()
    }
}

/// Arms `plans` (every other kind is off) for `scope`, counting afresh.
pub fn arm(scope: Scope, plans: &[(Kind, Plan)]) {
    SCOPE.store(NOBODY, Ordering::SeqCst);
    TRIGGER.store(0, Ordering::SeqCst);
    HEAP_CALLS.store(0, Ordering::SeqCst);
    ENTERED.store(scope == Scope::EveryThread, Ordering::SeqCst);
    for kind in Kind::ALL {
        let plan = plans.iter().find(|(planned, _)| *planned == kind).map_or(Plan::Off, |(_, plan)| *plan);
        kind.point().arm(plan);
    }
    match scope {
        Scope::EveryThread => SCOPE.store(EVERYONE, Ordering::SeqCst),
        Scope::NextSystemCall(number) => TRIGGER.store(number + 1, Ordering::SeqCst),
    }
}

/// Turns every kind off and says what happened since `arm`.
pub fn disarm() -> Report {
    SCOPE.store(NOBODY, Ordering::SeqCst);
    TRIGGER.store(0, Ordering::SeqCst);
    let mut report = Report {
        heap_calls: HEAP_CALLS.load(Ordering::SeqCst),
        entered: ENTERED.load(Ordering::SeqCst),
        ..Report::default()
    };
    for kind in Kind::ALL {
        report.counts[kind as usize] = kind.point().disarm();
    }
    report
}

/// What has happened since `arm`, still armed.
pub fn report() -> Report {
    let mut report = Report {
        heap_calls: HEAP_CALLS.load(Ordering::SeqCst),
        entered: ENTERED.load(Ordering::SeqCst),
        ..Report::default()
    };
    for kind in Kind::ALL {
        report.counts[kind as usize] = kind.point().counts();
    }
    report
}

/// The running thread's id, `None` before the scheduler runs; set once by `sched::init`.
static CURRENT_THREAD: spin::Once<fn() -> Option<u64>> = spin::Once::new();

/// Makes `current` the way to the running thread's id. Once, by `sched::init`.
pub fn set_current_thread(current: fn() -> Option<u64>) {
    assert!(CURRENT_THREAD.get().is_none(), "fault_injection: the current-thread hook is set once");
    CURRENT_THREAD.call_once(|| current);
}

/// The running thread's id, `None` outside any thread.
fn current_thread() -> Option<u64> {
    CURRENT_THREAD.get().and_then(|current| current())
}

/// The running thread's id, for the system-call hooks, which run in a thread.
fn calling_thread() -> u64 {
    current_thread().expect("fault_injection: a system call outside any thread")
}

/// Whether the caller's thread is in scope (and something is armed).
fn in_scope() -> bool {
    match SCOPE.load(Ordering::Relaxed) {
        NOBODY => false,
        EVERYONE => true,
        thread => current_thread() == Some(thread),
    }
}

/// Whether the allocation of `kind` about to be made must fail.
pub fn refuses(kind: Kind) -> bool {
    in_scope() && kind.point().should_fail()
}

/// The frame allocator's refusal hook.
pub(crate) fn refuses_frame() -> bool {
    refuses(Kind::Frame)
}

/// Counts a global allocator call (the heap's `alloc`).
pub(crate) fn note_heap_call() {
    if in_scope() {
        HEAP_CALLS.fetch_add(1, Ordering::Relaxed);
    }
}

/// System-call entry: brings the caller into scope if it makes the awaited call.
pub(crate) fn enter_system_call(number: u64) {
    let trigger = TRIGGER.load(Ordering::Relaxed);
    if trigger == 0 || trigger != number.wrapping_add(1) {
        return;
    }
    if TRIGGER.compare_exchange(trigger, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
        SCOPE.store(calling_thread(), Ordering::SeqCst);
        ENTERED.store(true, Ordering::SeqCst);
    }
}

/// System-call return: the caller leaves the scope it entered at `enter_system_call`.
pub(crate) fn leave_system_call() {
    let scope = SCOPE.load(Ordering::Relaxed);
    if scope == NOBODY || scope == EVERYONE {
        return;
    }
    let me = calling_thread();
    let _ = SCOPE.compare_exchange(me, NOBODY, Ordering::SeqCst, Ordering::SeqCst);
}

/// A heap-backed queue a fallible reservation can grow.
pub trait Reserve {
    /// Whether reserving `additional` more would allocate.
    fn would_allocate(&self, additional: usize) -> bool;
    fn reserve_fallibly(&mut self, additional: usize, exact: bool) -> Result<(), OutOfHeap>;
}

/// A fallible heap allocation failed (or was made to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfHeap;

impl<T> Reserve for Vec<T> {
    fn would_allocate(&self, additional: usize) -> bool {
        self.capacity() - self.len() < additional
    }

    fn reserve_fallibly(&mut self, additional: usize, exact: bool) -> Result<(), OutOfHeap> {
        let reserved = if exact { self.try_reserve_exact(additional) } else { self.try_reserve(additional) };
        reserved.map_err(|_| OutOfHeap)
    }
}

impl<T> Reserve for VecDeque<T> {
    fn would_allocate(&self, additional: usize) -> bool {
        self.capacity() - self.len() < additional
    }

    fn reserve_fallibly(&mut self, additional: usize, exact: bool) -> Result<(), OutOfHeap> {
        let reserved = if exact { self.try_reserve_exact(additional) } else { self.try_reserve(additional) };
        reserved.map_err(|_| OutOfHeap)
    }
}

impl Reserve for mm::reserved_ranges::ReservedRanges {
    fn would_allocate(&self, additional: usize) -> bool {
        mm::reserved_ranges::ReservedRanges::would_allocate(self, additional)
    }

    fn reserve_fallibly(&mut self, additional: usize, exact: bool) -> Result<(), OutOfHeap> {
        let reserved = if exact { self.try_reserve_exact(additional) } else { self.try_reserve(additional) };
        reserved.map_err(|_| OutOfHeap)
    }
}

/// `Arc::new` that fails, when the `heap` kind says so or the heap is full, instead of
/// stopping the kernel.
pub fn try_arc<T>(value: T) -> Result<alloc::sync::Arc<T>, OutOfHeap> {
    if refuses(Kind::Heap) {
        return Err(OutOfHeap);
    }
    alloc::sync::Arc::try_new(value).map_err(|_| OutOfHeap)
}

/// `Box::new` that fails, when the `heap` kind says so or the heap is full, instead of
/// stopping the kernel.
pub fn try_box<T>(value: T) -> Result<alloc::boxed::Box<T>, OutOfHeap> {
    if refuses(Kind::Heap) {
        return Err(OutOfHeap);
    }
    alloc::boxed::Box::try_new(value).map_err(|_| OutOfHeap)
}

/// `try_reserve`, failing when the `heap` kind says so (only if it would allocate).
pub fn try_reserve(queue: &mut impl Reserve, additional: usize) -> Result<(), OutOfHeap> {
    reserve(queue, additional, false)
}

/// `try_reserve_exact`, failing when the `heap` kind says so (only if it would allocate).
pub fn try_reserve_exact(queue: &mut impl Reserve, additional: usize) -> Result<(), OutOfHeap> {
    reserve(queue, additional, true)
}

fn reserve(queue: &mut impl Reserve, additional: usize, exact: bool) -> Result<(), OutOfHeap> {
    if queue.would_allocate(additional) && refuses(Kind::Heap) {
        return Err(OutOfHeap);
    }
    queue.reserve_fallibly(additional, exact)
}

/// Arms what boot option `opt/lethe/fault` asks for, for every thread; returns the option's
/// text if it armed anything. A malformed entry is logged and skipped.
pub fn arm_from_boot_option() -> Option<alloc::string::String> {
    let option = crate::boot_options::option("fault")?;
    let mut plans = Vec::new();
    for entry in option.split(|c: char| c == ',' || c.is_whitespace()).filter(|entry| !entry.is_empty()) {
        match mm::fault_injection::parse_entry(entry) {
            Ok((name, plan)) => match Kind::ALL.into_iter().find(|kind| kind.name() == name) {
                Some(kind) => plans.push((kind, plan)),
                None => log::warn!("fault injection: unknown kind {name:?} in opt/lethe/fault"),
            },
            Err(error) => {
                log::warn!("fault injection: entry {entry:?} of opt/lethe/fault refused: {error:?}")
            }
        }
    }
    if plans.is_empty() {
        return None;
    }
    arm(Scope::EveryThread, &plans);
    Some(option)
}
