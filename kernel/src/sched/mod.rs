//! Threads and the switch path: kernel threads, preemption, and the off-CPU event.
//!
//! The life of a kernel thread, each transition with the function that makes it:
//!
//! ```text
//!   spawn ─► Runnable ─(schedule)─► Running ─(die)─────────► Dead ─(finish_switch)─► OffCpu
//!              ▲  ▲                   │  │                                               │
//!              │  └──(timer, yield)───┘  └─(block_on, WaitQueue::wait_until)─► Blocked   ▼
//!              └──────(ThreadWaker::wake, WaitQueue::wake_all)────────┘   TornDown ◄─(tear_down)
//! ```
//!
//! Rules (docs/design.md): a thread's stack and control block are freed only after it left its
//! CPU for the last time (R1) — the teardown task awaits the off-CPU event that the switch
//! path fires, or a reaper takes the thread from a dead list the switch path fills
//! (`reaping`); exit never allocates (R3) — the teardown task, its event and its hand-off
//! slot, or the dead list's room, exist from `spawn`; the switch path takes no lock an interrupt or another CPU may
//! hold and does not allocate (R7); thread counts drop only when the thread is torn down
//! (R8).
//!
//! Lock rule for the whole module: every lock here is taken with interrupts disabled, and
//! polling of tasks (which takes task and timer locks without masking interrupts) runs
//! with preemption disabled, so the timer interrupt never switches away from a lock holder.

pub mod block;
pub mod cpu;
pub mod cpu_time;
pub mod idle;
mod no_preemption;
pub mod reaping;
pub mod reaping_stats;
pub mod reclaim;
pub mod slots;
pub mod switch;
mod task_charge;
mod teardown;
pub mod thread;
pub mod wait_queue;

pub use block::{block_on, block_on_unless, interrupt};
pub use no_preemption::NoPreemption;
pub use switch::{PreemptionOff, preemption_disabled, without_preemption, yield_now};
pub use task_charge::{TaskCharge, user_tasks};
pub use teardown::{die, last_exit_to_teardown_cycles};
pub use thread::{
    JoinHandle, SpawnError, Thread, ThreadId, UserThread, spawn, spawn_forked, spawn_pinned, spawn_user,
    spawn_with_fpu,
};
pub use wait_queue::WaitQueue;

/// Sets up the thread-slot table and this CPU's scheduler, turning the running boot
/// context into the boot thread, and tells the layers below which thread runs (`trace`,
/// `fault_injection`). Call after `tasks::init`, with interrupts disabled.
pub fn init() {
    crate::trace::set_current_thread(|| cpu::current_thread_id().unwrap_or(0));
    crate::fault_injection::set_current_thread(cpu::current_thread_id);
    slots::init();
    cpu::init_boot_cpu();
    reaping::init();
}
