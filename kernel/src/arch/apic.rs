//! Placeholder until the local APIC driver lands.
pub const RESCHEDULE_VECTOR: u8 = 0xf0;
pub fn send_ipi(_cpu_index: u32, _vector: u8) {}
pub fn start_timer() {}
pub const TLB_SHOOTDOWN_VECTOR: u8 = 0xf1;
