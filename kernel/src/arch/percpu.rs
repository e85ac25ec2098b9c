//! Per-CPU data through GS: the GS base register holds the address of this CPU's
//! `sched::cpu::Cpu`, so each CPU finds its own with one register read.
//!
//! Only `install` writes GS base, always with a `&'static Cpu`; until a CPU installs its
//! `Cpu`, `this_cpu` returns `None`.

use x86_64::VirtAddr;
use x86_64::registers::model_specific::GsBase;

use crate::sched::cpu::Cpu;

/// Makes `cpu` this CPU's per-CPU data.
pub fn install(cpu: &'static Cpu) {
    GsBase::write(VirtAddr::from_ptr(cpu));
}

/// This CPU's per-CPU data, once installed.
pub fn this_cpu() -> Option<&'static Cpu> {
    let base = GsBase::read();
    if base.is_null() {
        return None;
    }
    // SAFETY: GS base is either null or set by `install` from a `&'static Cpu`.
    Some(unsafe { &*base.as_ptr::<Cpu>() })
}
