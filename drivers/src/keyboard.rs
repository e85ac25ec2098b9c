//! Input bytes from interrupt handlers to a task: the PS/2 keyboard's scancodes as a stream.
//!
//! `InputQueue` is the hand-over: the interrupt side pushes into a bounded lock-free queue
//! (no allocation, no lock; a full queue drops the byte and counts it) and wakes the one
//! reading task through an `AtomicWaker`; the task side is a `Stream` of bytes. The reader
//! registers its waker *before* its second look at the queue, so a byte pushed between the
//! first look and the registration is not missed.
//!
//! The kernel's scancode queue is created once (`init`) before the keyboard interrupt is
//! unmasked; the interrupt handler calls `handle_interrupt`, the keyboard task reads
//! `scancodes()` and decodes with `pc-keyboard`.

use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll};

use crossbeam_queue::ArrayQueue;
use futures_util::stream::Stream;
use futures_util::task::AtomicWaker;

/// Bytes handed from an interrupt handler to one reading task.
pub struct InputQueue {
    bytes: ArrayQueue<u8>,
    reader: AtomicWaker,
    dropped: AtomicUsize,
}

impl InputQueue {
    pub fn new(capacity: usize) -> Self {
        Self { bytes: ArrayQueue::new(capacity), reader: AtomicWaker::new(), dropped: AtomicUsize::new(0) }
    }

    /// Interrupt side: queues `byte` and wakes the reader. Returns false, and counts the
    /// byte as dropped, when the queue is full.
    pub fn push(&self, byte: u8) -> bool {
        let queued = self.bytes.push(byte).is_ok();
        if queued {
            self.reader.wake();
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        queued
    }

    /// Bytes dropped because the reader fell behind.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The reading side. There is meant to be one reader: a second one steals the first's
    /// wakeups.
    pub fn stream(&self) -> InputStream<'_> {
        InputStream { queue: self }
    }
}

/// A stream of the bytes pushed into an `InputQueue`. It never ends.
pub struct InputStream<'a> {
    queue: &'a InputQueue,
}

impl Stream for InputStream<'_> {
    type Item = u8;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u8>> {
        if let Some(byte) = self.queue.bytes.pop() {
            return Poll::Ready(Some(byte));
        }
        self.queue.reader.register(cx.waker());
        match self.queue.bytes.pop() {
            Some(byte) => {
                self.queue.reader.take();
                Poll::Ready(Some(byte))
            }
            None => Poll::Pending,
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod device {
    use conquer_once::spin::OnceCell;

    use super::{InputQueue, InputStream};

    const DATA_PORT: u16 = 0x60;
    const QUEUE_CAPACITY: usize = 128;

    static SCANCODES: OnceCell<InputQueue> = OnceCell::uninit();

    /// Creates the scancode queue (it allocates). Call before unmasking the keyboard IRQ.
    pub fn init() {
        SCANCODES.init_once(|| InputQueue::new(QUEUE_CAPACITY));
    }

    /// The keyboard interrupt's work: read the scancode (which acknowledges it to the
    /// controller) and queue it. Returns false when it had to be dropped.
    pub fn handle_interrupt() -> bool {
        let mut port = x86_64::instructions::port::Port::<u8>::new(DATA_PORT);
        // SAFETY: port 0x60 is the PS/2 controller's data port; reading it in the keyboard
        // interrupt fetches the byte that raised the interrupt and has no other effect.
        let scancode = unsafe { port.read() };
        SCANCODES.get().is_some_and(|queue| queue.push(scancode))
    }

    /// The stream of scancodes, for the one keyboard task.
    pub fn scancodes() -> Option<InputStream<'static>> {
        SCANCODES.get().map(InputQueue::stream)
    }
}

#[cfg(target_arch = "x86_64")]
pub use device::{handle_interrupt, init, scancodes};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order() {
        let queue = InputQueue::new(8);
        for byte in [1, 2, 3] {
            assert!(queue.push(byte));
        }
        let mut stream = queue.stream();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        for expected in [1, 2, 3] {
            assert_eq!(Pin::new(&mut stream).poll_next(&mut cx), Poll::Ready(Some(expected)));
        }
        assert!(Pin::new(&mut stream).poll_next(&mut cx).is_pending());
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let queue = InputQueue::new(2);
        assert!(queue.push(1));
        assert!(queue.push(2));
        assert!(!queue.push(3));
        assert_eq!(queue.dropped(), 1);
    }

    #[test]
    fn a_push_after_pending_wakes_the_reader() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::task::Wake;

        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }

        let queue = InputQueue::new(4);
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = std::task::Waker::from(flag.clone());
        let mut stream = queue.stream();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut stream).poll_next(&mut cx).is_pending());
        queue.push(7);
        assert!(flag.0.load(Ordering::SeqCst), "the reader was not woken");
        let mut quiet = Context::from_waker(std::task::Waker::noop());
        assert_eq!(Pin::new(&mut stream).poll_next(&mut quiet), Poll::Ready(Some(7)));
    }
}
