//! The process and its lifecycle: its pid, address space, and how it ended.
//!
//! Exit status uses Linux's wait-status encoding (`W_EXITCODE`): an exit code `c` is
//! `(c & 0xff) << 8`, death by signal `s` is `s`.

use super::pid_map::PidMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use x86_64::instructions::interrupts::without_interrupts;

use executor::OneShotEvent;
use mm::address_space::AddressSpace;

use super::limits::{Limit, LimitError, Limits};
use super::memory::Layout;
use super::usage::Usage;
use crate::fault_injection::OutOfHeap;
use crate::files::FdTable;
use crate::mm::shootdown::CpuSet;
use crate::mm::spaces;
use crate::sched::cpu_time::{self, CpuTime};
use crate::sched::{self, WaitQueue, cpu::current_thread};
use crate::sync::{NoPreemption, SpinLock};

/// A process id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pid(pub u32);

/// How a process ended, in Linux's wait-status encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitStatus(pub i32);

impl WaitStatus {
    pub fn exited(code: i32) -> Self {
        WaitStatus((code & 0xff) << 8)
    }

    pub fn signaled(signal: i32) -> Self {
        WaitStatus(signal & 0x7f)
    }

    /// The exit code, if the process exited (`WIFEXITED`/`WEXITSTATUS`).
    pub fn exit_code(self) -> Option<i32> {
        (self.0 & 0x7f == 0).then_some((self.0 >> 8) & 0xff)
    }

    /// The signal that killed the process, if one did (`WIFSIGNALED`/`WTERMSIG`).
    pub fn signal(self) -> Option<i32> {
        let signal = self.0 & 0x7f;
        (signal != 0 && signal != 0x7f).then_some(signal)
    }
}

/// The children of an ended process on their way to init, and the next such batch.
#[derive(Default)]
struct Orphans {
    children: PidMap<Arc<Process>>,
    next: Option<alloc::boxed::Box<Orphans>>,
}

/// Capability to fire a process's exited event: only `finish` makes one.
pub struct Exited(());

impl Exited {
    /// Made with interrupts masked, as firing asks (`sync::debug_assert_interrupts_masked`).
    #[track_caller]
    fn new() -> Self {
        crate::sync::debug_assert_interrupts_masked();
        Self(())
    }
}

/// `evict_other_threads` did not make the caller the only thread: it must leave instead.
#[derive(Debug)]
pub struct Evicted;

/// A process. Lock rules: `space` then `layout`, never the other way round, held with
/// preemption off (their guards see to it) and interrupts on, across long work (fork's
/// copy, munmap's purge); `parent` and `children` briefly, never one inside another's.
pub struct Process {
    pid: Pid,
    /// Physical address of the address space's root (what CR3 holds for its threads);
    /// changes only at execve.
    root: core::sync::atomic::AtomicU64,
    /// The address space; taken (and freed) when the process goes.
    space: SpinLock<Option<AddressSpace>, NoPreemption>,
    status: SpinLock<Option<WaitStatus>>,
    exited: OneShotEvent<Exited>,
    /// The parent; `None` for processes the kernel started, and for orphans when there is
    /// no init to adopt them.
    parent: SpinLock<Option<Weak<Process>>>,
    /// Children not yet collected by `wait4`, zombies included, by pid: waiting for one
    /// child and collecting it take a lookup, not a walk over every child (a walk made
    /// fork+exit+wait 46% dearer beside 1,000 other children).
    children: SpinLock<PidMap<Arc<Process>>>,
    /// Where this process's threads wait for a child to end.
    child_ended: WaitQueue,
    /// The program break and where mappings go.
    layout: SpinLock<Layout, NoPreemption>,
    /// How the whole process is to end, once `exit_group` or a fatal signal says so: every
    /// thread leaves at its next way back to ring 3, and the last one out ends the process
    /// with this status.
    group_exit: SpinLock<Option<WaitStatus>>,
    /// Whether `group_exit` is set (a lock-free check for the ways back to ring 3).
    exiting: core::sync::atomic::AtomicBool,
    /// Threads that have not left yet; the last to leave ends the process.
    live_threads: core::sync::atomic::AtomicUsize,
    /// The tid of the thread whose execve is replacing the process, 0 if none: every other
    /// thread leaves at its next way back to ring 3, as for `group_exit`, but the process
    /// lives on in the exec'ing one (`evict_other_threads`).
    exec_thread: core::sync::atomic::AtomicU64,
    /// Where an exec'ing thread waits for the others to leave.
    thread_left: WaitQueue,
    /// Signal actions as `rt_sigaction` stored them (handler, flags, restorer, mask).
    signal_actions: SpinLock<[[u64; 4]; 64]>,
    /// The signal mask `rt_sigprocmask` keeps.
    signal_mask: core::sync::atomic::AtomicU64,
    /// Signals sent while blocked, one bit each (`signal` module).
    pub(super) pending_signals: core::sync::atomic::AtomicU64,
    /// Whether SIGCHLD is ignored (`SIG_IGN` or `SA_NOCLDWAIT`): children are then not kept
    /// as zombies but let go as soon as they end.
    children_detached: core::sync::atomic::AtomicBool,
    /// The process's threads, for `kill` to wake them from blocking calls; emptied when the
    /// process finishes (threads refer to their process, so this list must not outlive it).
    threads: SpinLock<Vec<crate::mm::pool::PoolArc<crate::sched::Thread>>>,
    /// The box this process's children go to init in when it ends, made with the process
    /// so that ending it does not allocate.
    orphans: SpinLock<Option<alloc::boxed::Box<Orphans>>>,
    /// Orphans handed to this process (init) and not yet merged into `children`.
    adopted: SpinLock<Option<alloc::boxed::Box<Orphans>>>,
    /// Resource limits (`prlimit64`); taken with interrupts off, briefly.
    limits: SpinLock<Limits>,
    /// CPU time settled by threads that left, and by collected children.
    usage: SpinLock<Usage>,
    /// Open file descriptors; taken with interrupts off, briefly; emptied when the process
    /// ends, before it is a zombie.
    files: SpinLock<FdTable>,
    /// The process's place in the process count, given back when the process is dropped.
    _counted: ProcessCount,
}

/// Processes that can exist at once, zombies included: `fork` past it is EAGAIN (R8).
/// A process leaves the count when it is freed — collected (or detached) and its last
/// thread torn down — not when its pid goes.
pub const MAX_PROCESSES: usize = 1024;

/// Processes that exist: counted by `ProcessCount::take`, uncounted when the process
/// holding the count is dropped.
static PROCESSES: AtomicUsize = AtomicUsize::new(0);

/// One process counted against `MAX_PROCESSES`. Taken before anything of a new process is
/// made (a refused fork costs no copy), held by the process, and given back when it is
/// dropped — after its address space is destroyed (R8).
pub struct ProcessCount(());

impl ProcessCount {
    /// Counts a new process, atomically (concurrent forks cannot overshoot), or `None` when
    /// `MAX_PROCESSES` exist.
    pub(super) fn take() -> Option<ProcessCount> {
        PROCESSES
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                (count < MAX_PROCESSES).then_some(count + 1)
            })
            .ok()
            .map(|_| ProcessCount(()))
    }
}

impl Drop for ProcessCount {
    fn drop(&mut self) {
        PROCESSES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Processes that exist now, zombies and those still being torn down included.
pub fn process_count() -> usize {
    PROCESSES.load(Ordering::Acquire)
}

/// Every process with a pid, by pid, for `kill`.
static TABLE: SpinLock<PidMap<Weak<Process>>> = SpinLock::new(PidMap::new());

/// Takes `pid` out of the table: from now on it may be reused.
fn release_pid(pid: Pid) {
    TABLE.lock().remove(pid.0);
}

/// Pids in use: processes not yet collected, zombies included.
pub fn pids_in_use() -> usize {
    TABLE.lock().len()
}

/// The process with `pid`, if it exists (zombies included).
pub fn find(pid: Pid) -> Option<Arc<Process>> {
    TABLE.lock().get(pid.0).and_then(Weak::upgrade)
}

/// Sends `signal` to every process but init and `spared` (`kill(-1, signal)`,
/// what stops a fork bomb), or with `signal` `None` only counts them (`kill(-1, 0)`);
/// returns how many there were. Races with fork are closed by fork's order — the child
/// enters the table before fork checks whether its parent is exiting — and by taking the
/// table again until a pass finds no pid it had not seen: a child made after one pass's
/// look is either refused by its exiting parent's fork or seen by the next pass. Children
/// that `spared`'s own other threads keep making could keep that going: after
/// `MAX_PASSES` it stops.
pub fn kill_all_but(spared: &Process, signal: Option<i32>) -> usize {
    const MAX_PASSES: usize = 64;
    let mut seen = alloc::collections::BTreeSet::new();
    for _ in 0..MAX_PASSES {
        let everyone: Vec<Arc<Process>> = TABLE.lock().values().filter_map(Weak::upgrade).collect();
        let mut unseen = 0;
        for process in everyone {
            if process.pid == INIT_PID || process.pid == spared.pid || !seen.insert(process.pid.0) {
                continue;
            }
            unseen += 1;
            if let Some(signal) = signal {
                super::signal::send(&process, signal);
            }
        }
        if unseen == 0 || signal.is_none() {
            break;
        }
    }
    seen.len()
}

/// The pid of init, the first process made, which adopts orphans (R9). Found through the
/// process table rather than held: a held reference would keep a collected init's memory.
pub(super) const INIT_PID: Pid = Pid(1);

impl Process {
    /// A process numbered `pid` (the id its first thread will have,
    /// `ThreadId::reserve_for_process`), counted by `counted`, owning `space`, child of
    /// `parent` (or of the kernel), with `limits`. The first process made is pid 1, the
    /// init that adopts orphans. Fails, leaving nothing behind, when the kernel heap has no
    /// room for it.
    pub(super) fn new(
        pid: Pid,
        counted: ProcessCount,
        space: AddressSpace,
        layout: Layout,
        limits: Limits,
        files: FdTable,
        parent: Option<&Arc<Process>>,
    ) -> Result<Arc<Self>, OutOfHeap> {
        let Ok(orphans) = crate::fault_injection::try_box(Orphans::default()) else {
            spaces::destroy(space);
            return Err(OutOfHeap);
        };
        // Dropped on failure, the process destroys its space.
        let process = crate::fault_injection::try_arc(Process {
            pid,
            root: core::sync::atomic::AtomicU64::new(space.root()),
            space: SpinLock::new(Some(space)),
            status: SpinLock::new(None),
            exited: OneShotEvent::new(),
            parent: SpinLock::new(parent.map(Arc::downgrade)),
            children: SpinLock::new(PidMap::new()),
            child_ended: WaitQueue::new(),
            layout: SpinLock::new(layout),
            group_exit: SpinLock::new(None),
            exiting: core::sync::atomic::AtomicBool::new(false),
            live_threads: core::sync::atomic::AtomicUsize::new(0),
            exec_thread: core::sync::atomic::AtomicU64::new(0),
            thread_left: WaitQueue::new(),
            children_detached: core::sync::atomic::AtomicBool::new(false),
            signal_actions: SpinLock::new([[0; 4]; 64]),
            signal_mask: core::sync::atomic::AtomicU64::new(0),
            pending_signals: core::sync::atomic::AtomicU64::new(0),
            threads: SpinLock::new(Vec::new()),
            orphans: SpinLock::new(Some(orphans)),
            adopted: SpinLock::new(None),
            limits: SpinLock::new(limits),
            usage: SpinLock::new(Usage::default()),
            files: SpinLock::new(files),
            _counted: counted,
        })?;
        // Dropped on failure, the process takes its pid out of the table again.
        TABLE.lock().try_insert(process.pid.0, Arc::downgrade(&process))?;
        if let Some(parent) = parent {
            parent.children.lock().try_insert(process.pid.0, process.clone())?;
        }
        Ok(process)
    }

    /// Forgets `child`, a child whose start failed half-way.
    pub(super) fn abandon_child(&self, child: &Arc<Process>) {
        self.children.lock().remove(child.pid.0);
    }

    /// The parent's pid, 0 if the kernel started this process.
    pub fn parent_pid(&self) -> Pid {
        let parent = self.parent.lock().as_ref().and_then(Weak::upgrade);
        parent.map_or(Pid(0), |parent| parent.pid)
    }

    /// Children matching `pid` (-1: any), and among them the zombie of lowest pid with its
    /// status.
    pub(super) fn find_child(&self, pid: i64) -> (usize, Option<(Arc<Process>, WaitStatus)>) {
        self.adopt_orphans();
        let zombie = |child: &Arc<Process>| child.status().map(|status| (child.clone(), status));
        without_interrupts(|| {
            let children = self.children.lock();
            if pid == -1 {
                return (children.len(), children.values().find_map(zombie));
            }
            let child = u32::try_from(pid).ok().and_then(|pid| children.get(pid));
            (usize::from(child.is_some()), child.and_then(zombie))
        })
    }

    /// Removes collected child `child` from the children (wait4's reaping); its pid is gone
    /// from then on, even if its last thread is still being torn down.
    pub(super) fn collect_child(&self, child: &Arc<Process>) -> bool {
        let collected = {
            let mut children = self.children.lock();
            match children.get(child.pid.0) {
                Some(listed) if Arc::ptr_eq(listed, child) => children.remove(child.pid.0).is_some(),
                _ => false,
            }
        };
        if collected {
            release_pid(child.pid);
        }
        collected
    }

    /// Blocks until a child matching `pid` has ended, none is left, or the process was
    /// killed.
    pub(super) fn wait_for_child(&self, pid: i64) {
        self.child_ended.wait_until(|| {
            let (matching, zombie) = self.find_child(pid);
            matching == 0 || zombie.is_some() || self.must_leave()
        });
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The page-table root to load for this process's threads.
    pub fn page_table_root(&self) -> u64 {
        self.root.load(Ordering::Acquire)
    }

    /// execve's switch to a new image: makes `space` and `layout` the process's, loads
    /// `space` on this CPU, and frees the old address space. Called by the process's only
    /// thread, which is running on the old one.
    pub(super) fn replace_image(&self, space: AddressSpace, layout: Layout) {
        let old = sched::without_preemption(|| {
            spaces::activate(&space);
            self.root.store(space.root(), Ordering::Release);
            *self.layout.lock() = layout;
            self.space.lock().replace(space)
        });
        if let Some(old) = old {
            // The threads `evict_other_threads` saw leave may still be switching away on
            // their CPUs with the old root in CR3: it is freed only once no CPU has it loaded.
            while spaces::loaded_anywhere(old.root()) {
                sched::yield_now();
            }
            spaces::destroy(old);
        }
    }

    /// execve's first step in a process of several threads (Linux's `de_thread`): makes
    /// every other thread leave and returns once the caller is the only one. `Err` if the
    /// process is ending meanwhile, or another thread's execve got there first: the caller
    /// then leaves too, on its way back to ring 3.
    pub(super) fn evict_other_threads(&self) -> Result<(), Evicted> {
        let me = current_thread().id().0;
        if self.exec_thread.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            return Err(Evicted);
        }
        // The caller is woken too: at worst one blocking call of it looks again.
        self.interrupt_threads();
        self.thread_left.wait_until(|| self.live_threads.load(Ordering::SeqCst) == 1 || self.exiting());
        if self.exiting() {
            return Err(Evicted);
        }
        self.exec_thread.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// Runs `work` on the address space, with preemption off.
    pub fn with_space<R>(&self, work: impl FnOnce(&mut AddressSpace) -> R) -> Option<R> {
        self.space.lock().as_mut().map(work)
    }

    /// Runs `work` on the address space and the layout together (brk, mmap), with
    /// preemption off.
    pub fn with_memory<R>(&self, work: impl FnOnce(&mut AddressSpace, &mut Layout) -> R) -> Option<R> {
        let mut space = self.space.lock();
        let space = space.as_mut()?;
        Some(work(space, &mut self.layout.lock()))
    }

    /// Grows the main stack down to user `address` if it lies within RLIMIT_STACK of the
    /// stack's top (a page fault there); returns whether it did.
    pub fn grow_stack(&self, address: u64) -> bool {
        let limit = self.limits().get(super::limits::RLIMIT_STACK).map_or(0, |limit| limit.soft);
        self.with_memory(|space, layout| super::memory::grow_stack(space, layout, address, limit))
            .unwrap_or(false)
    }

    /// CPU time used: by the threads that left and those still running, and by collected
    /// children.
    pub fn usage(&self) -> Usage {
        // Both locks at once, in `leave`'s order: a thread moving from the list to the
        // settled time is counted exactly once.
        {
            let threads = self.threads.lock();
            let settled = *self.usage.lock();
            let own = threads.iter().fold(settled.own, |sum, thread| sum + cpu_time::of(thread));
            Usage { own, ..settled }
        }
    }

    /// What a parent collecting this ended process gets: all of its time and its children's.
    pub(super) fn total_usage(&self) -> CpuTime {
        let usage = *self.usage.lock();
        usage.own + usage.children
    }

    /// Adds a collected child's total time to the children's.
    pub(super) fn add_child_usage(&self, time: CpuTime) {
        {
            let mut usage = self.usage.lock();
            usage.children = usage.children + time;
        }
    }

    /// Runs `work` on the descriptor table, with interrupts off: it must not block.
    pub fn with_files<R>(&self, work: impl FnOnce(&mut FdTable) -> R) -> R {
        work(&mut self.files.lock())
    }

    /// The resource limits now (what a forked child starts with).
    pub fn limits(&self) -> Limits {
        *self.limits.lock()
    }

    /// Sets the limit of `resource`, returning the old one.
    pub fn set_limit(&self, resource: usize, limit: Limit) -> Result<Limit, LimitError> {
        self.limits.lock().set(resource, limit)
    }

    /// The memory layout now (what a forked child starts with).
    pub fn layout(&self) -> Layout {
        *self.layout.lock()
    }

    /// Records `thread` as one of the process's (for `kill` to wake it). Called by the
    /// spawn before the thread can run, so before it can take itself off the list: added
    /// later, a thread that had already left would keep its process alive forever.
    pub(crate) fn add_thread(&self, thread: crate::mm::pool::PoolArc<crate::sched::Thread>) {
        {
            let mut threads = self.threads.lock();
            thread.place_in_process.store(threads.len(), Ordering::Relaxed);
            threads.push(thread);
        }
    }

    /// Takes `thread` off the process's list in one step: the last thread takes its place.
    /// Call with interrupts off.
    fn remove_thread(&self, thread: &crate::mm::pool::PoolArc<crate::sched::Thread>) {
        let mut threads = self.threads.lock();
        let place = thread.place_in_process.load(Ordering::Relaxed);
        let listed =
            threads.get(place).is_some_and(|listed| crate::mm::pool::PoolArc::ptr_eq(listed, thread));
        assert!(listed, "process: thread {} is not where its process's list says", thread.id().0);
        threads.swap_remove(place);
        if let Some(moved) = threads.get(place) {
            moved.place_in_process.store(place, Ordering::Relaxed);
        }
    }

    /// Counts a thread about to be made, before it can run (and so leave), and makes room
    /// for it on the thread list (so `add_thread` does not allocate); undone by
    /// `unreserve_thread` if making it fails. Fails, changing nothing, when the heap has
    /// no room.
    pub(super) fn reserve_thread(&self) -> Result<(), OutOfHeap> {
        without_interrupts(|| {
            let mut threads = self.threads.lock();
            let counted = self.live_threads.load(Ordering::Acquire) + 1;
            let more = counted.saturating_sub(threads.len());
            crate::fault_injection::try_reserve(&mut *threads, more)?;
            self.live_threads.fetch_add(1, Ordering::AcqRel);
            Ok(())
        })
    }

    pub(super) fn unreserve_thread(&self) {
        self.live_threads.fetch_sub(1, Ordering::AcqRel);
    }

    /// Takes `parent`'s signal actions, mask and SIGCHLD disposition (fork).
    pub(super) fn inherit_signals(&self, parent: &Process) {
        let actions = *parent.signal_actions.lock();
        *self.signal_actions.lock() = actions;
        self.set_signal_mask(parent.signal_mask());
        self.children_detached.store(parent.children_detached.load(Ordering::Acquire), Ordering::Release);
    }

    /// The action recorded for signal `index + 1`.
    pub fn signal_action(&self, index: usize) -> [u64; 4] {
        self.signal_actions.lock()[index]
    }

    pub fn set_signal_action(&self, index: usize, action: [u64; 4]) {
        self.signal_actions.lock()[index] = action;
    }

    pub fn signal_mask(&self) -> u64 {
        self.signal_mask.load(Ordering::SeqCst)
    }

    /// Sets the mask (SIGKILL and SIGSTOP stay unblocked) and acts on every pending
    /// signal it no longer blocks.
    pub fn set_signal_mask(&self, mask: u64) {
        self.signal_mask.store(mask & !super::signal::UNBLOCKABLE, Ordering::SeqCst);
        super::signal::act_on_unblocked(self);
    }

    /// Makes children be let go when they end instead of kept as zombies (SIGCHLD ignored);
    /// zombies already there are let go now.
    pub fn set_children_detached(&self, detached: bool) {
        self.children_detached.store(detached, Ordering::Release);
        self.adopt_orphans();
        if detached {
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
                release_pid(zombie.pid);
            }
            self.child_ended.wake_all();
        }
    }

    /// Whether the calling thread of this process must leave: the process is ending
    /// (`exit_group` or a fatal signal), or another of its threads is in execve.
    pub fn must_leave(&self) -> bool {
        if self.exiting() {
            return true;
        }
        let exec_thread = self.exec_thread.load(Ordering::SeqCst);
        exec_thread != 0 && exec_thread != current_thread().id().0
    }

    fn exiting(&self) -> bool {
        self.exiting.load(Ordering::Acquire)
    }

    /// Starts ending the whole process with `status` (the first reason wins): every thread
    /// leaves at its next way back to ring 3, those blocked in the kernel are woken to get
    /// there, and the last one out ends the process.
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

    /// Wakes every thread of the process blocked in the kernel, so that it looks again at
    /// whether it must leave.
    fn interrupt_threads(&self) {
        self.threads.lock().iter().for_each(sched::interrupt);
    }

    /// Sends a terminating signal (SIGKILL, SIGTERM's default action).
    pub fn kill(&self, signal: i32) {
        self.start_group_exit(WaitStatus::signaled(signal));
    }

    /// The calling thread leaves the process; the last thread out ends it with the group
    /// status, or `own` if there is none (a plain `exit` of the last thread).
    fn leave(&self, own: WaitStatus) {
        let me = current_thread();
        me.start_leaving();
        // CLONE_CHILD_CLEARTID: tell a joining thread this one is gone.
        let clear_child_tid = me.clear_child_tid.load(Ordering::Relaxed);
        if clear_child_tid != 0 {
            let _ = self.with_space(|space| {
                super::usercopy::copy_to_user(space, clear_child_tid, &0u32.to_le_bytes())
            });
            super::futex::wake(self, clear_child_tid, 1);
        }
        // Settle the thread's CPU time as it leaves the list `usage` sums, in one step.
        let spent = cpu_time::of(&me);
        {
            self.remove_thread(&me);
            let mut usage = self.usage.lock();
            usage.own = usage.own + spent;
        }
        if self.live_threads.fetch_sub(1, Ordering::SeqCst) == 1 {
            let status = (*self.group_exit.lock()).unwrap_or(own);
            self.finish(status);
        } else if self.exec_thread.load(Ordering::SeqCst) != 0 {
            // SeqCst on both sides: either this sees the exec'ing thread's mark, or its
            // check of `live_threads` sees this thread gone.
            self.thread_left.wake_all();
        }
    }

    /// How the process ended, once it has.
    pub fn status(&self) -> Option<WaitStatus> {
        *self.status.lock()
    }

    /// Completes when the process has ended and its user memory is gone.
    pub async fn exited(self: Arc<Self>) -> WaitStatus {
        self.exited.wait().await;
        self.status().expect("process: exited without a status")
    }

    /// Ends the process from its own (last) thread, in DESIGN.md's order: close its
    /// descriptors, purge the user half (R2), hand the children to init (R9), and only then publish the status (the
    /// process is a zombie) and wake whoever waits for it. The root stays until the
    /// process is dropped.
    fn finish(&self, status: WaitStatus) {
        // Close every descriptor first: a pipe's other side sees end of file or EPIPE now.
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
        debug_assert!(purged.is_some(), "process: finished twice");
        self.hand_children_to_init();
        let threads = core::mem::take(&mut *self.threads.lock());
        drop(threads);
        crate::trace::process_event(self.pid.0, "exit");
        *self.status.lock() = Some(status);
        crate::trace::process_event(self.pid.0, "zombie");
        // Interrupts off, as the event's rule asks: a waiter that sees it firing spins
        // until it has fired.
        without_interrupts(|| self.exited.fire(Exited::new()));
        let parent = self.parent.lock().as_ref().and_then(Weak::upgrade);
        if let Some(parent) = parent {
            if parent.children_detached.load(Ordering::Acquire) {
                // Nobody will wait for this one: no zombie, the pid goes at once.
                parent.children.lock().remove(self.pid.0);
                release_pid(self.pid);
                crate::trace::process_event(self.pid.0, "detached");
            }
            parent.child_ended.wake_all();
        }
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
        let init = find(INIT_PID).filter(|init| init.pid != self.pid && init.status().is_none());
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
    fn adopt_orphans(&self) {
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
                    release_pid(orphan.pid);
                } else {
                    let entered = self.children.lock().try_insert(pid, orphan);
                    entered.expect("process: no room for an orphan after reserving it");
                }
            }
        }
    }

    /// Puts `batches`, orphans not yet merged, back at the head of the adopted list.
    fn put_back(&self, mut batches: alloc::boxed::Box<Orphans>) {
        {
            let mut adopted = self.adopted.lock();
            let mut tail = &mut batches;
            while tail.next.is_some() {
                tail = tail.next.as_mut().expect("process: a batch vanished");
            }
            tail.next = adopted.take();
            *adopted = Some(batches);
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        release_pid(self.pid);
        if let Some(space) = self.space.get_mut().take() {
            spaces::destroy(space);
        }
        // `_counted` goes with the fields, after this: the count drops once all is freed.
        crate::trace::process_event(self.pid.0, "freed");
    }
}

/// The process of the running thread, if it is a user thread.
pub fn current() -> Option<Arc<Process>> {
    current_thread().process().cloned()
}

/// Leaves now if the calling thread's process is ending (`exit_group` by another thread, or
/// `kill`) or another thread's execve replaces it; for the ways back to ring 3.
pub fn die_if_killed() {
    if let Some(process) = current().filter(|process| process.must_leave()) {
        leave_current(process, WaitStatus::exited(0))
    }
}

/// `exit(code)`: ends the calling thread; the process ends with `code` if it was the last.
pub fn exit_thread(code: i32) -> ! {
    let process = current().expect("process: exit from a kernel thread");
    leave_current(process, WaitStatus::exited(code))
}

/// `exit_group(code)`: ends every thread of the calling process, with exit code `code`.
pub fn exit_current(code: i32) -> ! {
    end_current(WaitStatus::exited(code))
}

/// Ends the calling user thread's process as killed by `signal` (a fault in user mode).
pub fn kill_current(signal: i32) -> ! {
    end_current(WaitStatus::signaled(signal))
}

fn end_current(status: WaitStatus) -> ! {
    let process = current().expect("process: exit from a kernel thread");
    process.start_group_exit(status);
    leave_current(process, status)
}

fn leave_current(process: Arc<Process>, own: WaitStatus) -> ! {
    process.leave(own);
    drop(process);
    sched::thread::exit_current()
}
