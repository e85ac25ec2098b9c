//! Options QEMU hands the kernel as fw_cfg files (`-fw_cfg name=opt/lethe/NAME,string=VALUE`),
//! the way a bootloader's command line would: read once, at the point of use, in thread
//! context.
//!
//! - `opt/lethe/trace`: `off` keeps lifecycle tracing off while `/init` runs (for
//!   benchmarks: every traced event is a line on a slow serial port).
//! - `opt/lethe/lockup_seconds`: how long a CPU may go without a scheduling point before
//!   the lockup detector reports it (`watchdog`; 0 turns it off).
//! - `opt/lethe/fault`: fault injection from the start of `/init`, e.g.
//!   `frame:every:50 pool:3` (`fault_injection`'s module doc).

use alloc::string::String;

/// The value of option `name` (under `opt/lethe/`), if QEMU was given it.
pub fn option(name: &str) -> Option<String> {
    let path = alloc::format!("opt/lethe/{name}");
    let file = hardware::drivers::fw_cfg::find(&path)?;
    let value = hardware::drivers::fw_cfg::read_file(file);
    Some(String::from_utf8_lossy(&value).trim().into())
}

/// Whether `/init` runs with lifecycle tracing on (the default).
pub fn trace_init() -> bool {
    option("trace").as_deref() != Some("off")
}
