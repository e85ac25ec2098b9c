//! Per-CPU data through GS: the GS base register holds the address of this CPU's data, so
//! each CPU finds its own with one register read.
//!
//! The data's type is the kernel's (its scheduler's per-CPU state) and opaque here: the
//! first `install` fixes it, every later `install` and `this_cpu` must name the same type
//! (checked by `TypeId`), and GS base only ever holds null or a `&'static` of that type —
//! which is what makes `this_cpu`'s read sound. Until a CPU installs its data, `this_cpu`
//! returns `None`. User mode owns GS while it runs (`user::UserGsGuard` swaps it back).

use core::any::TypeId;

use conquer_once::spin::OnceCell;
use x86_64::VirtAddr;
use x86_64::registers::model_specific::GsBase;

/// The type of the per-CPU data, fixed by the first `install`.
static DATA_TYPE: OnceCell<TypeId> = OnceCell::uninit();

fn check_type<T: 'static>() {
    let installed = *DATA_TYPE.get_or_init(TypeId::of::<T>);
    assert!(installed == TypeId::of::<T>(), "percpu: per-CPU data used as another type than installed");
}

/// Makes `data` this CPU's per-CPU data.
pub fn install<T: Sync + 'static>(data: &'static T) {
    check_type::<T>();
    GsBase::write(VirtAddr::from_ptr(data));
}

/// This CPU's per-CPU data, once installed.
pub fn this_cpu<T: Sync + 'static>() -> Option<&'static T> {
    let base = GsBase::read();
    if base.is_null() {
        return None;
    }
    check_type::<T>();
    // SAFETY: GS base is either null or set by `install` from a `&'static T` of the one
    // type `check_type` admits, and kernel code never writes GS base otherwise (user
    // mode's GS is swapped out on every way into the kernel).
    Some(unsafe { &*base.as_ptr::<T>() })
}
