//! Where a stream gets its next future from.

use core::future::{Future, IntoFuture};
use core::task::{Context, Poll};

/// "Next future, please": implemented for iterators (always ready) and, for
/// the stream adaptors, polled sources.
pub(crate) trait Source {
    type Future: Future;

    /// The next future; `Ready(None)` once the source has ended. Never called
    /// again after `Ready(None)`.
    fn poll_pull(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Future>>;

    /// The source's own bounds on the items it has left.
    fn size_hint(&self) -> (usize, Option<usize>);
}

impl<I> Source for I
where
    I: Iterator,
    I::Item: IntoFuture,
{
    type Future = <I::Item as IntoFuture>::IntoFuture;

    fn poll_pull(&mut self, _cx: &mut Context<'_>) -> Poll<Option<Self::Future>> {
        Poll::Ready(self.next().map(IntoFuture::into_future))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        Iterator::size_hint(self)
    }
}
