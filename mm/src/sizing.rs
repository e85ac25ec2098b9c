//! How big the kernel's boot-time tables are, from the RAM the machine has.
//!
//! The thread limit follows Linux's `set_max_threads`: kernel stacks may take at most an
//! eighth of RAM, so `max_threads` is usable RAM over eight 16 KiB stacks — about 2,000
//! threads in 256 MiB, 32,768 in 4 GiB, the ceiling of 131,072 from 16 GiB — and never
//! fewer than `MIN_THREADS`. Every table sized by the thread count (the thread-slot table,
//! each CPU's run queue, the reapers' dead lists, the kernel stack region's bookkeeping) is
//! made at boot (and so is each CPU's ready queue of the executor, for the threads'
//! teardown tasks), so the heap is sized to hold them at the limit beside a fixed base; the
//! frame allocator's own tables grow with RAM. Pure arithmetic, called once at boot.

use crate::PAGE_SIZE;

/// Bytes of kernel stack a thread has (the guard page not counted).
pub const THREAD_STACK_BYTES: u64 = 16 * 1024;

/// The thread limit is never set below this, however little RAM there is.
pub const MIN_THREADS: usize = 1024;

/// The thread limit is never set above this, however much RAM there is (2^17).
pub const MAX_THREADS_CEILING: usize = 131_072;

/// Heap for everything not sized by threads or frames (the heap Lethe had before sizing).
pub const BASE_HEAP_BYTES: u64 = 8 * 1024 * 1024;

/// Kernel stacks not held by threads: each started CPU's boot stack, tests' own stacks,
/// and stacks retired but not yet flushed (given back in batches).
pub const SPARE_STACK_SLOTS: usize = 256;

/// What the boot-time tables are sized for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootSizing {
    /// Threads that can exist at once (dead ones count until torn down).
    pub max_threads: usize,
    /// Slots of the kernel stack region.
    pub stack_slots: u32,
    /// Bytes of kernel heap, a whole number of pages.
    pub heap_bytes: u64,
}

impl BootSizing {
    /// Sizes for `usable_bytes` of RAM on a kernel that may start `max_cpus` CPUs.
    pub fn for_ram(usable_bytes: u64, max_cpus: usize) -> Self {
        let by_ram = usable_bytes / (8 * THREAD_STACK_BYTES);
        let max_threads = (by_ram as usize).clamp(MIN_THREADS, MAX_THREADS_CEILING);
        let stack_slots = (max_threads + SPARE_STACK_SLOTS) as u32;
        let heap_bytes = BASE_HEAP_BYTES
            + max_threads as u64 * heap_bytes_per_thread(max_cpus)
            + usable_bytes / PAGE_SIZE * HEAP_BYTES_PER_FRAME;
        Self { max_threads, stack_slots, heap_bytes: heap_bytes.next_multiple_of(PAGE_SIZE) }
    }
}

/// The frame allocator's bitmap bit and owner byte per frame, rounded up.
const HEAP_BYTES_PER_FRAME: u64 = 2;

/// Heap each possible thread may need: a place in each CPU's run queue, executor ready
/// queue and dead list, and in the global dead list (16 bytes each: the value and
/// crossbeam's stamp), its slot-table entry (the off-CPU event, the hand-off cell and the
/// CPU context with its stack: under 128 bytes) and free-list place, the stack region's
/// bookkeeping, and room for what a live thread holds on the heap (its teardown task, a
/// waker while it blocks, its place in its process's list).
fn heap_bytes_per_thread(max_cpus: usize) -> u64 {
    let queues = 16 * (3 * max_cpus as u64 + 1);
    queues + 128 + 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn max_threads_is_an_eighth_of_ram_in_kernel_stacks() {
        assert_eq!(BootSizing::for_ram(4096 * MIB, 16).max_threads, 32_768);
        assert_eq!(BootSizing::for_ram(512 * MIB, 16).max_threads, 4096);
    }

    #[test]
    fn max_threads_stays_between_the_floor_and_the_ceiling() {
        assert_eq!(BootSizing::for_ram(64 * MIB, 16).max_threads, MIN_THREADS);
        assert_eq!(BootSizing::for_ram(64 * 1024 * MIB, 16).max_threads, MAX_THREADS_CEILING);
    }

    #[test]
    fn every_thread_has_a_stack_slot_with_spares_beside() {
        for ram in [64 * MIB, 256 * MIB, 16 * 1024 * MIB] {
            let sizing = BootSizing::for_ram(ram, 16);
            assert_eq!(sizing.stack_slots as usize, sizing.max_threads + SPARE_STACK_SLOTS);
        }
    }

    #[test]
    fn the_heap_grows_with_the_thread_limit_and_is_whole_pages() {
        let small = BootSizing::for_ram(256 * MIB, 16);
        let large = BootSizing::for_ram(16 * 1024 * MIB, 16);
        assert!(small.heap_bytes >= BASE_HEAP_BYTES);
        assert!(large.heap_bytes >= BASE_HEAP_BYTES + large.max_threads as u64 * 1024);
        assert_eq!(small.heap_bytes % PAGE_SIZE, 0);
        assert_eq!(large.heap_bytes % PAGE_SIZE, 0);
    }
}
