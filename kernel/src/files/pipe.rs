//! Pipes: a bounded byte queue with a read end and a write end.
//!
//! Each end is an open file description (`files::File`); the pipe counts the ends open,
//! and an end's drop — its last descriptor closed, in any process, or its process gone —
//! uncounts it and wakes the other side: readers then see end-of-file once the buffer is
//! empty, writers see EPIPE. Writes of at most `PIPE_BUF` bytes are atomic: they wait until
//! they fit whole and go in under one lock.
//!
//! Lock rule: `buffer` is taken with interrupts off, briefly, and never while copying from
//! or to user memory; waiting is on the wait queues, never with the lock held. The queue
//! grows as data arrives (up to `CAPACITY`) and allocates fallibly: a full heap is ENOMEM.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use x86_64::instructions::interrupts::without_interrupts;

use crate::sched::WaitQueue;
use crate::sync::SpinLock;

/// Bytes a pipe holds (Linux's default: 16 pages).
pub const CAPACITY: usize = 16 * 4096;
/// Writes up to this size are atomic (POSIX's PIPE_BUF, Linux's value).
pub const PIPE_BUF: usize = 4096;

/// Why a pipe operation did not transfer data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeError {
    /// Non-blocking and nothing to read, or no room (EAGAIN).
    WouldBlock,
    /// No read end is open (EPIPE, and SIGPIPE).
    Broken,
    /// The caller's process is ending (EINTR).
    Interrupted,
    /// No memory for the data (ENOMEM).
    OutOfMemory,
}

pub struct Pipe {
    buffer: SpinLock<VecDeque<u8>>,
    readers: AtomicUsize,
    writers: AtomicUsize,
    /// Readers wait here for data or for the last writer to go.
    readable: WaitQueue,
    /// Writers wait here for room or for the last reader to go.
    writable: WaitQueue,
}

/// The read end. Dropping it closes it.
pub struct ReadEnd(Arc<Pipe>);
/// The write end. Dropping it closes it.
pub struct WriteEnd(Arc<Pipe>);

/// A new pipe's two ends, or `OutOfHeap` when the heap has no room for it.
pub fn new() -> Result<(ReadEnd, WriteEnd), crate::fault_injection::OutOfHeap> {
    let pipe = crate::fault_injection::try_arc(Pipe {
        buffer: SpinLock::new(VecDeque::new()),
        readers: AtomicUsize::new(1),
        writers: AtomicUsize::new(1),
        readable: WaitQueue::new(),
        writable: WaitQueue::new(),
    })?;
    Ok((ReadEnd(pipe.clone()), WriteEnd(pipe)))
}

impl ReadEnd {
    /// Takes up to `limit` bytes, waiting (unless `nonblocking`) until there are some or no
    /// writer is left (then an empty result: end of file). `give_up` is the caller being
    /// killed.
    pub fn read(
        &self,
        limit: usize,
        nonblocking: bool,
        give_up: impl Fn() -> bool,
    ) -> Result<Vec<u8>, PipeError> {
        let pipe = &self.0;
        let ready = || !pipe.buffer.lock().is_empty() || pipe.writers.load(Ordering::Acquire) == 0;
        if nonblocking && !ready() {
            return Err(PipeError::WouldBlock);
        }
        pipe.readable.wait_until(|| ready() || give_up());
        if give_up() {
            return Err(PipeError::Interrupted);
        }
        let mut taken = Vec::new();
        crate::fault_injection::try_reserve_exact(&mut taken, limit.min(CAPACITY))
            .map_err(|_| PipeError::OutOfMemory)?;
        {
            let mut buffer = pipe.buffer.lock();
            let count = limit.min(buffer.len());
            taken.extend(buffer.drain(..count));
            if buffer.is_empty() {
                // Give the grown queue back once drained, so that idle pipes hold no heap.
                *buffer = VecDeque::new();
            }
        }
        if !taken.is_empty() {
            pipe.writable.wake_all();
        }
        Ok(taken)
    }
}

impl WriteEnd {
    /// Puts `data` (at most `PIPE_BUF` bytes, so the write is atomic) into the pipe, waiting
    /// (unless `nonblocking`) until it fits whole.
    pub fn write(&self, data: &[u8], nonblocking: bool, give_up: impl Fn() -> bool) -> Result<(), PipeError> {
        assert!(data.len() <= PIPE_BUF, "pipe: a write piece larger than PIPE_BUF");
        let pipe = &self.0;
        let broken = || pipe.readers.load(Ordering::Acquire) == 0;
        loop {
            if broken() {
                return Err(PipeError::Broken);
            }
            let put = without_interrupts(|| {
                let mut buffer = pipe.buffer.lock();
                if CAPACITY - buffer.len() < data.len() {
                    return Ok(false);
                }
                crate::fault_injection::try_reserve(&mut *buffer, data.len())
                    .map_err(|_| PipeError::OutOfMemory)?;
                buffer.extend(data);
                Ok(true)
            })?;
            if put {
                pipe.readable.wake_all();
                return Ok(());
            }
            if nonblocking {
                return Err(PipeError::WouldBlock);
            }
            let fits = || CAPACITY - pipe.buffer.lock().len() >= data.len();
            pipe.writable.wait_until(|| fits() || broken() || give_up());
            if give_up() {
                return Err(PipeError::Interrupted);
            }
        }
    }
}

impl Drop for ReadEnd {
    fn drop(&mut self) {
        self.0.readers.fetch_sub(1, Ordering::AcqRel);
        self.0.writable.wake_all();
    }
}

impl Drop for WriteEnd {
    fn drop(&mut self) {
        self.0.writers.fetch_sub(1, Ordering::AcqRel);
        self.0.readable.wake_all();
    }
}
