//! [`LimitedAsCompleted`]: outputs in completion order.

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use crate::size_hint;
use crate::slots::Slots;
use crate::source::Source;

/// Stream for the
/// [`limited_as_completed`](crate::LimitedAsCompletedExt::limited_as_completed)
/// method.
///
/// See that method for when items are pulled, the bound, the order of
/// outputs, panics and cancellation.
#[must_use = "streams do nothing unless polled"]
pub struct LimitedAsCompleted<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
    core: AsCompletedCore<I>,
}

// Nothing is pinned in place: every future lives in its own pinned box inside
// the slot arena, and the iterator is never pinned. So the stream is `Unpin`
// whatever the future type.
impl<I> Unpin for LimitedAsCompleted<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
}

impl<I> LimitedAsCompleted<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
    #[track_caller]
    pub(crate) fn new(iter: I, limit: usize) -> Self {
        check_limit("limited_as_completed", limit);
        Self {
            core: AsCompletedCore::new(iter, limit),
        }
    }

    /// Returns the most futures that may run at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// let stream = [async { 1 }].limited_as_completed(4);
    /// assert_eq!(stream.limit(), 4);
    /// ```
    pub fn limit(&self) -> usize {
        self.core.limit
    }

    /// Changes the most futures that may run at once.
    ///
    /// Raising the bound starts more futures on the next poll. Lowering it
    /// cancels nothing: the futures already running are let finish, and no new
    /// one starts until fewer than `limit` are in flight.
    ///
    /// # Panics
    ///
    /// If `limit` is 0. Pass `usize::MAX` for no bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::future::{pending, ready, Either};
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// # futures::executor::block_on(async {
    /// // Item 0 never finishes; the others are ready at once.
    /// let items = (0..5).map(|i| if i == 0 { Either::Left(pending()) } else { Either::Right(ready(i)) });
    /// let mut stream = items.limited_as_completed(1);
    /// assert_eq!(futures::poll!(stream.next()), std::task::Poll::Pending);
    /// assert_eq!(stream.in_flight(), 1);
    ///
    /// stream.set_limit(3);
    /// assert_eq!(stream.next().await, Some(1));
    /// // Item 0 still runs; items 2 and 3 finished and wait their turn.
    /// assert_eq!(stream.in_flight(), 3);
    /// # });
    /// ```
    #[track_caller]
    pub fn set_limit(&mut self, limit: usize) {
        check_limit("LimitedAsCompleted::set_limit", limit);
        self.core.limit = limit;
    }

    /// Returns how many items were pulled and are neither yielded nor dropped:
    /// futures running plus finished outputs not yet yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut stream = (0..10).map(|i| async move { i }).limited_as_completed(3);
    /// assert_eq!(stream.in_flight(), 0); // nothing is pulled before the first poll
    /// assert_eq!(stream.next().await, Some(0));
    /// assert_eq!(stream.in_flight(), 3); // its slot was refilled before it was returned
    /// # });
    /// ```
    pub fn in_flight(&self) -> usize {
        self.core.in_flight()
    }

    /// Drops the futures in flight and their finished outputs, and returns the
    /// iterator, positioned just after the last item pulled.
    ///
    /// Nothing that was not started is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut stream = (0..10).map(|i| async move { i }).limited_as_completed(3);
    /// assert_eq!(stream.next().await, Some(0));
    /// // Items 0 to 3 were pulled: 0 was yielded, 1 to 3 are dropped here.
    /// let rest: Vec<_> = stream.into_inner().collect();
    /// assert_eq!(rest.len(), 6);
    /// # });
    /// ```
    pub fn into_inner(self) -> I {
        self.core.into_source()
    }
}

impl<I> Stream for LimitedAsCompleted<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
    type Item = <I::Item as IntoFuture>::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .core
            .poll_next(cx)
            .map(|item| item.map(|(_, output)| output))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.core.size_hint()
    }
}

impl<I> FusedStream for LimitedAsCompleted<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
    fn is_terminated(&self) -> bool {
        self.core.is_terminated()
    }
}

impl<I> fmt::Debug for LimitedAsCompleted<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core
            .debug_fields(&mut f.debug_struct("LimitedAsCompleted"))
    }
}

/// Panics with the crate's message for a limit of 0.
#[track_caller]
pub(crate) fn check_limit(method: &str, limit: usize) {
    if limit == 0 {
        panic!(
            "`{method}`: `limit` must be at least 1, got {limit}; \
             pass `usize::MAX` for no bound"
        );
    }
}

/// The completion-order engine over any [`Source`].
pub(crate) struct AsCompletedCore<S: Source> {
    source: S,
    source_done: bool,
    slots: Slots<S::Future>,
    limit: usize,
    /// Items pulled so far; the next item's tag.
    pulled: usize,
    /// An output whose slot is already free, kept while the slot is refilled
    /// (and across a poll if the refill panics).
    held: Option<(usize, <S::Future as Future>::Output)>,
}

impl<S: Source> AsCompletedCore<S> {
    pub(crate) fn new(source: S, limit: usize) -> Self {
        Self {
            source,
            source_done: false,
            slots: Slots::new(),
            limit,
            pulled: 0,
            held: None,
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.slots.in_use() + usize::from(self.held.is_some())
    }

    pub(crate) fn into_source(self) -> S {
        self.source
    }

    pub(crate) fn size_hint(&self) -> (usize, Option<usize>) {
        size_hint::with_source(self.in_flight(), self.source.size_hint(), self.source_done)
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.source_done && self.in_flight() == 0
    }

    pub(crate) fn debug_fields(&self, f: &mut fmt::DebugStruct<'_, '_>) -> fmt::Result {
        f.field("limit", &self.limit)
            .field("in_flight", &self.in_flight())
            .field("source_done", &self.source_done)
            .finish_non_exhaustive()
    }

    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(usize, <S::Future as Future>::Output)>> {
        self.slots.begin_round();
        self.fill(cx);
        if let Some(item) = self.held.take() {
            return Poll::Ready(Some(item));
        }
        if let Some(item) = self.slots.pop_finished() {
            return self.refill_then_yield(item, cx);
        }
        while let Some(id) = self.slots.next_woken() {
            if let Poll::Ready(output) = self.slots.poll(id) {
                let tag = self.slots.tag(id);
                self.slots.release(id);
                return self.refill_then_yield((tag, output), cx);
            }
        }
        if self.source_done && self.slots.in_use() == 0 {
            return Poll::Ready(None);
        }
        self.slots.park(cx.waker());
        Poll::Pending
    }

    /// Refills the slot that `item` freed, then yields `item`. If the refill
    /// panics, `item` is kept and yielded by the next poll.
    fn refill_then_yield(
        &mut self,
        item: (usize, <S::Future as Future>::Output),
        cx: &mut Context<'_>,
    ) -> Poll<Option<(usize, <S::Future as Future>::Output)>> {
        self.held = Some(item);
        self.fill(cx);
        Poll::Ready(self.held.take())
    }

    /// Pulls and polls once new futures until `limit` slots are taken or the
    /// source has nothing more right now.
    fn fill(&mut self, cx: &mut Context<'_>) {
        while !self.source_done && self.slots.in_use() < self.limit {
            match self.source.poll_pull(cx) {
                Poll::Ready(Some(future)) => {
                    let tag = self.pulled;
                    self.pulled += 1;
                    let id = self.slots.insert(future, tag);
                    if let Poll::Ready(output) = self.slots.poll(id) {
                        self.slots.push_finished(id, output);
                    }
                }
                Poll::Ready(None) => self.source_done = true,
                Poll::Pending => break,
            }
        }
    }
}
