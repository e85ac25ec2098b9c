//! The start-up page: the one page below 1 MiB where application processors begin
//! (`smp`). A start-up IPI names a 4 KiB page below 1 MiB by its page number, and the
//! CPU it wakes runs in real mode from there.
//!
//! The hardware layer kept it out of usable RAM at boot (`hardware::boot`), so no allocator
//! ever hands it out, and hands it out once; it is mapped at its own physical address in
//! the kernel root only while an `IdentityMapping` lives (`hardware::kernel_tables`).
//!
//! Called from: `smp` on the boot CPU during bring-up (`take_start_up_page` once,
//! `identity_map`).

pub use hardware::kernel_tables::IdentityMapping;
use hardware::trampoline::StartUpPage;

/// The start-up page, if there is usable RAM below 1 MiB: handed out once (later calls
/// get `None`).
pub fn take_start_up_page() -> Option<StartUpPage> {
    hardware::boot::take_start_up_page()
}

/// Maps the start-up page at its own physical address in the kernel root, writable and
/// executable, until the returned guard is dropped.
pub fn identity_map(start_up_page: &StartUpPage) -> IdentityMapping {
    super::frames::with_frames(|frames| hardware::kernel_tables::identity_map(start_up_page, frames))
}
