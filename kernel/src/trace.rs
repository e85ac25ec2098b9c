//! Tracing on the serial console: one machine-readable line per event, switched at run time.
//!
//! Line format (space-separated `key=value` after the word `trace`):
//!
//! ```text
//! trace us=1234567 cpu=0 kind=task id=3 name=keyboard event=wake queued=1
//! ```
//!
//! `us` is microseconds since TSC calibration. The sink runs in whatever context the event
//! happens in, interrupt handlers included; it only formats onto the serial port, which
//! masks interrupts while held.

use executor::TraceRecord;

use crate::arch::cpu;

/// The executor's trace sink.
pub fn task_event(record: &TraceRecord) {
    crate::serial_println!(
        "trace us={} cpu={} kind=task id={} name={} event={}",
        crate::time::micros_since_boot(),
        cpu::id(),
        record.task,
        record.name,
        record.event
    );
}

/// Switches task tracing on or off.
pub fn set_task_tracing(on: bool) {
    crate::tasks::executor().set_tracing(on);
}
