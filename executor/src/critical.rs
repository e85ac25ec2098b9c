//! The platform's critical section, around every ready-queue operation and the timer lock.
//!
//! On a kernel, work that an interrupt handler may also do — push or pop the lock-free
//! ready queue, take the timer lock — must not be interrupted half-way on the same CPU:
//! crossbeam's `ArrayQueue::pop` spins while a push it overtook finishes, and an
//! interrupt-context poll would spin forever on the timer lock the interrupted code holds.
//! The kernel passes "interrupts masked" as the critical section; host tests pass none.

/// Runs its argument with whatever the platform needs held (Lethe: interrupts masked).
pub type CriticalSection = fn(&mut dyn FnMut());

/// Runs `work` inside `section`, if there is one.
pub(crate) fn run<R>(section: Option<CriticalSection>, work: impl FnOnce() -> R) -> R {
    let Some(section) = section else { return work() };
    let mut work = Some(work);
    let mut result = None;
    section(&mut || result = work.take().map(|work| work()));
    result.expect("executor: the critical section did not run its work")
}
