//! `yield_now`: give other ready tasks a turn.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// A future that is pending once — waking its task so it is queued behind the tasks
/// already ready — and complete the next time.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future `yield_now` returns.
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
