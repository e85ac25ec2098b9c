//! Per-CPU data through GS: the GS base register holds the address of this CPU's
//! `PerCpu`, so each CPU finds its own with one register read.
//!
//! A `PerCpu` is the system-call entry's `EntryArea` — always first, at offset 0, where
//! the entry code reads it through GS — followed by the kernel's own data, whose type is
//! opaque here: the first `install` fixes it, every later `install` and `this_cpu` must
//! name the same type (checked by `TypeId`), and GS base only ever holds null or a
//! `&'static PerCpu` of that type — which is what makes `this_cpu`'s read sound. Until a
//! CPU installs its data, `this_cpu` returns `None`. User mode owns GS while it runs
//! (`user::UserGsGuard` swaps it back on the ways into the kernel).

use core::any::TypeId;
use core::ops::Deref;
use core::sync::atomic::Ordering;

use conquer_once::spin::OnceCell;
use x86_64::VirtAddr;
use x86_64::registers::model_specific::GsBase;

use crate::syscall::EntryArea;

/// One CPU's data: the entry area, then the kernel's `T`.
#[repr(C)]
pub struct PerCpu<T> {
    entry: EntryArea,
    data: T,
}

// `repr(C)` puts the first field at offset 0 whatever `T` is; the entry code relies on it.
const _: () = assert!(
    core::mem::offset_of!(PerCpu<u128>, entry) == 0,
    "the system-call entry reads the entry area at GS:0"
);

impl<T> PerCpu<T> {
    pub fn new(data: T) -> Self {
        PerCpu { entry: EntryArea::default(), data }
    }
}

impl<T> Deref for PerCpu<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

/// The type of the kernel's per-CPU data, fixed by the first `install`.
static DATA_TYPE: OnceCell<TypeId> = OnceCell::uninit();

fn check_type<T: 'static>() {
    let installed = *DATA_TYPE.get_or_init(TypeId::of::<T>);
    assert!(installed == TypeId::of::<T>(), "percpu: per-CPU data used as another type than installed");
}

/// Makes `cpu` this CPU's per-CPU data.
pub fn install<T: Sync + 'static>(cpu: &'static PerCpu<T>) {
    check_type::<T>();
    GsBase::write(VirtAddr::from_ptr(cpu));
}

/// This CPU's per-CPU data, once installed.
pub fn this_cpu<T: Sync + 'static>() -> Option<&'static PerCpu<T>> {
    let base = GsBase::read();
    if base.is_null() {
        return None;
    }
    check_type::<T>();
    // Kernel code never writes GS base but in `install` (user mode's GS is swapped out on
    // every way into the kernel).
    // SAFETY: so a non-null GS base is a `&'static PerCpu<T>` of the one type `check_type`
    // admits.
    Some(unsafe { &*base.as_ptr::<PerCpu<T>>() })
}

/// Makes `top` the kernel stack this CPU enters on from user mode — by `syscall` (the
/// entry area) and by an interrupt or exception (the TSS's RSP0). Interrupts must be off,
/// and this CPU's data installed. Only the context switch sets it, to the stack of the
/// context it switches to.
pub(crate) fn set_kernel_stack(top: u64) {
    let base = GsBase::read();
    assert!(!base.is_null(), "percpu: set_kernel_stack before install");
    // A non-null GS base points at an installed `PerCpu<_>`, whatever its data's type.
    // SAFETY: `PerCpu` is `repr(C)` with the `EntryArea` first, so the entry area is at the
    // base, alive for good (`&'static`).
    let entry = unsafe { &*base.as_ptr::<EntryArea>() };
    entry.kernel_stack_top.store(top, Ordering::Relaxed);
    crate::gdt::set_kernel_stack(top);
}

/// The kernel stack this CPU enters on from user mode (`set_kernel_stack`); 0 if none was
/// set or this CPU's data is not installed.
pub(crate) fn kernel_stack_top() -> u64 {
    let base = GsBase::read();
    if base.is_null() {
        return 0;
    }
    // SAFETY: as in `set_kernel_stack`: a non-null GS base points at an installed
    // `PerCpu<_>`, whose first field is the entry area, alive for good.
    let entry = unsafe { &*base.as_ptr::<EntryArea>() };
    entry.kernel_stack_top.load(Ordering::Relaxed)
}
