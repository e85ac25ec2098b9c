//! Kernel contexts and the context switch: a `Context` is a thread's stack pointer while it
//! is off its CPU, the kernel stack it runs on, and whether a CPU is on that stack now.
//!
//! The switch pushes the callee-saved registers and RFLAGS on the old stack, exchanges the
//! stack pointers and pops the same from the new one. RFLAGS travels with the context, so
//! each resumes with its own interrupt flag. Kernel code does not touch the FPU/SSE state
//! (the kernel target is soft-float), so it is not saved here; the scheduler saves user
//! threads' around the switch (`fpu`).
//!
//! What makes `switch` safe to call is the state each context carries, which only this
//! module changes. A context is a place a thread runs in, meant for a table that outlives
//! every thread (the kernel's thread-slot table), reused by one thread after another:
//!
//! ```text
//!   vacant ──install(stack, entry)──► off-CPU ──switch(_, to)──► on-CPU
//!     ▲                                 ▲  │                       │ switch(from, _), then
//!     │                                 │  │                       │ release_switched_from(from)
//!     └──────────retire (stack back)────┼──┘                       │
//!                                       └──────────────────────────┘
//!   vacant ──adopt_running_here──► on-CPU: the context a CPU came up in, owning no stack
//! ```
//!
//! - A CPU switches only away from the context it runs (`CURRENT`, per CPU) and only to an
//!   off-CPU one, which it marks on-CPU first (Acquire: everything the last switch away
//!   from it stored is seen). So no two CPUs ever run on one stack.
//! - A context switched away from stays on-CPU until the kernel, running in the context
//!   switched to, calls `release_switched_from` (Release): the kernel decides when its
//!   bookkeeping of the old thread is done (Linux's `finish_task_switch`), and only then may
//!   another CPU resume it. The CPU remembers which context it left, so no other can be
//!   released by mistake.
//! - A stack is handed back only by `retire`, which succeeds only off-CPU and only once per
//!   install: a stack is never freed while a CPU runs on it or could still switch to it
//!   (the hardware half of R1 in docs/design.md).
//! - The per-CPU records hold a context's address only to compare it, never to reach it.
//!
//! Called from: the scheduler, with interrupts disabled (`switch`, `release_switched_from`,
//! `adopt_running_here`); thread or task context (`install`, `retire`); anywhere
//! (`is_on_cpu`, `stack_top`).

use core::arch::naked_asm;
use core::ops::Range;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicU64, Ordering};

use mm::kernel_stacks::KernelStack;

use crate::MAX_CPUS;

const VACANT: u8 = 0;
const INSTALLING: u8 = 1;
const OFF_CPU: u8 = 2;
const ON_CPU: u8 = 3;

/// The context each CPU runs now.
static CURRENT: [AtomicPtr<Context>; MAX_CPUS] = [const { AtomicPtr::new(null_mut()) }; MAX_CPUS];
/// The context each CPU last switched away from, until it is released.
static SWITCHED_FROM: [AtomicPtr<Context>; MAX_CPUS] = [const { AtomicPtr::new(null_mut()) }; MAX_CPUS];
/// The stack each CPU came up on (or moved to for good), `bottom..top`: its first
/// context's, which owns no stack. `0..0` until known.
static FIRST_STACK: [StackBounds; MAX_CPUS] = [const { StackBounds::unknown() }; MAX_CPUS];
/// The stack each CPU runs on now, kept by `switch`; mapped whole while the CPU is on it.
static RUNNING_STACK: [StackBounds; MAX_CPUS] = [const { StackBounds::unknown() }; MAX_CPUS];

/// A stack's `bottom..top`, readable from an interrupt handler.
struct StackBounds {
    bottom: AtomicU64,
    top: AtomicU64,
}

impl StackBounds {
    const fn unknown() -> Self {
        Self { bottom: AtomicU64::new(0), top: AtomicU64::new(0) }
    }

    fn set(&self, range: Range<u64>) {
        self.bottom.store(range.start, Ordering::Relaxed);
        self.top.store(range.end, Ordering::Relaxed);
    }

    fn get(&self) -> Range<u64> {
        self.bottom.load(Ordering::Relaxed)..self.top.load(Ordering::Relaxed)
    }
}

/// Records `range` as the stack CPU `cpu` came up on, mapped for the kernel's lifetime, and
/// the one it runs on now; before that CPU adopts its first context.
pub(crate) fn set_first_stack(cpu: u32, range: Range<u64>) {
    FIRST_STACK[cpu as usize].set(range.clone());
    RUNNING_STACK[cpu as usize].set(range);
}

/// The bounds of the stack this CPU runs on, if known and if the caller is on it. Mapped
/// whole while this CPU runs on it: a context's stack is retired only off-CPU, and a first
/// stack is never freed.
pub(crate) fn running_stack() -> Option<Range<u64>> {
    let range = RUNNING_STACK[crate::cpu::id() as usize].get();
    let marker = 0u8;
    range.contains(&(core::ptr::addr_of!(marker) as u64)).then_some(range)
}

/// A place a thread runs in (see the module doc).
pub struct Context {
    /// The stack pointer while off-CPU; written by the switch away, read by the switch to.
    saved_rsp: AtomicU64,
    state: AtomicU8,
    /// The installed stack; `None` while vacant and for a CPU's first context.
    stack: spin::Mutex<Option<KernelStack>>,
    /// The installed stack's top, 0 when there is none: the ring-0 stack of its user mode.
    stack_top: AtomicU64,
}

/// Why a context's stack could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetireError {
    /// A CPU runs on it, or has not yet been released from it.
    OnCpu,
    /// Nothing is installed.
    Vacant,
}

impl Default for Context {
    fn default() -> Self {
        Self::vacant()
    }
}

impl Context {
    /// A context with nothing installed.
    pub const fn vacant() -> Self {
        Self {
            saved_rsp: AtomicU64::new(0),
            state: AtomicU8::new(VACANT),
            stack: spin::Mutex::new(None),
            stack_top: AtomicU64::new(0),
        }
    }

    /// Installs `stack`, so that the first switch to the context runs `entry` there with
    /// interrupts off; gives the stack back if the context is not vacant.
    pub fn install(&self, stack: KernelStack, entry: extern "C" fn() -> !) -> Result<(), KernelStack> {
        if self.state.compare_exchange(VACANT, INSTALLING, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return Err(stack);
        }
        let top = stack.top();
        assert_eq!(
            top - stack.bottom(),
            mm::sizing::THREAD_STACK_BYTES,
            "context: a kernel stack of another size than the running stack's bounds assume"
        );
        // A `KernelStack` is made only by `mm::kernel_stacks`, mapped writable in the region
        // every address space shares, its top page-aligned.
        // SAFETY: so the stack is mapped, writable and aligned; it is moved in here, so
        // nothing else uses it.
        let first_rsp = unsafe { prepare_stack(top, entry) };
        *self.stack.lock() = Some(stack);
        self.stack_top.store(top, Ordering::Relaxed);
        self.saved_rsp.store(first_rsp, Ordering::Relaxed);
        self.state.store(OFF_CPU, Ordering::Release);
        Ok(())
    }

    /// Makes this vacant context the one this CPU is running in now, on the stack it came
    /// up on (the bootloader's, or one it moved to for good with `run_on_stack`). Panics if
    /// the context is not vacant or the CPU already runs one.
    pub fn adopt_running_here(&self) {
        assert!(!x86_64::instructions::interrupts::are_enabled(), "context: adopted with interrupts enabled");
        let claimed = self.state.compare_exchange(VACANT, ON_CPU, Ordering::Acquire, Ordering::Relaxed);
        assert!(claimed.is_ok(), "context: adopting a context that is not vacant");
        let adopted = CURRENT[crate::cpu::id() as usize].compare_exchange(
            null_mut(),
            core::ptr::from_ref(self).cast_mut(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        assert!(adopted.is_ok(), "context: this CPU already runs a context");
    }

    /// Whether a CPU runs on this context, or has left it and not yet released it.
    pub fn is_on_cpu(&self) -> bool {
        self.state.load(Ordering::Acquire) == ON_CPU
    }

    /// The top of the installed stack; 0 if there is none.
    pub fn stack_top(&self) -> u64 {
        self.stack_top.load(Ordering::Relaxed)
    }

    /// Hands back the installed stack of a context that will not run again, leaving it
    /// vacant. Fails while a CPU is on it, and when nothing is installed.
    pub fn retire(&self) -> Result<KernelStack, RetireError> {
        match self.state.compare_exchange(OFF_CPU, INSTALLING, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => {
                let stack = self.stack.lock().take().expect("context: an off-CPU context without a stack");
                self.stack_top.store(0, Ordering::Relaxed);
                self.state.store(VACANT, Ordering::Release);
                Ok(stack)
            }
            Err(ON_CPU) => Err(RetireError::OnCpu),
            Err(_) => Err(RetireError::Vacant),
        }
    }
}

/// Switches this CPU from `from`, the context it runs, to `to`, which must be off-CPU;
/// returns when something switches back to `from`. Interrupts must be disabled. `to`'s
/// stack becomes the CPU's ring-0 stack for interrupts and system calls from user mode.
/// The kernel then calls `release_switched_from` in the context switched to.
///
/// Panics if `from` is not this CPU's context, `to` is on a CPU or retired, or the last
/// context switched away from was never released.
pub fn switch(from: &Context, to: &Context) {
    assert!(!x86_64::instructions::interrupts::are_enabled(), "context: switch with interrupts enabled");
    let cpu = crate::cpu::id() as usize;
    let from_pointer = core::ptr::from_ref(from).cast_mut();
    assert_eq!(
        CURRENT[cpu].load(Ordering::Relaxed),
        from_pointer,
        "context: switching away from a context this CPU does not run"
    );
    if let Err(state) = to.state.compare_exchange(OFF_CPU, ON_CPU, Ordering::Acquire, Ordering::Relaxed) {
        panic!(
            "context: switching to a context that is {}",
            if state == ON_CPU { "on a CPU" } else { "vacant" }
        );
    }
    let unreleased = SWITCHED_FROM[cpu].swap(from_pointer, Ordering::Relaxed);
    assert!(unreleased.is_null(), "context: the context switched away from before was never released");
    CURRENT[cpu].store(core::ptr::from_ref(to).cast_mut(), Ordering::Relaxed);
    let stack_top = to.stack_top();
    if stack_top != 0 {
        crate::percpu::set_kernel_stack(stack_top);
        RUNNING_STACK[cpu].set(stack_top - mm::sizing::THREAD_STACK_BYTES..stack_top);
    } else {
        RUNNING_STACK[cpu].set(FIRST_STACK[cpu].get());
    }
    // `from` is the context running here (checked), so its `saved_rsp` is written once we
    // are off its stack. `to` was off-CPU and is now this CPU's alone (the exchange above):
    // its saved stack pointer was stored by the switch away from it, or by `install`, seen
    // through the Acquire pairing with `release_switched_from`'s or `install`'s Release.
    // SAFETY: interrupts are off (asserted); `to`'s stack is alive and unused, since only
    // `retire` takes a stack, and only off-CPU.
    unsafe { switch_stacks(from.saved_rsp.as_ptr(), to.saved_rsp.load(Ordering::Relaxed)) };
}

/// Lets other CPUs resume `previous`, the context this CPU just switched away from: call
/// in the context switched to, once done with the old thread. Panics if `previous` is not
/// that context.
pub fn release_switched_from(previous: &Context) {
    let cpu = crate::cpu::id() as usize;
    let left = SWITCHED_FROM[cpu].swap(null_mut(), Ordering::Relaxed);
    assert_eq!(
        left,
        core::ptr::from_ref(previous).cast_mut(),
        "context: releasing a context this CPU did not leave"
    );
    previous.state.store(OFF_CPU, Ordering::Release);
}

/// Moves this CPU onto `stack` for good and runs `entry` there; the stack is never freed.
pub fn run_on_stack(stack: KernelStack, entry: extern "C" fn() -> !) -> ! {
    // Taken by value and never given back: no one can free the stack while this CPU runs
    // on it.
    let top = stack.top();
    set_first_stack(crate::cpu::id(), stack.bottom()..top);
    // SAFETY: the stack was owned here and is abandoned to this call: mapped writable (a
    // `KernelStack`), 16-byte aligned at the top, used by nothing else, never freed.
    unsafe { crate::cpu::run_on_stack(top, entry) }
}

/// Saves the current context, storing its stack pointer at `save_rsp_to`, and resumes the
/// context whose stack pointer is `load_rsp`. Returns when something switches back.
///
/// # Safety
/// Interrupts must be disabled. `save_rsp_to` must be valid for an 8-byte write. `load_rsp`
/// must have been saved by this function or made by `prepare_stack`, for a stack that is
/// mapped, alive, and not in use by any running context.
#[unsafe(naked)]
unsafe extern "C" fn switch_stacks(save_rsp_to: *mut u64, load_rsp: u64) {
    naked_asm!(
        "pushfq",
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "popfq",
        "ret",
    )
}

/// Words `prepare_stack` writes: six registers, RFLAGS, the entry point, a fake return
/// address.
const FIRST_FRAME_WORDS: usize = 9;

/// RFLAGS a new thread starts with: interrupts off (bit 1 is always set).
const FIRST_RFLAGS: u64 = 0x2;

/// Lays out a fresh stack so that `switch_stacks` to the returned stack pointer "returns"
/// into `entry`, with interrupts off and the stack aligned as for a call.
///
/// # Safety
/// `top` must be the 16-byte-aligned top of a mapped, writable stack of at least
/// `FIRST_FRAME_WORDS * 8` bytes that nothing else uses.
unsafe fn prepare_stack(top: u64, entry: extern "C" fn() -> !) -> u64 {
    assert!(top.is_multiple_of(16), "context: stack top {top:#x} is not 16-byte aligned");
    // Popped in order: r15, r14, r13, r12, rbx, rbp, rflags; then `ret` to `entry`, leaving
    // rsp at the fake return address (rsp % 16 == 8 on entry, as after a call).
    let frame: [u64; FIRST_FRAME_WORDS] = [0, 0, 0, 0, 0, 0, FIRST_RFLAGS, entry as usize as u64, 0];
    let start = top - (FIRST_FRAME_WORDS * 8) as u64;
    // SAFETY: the caller guarantees the bytes below `top` are this unused stack's.
    unsafe { (start as *mut [u64; FIRST_FRAME_WORDS]).write(frame) };
    start
}
