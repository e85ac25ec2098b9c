//! Starting a program: a fresh address space with the ELF's segments and a user stack
//! holding argv, envp and auxv, and a user thread that enters it.
//!
//! The program is planned below `PROGRAM_LIMIT`, so its segments never share a page with
//! the stack or stand in the way of its growth; a file the plan refuses (it may be a user's) is `NotExecutable`,
//! never a panic. Anything that goes wrong before the thread exists gives back everything
//! taken.

use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::Ordering;

use loader::elf_plan::{self, ElfError, LoadPlan};
use loader::initial_stack::{self, auxv};
use mm::PAGE_SIZE;
use mm::address_space::{AddressSpace, MapError, PageAccess};

use super::limits::{Limits, RLIM_INFINITY};
use super::memory::Layout;
use super::process_count::ProcessCount;
use super::usercopy::load_into;
use super::{Pid, Process};
use crate::mm::{frames::LockedFrames, spaces, window::window};
use crate::sched::TaskCharge;
use crate::sched::{self, SpawnError};

/// The top of every process's stack.
pub const STACK_TOP: u64 = 0x0000_7fff_ffff_f000;
/// The stack's first pages, mapped up front; below them it grows on demand.
const STACK_PAGES: u64 = 32;
/// RLIMIT_STACK of the programs the kernel starts: Linux's default, 8 MiB.
const DEFAULT_STACK_LIMIT: u64 = 8 << 20;
/// Where the stack's first pages start.
const STACK_BOTTOM: u64 = STACK_TOP - STACK_PAGES * PAGE_SIZE;
/// A program's segments must end at or below this: above it the stack grows.
const PROGRAM_LIMIT: u64 = super::memory::MMAP_TOP;
/// Room on a new stack for argv, envp, their strings and the auxiliary vector (Linux gives
/// argv and envp a quarter of RLIMIT_STACK, 2 MiB by default).
pub const ARGUMENT_ROOM: usize = 64 * 1024;

/// Why a program could not be started; nothing is left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecError {
    /// No such file in the ramdisk (ENOENT).
    NotFound,
    /// The file is not a static x86-64 executable this kernel can load (ENOEXEC).
    NotExecutable(ElfError),
    /// The arguments do not fit (E2BIG).
    ArgumentsTooLong,
    /// No memory for the address space, the program or its thread (ENOMEM).
    OutOfMemory,
    /// The thread limit is reached (EAGAIN).
    TooManyThreads,
    /// The process limit is reached (EAGAIN).
    TooManyProcesses,
    /// The process is ending, or another of its threads is in execve: the caller leaves
    /// on its way back to ring 3 and never sees this.
    Evicted,
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::NotFound => f.write_str("no such file"),
            ExecError::NotExecutable(error) => write!(f, "not executable: {error}"),
            ExecError::ArgumentsTooLong => f.write_str("arguments too long"),
            ExecError::OutOfMemory => f.write_str("out of memory"),
            ExecError::TooManyThreads => f.write_str("thread limit reached"),
            ExecError::TooManyProcesses => f.write_str("process limit reached"),
            ExecError::Evicted => f.write_str("the process is ending or exec'ing in another thread"),
        }
    }
}

/// Starts `program` (an ELF file) as a new process named `name` with `argv` and `envp`.
pub fn spawn_program(
    name: &'static str,
    program: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<Arc<Process>, ExecError> {
    let plan = plan(program)?;
    let task_charge = TaskCharge::take(RLIM_INFINITY).ok_or(ExecError::TooManyThreads)?;
    let counted = ProcessCount::take().ok_or(ExecError::TooManyProcesses)?;
    let mut space = spaces::create().map_err(|_| ExecError::OutOfMemory)?;
    let start = match load(&mut space, &plan, program, argv, envp) {
        Ok(start) => start,
        Err(error) => {
            spaces::destroy(space);
            return Err(error);
        }
    };
    let limits = Limits::initial(DEFAULT_STACK_LIMIT);
    let Ok(files) = crate::files::FdTable::with_console() else {
        spaces::destroy(space);
        return Err(ExecError::OutOfMemory);
    };
    let pid = Pid(sched::ThreadId::reserve_for_process().0 as u32);
    let process = Process::new(pid, counted, space, program_layout(&plan), limits, files, None)
        .map_err(|_| ExecError::OutOfMemory)?;
    let (entry, stack_pointer) = start;
    process.reserve_thread().map_err(|_| ExecError::OutOfMemory)?;
    let spawned = sched::spawn_user(name, process.clone(), task_charge, entry, stack_pointer);
    if spawned.is_err() {
        process.unreserve_thread();
    }
    match spawned {
        Ok(_) => {
            crate::trace::process_event(process.pid().0, "exec");
            Ok(process)
        }
        Err(SpawnError::TooManyThreads) => Err(ExecError::TooManyThreads),
        Err(SpawnError::OutOfMemory) => Err(ExecError::OutOfMemory),
    }
}

/// execve for `process`, from its calling thread: replaces its image with the ramdisk's
/// `path` and makes `registers` (the system call's frame) start it — every register zero
/// but rip and rsp. Once the new image is loaded, every other thread of the process leaves
/// first (`Process::evict_other_threads`). On failure the process is unchanged (but for
/// `Evicted`, after which the caller exits too).
pub fn execve(
    process: &Process,
    path: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
    registers: &mut crate::arch::syscall::SyscallFrame,
) -> Result<(), ExecError> {
    let path = core::str::from_utf8(path).map_err(|_| ExecError::NotFound)?;
    let program = crate::initrd::find(path).ok().flatten().ok_or(ExecError::NotFound)?;
    let plan = plan(program)?;
    let mut space = spaces::create().map_err(|_| ExecError::OutOfMemory)?;
    let (entry, stack_pointer) = match load(&mut space, &plan, program, argv, envp) {
        Ok(start) => start,
        Err(error) => {
            spaces::destroy(space);
            return Err(error);
        }
    };
    // The point of no return: any other thread leaves now, or the caller does.
    if process.evict_other_threads().is_err() {
        spaces::destroy(space);
        return Err(ExecError::Evicted);
    }
    process.replace_image(space, program_layout(&plan));
    process.with_files(crate::files::FdTable::close_on_exec);
    let me = sched::cpu::current_thread();
    me.fs_base.store(0, core::sync::atomic::Ordering::Relaxed);
    crate::arch::user::set_fs_base(0);
    crate::arch::fpu::restore(&crate::arch::fpu::FpuState::initial());
    *registers = crate::arch::syscall::SyscallFrame::entering(entry, stack_pointer);
    crate::trace::process_event(process.pid().0, "exec");
    Ok(())
}

/// The memory layout of a freshly loaded `plan`.
fn program_layout(plan: &LoadPlan) -> Layout {
    Layout::for_program(plan.end, STACK_BOTTOM)
}

/// Maps and fills the segments and the stack; returns the entry point and stack pointer.
fn load(
    space: &mut AddressSpace,
    plan: &LoadPlan,
    program: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<(u64, u64), ExecError> {
    for segment in &plan.segments {
        let access = PageAccess { writable: segment.writable, executable: segment.executable };
        map_pages(space, segment.pages(), access)?;
    }
    for segment in &plan.segments {
        let bytes =
            &program[segment.file_offset as usize..(segment.file_offset + segment.file_size) as usize];
        load_into(space, segment.vaddr, bytes).expect("exec: a planned segment is not mapped");
    }
    map_pages(space, STACK_BOTTOM..STACK_TOP, PageAccess::READ_WRITE)?;
    let auxiliary = [
        (auxv::AT_PHDR, plan.program_headers.unwrap_or(0)),
        (auxv::AT_PHENT, u64::from(plan.program_header_size)),
        (auxv::AT_PHNUM, u64::from(plan.program_header_count)),
        (auxv::AT_PAGESZ, PAGE_SIZE),
        (auxv::AT_ENTRY, plan.entry),
        (auxv::AT_UID, 0),
        (auxv::AT_EUID, 0),
        (auxv::AT_GID, 0),
        (auxv::AT_EGID, 0),
        (auxv::AT_SECURE, 0),
    ];
    if crate::fault_injection::refuses(crate::fault_injection::Kind::Heap) {
        return Err(ExecError::OutOfMemory);
    }
    let image = initial_stack::build(STACK_TOP, ARGUMENT_ROOM, argv, envp, &auxiliary, random_bytes())
        .map_err(|error| match error {
            initial_stack::StackError::TooBig => ExecError::ArgumentsTooLong,
            initial_stack::StackError::OutOfMemory => ExecError::OutOfMemory,
        })?;
    load_into(space, image.stack_pointer, &image.bytes).expect("exec: the stack is not mapped");
    Ok((plan.entry, image.stack_pointer))
}

/// Plans the loading of `program` below `PROGRAM_LIMIT`; the plan's heap is the `heap`
/// kind's to fail (`fault_injection`).
fn plan(program: &[u8]) -> Result<elf_plan::LoadPlan, ExecError> {
    if crate::fault_injection::refuses(crate::fault_injection::Kind::Heap) {
        return Err(ExecError::OutOfMemory);
    }
    elf_plan::plan(program, PROGRAM_LIMIT).map_err(|error| match error {
        ElfError::OutOfMemory => ExecError::OutOfMemory,
        error => ExecError::NotExecutable(error),
    })
}

/// Maps fresh zeroed pages over `range`. A page two segments share is mapped once, with
/// the first segment's access.
fn map_pages(
    space: &mut AddressSpace,
    range: core::ops::Range<u64>,
    access: PageAccess,
) -> Result<(), ExecError> {
    let frames = &mut LockedFrames;
    range.step_by(PAGE_SIZE as usize).try_for_each(|page| {
        match space.map_zeroed(window(), frames, page, access) {
            Ok(_) | Err(MapError::AlreadyMapped { .. }) => Ok(()),
            Err(MapError::OutOfFrames) => Err(ExecError::OutOfMemory),
            Err(error) => panic!("exec: planned page {page:#x} refused: {error}"),
        }
    })
}

/// 16 bytes for `AT_RANDOM`, mixed from the TSC. Not cryptographic; enough for musl's
/// stack canary and pointer mangling to differ between runs.
fn random_bytes() -> [u8; 16] {
    let mut state = crate::arch::cpu::read_tsc() ^ 0x9e37_79b9_7f4a_7c15;
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    bytes
}

/// `evict_other_threads` did not make the caller the only thread: it must exit instead.
#[derive(Debug)]
struct Evicted;

impl Process {
    /// execve's first step in a process of several threads (Linux's `de_thread`): makes
    /// every other thread exit and returns once the caller is the only one. `Err` if the
    /// process is ending meanwhile, or another thread's execve got there first: the caller
    /// then exits too, on its way back to ring 3.
    fn evict_other_threads(&self) -> Result<(), Evicted> {
        let me = sched::cpu::current_thread().id().0;
        if self.exec_thread.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            return Err(Evicted);
        }
        // The caller is woken too: at worst one blocking call of it looks again.
        self.interrupt_threads();
        self.thread_exited.wait_until(|| self.live_threads.load(Ordering::SeqCst) == 1 || self.is_exiting());
        if self.is_exiting() {
            return Err(Evicted);
        }
        self.exec_thread.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// execve's switch to a new image: makes `space` and `layout` the process's, loads
    /// `space` on this CPU, and frees the old address space. Called by the process's only
    /// thread, which is running on the old one.
    fn replace_image(&self, space: AddressSpace, layout: Layout) {
        let old = sched::without_preemption(|| {
            spaces::activate(&space);
            self.root.store(space.root(), Ordering::Release);
            *self.layout.lock() = layout;
            self.space.lock().replace(space)
        });
        if let Some(old) = old {
            // The threads `evict_other_threads` saw exit may still be switching away on
            // their CPUs with the old root in CR3: it is freed only once no CPU has it loaded.
            while spaces::loaded_anywhere(old.root()) {
                sched::yield_now();
            }
            spaces::destroy(old);
        }
    }
}
