//! Each CPU's local APIC, through the `x2apic` crate: enabling it, its periodic timer (the
//! kernel's tick), end-of-interrupt, and inter-processor interrupts.
//!
//! Mode: x2APIC (registers as MSRs) when CPUID offers it — the crate picks it by the same
//! test, `has_x2apic` — else xAPIC, through an uncached mapping of the MADT's base. The
//! crate's register values are raw: in xAPIC mode an APIC id sits in bits 24..32 of the ID
//! register and of the ICR's destination word, which `destination` accounts for.
//!
//! Timer: divide by 16, periodic; its initial count, the bus clocks of one tick at the
//! kernel's tick rate, is measured once on the boot CPU against the PIT (`calibrate_timer`)
//! and used by every CPU. A CPU's timer runs only after it calls `start_timer`.
//!
//! Invariants: each CPU's `LocalApic` lives in its own slot and is touched only by that CPU,
//! with interrupts off (`with_local_apic`), so no interrupt handler on the same CPU can
//! reach it meanwhile and no other CPU ever does.
//!
//! Called from: `init_boot_cpu` once, `enable_this_cpu` once per CPU (bring-up); the rest
//! from any context on a CPU whose local APIC is enabled.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use x2apic::lapic::{LocalApic, LocalApicBuilder, TimerDivide, TimerMode};
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::registers::model_specific::Msr;

use crate::MAX_CPUS;
use crate::acpi::Topology;
use crate::vectors::{APIC_ERROR_VECTOR, APIC_SPURIOUS_VECTOR, TIMER_VECTOR};

/// The timer's divider; `calibrate_timer` measures with the same one.
const TIMER_DIVIDE: TimerDivide = TimerDivide::Div16;

/// How long the boot CPU measures its timer against the PIT.
const CALIBRATION_MICROS: u32 = 50_000;

/// LVT entries of the LINT0 and LINT1 pins (x2APIC MSR, xAPIC register offset).
const LVT_LINT0: (u32, u64) = (0x835, 0x350);
const LVT_LINT1: (u32, u64) = (0x836, 0x360);
/// An LVT entry's mask bit.
const LVT_MASKED: u32 = 1 << 16;

/// CPUID leaf 1, ECX: x2APIC.
const X2APIC_BIT: u32 = 1 << 21;

/// Whether the local APICs run in x2APIC mode (the same on every CPU).
static X2APIC: AtomicBool = AtomicBool::new(false);
/// Virtual address of the xAPIC registers (uncached); unused in x2APIC mode.
static XAPIC_REGISTERS: AtomicU64 = AtomicU64::new(0);
/// Timer bus clocks (after the divider) per tick; 0 until measured.
static TIMER_INITIAL_COUNT: AtomicU32 = AtomicU32::new(0);

/// One CPU's local APIC, touched only by that CPU with interrupts off.
struct ApicSlot(UnsafeCell<Option<LocalApic>>);

// SAFETY: slot `i` is used only by CPU `i` (`with_local_apic` indexes by `cpu::id`), with
// interrupts off, so it is never accessed from two places at once.
unsafe impl Sync for ApicSlot {}

static APICS: [ApicSlot; MAX_CPUS] = [const { ApicSlot(UnsafeCell::new(None)) }; MAX_CPUS];

/// Runs `work` on this CPU's local APIC with interrupts off. `work` must not call back into
/// this module's functions that use it.
fn with_local_apic<R>(work: impl FnOnce(&mut LocalApic) -> R) -> R {
    without_interrupts(|| {
        let slot = &APICS[crate::cpu::id() as usize];
        // SAFETY: only this CPU uses its slot; with interrupts off and `work` not re-entering,
        // this is the only reference to it until `work` is done.
        let apic = unsafe { &mut *slot.0.get() };
        work(apic.as_mut().expect("apic: local APIC used before enable_this_cpu"))
    })
}

/// Whether this CPU supports x2APIC mode.
fn has_x2apic() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & X2APIC_BIT != 0
}

/// `apic_id` as the crate's ICR destination field wants it.
fn destination(apic_id: u32) -> u32 {
    if X2APIC.load(Ordering::Relaxed) { apic_id } else { apic_id << 24 }
}

/// Masks the LINT0 and LINT1 pins: the crate's `enable` leaves them unmasked with vector 0,
/// and the kernel takes nothing through them (the 8259s are masked, NMIs come as IPIs).
fn mask_local_interrupt_pins() {
    for (msr, offset) in [LVT_LINT0, LVT_LINT1] {
        if X2APIC.load(Ordering::Relaxed) {
            // SAFETY: in x2APIC mode this MSR is the pin's LVT entry; masking it only stops
            // that pin's interrupts.
            unsafe { Msr::new(msr).write(u64::from(LVT_MASKED)) };
        } else {
            let register = (XAPIC_REGISTERS.load(Ordering::Relaxed) + offset) as *mut u32;
            // SAFETY: the xAPIC registers are mapped uncached at XAPIC_REGISTERS, and this
            // offset is the pin's LVT entry; masking it only stops that pin's interrupts.
            unsafe { register.write_volatile(LVT_MASKED) };
        }
    }
}

/// Enables this CPU's local APIC: spurious and error vectors set, LINT pins masked, timer
/// stopped (see `start_timer`). Once per CPU, during its bring-up, with interrupts off.
pub fn enable_this_cpu() {
    let mut builder = LocalApicBuilder::new();
    builder
        .timer_vector(usize::from(TIMER_VECTOR))
        .error_vector(usize::from(APIC_ERROR_VECTOR))
        .spurious_vector(usize::from(APIC_SPURIOUS_VECTOR))
        .timer_mode(TimerMode::Periodic)
        .timer_divide(TIMER_DIVIDE)
        .timer_initial(0);
    if !X2APIC.load(Ordering::Relaxed) {
        builder.set_xapic_base(XAPIC_REGISTERS.load(Ordering::Relaxed));
    }
    let mut apic = builder.build().expect("apic: cannot build the local APIC");
    // SAFETY: the IDT has handlers for the timer, error and spurious vectors; the timer
    // stays masked with a zero count until `start_timer`.
    unsafe {
        apic.enable();
        apic.disable_timer();
    }
    mask_local_interrupt_pins();
    let slot = &APICS[crate::cpu::id() as usize];
    // SAFETY: bring-up of this CPU runs with interrupts off, and nothing else uses this
    // CPU's slot yet.
    without_interrupts(|| unsafe { *slot.0.get() = Some(apic) });
}

/// Brings up the boot CPU's local APIC: picks the mode, maps the xAPIC registers if they
/// are needed (`map_uncached` maps a physical address uncached and returns its virtual
/// address), enables it, measures the timer for `tick_hz` interrupts a second and starts
/// it. Interrupts must be off.
pub fn init_boot_cpu(topology: &Topology, tick_hz: u32, map_uncached: impl FnOnce(u64) -> u64) {
    let x2apic = has_x2apic();
    X2APIC.store(x2apic, Ordering::Relaxed);
    if !x2apic {
        XAPIC_REGISTERS.store(map_uncached(topology.local_apic_address), Ordering::Relaxed);
    }
    enable_this_cpu();
    calibrate_timer(tick_hz);
    start_timer();
    log::info!(
        "apic: {} mode, timer {} bus clocks per tick (÷16) at {tick_hz} Hz",
        if x2apic { "x2APIC" } else { "xAPIC" },
        TIMER_INITIAL_COUNT.load(Ordering::Relaxed),
    );
}

/// Measures the timer's rate against the PIT: a masked one-shot count down from the
/// maximum while the PIT counts `CALIBRATION_MICROS`.
fn calibrate_timer(tick_hz: u32) {
    let pit_count = crate::drivers::pit::count_for_micros(CALIBRATION_MICROS);
    let elapsed = with_local_apic(|apic| {
        // SAFETY: the timer is masked (`enable_this_cpu`), so counting raises no interrupt;
        // the count is stopped (initial count 0) before returning.
        unsafe {
            apic.set_timer_mode(TimerMode::OneShot);
            apic.set_timer_divide(TIMER_DIVIDE);
            apic.set_timer_initial(u32::MAX);
            crate::drivers::pit::spin_for(pit_count);
            let remaining = apic.timer_current();
            apic.set_timer_initial(0);
            u32::MAX - remaining
        }
    });
    let per_tick = u64::from(elapsed) * u64::from(crate::drivers::pit::INPUT_HZ)
        / (u64::from(pit_count) * u64::from(tick_hz));
    let per_tick = u32::try_from(per_tick).expect("apic: timer too fast for a 32-bit count per tick");
    assert!(per_tick > 0, "apic: the local APIC timer did not count while the PIT ran");
    TIMER_INITIAL_COUNT.store(per_tick, Ordering::Relaxed);
}

/// Starts this CPU's timer: periodic, at the rate `init_boot_cpu` measured for, on
/// `TIMER_VECTOR`. For each CPU once its interrupt handlers can take a tick.
pub fn start_timer() {
    let count = TIMER_INITIAL_COUNT.load(Ordering::Relaxed);
    assert!(count > 0, "apic: start_timer before the boot CPU measured the timer");
    with_local_apic(|apic| {
        // SAFETY: the IDT has the timer's handler; writing the initial count last starts
        // the count with the mode and divider already set.
        unsafe {
            apic.set_timer_mode(TimerMode::Periodic);
            apic.set_timer_divide(TIMER_DIVIDE);
            apic.enable_timer();
            apic.set_timer_initial(count);
        }
    });
}

/// Acknowledges the interrupt being handled. Once, at the end of every handler for a
/// vector the local APIC delivered (not the spurious vector).
pub fn end_of_interrupt() {
    // SAFETY: called by a handler of an interrupt in service on this CPU.
    with_local_apic(|apic| unsafe { apic.end_of_interrupt() });
}

/// Waits until the last IPI this CPU sent has been accepted (xAPIC; x2APIC has no pending
/// state).
fn wait_for_delivery(apic: &LocalApic) {
    // SAFETY: reading the ICR has no side effects.
    while unsafe { apic.get_ipi_delivery_status() } {
        core::hint::spin_loop();
    }
}

/// Sends `vector` to the CPU whose index is `cpu_index` (its position in
/// `acpi::Topology::apic_ids`; the boot CPU is 0). Panics for an unknown index.
pub fn send_ipi(cpu_index: u32, vector: u8) {
    let apic_id = crate::acpi::topology().apic_ids[cpu_index as usize];
    with_local_apic(|apic| {
        wait_for_delivery(apic);
        // SAFETY: a fixed interrupt to one CPU; every vector the kernel sends has a handler
        // in the shared IDT.
        unsafe { apic.send_ipi(vector, destination(apic_id)) };
    });
}

/// Sends `vector` to this CPU. The local APIC latches it at once; the CPU takes it when
/// interrupts are on — at once, or as soon as the code running with them masked turns them
/// back on — so a handler can be asked for from where interrupts are masked.
pub fn send_self_ipi(vector: u8) {
    if X2APIC.load(Ordering::Relaxed) {
        with_local_apic(|apic| {
            // SAFETY: x2APIC mode has the SELF IPI register; a fixed interrupt to this CPU
            // alone, on a vector with a handler in the shared IDT.
            unsafe { apic.send_ipi_self(vector) };
        });
    } else {
        // xAPIC mode has no SELF IPI register: the ICR, addressed to this CPU's own id.
        send_ipi(crate::cpu::id(), vector);
    }
}

/// Sends INIT to the CPU with local APIC id `apic_id`: it resets and waits for a start-up
/// IPI.
pub fn send_init(apic_id: u32) {
    with_local_apic(|apic| {
        wait_for_delivery(apic);
        // SAFETY: INIT resets only the CPU named, which the kernel does not run on yet (or
        // gave up on).
        unsafe { apic.send_init_ipi(destination(apic_id)) };
    });
}

/// Sends a start-up IPI to the CPU with local APIC id `apic_id`: it starts in real mode at
/// physical page `page_number`.
pub fn send_startup(apic_id: u32, page_number: u8) {
    with_local_apic(|apic| {
        wait_for_delivery(apic);
        // SAFETY: the CPU named was sent INIT and waits for this; the caller put start-up
        // code in the page.
        unsafe { apic.send_sipi(page_number, destination(apic_id)) };
    });
}

/// This CPU's local APIC error status, for the error interrupt's report.
pub fn error_status() -> u8 {
    // SAFETY: reading the error status register has no side effects the kernel relies on.
    with_local_apic(|apic| unsafe { apic.error_flags() }.bits())
}
