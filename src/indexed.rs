//! [`Indexed`]: outputs paired with their position in the input.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use crate::limited_stream::sealed::Sealed;
use crate::LimitedStream;

/// Stream for the `indexed` method of every stream type in this crate, such
/// as [`LimitedAsCompleted::indexed`](crate::LimitedAsCompleted::indexed).
///
/// Yields `(index, output)`, `index` being the item's position in the input.
/// It is a [`LimitedStream`] like the stream it wraps, with the same methods
/// (they act on the wrapped stream); [`get_ref`](Self::get_ref) and
/// [`get_mut`](Self::get_mut) reach the wrapped stream itself.
#[must_use = "streams do nothing unless polled"]
pub struct Indexed<St> {
    stream: St,
}

impl<St> Indexed<St> {
    pub(crate) fn new(stream: St) -> Self {
        Self { stream }
    }

    /// Returns the wrapped stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// let stream = (0..10).map(|i| async move { i }).limited_as_completed(3).indexed();
    /// assert_eq!(stream.get_ref().limit(), 3);
    /// ```
    pub fn get_ref(&self) -> &St {
        &self.stream
    }

    /// Returns the wrapped stream, to change its limit for example.
    ///
    /// # Examples
    ///
    /// ```
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// let mut stream = (0..10).map(|i| async move { i }).limited_as_completed(3).indexed();
    /// stream.get_mut().set_limit(5);
    /// assert_eq!(stream.get_ref().limit(), 5);
    /// ```
    pub fn get_mut(&mut self) -> &mut St {
        &mut self.stream
    }

    /// Returns the wrapped stream, which yields bare outputs again.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut stream = (0..10).map(|i| async move { i * 10 }).limited_in_order(3).indexed();
    /// assert_eq!(stream.next().await, Some((0, 0)));
    /// let mut stream = stream.into_inner();
    /// assert_eq!(stream.next().await, Some(10));
    /// # });
    /// ```
    pub fn into_inner(self) -> St {
        self.stream
    }
}

impl<St: LimitedStream> Indexed<St> {
    shared_methods!(
        "use limited_as_completed::LimitedAsCompletedExt;",
        "(0..10).map(|i| async move { i }).limited_as_completed(3).indexed()"
    );
}

impl<St: LimitedStream> Stream for Indexed<St> {
    type Item = (usize, St::Item);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().stream.poll_tagged(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

impl<St: LimitedStream + FusedStream> FusedStream for Indexed<St> {
    fn is_terminated(&self) -> bool {
        self.stream.is_terminated()
    }
}

impl<St: LimitedStream> Sealed for Indexed<St> {
    fn poll_tagged(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Self::Item)>> {
        self.stream
            .poll_tagged(cx)
            .map(|item| item.map(|(index, output)| (index, (index, output))))
    }
}

impl<St: LimitedStream> LimitedStream for Indexed<St> {
    fn limit(&self) -> usize {
        self.stream.limit()
    }

    #[track_caller]
    fn set_limit(&mut self, limit: usize) {
        self.stream.set_limit(limit);
    }

    fn in_flight(&self) -> usize {
        self.stream.in_flight()
    }

    fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.stream.poll_progress(cx)
    }
}

impl<St: fmt::Debug> fmt::Debug for Indexed<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Indexed")
            .field("stream", &self.stream)
            .finish()
    }
}
