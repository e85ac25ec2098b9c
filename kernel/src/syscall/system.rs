//! Calls about the system: `uname`, `getcpu`, `sysinfo`, and Lethe's own `lethe_reaping`
//! and `lethe_reaping_stats`.

use super::current_process;
use crate::process::usercopy;
use abi::Errno;
use abi::reaping::ReapingStats;
use abi::types::{Sysinfo, Utsname};

/// `uname(buf)`: six 65-byte NUL-padded fields.
pub(super) fn uname(address: u64) -> Result<u64, Errno> {
    let fields: [&str; 6] = ["Lethe", "lethe", env!("CARGO_PKG_VERSION"), "#1", "x86_64", "(none)"];
    let mut name = Utsname { fields: [[0; Utsname::FIELD]; 6] };
    for (field, text) in name.fields.iter_mut().zip(fields) {
        field[..text.len()].copy_from_slice(text.as_bytes());
    }
    usercopy::write_val(&current_process(), address, &name).map(|()| 0)
}

/// `getcpu(cpu, node, _)`: the CPU the caller runs on (it may have moved by the time it
/// looks), and NUMA node 0. Either pointer may be null.
pub(super) fn getcpu(cpu_address: u64, node_address: u64) -> Result<u64, Errno> {
    let cpu = crate::sched::cpu::this_cpu_index();
    for (address, value) in [(cpu_address, cpu), (node_address, 0)] {
        if address != 0 {
            usercopy::write_val(&current_process(), address, &value)?;
        }
    }
    Ok(0)
}

/// `lethe_reaping(strategy)` (see `LETHE_REAPING`).
pub(super) fn lethe_reaping(number: u64) -> Result<u64, Errno> {
    use crate::sched::reaping::{self, Strategy};
    if number == abi::reaping::QUERY {
        return Ok(reaping::strategy() as u64);
    }
    let strategy = Strategy::from_number(number).ok_or(Errno::EINVAL)?;
    Ok(reaping::set_strategy(strategy) as u64)
}

/// `sysinfo(info)`: seconds since boot, RAM in bytes (`mem_unit` 1) from the frame
/// allocator, and in `procs` the threads that exist, dead ones not yet freed among them
/// (the thread slots in use; Linux's `nr_threads`), at most 65,535. No load averages, swap
/// or high memory: those read 0.
pub(super) fn sysinfo(address: u64) -> Result<u64, Errno> {
    let frames = crate::mm::frames::stats();
    let info = Sysinfo {
        uptime: (crate::time::nanos_since_boot() / 1_000_000_000) as i64,
        totalram: frames.total * mm::PAGE_SIZE,
        freeram: frames.free * mm::PAGE_SIZE,
        procs: u16::try_from(crate::sched::slots::in_use()).unwrap_or(u16::MAX),
        mem_unit: 1,
        ..Sysinfo::default()
    };
    usercopy::write_val(&current_process(), address, &info).map(|()| 0)
}

/// Latencies copied to user memory at a time (a buffer on the kernel stack).
const LATENCY_CHUNK: usize = 64;

/// `lethe_reaping_stats(stats, latencies, capacity, flags)` (see `LETHE_REAPING_STATS`):
/// writes the counters to `stats`, then the most recent exit-to-freed latencies, at most
/// `capacity`, to `latencies` (which may be NULL when `capacity` is 0), and returns how
/// many it wrote; with `RESET_PEAKS` in `flags` it then starts the peaks and the log afresh.
pub(super) fn lethe_reaping_stats(
    stats_address: u64,
    latencies_address: u64,
    capacity: u64,
    flags: u64,
) -> Result<u64, Errno> {
    use crate::sched::reaping::{self, Strategy};
    use crate::sched::reaping_stats as counts;
    if flags & !abi::reaping::RESET_PEAKS != 0 {
        return Err(Errno::EINVAL);
    }
    let process = current_process();
    let dead = counts::dead_threads();
    let peak_dead = counts::peak_dead_threads();
    let stats = ReapingStats {
        reaped_by: Strategy::ALL.map(reaping::reaped_by),
        dead_threads: dead,
        peak_dead_threads: peak_dead,
        dead_bytes: dead * counts::DEAD_THREAD_BYTES,
        peak_dead_bytes: peak_dead * counts::DEAD_THREAD_BYTES,
        dead_thread_bytes: counts::DEAD_THREAD_BYTES,
        context_switches: crate::sched::cpu::online().map(|cpu| cpu.switches()).sum(),
        torn_down_on_dying_cpu: reaping::torn_down_on_dying_cpu(),
        torn_down_elsewhere: reaping::torn_down_elsewhere(),
        latencies_logged: counts::latencies_logged(),
        latency_log_capacity: counts::LATENCY_LOG_CAPACITY as u64,
        longest_latency_ns: counts::longest_latency_ns(),
    };
    usercopy::write_val(&process, stats_address, &stats)?;
    let indices = counts::recent_latencies(usize::try_from(capacity).unwrap_or(usize::MAX));
    let mut chunk = [0u64; LATENCY_CHUNK];
    let mut address = latencies_address;
    let mut index = indices.start;
    while index < indices.end {
        let length = (indices.end - index).min(LATENCY_CHUNK as u64) as usize;
        for (offset, value) in chunk[..length].iter_mut().enumerate() {
            *value = counts::latency(index + offset as u64);
        }
        usercopy::write_val(&process, address, &chunk[..length])?;
        address += (length * core::mem::size_of::<u64>()) as u64;
        index += length as u64;
    }
    if flags & abi::reaping::RESET_PEAKS != 0 {
        counts::reset_peaks();
    }
    Ok(indices.end - indices.start)
}
