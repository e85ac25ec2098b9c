//! System calls: Linux x86-64 numbers, registers and errno values.
//!
//! `dispatch` is called by the entry code (`arch::syscall`) with the caller's registers.
//! It runs with interrupts on (the thread may be preempted or block) and returns with them
//! off, as the way back to ring 3 needs. Unknown numbers return `ENOSYS`; bad pointers
//! `EFAULT`; nothing a program passes can make the kernel panic.

mod errno;
mod files;
mod resources;

use crate::arch::syscall::SyscallFrame;
use crate::process::{self, memory, usercopy};
use errno::Errno;

const READ: u64 = 0;
const WRITE: u64 = 1;
const CLOSE: u64 = 3;
const MMAP: u64 = 9;
const MPROTECT: u64 = 10;
const MUNMAP: u64 = 11;
const BRK: u64 = 12;
const RT_SIGACTION: u64 = 13;
const RT_SIGPROCMASK: u64 = 14;
const IOCTL: u64 = 16;
const WRITEV: u64 = 20;
const PIPE: u64 = 22;
const SCHED_YIELD: u64 = 24;
const DUP: u64 = 32;
const DUP2: u64 = 33;
const NANOSLEEP: u64 = 35;
const GETPID: u64 = 39;
const CLONE: u64 = 56;
const FORK: u64 = 57;
const VFORK: u64 = 58;
const EXECVE: u64 = 59;
const EXIT: u64 = 60;
const WAIT4: u64 = 61;
const KILL: u64 = 62;
const UNAME: u64 = 63;
const GETRLIMIT: u64 = 97;
const GETRUSAGE: u64 = 98;
const GETPPID: u64 = 110;
const RT_SIGPENDING: u64 = 127;
const ARCH_PRCTL: u64 = 158;
const SETRLIMIT: u64 = 160;
const GETTID: u64 = 186;
const FUTEX: u64 = 202;
const SET_TID_ADDRESS: u64 = 218;
const CLOCK_GETTIME: u64 = 228;
const CLOCK_GETRES: u64 = 229;
const EXIT_GROUP: u64 = 231;
const DUP3: u64 = 292;
const PIPE2: u64 = 293;
const PRLIMIT64: u64 = 302;
const GETCPU: u64 = 309;
/// Lethe's own call, above Linux's numbers: `lethe_reaping(strategy)` makes `strategy`
/// (0 future, 1 reaper, 2 percpu-reaper) the reaping strategy of threads made from now on
/// and returns the previous one; `lethe_reaping(-1)` only returns the current one.
const LETHE_REAPING: u64 = 1000;

const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
/// Flags `mmap` accepts and ignores (no effect without demand paging or files).
const MAP_IGNORED: u64 = 0x0100 /* GROWSDOWN */ | 0x4000 /* NORESERVE */ | 0x8000 /* POPULATE */ | 0x2_0000 /* STACK */;

pub(crate) extern "C" fn dispatch(frame: &mut SyscallFrame) {
    let timing = crate::sched::cpu_time::SystemCall::enter();
    x86_64::instructions::interrupts::enable();
    crate::fault_injection::enter_system_call(frame.rax);
    let result = match frame.rax {
        READ => files::read(frame.rdi, frame.rsi, frame.rdx),
        WRITE => files::write(frame.rdi, frame.rsi, frame.rdx),
        WRITEV => files::writev(frame.rdi, frame.rsi, frame.rdx),
        IOCTL => files::ioctl(frame.rdi, frame.rsi, frame.rdx),
        CLOSE => files::close(frame.rdi),
        PIPE => files::pipe2(frame.rdi, 0),
        PIPE2 => files::pipe2(frame.rdi, frame.rsi),
        DUP => files::dup(frame.rdi),
        DUP2 => files::dup3(frame.rdi, frame.rsi, None),
        DUP3 => files::dup3(frame.rdi, frame.rsi, Some(frame.rdx)),
        ARCH_PRCTL => arch_prctl(frame.rdi, frame.rsi),
        SET_TID_ADDRESS => set_tid_address(frame.rdi),
        BRK => Ok(current_process()
            .with_memory(|space, layout| memory::set_break(space, layout, frame.rdi))
            .unwrap_or(0)),
        MMAP => mmap(frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8 as i64),
        MUNMAP => memory_call(|space, layout| memory::unmap(space, layout, frame.rdi, frame.rsi).map(|()| 0)),
        MPROTECT => mprotect(frame.rdi, frame.rsi, frame.rdx),
        NANOSLEEP => nanosleep(frame.rdi),
        CLOCK_GETTIME => clock_gettime(frame.rdi, frame.rsi),
        CLOCK_GETRES => clock_getres(frame.rdi, frame.rsi),
        GETCPU => getcpu(frame.rdi, frame.rsi),
        GETPID => Ok(u64::from(current_process().pid().0)),
        GETPPID => Ok(u64::from(current_process().parent_pid().0)),
        SCHED_YIELD => {
            crate::sched::yield_now();
            Ok(0)
        }
        FORK | VFORK => fork(frame),
        CLONE => clone(frame),
        EXECVE => execve(frame),
        WAIT4 => wait4(frame.rdi as i64, frame.rsi, frame.rdx, frame.r10),
        KILL => kill(frame.rdi as i64, frame.rsi),
        FUTEX => futex(frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9),
        UNAME => uname(frame.rdi),
        RT_SIGACTION => rt_sigaction(frame.rdi, frame.rsi, frame.rdx, frame.r10),
        RT_SIGPROCMASK => rt_sigprocmask(frame.rdi, frame.rsi, frame.rdx, frame.r10),
        RT_SIGPENDING => rt_sigpending(frame.rdi, frame.rsi),
        GETTID => Ok(crate::sched::cpu::current_thread().id().0),
        EXIT => process::exit(frame.rdi as i32),
        EXIT_GROUP => process::exit_group(process::WaitStatus::exited(frame.rdi as i32)),
        GETRLIMIT => resources::getrlimit(frame.rdi, frame.rsi),
        SETRLIMIT => resources::setrlimit(frame.rdi, frame.rsi),
        PRLIMIT64 => resources::prlimit64(frame.rdi, frame.rsi, frame.rdx, frame.r10),
        GETRUSAGE => resources::getrusage(frame.rdi, frame.rsi),
        LETHE_REAPING => reaping(frame.rdi),
        _ => Err(Errno::ENOSYS),
    };
    frame.rax = match result {
        Ok(value) => value,
        Err(errno) => errno.as_return(),
    };
    crate::fault_injection::leave_system_call();
    process::exit_if_group_exiting();
    x86_64::instructions::interrupts::disable();
    timing.leave();
}

fn current_process() -> alloc::sync::Arc<process::Process> {
    process::current().expect("syscall: a system call from a kernel thread")
}

fn reaping(number: u64) -> Result<u64, Errno> {
    use crate::sched::reaping::{self, Strategy};
    if number == u64::MAX {
        return Ok(reaping::strategy() as u64);
    }
    let strategy = Strategy::from_number(number).ok_or(Errno::EINVAL)?;
    Ok(reaping::set_strategy(strategy) as u64)
}

/// `fork()` (and `vfork()`, which behaves as fork): the child returns 0, the parent its pid.
fn fork(frame: &SyscallFrame) -> Result<u64, Errno> {
    match process::fork(&current_process(), frame) {
        Ok(pid) => Ok(u64::from(pid.0)),
        Err(process::ForkError::OutOfMemory) => Err(Errno::ENOMEM),
        Err(process::ForkError::TooManyThreads | process::ForkError::TooManyProcesses) => Err(Errno::EAGAIN),
        Err(process::ForkError::Killed) => Err(Errno::EINTR),
    }
}

/// `wait4(pid, wstatus, options, rusage)`.
fn wait4(pid: i64, status: u64, options: u64, rusage: u64) -> Result<u64, Errno> {
    match process::wait4(&current_process(), pid, status, process::WaitOptions(options), rusage) {
        Ok(pid) => Ok(u64::from(pid.0)),
        Err(process::WaitError::NoChild) => Err(Errno::ECHILD),
        Err(process::WaitError::BadOptions) => Err(Errno::EINVAL),
        Err(process::WaitError::BadAddress) => Err(Errno::EFAULT),
        Err(process::WaitError::Interrupted) => Err(Errno::EINTR),
    }
}

/// `arch_prctl(code, address)`: the FS base (thread pointer); GS is the kernel's own.
fn arch_prctl(code: u64, address: u64) -> Result<u64, Errno> {
    let me = crate::sched::cpu::current_thread();
    match code {
        ARCH_SET_FS => {
            if address >= mm::address_space::USER_END {
                return Err(Errno::EPERM);
            }
            me.fs_base.store(address, core::sync::atomic::Ordering::Relaxed);
            crate::arch::user::set_fs_base(address);
            Ok(0)
        }
        ARCH_GET_FS => {
            let base = me.fs_base.load(core::sync::atomic::Ordering::Relaxed);
            match current_process()
                .with_space(|space| usercopy::copy_to_user(space, address, &base.to_le_bytes()))
            {
                Some(Ok(())) => Ok(0),
                _ => Err(Errno::EFAULT),
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `set_tid_address(tidptr)`: remembered (clearing it and waking futex waiters at the
/// thread's exit comes with `clone` threads); returns the thread id.
fn set_tid_address(address: u64) -> Result<u64, Errno> {
    let me = crate::sched::cpu::current_thread();
    me.clear_child_tid.store(address, core::sync::atomic::Ordering::Relaxed);
    Ok(me.id().0)
}

/// Runs a memory call on the current process's address space and layout.
fn memory_call(
    call: impl FnOnce(
        &mut mm::address_space::AddressSpace,
        &mut memory::Layout,
    ) -> Result<u64, memory::MemoryError>,
) -> Result<u64, Errno> {
    match current_process().with_memory(call) {
        Some(Ok(value)) => Ok(value),
        Some(Err(memory::MemoryError::Invalid)) => Err(Errno::EINVAL),
        Some(Err(memory::MemoryError::OutOfMemory | memory::MemoryError::NotMapped)) | None => {
            Err(Errno::ENOMEM)
        }
    }
}

/// `mmap(addr, length, prot, flags, fd, offset)`: anonymous mappings, private or shared
/// with forked children (there are no files).
fn mmap(address: u64, length: u64, protection: u64, flags: u64, fd: i64) -> Result<u64, Errno> {
    let access = memory::access_for(protection).map_err(|_| Errno::EINVAL)?;
    if flags & MAP_ANONYMOUS == 0 || fd != -1 {
        return Err(Errno::ENODEV);
    }
    let sharing = match flags & (MAP_SHARED | MAP_PRIVATE) {
        MAP_PRIVATE => memory::Sharing::Private,
        MAP_SHARED => memory::Sharing::Shared,
        _ => return Err(Errno::EINVAL),
    };
    if flags & !(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_IGNORED) != 0 {
        return Err(Errno::EINVAL);
    }
    memory_call(|space, layout| {
        memory::map_anonymous(space, layout, address, length, access, flags & MAP_FIXED != 0, sharing)
    })
}

/// `mprotect(addr, length, prot)`.
fn mprotect(address: u64, length: u64, protection: u64) -> Result<u64, Errno> {
    let access = memory::access_for(protection).map_err(|_| Errno::EINVAL)?;
    memory_call(|space, layout| memory::protect(space, layout, address, length, access).map(|()| 0))
}

/// Reads a `struct timespec` from user memory: (seconds, nanoseconds), checked.
fn read_timespec(address: u64) -> Result<(u64, u64), Errno> {
    let mut bytes = [0u8; 16];
    match current_process().with_space(|space| usercopy::copy_from_user(space, address, &mut bytes)) {
        Some(Ok(())) => {}
        _ => return Err(Errno::EFAULT),
    }
    let seconds = i64::from_le_bytes(bytes[..8].try_into().unwrap());
    let nanoseconds = i64::from_le_bytes(bytes[8..].try_into().unwrap());
    if seconds < 0 || !(0..1_000_000_000).contains(&nanoseconds) {
        return Err(Errno::EINVAL);
    }
    Ok((seconds as u64, nanoseconds as u64))
}

/// `nanosleep(req, rem)`: sleeps at least `req` as `CLOCK_MONOTONIC` measures it. The
/// sleep is in timer ticks, which under emulation can come in a burst after a stall, so it
/// sleeps again until the clock has really moved on.
fn nanosleep(request: u64) -> Result<u64, Errno> {
    let (seconds, nanoseconds) = read_timespec(request)?;
    let tick_ns = 1_000_000_000 / u64::from(crate::time::TICK_HZ);
    let total = seconds.saturating_mul(1_000_000_000).saturating_add(nanoseconds);
    let deadline = crate::time::nanos_since_boot().saturating_add(total);
    let process = current_process();
    loop {
        let now = crate::time::nanos_since_boot();
        if now >= deadline {
            return Ok(0);
        }
        // The current tick is partly over already: one more makes the sleep long enough.
        let ticks = (deadline - now).div_ceil(tick_ns) + 1;
        let slept = crate::sched::block_on_unless(crate::tasks::sleep(ticks), || process.group_exiting());
        if slept.is_none() {
            return Err(Errno::EINTR);
        }
        if crate::time::tsc_hz() == 0 {
            // No clock to check against before calibration: the ticks are all there is.
            return Ok(0);
        }
    }
}

/// `clock_gettime(clock, tp)`: every supported clock counts from boot (there is no RTC).
fn clock_gettime(clock: u64, address: u64) -> Result<u64, Errno> {
    known_clock(clock)?;
    write_timespec(address, crate::time::nanos_since_boot())
}

/// `clock_getres(clock, res)`: every clock counts TSC nanoseconds, so 1 ns; `res` may be
/// NULL.
fn clock_getres(clock: u64, address: u64) -> Result<u64, Errno> {
    known_clock(clock)?;
    if address == 0 { Ok(0) } else { write_timespec(address, 1) }
}

/// The clocks there are (all read the TSC since boot).
fn known_clock(clock: u64) -> Result<(), Errno> {
    const CLOCK_REALTIME: u64 = 0;
    const CLOCK_MONOTONIC: u64 = 1;
    const CLOCK_MONOTONIC_RAW: u64 = 4;
    const CLOCK_REALTIME_COARSE: u64 = 5;
    const CLOCK_MONOTONIC_COARSE: u64 = 6;
    const CLOCK_BOOTTIME: u64 = 7;
    match clock {
        CLOCK_REALTIME
        | CLOCK_MONOTONIC
        | CLOCK_MONOTONIC_RAW
        | CLOCK_REALTIME_COARSE
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// Writes `nanos` as a `struct timespec` at `address`.
/// `getcpu(cpu, node, _)`: the CPU the caller runs on (it may have moved by the time it
/// looks), and NUMA node 0. Either pointer may be null.
fn getcpu(cpu_address: u64, node_address: u64) -> Result<u64, Errno> {
    let cpu = crate::sched::cpu::this_cpu_index();
    for (address, value) in [(cpu_address, cpu), (node_address, 0)] {
        if address != 0
            && !matches!(
                current_process().with_space(|space| usercopy::copy_to_user(
                    space,
                    address,
                    &value.to_le_bytes()
                )),
                Some(Ok(()))
            )
        {
            return Err(Errno::EFAULT);
        }
    }
    Ok(0)
}

fn write_timespec(address: u64, nanos: u64) -> Result<u64, Errno> {
    let mut timespec = [0u8; 16];
    timespec[..8].copy_from_slice(&(nanos / 1_000_000_000).to_le_bytes());
    timespec[8..].copy_from_slice(&(nanos % 1_000_000_000).to_le_bytes());
    match current_process().with_space(|space| usercopy::copy_to_user(space, address, &timespec)) {
        Some(Ok(())) => Ok(0),
        _ => Err(Errno::EFAULT),
    }
}

/// `kill(pid, sig)`: signal 0 checks that the process exists; any other is sent
/// (`process::signal`: its default action, or pending while blocked). pid -1 means every
/// process but init and the caller (the one user may signal them all); ESRCH if there are
/// none.
fn kill(pid: i64, signal: u64) -> Result<u64, Errno> {
    if signal > 64 {
        return Err(Errno::EINVAL);
    }
    let signal = (signal != 0).then_some(signal as i32);
    if pid == -1 {
        return match process::kill_all_but(&current_process(), signal) {
            0 => Err(Errno::ESRCH),
            _ => Ok(0),
        };
    }
    // Process groups (pid 0, pid < -1) are not there yet.
    let pid = u32::try_from(pid).ok().filter(|&pid| pid > 0).ok_or(Errno::EINVAL)?;
    let target = process::find(process::Pid(pid)).ok_or(Errno::ESRCH)?;
    if let Some(signal) = signal {
        process::signal::send(&target, signal);
    }
    Ok(0)
}

/// Longest path execve takes, its NUL included (Linux's PATH_MAX).
const PATH_MAX: usize = 4096;
/// Longest single argument or environment string, its NUL included (Linux's MAX_ARG_STRLEN).
const MAX_ARG_STRLEN: usize = 128 * 1024;

/// argv or envp as execve copies it: the strings, without their NULs, back to back.
struct Strings {
    bytes: alloc::vec::Vec<u8>,
    ends: alloc::vec::Vec<usize>,
}

impl Strings {
    fn slices(&self) -> impl Iterator<Item = &[u8]> {
        let starts = core::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied()).map(|(start, end)| &self.bytes[start..end])
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

/// Takes `bytes` from `room`, or fails with E2BIG.
fn charge(room: &mut u64, bytes: u64) -> Result<(), Errno> {
    *room = room.checked_sub(bytes).ok_or(Errno::E2BIG)?;
    Ok(())
}

/// Reads the NULL-terminated array of string pointers at `address` (NULL: empty), each
/// pointer and each string with its NUL charged to `room`. Every heap reservation is
/// fallible: ENOMEM rather than a kernel out of heap.
fn read_strings(process: &process::Process, address: u64, room: &mut u64) -> Result<Strings, Errno> {
    let mut strings = Strings { bytes: alloc::vec::Vec::new(), ends: alloc::vec::Vec::new() };
    if address == 0 {
        return Ok(strings);
    }
    let mut at = address;
    loop {
        let mut pointer = [0u8; 8];
        match process.with_space(|space| usercopy::copy_from_user(space, at, &mut pointer)) {
            Some(Ok(())) => {}
            _ => return Err(Errno::EFAULT),
        }
        let pointer = u64::from_le_bytes(pointer);
        if pointer == 0 {
            return Ok(strings);
        }
        charge(room, 8)?;
        let limit = (MAX_ARG_STRLEN - 1).min(usize::try_from(room.saturating_sub(1)).unwrap_or(usize::MAX));
        let length = process
            .with_space(|space| {
                usercopy::append_c_string_from_user(space, pointer, limit, &mut strings.bytes)
            })
            .ok_or(Errno::EFAULT)?
            .map_err(|error| match error {
                usercopy::StringError::Fault => Errno::EFAULT,
                usercopy::StringError::TooLong => Errno::E2BIG,
                usercopy::StringError::OutOfMemory => Errno::ENOMEM,
            })?;
        charge(room, length as u64 + 1)?;
        crate::fault_injection::try_reserve(&mut strings.ends, 1).map_err(|_| Errno::ENOMEM)?;
        strings.ends.push(strings.bytes.len());
        at = at.checked_add(8).ok_or(Errno::EFAULT)?;
    }
}

/// The slices of `strings`, in a vector reserved fallibly.
fn slices(strings: &Strings) -> Result<alloc::vec::Vec<&[u8]>, Errno> {
    let mut slices = alloc::vec::Vec::new();
    crate::fault_injection::try_reserve_exact(&mut slices, strings.len()).map_err(|_| Errno::ENOMEM)?;
    slices.extend(strings.slices());
    Ok(slices)
}

/// `execve(path, argv, envp)`: runs a program from the ramdisk in place of this one.
fn execve(frame: &mut SyscallFrame) -> Result<u64, Errno> {
    let process = current_process();
    let mut path = alloc::vec::Vec::new();
    process
        .with_space(|space| usercopy::append_c_string_from_user(space, frame.rdi, PATH_MAX - 1, &mut path))
        .ok_or(Errno::EFAULT)?
        .map_err(|error| match error {
            usercopy::StringError::Fault => Errno::EFAULT,
            usercopy::StringError::TooLong => Errno::ENAMETOOLONG,
            usercopy::StringError::OutOfMemory => Errno::ENOMEM,
        })?;
    // Past the room the new stack gives them, E2BIG before more is copied.
    let mut room = process::ARGUMENT_ROOM as u64;
    let argv = read_strings(&process, frame.rsi, &mut room)?;
    let envp = read_strings(&process, frame.rdx, &mut room)?;
    let argv = slices(&argv)?;
    let envp = slices(&envp)?;
    match process::execve(&process, &path, &argv, &envp, frame) {
        // The frame now starts the new program; its rax (0) is what it sees.
        Ok(()) => Ok(0),
        Err(process::ExecError::NotFound) => Err(Errno::ENOENT),
        Err(process::ExecError::NotExecutable(_)) => Err(Errno::ENOEXEC),
        Err(process::ExecError::ArgumentsTooLong) => Err(Errno::E2BIG),
        Err(process::ExecError::OutOfMemory) => Err(Errno::ENOMEM),
        Err(process::ExecError::TooManyThreads | process::ExecError::TooManyProcesses) => Err(Errno::EAGAIN),
        // Never seen: the thread exits on its way back (`exit_if_group_exiting`).
        Err(process::ExecError::Evicted) => Err(Errno::EINTR),
    }
}

/// `uname(buf)`: six 65-byte NUL-padded fields.
fn uname(address: u64) -> Result<u64, Errno> {
    const FIELD: usize = 65;
    let fields: [&str; 6] = ["Lethe", "lethe", env!("CARGO_PKG_VERSION"), "#1", "x86_64", "(none)"];
    let mut buffer = [0u8; 6 * FIELD];
    for (index, field) in fields.iter().enumerate() {
        buffer[index * FIELD..index * FIELD + field.len()].copy_from_slice(field.as_bytes());
    }
    match current_process().with_space(|space| usercopy::copy_to_user(space, address, &buffer)) {
        Some(Ok(())) => Ok(0),
        _ => Err(Errno::EFAULT),
    }
}

/// `rt_sigaction(sig, act, oldact, sigsetsize)`. Actions are recorded per process, but only
/// default actions take effect (there is no signal delivery to handlers yet); SIGCHLD set
/// to SIG_IGN, or with SA_NOCLDWAIT, means children are not kept as zombies.
fn rt_sigaction(signal: u64, action: u64, old_action: u64, set_size: u64) -> Result<u64, Errno> {
    const SIGKILL: u64 = 9;
    const SIGSTOP: u64 = 19;
    const SIGCHLD: u64 = 17;
    const SIG_IGN: u64 = 1;
    const SA_NOCLDWAIT: u64 = 2;
    if set_size != 8 || !(1..=64).contains(&signal) {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let index = signal as usize - 1;
    let previous = process.signal_action(index);
    if old_action != 0 {
        let mut bytes = [0u8; 32];
        for (word, value) in bytes.chunks_mut(8).zip(previous) {
            word.copy_from_slice(&value.to_le_bytes());
        }
        match process.with_space(|space| usercopy::copy_to_user(space, old_action, &bytes)) {
            Some(Ok(())) => {}
            _ => return Err(Errno::EFAULT),
        }
    }
    if action != 0 {
        if signal == SIGKILL || signal == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let mut bytes = [0u8; 32];
        match process.with_space(|space| usercopy::copy_from_user(space, action, &mut bytes)) {
            Some(Ok(())) => {}
            _ => return Err(Errno::EFAULT),
        }
        let words: [u64; 4] =
            core::array::from_fn(|i| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap()));
        process.set_signal_action(index, words);
        if signal == SIGCHLD {
            process.set_children_detached(words[0] == SIG_IGN || words[1] & SA_NOCLDWAIT != 0);
        }
    }
    Ok(0)
}

/// `rt_sigpending(set, sigsetsize)`: the signals sent while blocked, not yet acted on.
fn rt_sigpending(set: u64, set_size: u64) -> Result<u64, Errno> {
    if set_size > 8 {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let pending = process::signal::pending(&process).to_le_bytes();
    match process.with_space(|space| usercopy::copy_to_user(space, set, &pending[..set_size as usize])) {
        Some(Ok(())) => Ok(0),
        _ => Err(Errno::EFAULT),
    }
}

/// `rt_sigprocmask(how, set, oldset, sigsetsize)`: the mask is kept per process; a
/// signal it blocks stays pending until it is unblocked (`process::signal`).
fn rt_sigprocmask(how: u64, set: u64, old_set: u64, set_size: u64) -> Result<u64, Errno> {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    if set_size != 8 {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let previous = process.signal_mask();
    if old_set != 0 {
        match process.with_space(|space| usercopy::copy_to_user(space, old_set, &previous.to_le_bytes())) {
            Some(Ok(())) => {}
            _ => return Err(Errno::EFAULT),
        }
    }
    if set != 0 {
        let mut bytes = [0u8; 8];
        match process.with_space(|space| usercopy::copy_from_user(space, set, &mut bytes)) {
            Some(Ok(())) => {}
            _ => return Err(Errno::EFAULT),
        }
        let given = u64::from_le_bytes(bytes);
        let mask = match how {
            SIG_BLOCK => previous | given,
            SIG_UNBLOCK => previous & !given,
            SIG_SETMASK => given,
            _ => return Err(Errno::EINVAL),
        };
        process.set_signal_mask(mask);
    }
    Ok(0)
}

/// `futex(uaddr, op, val, timeout, ...)`: FUTEX_WAIT (with an optional relative timeout) and
/// FUTEX_WAKE, private or not (every futex is the process's own for now).
fn futex(
    address: u64,
    operation: u64,
    value: u64,
    timeout: u64,
    target: u64,
    value3: u64,
) -> Result<u64, Errno> {
    const FUTEX_WAIT: u64 = 0;
    const FUTEX_WAKE: u64 = 1;
    const FUTEX_REQUEUE: u64 = 3;
    const FUTEX_CMP_REQUEUE: u64 = 4;
    const FUTEX_PRIVATE_FLAG: u64 = 128;
    const FUTEX_CLOCK_REALTIME: u64 = 256;
    let process = current_process();
    match operation & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) {
        FUTEX_WAIT => {
            let timeout_ticks = if timeout == 0 {
                None
            } else {
                let (seconds, nanoseconds) = read_timespec(timeout)?;
                let tick_ns = 1_000_000_000 / u64::from(crate::time::TICK_HZ);
                Some(seconds.saturating_mul(1_000_000_000).saturating_add(nanoseconds).div_ceil(tick_ns) + 1)
            };
            match process::futex::wait(&process, address, value as u32, timeout_ticks) {
                Ok(()) => Ok(0),
                Err(process::futex::FutexError::WouldBlock) => Err(Errno::EAGAIN),
                Err(process::futex::FutexError::TimedOut) => Err(Errno::ETIMEDOUT),
                Err(process::futex::FutexError::Interrupted) => Err(Errno::EINTR),
                Err(process::futex::FutexError::Fault) => Err(Errno::EFAULT),
                Err(process::futex::FutexError::Misaligned) => Err(Errno::EINVAL),
            }
        }
        FUTEX_WAKE => Ok(process::futex::wake(&process, address, value as usize) as u64),
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            // Counts are C ints; the move count travels in the timeout's register.
            let count = |raw: u64| usize::try_from(raw as i32).map_err(|_| Errno::EINVAL);
            let comparing = operation & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) == FUTEX_CMP_REQUEUE;
            let expected = comparing.then_some(value3 as u32);
            if operation & FUTEX_CLOCK_REALTIME != 0 {
                return Err(Errno::ENOSYS);
            }
            // Both return woken + moved, as Linux's futex_requeue does.
            match process::futex::requeue(&process, address, target, count(value)?, count(timeout)?, expected)
            {
                Ok(done) => Ok((done.woken + done.moved) as u64),
                Err(process::futex::FutexError::WouldBlock) => Err(Errno::EAGAIN),
                Err(process::futex::FutexError::Fault) => Err(Errno::EFAULT),
                Err(_) => Err(Errno::EINVAL),
            }
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// `clone(flags, stack, parent_tid, child_tid, tls)`: a new thread of this process (what
/// musl's pthread_create asks for); other uses of clone are refused with EINVAL.
fn clone(frame: &SyscallFrame) -> Result<u64, Errno> {
    let request = process::CloneRequest {
        flags: frame.rdi,
        stack: frame.rsi,
        parent_tid: frame.rdx,
        child_tid: frame.r10,
        tls: frame.r8,
    };
    match process::clone_thread(&current_process(), frame, &request) {
        Ok(tid) => Ok(tid),
        Err(process::CloneError::Unsupported) => Err(Errno::EINVAL),
        Err(process::CloneError::BadAddress) => Err(Errno::EFAULT),
        Err(process::CloneError::Fork(process::ForkError::OutOfMemory)) => Err(Errno::ENOMEM),
        Err(process::CloneError::Fork(
            process::ForkError::TooManyThreads | process::ForkError::TooManyProcesses,
        )) => Err(Errno::EAGAIN),
        Err(process::CloneError::Fork(process::ForkError::Killed)) => Err(Errno::EINTR),
    }
}
