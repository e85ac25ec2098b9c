//! Calls about the system: `uname`, `getcpu`, and Lethe's own `lethe_reaping`.

use super::current_process;
use crate::process::usercopy;
use abi::Errno;
use abi::types::Utsname;

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
