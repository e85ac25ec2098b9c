//! Input bytes from an interrupt handler to one task: a bounded queue and a byte stream.
//!
//! The interrupt side pushes into a lock-free queue (no allocation, no lock; a full queue
//! drops the byte and counts it) and wakes the one reading task through an `AtomicWaker`;
//! the task side is a `Stream` of bytes. The reader registers its waker *before* its second
//! look at the queue, so a byte pushed between the first look and the registration is not
//! missed. Used by the keyboard (scancodes) and the serial port (received bytes).

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
