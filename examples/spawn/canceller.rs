//! async-std's `JoinHandle` detaches its task when dropped, and stopping it
//! (`JoinHandle::cancel`) is async, so a `Drop` cannot do it: each handle is
//! wrapped in a [`Cancellable`] that, dropped before its task finished, hands
//! the handle to a shared [`Canceller`], whose `cancel_all().await` cancels
//! those tasks and waits until each has stopped.

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use async_std::task::JoinHandle;

/// Collects the handles of tasks dropped before they finished, to cancel them.
pub struct Canceller<T> {
    dropped: Arc<Mutex<Vec<JoinHandle<T>>>>,
}

impl<T> Canceller<T> {
    /// A canceller with no handles.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            dropped: Arc::default(),
        }
    }

    /// Wraps `handle` so that dropping it before the task finished hands it
    /// to this canceller.
    pub fn wrap(&self, handle: JoinHandle<T>) -> Cancellable<T> {
        Cancellable {
            handle: Some(handle),
            dropped: Arc::clone(&self.dropped),
        }
    }

    /// Cancels every task whose handle was dropped unfinished, and waits for
    /// each to stop. Returns how many there were.
    pub async fn cancel_all(&self) -> usize {
        let handles = mem::take(&mut *self.dropped.lock().unwrap_or_else(PoisonError::into_inner));
        let count = handles.len();
        for handle in handles {
            handle.cancel().await;
        }
        count
    }
}

/// A task handle that, if dropped before its task finished, hands the handle
/// to its [`Canceller`].
pub struct Cancellable<T> {
    handle: Option<JoinHandle<T>>,
    dropped: Arc<Mutex<Vec<JoinHandle<T>>>>,
}

impl<T> Future for Cancellable<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let handle = self.handle.as_mut().expect("polled after completion");
        let output = futures::ready!(Pin::new(handle).poll(cx));
        self.handle = None; // finished: nothing to cancel
        Poll::Ready(output)
    }
}

impl<T> Drop for Cancellable<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.dropped
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(handle);
        }
    }
}
