//! Starting the application processors (APs): every CPU of the MADT after the boot CPU.
//! The kernel's side of it, over `arch`'s start-up code and APIC: it takes the APs' stacks
//! and the start-up page from `mm` and times its waits with `time`, so it sits on the
//! scheduling layer, beside the scheduler each AP enters (`entry`).
//!
//! Bring-up (`start_application_processors`, on the boot CPU), one AP at a time:
//! 1. the start-up trampoline is copied to the start-up page (`mm::low_memory`), which is
//!    identity-mapped in the kernel root until every AP has been tried;
//! 2. for each AP: a guarded kernel stack (`mm::stacks`) and its index are written to the
//!    page, then INIT, 10 ms, a start-up IPI, 200 µs, and a second start-up IPI unless the
//!    AP has already begun the trampoline; then up to 1 s for it to check in. An AP that
//!    never checks in is reported, sent INIT again (so it cannot wake later on a stack or
//!    page now meant for another), and left out; its stack is never reused. One that
//!    checked in is waited for, up to 1 s more, until its scheduler bring-up is done
//!    (`sched::cpu::Cpu::is_ready`): what the boot CPU does next — tests that count thread
//!    slots, for one — never sees an AP still making its threads.
//!
//! On the AP (`ap_main`), with interrupts off: its index in IA32_TSC_AUX (`cpu::id`), its
//! own GDT and TSS, the shared IDT (`arch::idt::load`), FPU/SSE, SMEP/SMAP, the `syscall`
//! MSRs, its local APIC (timer stopped); then it checks in, counts itself online and calls
//! the `entry` it was given, still with interrupts off and without per-CPU scheduler data
//! (GS base 0).
//!
//! Invariants: the start-up page's data belongs to one AP at a time (the next AP is
//! prepared only after the last checked in or was sent INIT); an AP's stack is never freed.
//!
//! Called from: `start_application_processors` once, on the boot CPU in task context, with
//! interrupts on and the TSC calibrated (`time::calibrate`); the rest from anywhere.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::arch::{MAX_CPUS, trampoline};

/// How long an AP may take to check in.
const CHECK_IN_TIMEOUT_MICROS: u64 = 1_000_000;
/// The waits of the INIT-SIPI-SIPI sequence.
const AFTER_INIT_MICROS: u64 = 10_000;
const AFTER_STARTUP_MICROS: u64 = 200;

/// CPUs online: the boot CPU and every AP that checked in.
static ONLINE: AtomicU32 = AtomicU32::new(1);
/// Whether each CPU index has checked in.
static CHECKED_IN: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// What each AP runs once it is set up.
static ENTRY: spin::Once<fn(u32) -> !> = spin::Once::new();
/// CPUs online: the boot CPU and every AP that has checked in.
pub fn cpus_online() -> u32 {
    ONLINE.load(Ordering::Acquire)
}

/// Spins for `micros` microseconds by the TSC.
fn spin_micros(micros: u64) {
    let deadline = crate::time::nanos_since_boot() + micros * 1000;
    while crate::time::nanos_since_boot() < deadline {
        core::hint::spin_loop();
    }
}

/// Spins until `done` or `micros` have passed; returns whether `done`.
fn spin_until(micros: u64, done: impl Fn() -> bool) -> bool {
    let deadline = crate::time::nanos_since_boot() + micros * 1000;
    while !done() {
        if crate::time::nanos_since_boot() >= deadline {
            return done();
        }
        core::hint::spin_loop();
    }
    true
}

/// Starts every AP of the MADT, each ending in `entry(its index)`; returns the number of
/// CPUs online, the boot CPU included. Once, on the boot CPU, with interrupts on and the
/// TSC calibrated.
pub fn start_application_processors(entry: fn(cpu_index: u32) -> !) -> u32 {
    assert_eq!(crate::arch::cpu::id(), 0, "smp: APs are started from the boot CPU");
    assert!(crate::time::tsc_hz() > 0, "smp: APs are started after the TSC is calibrated");
    assert!(ENTRY.get().is_none(), "smp: APs are started once");
    ENTRY.call_once(|| entry);
    let topology = crate::arch::acpi::topology();
    if topology.cpu_count() == 1 {
        return cpus_online();
    }
    let Some(page) = crate::mm::low_memory::take_start_up_page() else {
        log::error!("smp: no start-up page below 1 MiB: running on the boot CPU alone");
        return cpus_online();
    };
    let started_at = crate::time::micros_since_boot();
    let identity_mapping = crate::mm::low_memory::identity_map(&page);
    trampoline::install(&page, ap_main);
    let second_startups = topology
        .apic_ids
        .iter()
        .enumerate()
        .skip(1)
        .filter(|&(cpu_index, &apic_id)| start_one(cpu_index as u32, apic_id, &page))
        .count();
    drop(identity_mapping);
    log::info!(
        "smp: {} of {} CPUs online ({second_startups} needed a second start-up IPI); starting the APs took {} µs",
        cpus_online(),
        topology.cpu_count(),
        crate::time::micros_since_boot() - started_at
    );
    cpus_online()
}

/// Starts the AP `cpu_index`, whose local APIC id is `apic_id`, and waits for it. Returns
/// whether it took a second start-up IPI.
fn start_one(cpu_index: u32, apic_id: u32, page: &trampoline::StartUpPage) -> bool {
    let stack = match crate::mm::stacks::allocate("ap-boot") {
        Ok(stack) => stack,
        Err(error) => {
            log::error!("smp: no stack for CPU {cpu_index} ({error:?}): left out");
            return false;
        }
    };
    trampoline::prepare(page, cpu_index, stack);
    let page_number = page.number();
    let checked_in = || CHECKED_IN[cpu_index as usize].load(Ordering::Acquire);
    crate::arch::apic::send_init(apic_id);
    spin_micros(AFTER_INIT_MICROS);
    crate::arch::apic::send_startup(apic_id, page_number);
    spin_micros(AFTER_STARTUP_MICROS);
    let second_startup = !trampoline::started(page);
    if second_startup {
        crate::arch::apic::send_startup(apic_id, page_number);
    }
    if !spin_until(CHECK_IN_TIMEOUT_MICROS, checked_in) {
        log::error!(
            "smp: CPU {cpu_index} (APIC id {apic_id}) did not check in within 1 s ({}): left out",
            if trampoline::started(page) { "it began the trampoline" } else { "it never began" }
        );
        crate::arch::apic::send_init(apic_id);
    } else if !spin_until(CHECK_IN_TIMEOUT_MICROS, || {
        crate::sched::cpu::cpu(cpu_index).is_some_and(|cpu| cpu.is_ready())
    }) {
        log::error!("smp: CPU {cpu_index} checked in but did not finish its bring-up within 1 s");
    }
    second_startup
}

/// Where each AP arrives from the trampoline, on its own stack, interrupts off.
extern "C" fn ap_main(cpu_index: u32) -> ! {
    crate::arch::cpu::set_index(cpu_index);
    crate::arch::gdt::init(cpu_index);
    crate::arch::idt::load();
    crate::arch::fpu::init();
    crate::arch::protection::init();
    crate::arch::syscall::init();
    crate::arch::apic::enable_this_cpu();
    let entry = *ENTRY.get().expect("smp: an AP started without an entry");
    ONLINE.fetch_add(1, Ordering::AcqRel);
    CHECKED_IN[cpu_index as usize].store(true, Ordering::Release);
    entry(cpu_index)
}
