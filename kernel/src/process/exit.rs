//! The exit protocol: how a process and its threads die, and who frees what next.
//!
//! ```text
//!  A process
//!
//!   Running ──(1) start_group_exit──► Exiting ──(2) exit_thread by its last thread──┐
//!      │      exit_group, a fatal        │       (the others exit at their next way  │
//!      │      signal, kill               │        back to ring 3: exit_if_group_exiting)
//!      │                                                                            ▼
//!      └─────────(2) exit_thread by its last thread (plain exit)────────────────► Zombie
//!                                                                                   │
//!   Freed ◄──(4) Drop: the last Arc<Process> goes── Collected ◄──(3) collect_child──┘
//!                                                              (wait4), or let go at once
//!                                                              when the parent ignores
//!                                                              SIGCHLD (let_zombies_go)
//!
//!  Each thread of it
//!
//!   Running ──(a) exit_thread, then sched::die──► Dead ──(b) switch::finish_switch──► OffCpu
//!                                                        (the next context, on its       │
//!                                                         own stack)                     │
//!   TornDown ◄──(c) teardown::off_cpu_then_tear_down, or a reaper: teardown::tear_down───┘
//! ```
//!
//! 1. `Process::start_group_exit` records how the process ends (the first reason wins)
//!    and wakes every thread blocked in the kernel. Nothing is freed yet: each thread
//!    still runs in its own context and may block until it reaches (2).
//! 2. `Process::exit_thread`, in the exiting thread's own context: clears and wakes its
//!    `clear_child_tid` futex, leaves the thread list and settles its CPU time. The last
//!    thread out runs `become_zombie`: closes every descriptor, **purges the user address
//!    space** and shoots its translations down on every CPU (R2), hands the children to
//!    init without allocating (R9, R3), and only then publishes the status, fires
//!    `exited` and wakes the parent. *Freed next by:* the parent's `wait4` (the pid) and
//!    the last reference (the page-table root and the control block, step 4).
//! 3. `Process::collect_child` (wait4) takes the zombie off its parent's children and
//!    releases its pid (R4: a pid is never reused while a zombie holds it). *Freed next
//!    by:* whoever drops the last reference — wait4 itself, or the teardown of the last
//!    thread, whose control block holds its process.
//! 4. `Drop for Process`: destroys what is left of the address space (its root) and gives
//!    the process's place in the process count back, last (R8).
//!
//! a. After `exit_thread`, `sched::die` marks the thread dead and switches away for the
//!    last time. NOTE: from there on the thread may not sleep — no await, no allocation,
//!    no lock a task may hold. *Freed next by:* the switch path.
//! b. The switch path (`switch::finish_switch`, in the next context) sees the thread dead
//!    and hands it over — to its teardown task, through its slot, firing the slot's
//!    off-CPU event (Release), or onto a reaper's dead list — and never touches it again;
//!    it takes no lock an interrupt or another CPU may hold and does not allocate (R7).
//!    *Freed next by:* the teardown task or the reaper.
//! c. The teardown (`sched::teardown`) awaits the off-CPU event (Acquire) — or is run by a
//!    reaper that took the thread off its dead list — and only then frees the kernel stack
//!    (R1), releases the thread's slot and its place in the counts (R8) and fires
//!    `torn_down`. The control block goes with its last reference.
//!
//! Exit never allocates (R3): the teardown task, its event and slot, or the dead list's
//! room, and the orphans' box exist from the thread's and the process's creation.

use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use x86_64::instructions::interrupts::without_interrupts;

use super::WaitStatus;
use super::control_block::{Process, current};
use super::pid_map::PidMap;
use super::pid_table::{self, INIT_PID};
use crate::files::FdTable;
use crate::mm::shootdown::CpuSet;
use crate::mm::spaces;
use crate::sched::{self, cpu::current_thread};

/// Capability to fire a process's exited event: only `become_zombie` makes one.
pub struct Exited(());

impl Exited {
    /// Made with interrupts masked, as firing asks (`sync::debug_assert_interrupts_masked`).
    #[track_caller]
    fn new() -> Self {
        crate::sync::debug_assert_interrupts_masked();
        Self(())
    }
}

/// The children of an ended process on their way to init, and the next such batch.
#[derive(Default)]
pub(super) struct Orphans {
    children: PidMap<Arc<Process>>,
    next: Option<Box<Orphans>>,
}

/// `exit(code)`: ends the calling thread; the process ends with `code` if it was the last.
pub fn exit(code: i32) -> ! {
    let process = current().expect("process: exit from a kernel thread");
    exit_calling_thread(process, WaitStatus::exited(code))
}

/// `exit_group`: ends every thread of the calling process with `status` — an exit code,
/// or the signal of a fault in user mode.
pub fn exit_group(status: WaitStatus) -> ! {
    let process = current().expect("process: exit_group from a kernel thread");
    process.start_group_exit(status);
    exit_calling_thread(process, status)
}

/// Exits the calling thread now if its process is ending (`exit_group` by another thread,
/// or `kill`) or another thread's execve replaces it; for the ways back to ring 3.
pub fn exit_if_group_exiting() {
    if let Some(process) = current().filter(|process| process.group_exiting()) {
        exit_calling_thread(process, WaitStatus::exited(0))
    }
}

fn exit_calling_thread(process: Arc<Process>, own: WaitStatus) -> ! {
    process.exit_thread(own);
    drop(process);
    sched::die()
}

impl Process {
    /// Whether the calling thread of this process must exit: the process is ending
    /// (`exit_group` or a fatal signal), or another of its threads is in execve. Blocking
    /// calls stop waiting when this holds.
    pub fn group_exiting(&self) -> bool {
        if self.is_exiting() {
            return true;
        }
        let exec_thread = self.exec_thread.load(Ordering::SeqCst);
        exec_thread != 0 && exec_thread != current_thread().id().0
    }

    pub(super) fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::Acquire)
    }

    /// (1) Starts ending the whole process with `status` (the first reason wins): every
    /// thread exits at its next way back to ring 3, those blocked in the kernel are woken
    /// to get there, and the last one out makes the process a zombie.
    pub fn start_group_exit(&self, status: WaitStatus) {
        {
            let mut group_exit = self.group_exit.lock();
            if group_exit.is_none() {
                *group_exit = Some(status);
            }
        }
        self.exiting.store(true, Ordering::Release);
        self.interrupt_threads();
        self.child_ended.wake_all();
    }

    /// Sends a terminating signal (SIGKILL, SIGTERM's default action).
    pub fn kill(&self, signal: i32) {
        self.start_group_exit(WaitStatus::signaled(signal));
    }

    /// (2) The calling thread exits the process; the last thread out makes it a zombie
    /// with the group status, or `own` if there is none (a plain `exit` of the last
    /// thread).
    fn exit_thread(&self, own: WaitStatus) {
        let me = current_thread();
        me.start_exiting();
        // CLONE_CHILD_CLEARTID: tell a joining thread this one is gone.
        let clear_child_tid = me.clear_child_tid.load(Ordering::Relaxed);
        if clear_child_tid != 0 {
            let _ = super::usercopy::write_val(self, clear_child_tid, &0u32);
            super::futex::wake(self, clear_child_tid, 1);
            crate::trace::thread_event(&me, "child-tid-cleared");
        }
        // Off the list `usage` sums and into the settled time in one step (lock order:
        // threads, then usage).
        let spent = crate::sched::cpu_time::of(&me);
        {
            let mut threads = self.threads.lock();
            Process::remove_thread(&mut threads, &me);
            let mut usage = self.usage.lock();
            usage.own = usage.own + spent;
        }
        if self.live_threads.fetch_sub(1, Ordering::SeqCst) == 1 {
            let status = (*self.group_exit.lock()).unwrap_or(own);
            self.become_zombie(status);
        } else if self.exec_thread.load(Ordering::SeqCst) != 0 {
            // SeqCst on both sides: either this sees the exec'ing thread's mark, or its
            // check of `live_threads` sees this thread gone.
            self.thread_exited.wake_all();
        }
    }

    /// (2) Ends the process from its own last thread: close its descriptors, purge the
    /// user half (R2), hand the children to init (R9), and only then publish the status
    /// (the process is a zombie) and wake whoever waits for it. The root stays until the
    /// process is dropped.
    fn become_zombie(&self, status: WaitStatus) {
        // Every descriptor first: a pipe's other side sees end of file or EPIPE now.
        let files = self.with_files(FdTable::remove_all);
        drop(files);
        let purged = self.with_space(|space| {
            let stats =
                crate::mm::frames::with_frames(|frames| space.purge(crate::mm::window::window(), frames));
            // CPUs still finishing the switch away from this process's other, dead threads
            // may hold its translations: no user page of it stays in any TLB.
            let everywhere = CpuSet::others_with_root(space.root());
            crate::mm::shootdown::flush(0..mm::address_space::USER_END, everywhere);
            stats
        });
        debug_assert!(purged.is_some(), "process: became a zombie twice");
        self.hand_children_to_init();
        let threads = core::mem::take(&mut *self.threads.lock());
        drop(threads);
        crate::trace::process_event(self.pid.0, "exit");
        let parent = self.parent.lock().as_ref().and_then(Weak::upgrade);
        // The status is published under the parent's children lock, where the parent's
        // `wait4` looks for zombies: a child of a parent that ignores SIGCHLD leaves the
        // children first, so no `wait4` ever sees it as a zombie (found at -smp 4: the
        // parent's wait on another CPU collected a child between the two steps and returned
        // its pid, where Linux blocks until every child is gone, then says ECHILD). A parent
        // that starts ignoring SIGCHLD meanwhile finds the status set under the same lock
        // and lets the zombie go itself (`let_zombies_go`).
        let detached = match &parent {
            Some(parent) => {
                let mut children = parent.children.lock();
                let detached = parent.children_detached.load(Ordering::Acquire);
                if detached {
                    children.remove(self.pid.0);
                }
                *self.status.lock() = Some(status);
                detached
            }
            None => {
                *self.status.lock() = Some(status);
                false
            }
        };
        crate::trace::process_event(self.pid.0, "zombie");
        // Interrupts off, as the event's rule asks: a waiter that sees it firing spins
        // until it has fired.
        without_interrupts(|| self.exited.fire(Exited::new()));
        if detached {
            // Nobody will wait for this one: no zombie, the pid goes at once.
            pid_table::release(self.pid);
            crate::trace::process_event(self.pid.0, "detached");
        }
        if let Some(parent) = parent {
            parent.child_ended.wake_all();
        }
    }

    /// (3) Removes collected child `child` from the children (wait4's reaping); its pid is
    /// gone from then on, even if its last thread is still being torn down. False if
    /// another thread collected it first.
    pub(super) fn collect_child(&self, child: &Arc<Process>) -> bool {
        let collected = {
            let mut children = self.children.lock();
            match children.get(child.pid.0) {
                Some(listed) if Arc::ptr_eq(listed, child) => children.remove(child.pid.0).is_some(),
                _ => false,
            }
        };
        if collected {
            pid_table::release(child.pid);
        }
        collected
    }

    /// Makes children be let go when they end instead of kept as zombies (SIGCHLD ignored);
    /// zombies already there are let go now (3).
    pub fn set_children_detached(&self, detached: bool) {
        self.children_detached.store(detached, Ordering::Release);
        self.adopt_orphans();
        if detached {
            self.let_zombies_go();
        }
    }

    fn let_zombies_go(&self) {
        let zombies: Vec<Arc<Process>> = {
            let mut zombies = Vec::new();
            self.children.lock().retain(|child| {
                let ended = child.status().is_some();
                if ended {
                    zombies.push(child.clone());
                }
                !ended
            });
            zombies
        };
        for zombie in zombies {
            pid_table::release(zombie.pid);
        }
        self.child_ended.wake_all();
    }

    /// Gives the children to init (R9) without allocating (R3): they go in the
    /// `orphans` box this process was made with, pushed on init's `adopted` list, and init
    /// merges them into its children itself (`adopt_orphans`), where it may allocate.
    fn hand_children_to_init(&self) {
        self.adopt_orphans();
        let orphans = core::mem::take(&mut *self.children.lock());
        if orphans.is_empty() {
            return;
        }
        let init = pid_table::find(INIT_PID).filter(|init| init.pid != self.pid && init.status().is_none());
        for orphan in orphans.values() {
            let adoptive = init.as_ref().map(Arc::downgrade);
            *orphan.parent.lock() = adoptive;
        }
        let Some(init) = init else { return };
        let mut batch = self.orphans.lock().take().expect("process: orphaned twice");
        batch.children = orphans;
        {
            let mut adopted = init.adopted.lock();
            batch.next = adopted.take();
            *adopted = Some(batch);
        }
        init.child_ended.wake_all();
    }

    /// Merges the batches of orphans handed to this process (init) into its children;
    /// with SIGCHLD ignored, those already ended are let go instead. A batch there is no
    /// heap to merge goes back on the list, to be merged on a later call.
    pub(super) fn adopt_orphans(&self) {
        let mut batches = self.adopted.lock().take();
        let detached = self.children_detached.load(Ordering::Acquire);
        while let Some(mut batch) = batches {
            let room = self.children.lock().reserve(batch.children.len());
            if room.is_err() {
                self.put_back(batch);
                return;
            }
            let orphans = core::mem::take(&mut batch.children);
            batches = batch.next.take();
            drop(batch);
            for (pid, orphan) in orphans.into_entries() {
                if detached && orphan.status().is_some() {
                    pid_table::release(orphan.pid);
                } else {
                    let entered = self.children.lock().try_insert(pid, orphan);
                    entered.expect("process: no room for an orphan after reserving it");
                }
            }
        }
    }

    /// Puts `batches`, orphans not yet merged, back at the head of the adopted list.
    fn put_back(&self, mut batches: Box<Orphans>) {
        let mut adopted = self.adopted.lock();
        let mut tail = &mut batches;
        while tail.next.is_some() {
            tail = tail.next.as_mut().expect("process: a batch vanished");
        }
        tail.next = adopted.take();
        *adopted = Some(batches);
    }
}

/// (4) The last reference to a process is gone.
impl Drop for Process {
    fn drop(&mut self) {
        pid_table::release(self.pid);
        if let Some(space) = self.space.get_mut().take() {
            spaces::destroy(space);
        }
        // The count goes with the fields, after this: it drops once all is freed (R8).
        crate::trace::process_event(self.pid.0, "freed");
    }
}
