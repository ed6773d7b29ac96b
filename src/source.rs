//! Where a stream gets its next future from.

use alloc::boxed::Box;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;

/// "Next future, please": implemented for iterators (always ready) and, for
/// the stream adaptors, polled sources.
pub(crate) trait Source {
    /// What the source yields; the stream turns it into its future.
    type Item: IntoFuture<IntoFuture = Self::Future>;
    type Future: Future;

    /// The next item; `Ready(None)` once the source has ended. Never called
    /// again after `Ready(None)`. The caller counts the item as pulled before
    /// it calls `into_future`, so an item whose `into_future` panics still
    /// takes its place in the input.
    fn poll_pull(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Item>>;

    /// The source's own bounds on the items it has left.
    fn size_hint(&self) -> (usize, Option<usize>);
}

impl<I> Source for I
where
    I: Iterator,
    I::Item: IntoFuture,
{
    type Item = I::Item;
    type Future = <I::Item as IntoFuture>::IntoFuture;

    #[inline]
    fn poll_pull(&mut self, _cx: &mut Context<'_>) -> Poll<Option<I::Item>> {
        Poll::Ready(self.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        Iterator::size_hint(self)
    }
}

/// A [`Stream`] of futures as a source: polled, never blocked on. Boxed once
/// so that the stream types stay `Unpin` whatever the source.
pub(crate) struct Polled<S> {
    stream: Pin<Box<S>>,
}

impl<S> Polled<S> {
    pub(crate) fn new(stream: S) -> Self {
        Self {
            stream: Box::pin(stream),
        }
    }

    pub(crate) fn into_inner(self) -> Pin<Box<S>> {
        self.stream
    }
}

impl<S> Source for Polled<S>
where
    S: Stream,
    S::Item: IntoFuture,
{
    type Item = S::Item;
    type Future = <S::Item as IntoFuture>::IntoFuture;

    fn poll_pull(&mut self, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.stream.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}
