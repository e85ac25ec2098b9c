//! Trap dispatch: what the kernel does when the CPU leaves the running code for an exception
//! (`exceptions`) or an interrupt (`irq`), the counterpart of system-call dispatch
//! (`syscall`) and on its layer. The handlers call down into the scheduler, processes,
//! memory and the lockup detector; the table that routes each vector to its handler is
//! built here (`idt`) and handed down to `arch`, which every CPU loads it from.
//!
//! Called from: the CPU, in interrupt context; `idt::table` once at boot.

pub mod exceptions;
pub mod idt;
pub mod irq;
