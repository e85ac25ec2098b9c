//! Calls about the system: `uname`, `getcpu`, and Lethe's own `lethe_reaping`.

use super::current_process;
use super::errno::Errno;
use crate::process::usercopy;

/// `uname(buf)`: six 65-byte NUL-padded fields.
pub(super) fn uname(address: u64) -> Result<u64, Errno> {
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

/// `getcpu(cpu, node, _)`: the CPU the caller runs on (it may have moved by the time it
/// looks), and NUMA node 0. Either pointer may be null.
pub(super) fn getcpu(cpu_address: u64, node_address: u64) -> Result<u64, Errno> {
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

/// `lethe_reaping(strategy)` (see `LETHE_REAPING`).
pub(super) fn lethe_reaping(number: u64) -> Result<u64, Errno> {
    use crate::sched::reaping::{self, Strategy};
    if number == u64::MAX {
        return Ok(reaping::strategy() as u64);
    }
    let strategy = Strategy::from_number(number).ok_or(Errno::EINVAL)?;
    Ok(reaping::set_strategy(strategy) as u64)
}
