//! A bare `tokio::task::JoinHandle` *detaches* its task when dropped: the task
//! goes on running. [`AbortOnDrop`] calls `JoinHandle::abort` in its `Drop`
//! instead. (tokio-util's `AbortOnDropHandle` is the same thing, if you
//! already depend on tokio-util.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::{JoinError, JoinHandle};

/// A tokio task handle that aborts its task when dropped.
pub struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        // A no-op if the task has already finished.
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}
