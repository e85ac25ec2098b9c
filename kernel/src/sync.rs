//! The kernel's spinlock: a `spin` mutex that is only taken unpreemptible, and whose
//! waiting answers TLB shootdowns.
//!
//! **Taken unpreemptible.** A thread preempted while it holds a lock leaves it held; if the
//! thread that then runs on that CPU spins for the same lock with preemption off, the CPU
//! never gets back to the holder and stops. So every acquisition happens with interrupts
//! masked or preemption disabled (`sched::without_preemption`), and a lock an interrupt
//! handler also takes must be taken with interrupts masked everywhere. Debug builds check
//! the first half at every `lock` and `try_lock`: a call site that forgets panics the first
//! time it runs, in every QEMU test that reaches it.
//!
//! **Waiting answers shootdowns.** A CPU spinning for a lock, often with interrupts masked,
//! cannot take the shootdown IPI. If the lock's holder is itself waiting for that CPU's
//! flush, neither moves (`mprotect` holding a process's address-space lock while it waits
//! for the other CPUs' flushes, and a thread of the same process on another CPU spinning
//! for that lock inside `futex` with interrupts masked). So every round of every spin for a
//! kernel lock serves this CPU's pending shootdown (`mm::shootdown::serve_pending`: one
//! atomic load when none is owed), and a shootdown initiator may hold any kernel lock while
//! it waits.
//!
//! Every lock of the kernel crate is a `SpinLock`. The drivers' and executor's locks are
//! plain `spin` mutexes: they are leaves, never held across a shootdown.

use spin::mutex::{Mutex, MutexGuard};

/// The kernel's spinlock (see the module doc).
pub struct SpinLock<T> {
    inner: Mutex<T, AnswerShootdowns>,
}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        Self { inner: Mutex::new(value) }
    }

    /// Spins until the lock is free and takes it. Call unpreemptible (see the module doc).
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T, AnswerShootdowns> {
        debug_assert_unpreemptible();
        self.inner.lock()
    }

    /// Takes the lock if it is free. Call unpreemptible (see the module doc).
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T, AnswerShootdowns>> {
        debug_assert_unpreemptible();
        self.inner.try_lock()
    }

    /// The value, through exclusive access: no lock needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// Panics (in debug builds) unless the caller can be neither interrupted nor preempted
/// into another thread that might spin for a lock it holds.
#[track_caller]
fn debug_assert_unpreemptible() {
    debug_assert!(
        !x86_64::instructions::interrupts::are_enabled() || crate::sched::preemption_disabled(),
        "sync: a lock taken with interrupts and preemption enabled"
    );
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

/// The relax strategy of `SpinLock`: answer a pending shootdown, then pause.
pub struct AnswerShootdowns;

impl spin::RelaxStrategy for AnswerShootdowns {
    fn relax() {
        crate::mm::shootdown::serve_pending();
        core::hint::spin_loop();
    }
}
