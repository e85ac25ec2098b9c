//! The process control block: what a process is made of, which lock guards each part, and
//! the accessors the rest of the kernel uses.
//!
//! How a process ends is `exit`'s (the state diagram is there); how it is replaced is
//! `exec`'s, copied `fork`'s, waited for `wait`'s, signalled `signal`'s.
//!
//! Lock order, written once here for every lock of a process. A lock may be taken while
//! holding one to its left, never the other way round:
//!
//! ```text
//!   space ──► layout                 preemption off, interrupts on: held across long work
//!                                    (fork's copy, munmap's purge)
//!   threads ──► usage                `usage` and `exit_thread` take both, so a thread's time
//!                                    moves from the list to the settled sum in one step
//!   children ──► (a child's) status  `find_child` and `let_zombies_go` read each child's status
//! ```
//!
//! Every other lock is a leaf: interrupts masked (the `SpinLock` default), held briefly,
//! nothing taken inside it. `parent` and `children` are never held together, and no
//! process lock is held across a block or a switch.

use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use abi::types::Sigaction;
use executor::OneShotEvent;
use mm::address_space::AddressSpace;

use super::WaitStatus;
use super::exit::{Exited, Orphans};
use super::limits::{Limit, LimitError, Limits};
use super::memory::Layout;
use super::pid_map::PidMap;
use super::pid_table::{self, Pid};
use super::process_count::ProcessCount;
use super::usage::Usage;
use crate::fault_injection::OutOfHeap;
use crate::files::FdTable;
use crate::mm::pool::PoolArc;
use crate::mm::spaces;
use crate::sched::NoPreemption;
use crate::sched::cpu_time::{self, CpuTime};
use crate::sched::thread::UserProcess;
use crate::sched::{self, Thread, WaitQueue, cpu::current_thread};
use crate::sync::SpinLock;

/// A process. Fields are grouped by what they are about; each names what guards it.
pub struct Process {
    // Identity: fixed from `new` on.
    pub(super) pid: Pid,
    /// The process's place in the process count, given back when the process is dropped.
    _counted: ProcessCount,

    // Memory.
    /// Physical address of the address space's root (what CR3 holds for its threads);
    /// changes only at execve (`replace_image`).
    pub(super) root: AtomicU64,
    /// The address space; taken (and freed) when the process ends. Lock order: first.
    pub(super) space: SpinLock<Option<AddressSpace>, NoPreemption>,
    /// The program break and where mappings go. Lock order: after `space`.
    pub(super) layout: SpinLock<Layout, NoPreemption>,

    // Threads.
    /// The process's threads, for `kill` to wake them from blocking calls; emptied when the
    /// process becomes a zombie (threads refer to their process, so this list must not
    /// outlive it). Lock order: before `usage`.
    pub(super) threads: SpinLock<Vec<PoolArc<Thread>>>,
    /// Threads that have not exited yet; the last to exit makes the process a zombie.
    pub(super) live_threads: AtomicUsize,
    /// The tid of the thread whose execve is replacing the process, 0 if none: every other
    /// thread exits at its next way back to ring 3, as for a group exit, but the process
    /// lives on in the exec'ing one (`evict_other_threads`).
    pub(super) exec_thread: AtomicU64,
    /// Where an exec'ing thread waits for the others to exit.
    pub(super) thread_exited: WaitQueue,
    /// CPU time settled by threads that exited, and by collected children. Lock order:
    /// after `threads`.
    pub(super) usage: SpinLock<Usage>,

    // Ending (`exit`).
    /// How the whole process is to end, once `exit_group` or a fatal signal says so (the
    /// first reason wins).
    pub(super) group_exit: SpinLock<Option<WaitStatus>>,
    /// Whether `group_exit` is set (a lock-free check for the ways back to ring 3).
    pub(super) exiting: AtomicBool,
    /// How the process ended; set when it becomes a zombie. Lock order: after the parent's
    /// `children`.
    pub(super) status: SpinLock<Option<WaitStatus>>,
    /// Fired once the process is a zombie, its user memory gone (R2).
    pub(super) exited: OneShotEvent<Exited>,

    // Family.
    /// The parent; `None` for processes the kernel started, and for orphans when there is
    /// no init to adopt them. Never held with `children`.
    pub(super) parent: SpinLock<Option<Weak<Process>>>,
    /// Children not yet collected by `wait4`, zombies included, by pid: waiting for one
    /// child and collecting it take a lookup, not a walk over every child. Lock order:
    /// before each child's `status`.
    pub(super) children: SpinLock<PidMap<Arc<Process>>>,
    /// Where this process's threads wait for a child to end.
    pub(super) child_ended: WaitQueue,
    /// Whether SIGCHLD is ignored (`SIG_IGN` or `SA_NOCLDWAIT`): children are then not kept
    /// as zombies but let go as soon as they end.
    pub(super) children_detached: AtomicBool,
    /// The box this process's children go to init in when it ends, made with the process
    /// so that ending it does not allocate (R3).
    pub(super) orphans: SpinLock<Option<Box<Orphans>>>,
    /// Orphans handed to this process (init) and not yet merged into `children`.
    pub(super) adopted: SpinLock<Option<Box<Orphans>>>,

    // Signals (`signal`).
    /// Signal actions as `rt_sigaction` stored them (handler, flags, restorer, mask).
    pub(super) signal_actions: SpinLock<[Sigaction; abi::signal::SIGNALS as usize]>,
    /// The signal mask `rt_sigprocmask` keeps.
    pub(super) signal_mask: AtomicU64,
    /// Signals sent while blocked, one bit each.
    pub(super) pending_signals: AtomicU64,

    // Resources.
    /// Resource limits (`prlimit64`).
    pub(super) limits: SpinLock<Limits>,
    /// Open file descriptors; emptied when the process ends, before it is a zombie.
    pub(super) files: SpinLock<FdTable>,
}

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
            _counted: counted,
            root: AtomicU64::new(space.root()),
            space: SpinLock::new(Some(space)),
            layout: SpinLock::new(layout),
            threads: SpinLock::new(Vec::new()),
            live_threads: AtomicUsize::new(0),
            exec_thread: AtomicU64::new(0),
            thread_exited: WaitQueue::new(),
            usage: SpinLock::new(Usage::default()),
            group_exit: SpinLock::new(None),
            exiting: AtomicBool::new(false),
            status: SpinLock::new(None),
            exited: OneShotEvent::new(),
            parent: SpinLock::new(parent.map(Arc::downgrade)),
            children: SpinLock::new(PidMap::new()),
            child_ended: WaitQueue::new(),
            children_detached: AtomicBool::new(false),
            orphans: SpinLock::new(Some(orphans)),
            adopted: SpinLock::new(None),
            signal_actions: SpinLock::new([Sigaction::default(); abi::signal::SIGNALS as usize]),
            signal_mask: AtomicU64::new(0),
            pending_signals: AtomicU64::new(0),
            limits: SpinLock::new(limits),
            files: SpinLock::new(files),
        })?;
        // Dropped on failure, the process takes its pid out of the table again.
        pid_table::enter(&process)?;
        if let Some(parent) = parent {
            parent.children.lock().try_insert(process.pid.0, process.clone())?;
        }
        Ok(process)
    }

    /// Forgets `child`, a child whose start failed half-way.
    pub(super) fn abandon_child(&self, child: &Arc<Process>) {
        self.children.lock().remove(child.pid.0);
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The parent's pid, 0 if the kernel started this process.
    pub fn parent_pid(&self) -> Pid {
        let parent = self.parent.lock().as_ref().and_then(Weak::upgrade);
        parent.map_or(Pid(0), |parent| parent.pid)
    }

    /// The page-table root to load for this process's threads.
    pub fn page_table_root(&self) -> u64 {
        self.root.load(Ordering::Acquire)
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

    /// CPU time used: by the threads that exited and those still running, and by collected
    /// children.
    pub fn usage(&self) -> Usage {
        // Both locks at once, in the lock order: a thread moving from the list to the
        // settled time is counted exactly once.
        let threads = self.threads.lock();
        let settled = *self.usage.lock();
        let own = threads.iter().fold(settled.own, |sum, thread| sum + cpu_time::of(thread));
        Usage { own, ..settled }
    }

    /// What a parent collecting this ended process gets: all of its time and its children's.
    pub(super) fn total_usage(&self) -> CpuTime {
        let usage = *self.usage.lock();
        usage.own + usage.children
    }

    /// Adds a collected child's total time to the children's.
    pub(super) fn add_child_usage(&self, time: CpuTime) {
        let mut usage = self.usage.lock();
        usage.children = usage.children + time;
    }

    /// Counts a thread about to be made, before it can run (and so exit), and makes room
    /// for it on the thread list (so `add_thread` does not allocate); undone by
    /// `unreserve_thread` if making it fails. Fails, changing nothing, when the heap has
    /// no room.
    pub(super) fn reserve_thread(&self) -> Result<(), OutOfHeap> {
        let mut threads = self.threads.lock();
        let counted = self.live_threads.load(Ordering::Acquire) + 1;
        let more = counted.saturating_sub(threads.len());
        crate::fault_injection::try_reserve(&mut *threads, more)?;
        self.live_threads.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    pub(super) fn unreserve_thread(&self) {
        self.live_threads.fetch_sub(1, Ordering::AcqRel);
    }

    /// Records `thread` as one of the process's (for `kill` to wake it). Called by the
    /// spawn before the thread can run, so before it can take itself off the list: added
    /// later, a thread that had already exited would keep its process alive forever.
    pub(crate) fn add_thread(&self, thread: PoolArc<Thread>) {
        let mut threads = self.threads.lock();
        thread.place_in_process.store(threads.len(), Ordering::Relaxed);
        threads.push(thread);
    }

    /// Takes `thread` off `threads`, the process's list, in one step: the last thread takes
    /// its place.
    pub(super) fn remove_thread(threads: &mut Vec<PoolArc<Thread>>, thread: &PoolArc<Thread>) {
        let place = thread.place_in_process.load(Ordering::Relaxed);
        let listed = threads.get(place).is_some_and(|listed| PoolArc::ptr_eq(listed, thread));
        assert!(listed, "process: thread {} is not where its process's list says", thread.id().0);
        threads.swap_remove(place);
        if let Some(moved) = threads.get(place) {
            moved.place_in_process.store(place, Ordering::Relaxed);
        }
    }

    /// Wakes every thread of the process blocked in the kernel, so that it looks again at
    /// whether it must exit.
    pub(super) fn interrupt_threads(&self) {
        self.threads.lock().iter().for_each(sched::interrupt);
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
}

/// The process of the running thread, if it is a user thread.
pub fn current() -> Option<Arc<Process>> {
    let process = current_thread().process().cloned()?;
    Some(
        process
            .into_any()
            .downcast::<Process>()
            .expect("process: a user thread of a process of another kind"),
    )
}

impl UserProcess for Process {
    fn process_id(&self) -> u32 {
        self.pid.0
    }

    fn page_table_root(&self) -> u64 {
        Process::page_table_root(self)
    }

    fn add_thread(&self, thread: PoolArc<Thread>) {
        Process::add_thread(self, thread);
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn core::any::Any + Send + Sync> {
        self
    }
}
