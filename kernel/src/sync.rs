//! The kernel's spinlock, whose type says what holding it keeps away, and whose waiting
//! answers TLB shootdowns.
//!
//! **The rule is in the type.** A thread that is interrupted or preempted while it holds a
//! lock leaves it held; if what then runs on that CPU (an interrupt handler, or a thread
//! that cannot be preempted) spins for the same lock, the CPU never gets back to the
//! holder and stops. So taking a lock first shuts out what could spin for it, for as long
//! as its guard lives:
//! - `SpinLock<T>` (`MaskInterrupts`, the default) masks interrupts on this CPU: for
//!   anything an interrupt handler or the switch path may take, and every short section;
//! - `SpinLock<T, sched::NoPreemption>` disables preemption only, interrupts staying on:
//!   for the locks held across long work that must still take interrupts (an address space
//!   while fork copies it or munmap purges it; the layout beside it). Preemption is the
//!   scheduler's, so that guardian is defined there, over this module's `Guardian`.
//!
//! A guard gives back what it took when dropped, after unlocking. Guards of nested locks
//! are dropped in the reverse order of taking, as Rust's scopes drop them: dropping an
//! outer `MaskInterrupts` guard by hand while an inner one lives would unmask interrupts
//! with the inner lock still held.
//!
//! **Waiting answers shootdowns.** A CPU spinning for a lock, often with interrupts masked,
//! cannot take the shootdown IPI. If the lock's holder is itself waiting for that CPU's
//! flush, neither moves (`mprotect` holding a process's address-space lock while it waits
//! for the other CPUs' flushes, and a thread of the same process on another CPU spinning
//! for that lock inside `futex`). So every round of every spin for a kernel lock serves
//! this CPU's pending shootdown (`mm::shootdown::serve_pending`: one atomic load when none
//! is owed), and a shootdown initiator may hold any kernel lock while it waits. Shootdowns
//! are memory's, a layer above: `lib::init` hands `serve_pending` down
//! (`answer_while_spinning`) first thing, long before it starts the other CPUs; until then
//! a spin only pauses, and with one CPU running no flush can be owed.
//!
//! Every lock of the kernel crate is a `SpinLock`. The drivers' and executor's locks are
//! plain `spin` mutexes: they are leaves, never held across a shootdown.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use spin::mutex::{Mutex, MutexGuard};

/// What a lock's guard keeps away while it lives.
pub trait Guardian {
    /// Keeps it away until dropped.
    type Token;
    fn enter() -> Self::Token;
}

/// Interrupts masked on this CPU while the guard lives (so no preemption either).
pub struct MaskInterrupts;

impl Guardian for MaskInterrupts {
    type Token = InterruptsMasked;
    fn enter() -> InterruptsMasked {
        InterruptsMasked::new()
    }
}

/// Interrupts masked on this CPU until dropped, then as they were before.
pub struct InterruptsMasked {
    were_enabled: bool,
    /// Stays on the CPU it was made on.
    _here: PhantomData<*const ()>,
}

impl InterruptsMasked {
    pub fn new() -> Self {
        let were_enabled = x86_64::instructions::interrupts::are_enabled();
        x86_64::instructions::interrupts::disable();
        Self { were_enabled, _here: PhantomData }
    }
}

impl Default for InterruptsMasked {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for InterruptsMasked {
    fn drop(&mut self) {
        if self.were_enabled {
            x86_64::instructions::interrupts::enable();
        }
    }
}

/// The kernel's spinlock (see the module doc).
pub struct SpinLock<T, G: Guardian = MaskInterrupts> {
    inner: Mutex<T, AnswerShootdowns>,
    _guardian: PhantomData<G>,
}

/// A held `SpinLock`: unlocks, then gives back what its guardian took.
pub struct SpinGuard<'a, T, G: Guardian> {
    guard: MutexGuard<'a, T, AnswerShootdowns>,
    _token: G::Token,
}

impl<T, G: Guardian> SpinLock<T, G> {
    pub const fn new(value: T) -> Self {
        Self { inner: Mutex::new(value), _guardian: PhantomData }
    }

    /// Shuts out what the guardian keeps away, then spins until the lock is free and takes it.
    pub fn lock(&self) -> SpinGuard<'_, T, G> {
        let token = G::enter();
        SpinGuard { guard: self.inner.lock(), _token: token }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<SpinGuard<'_, T, G>> {
        let token = G::enter();
        self.inner.try_lock().map(|guard| SpinGuard { guard, _token: token })
    }

    /// The value, through exclusive access: no lock needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: Default, G: Guardian> Default for SpinLock<T, G> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T, G: Guardian> Deref for SpinGuard<'_, T, G> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T, G: Guardian> DerefMut for SpinGuard<'_, T, G> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

/// Panics (in debug builds) unless interrupts are masked: the rule of firing a one-shot
/// event, whose waiter, seeing it half fired, polls again until it has fired. The kernel's
/// firing capabilities are made only through this check.
#[track_caller]
pub fn debug_assert_interrupts_masked() {
    debug_assert!(
        !x86_64::instructions::interrupts::are_enabled(),
        "sync: an event fired with interrupts enabled"
    );
}

/// What every round of a spin for a lock does first: serve this CPU's pending shootdown.
static SERVE_PENDING_SHOOTDOWN: spin::Once<fn()> = spin::Once::new();

/// Makes every spin for a kernel lock call `serve_pending_shootdown` each round. Once, at
/// boot, before any other CPU runs.
pub fn answer_while_spinning(serve_pending_shootdown: fn()) {
    assert!(SERVE_PENDING_SHOOTDOWN.get().is_none(), "sync: the shootdown hook is set once");
    SERVE_PENDING_SHOOTDOWN.call_once(|| serve_pending_shootdown);
}

/// The relax strategy of `SpinLock`: answer a pending shootdown, then pause.
pub struct AnswerShootdowns;

impl spin::RelaxStrategy for AnswerShootdowns {
    fn relax() {
        if let Some(serve_pending_shootdown) = SERVE_PENDING_SHOOTDOWN.get() {
            serve_pending_shootdown();
        }
        core::hint::spin_loop();
    }
}
