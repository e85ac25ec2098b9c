//! The kernel's spinlock: a `spin` mutex whose waiting answers TLB shootdowns.
//!
//! A CPU spinning for a lock, often with interrupts masked, cannot take the shootdown IPI.
//! If the lock's holder is itself waiting for that CPU's flush, neither moves: found at
//! -smp 4, where `mprotect` held a process's address-space lock while it waited for the
//! other CPUs' flushes, and a thread of the same process on another CPU spun for that lock
//! inside `futex` with interrupts masked (musl's pthreads test hung). So every round of
//! every spin for a kernel lock serves this CPU's pending shootdown
//! (`mm::shootdown::serve_pending`: one atomic load when none is owed), and a shootdown
//! initiator may hold any kernel lock while it waits.
//!
//! Every lock of the kernel crate is a `SpinLock`. The drivers' and executor's locks are
//! plain `spin` mutexes: they are leaves, never held across a shootdown.

/// The kernel's spinlock (see the module doc).
pub type SpinLock<T> = spin::mutex::Mutex<T, AnswerShootdowns>;

/// The relax strategy of `SpinLock`: answer a pending shootdown, then pause.
pub struct AnswerShootdowns;

impl spin::RelaxStrategy for AnswerShootdowns {
    fn relax() {
        crate::mm::shootdown::serve_pending();
        core::hint::spin_loop();
    }
}
