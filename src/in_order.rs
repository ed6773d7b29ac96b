//! [`LimitedInOrder`]: outputs in the input's order.

use alloc::collections::VecDeque;
use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use crate::as_completed::check_limit;
use crate::size_hint;
use crate::slots::{SlotId, Slots};
use crate::source::Source;

/// Stream for the
/// [`limited_in_order`](crate::LimitedAsCompletedExt::limited_in_order)
/// method.
///
/// See that method for when items are pulled, the bound, panics and
/// cancellation.
#[must_use = "streams do nothing unless polled"]
pub struct LimitedInOrder<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
    core: InOrderCore<I>,
}

// Nothing is pinned in place (see `LimitedAsCompleted`), so the stream is
// `Unpin` whatever the future type.
impl<I> Unpin for LimitedInOrder<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
}

impl<I> LimitedInOrder<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
    #[track_caller]
    pub(crate) fn new(iter: I, limit: usize) -> Self {
        check_limit("limited_in_order", limit);
        Self {
            core: InOrderCore::new(iter, limit),
        }
    }

    /// Returns the most items that may be pulled and not yet yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// let stream = [async { 1 }].limited_in_order(4);
    /// assert_eq!(stream.limit(), 4);
    /// ```
    pub fn limit(&self) -> usize {
        self.core.limit
    }

    /// Changes the most items that may be pulled and not yet yielded.
    ///
    /// Raising the bound pulls more items on the next poll. Lowering it cancels
    /// nothing: no new item is pulled until fewer than `limit` are in flight.
    ///
    /// # Panics
    ///
    /// If `limit` is 0. Pass `usize::MAX` for no bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut stream = (0..10).map(|i| async move { i }).limited_in_order(2);
    /// assert_eq!(stream.next().await, Some(0));
    /// stream.set_limit(5);
    /// assert_eq!(stream.next().await, Some(1));
    /// assert_eq!(stream.in_flight(), 5);
    /// # });
    /// ```
    #[track_caller]
    pub fn set_limit(&mut self, limit: usize) {
        check_limit("LimitedInOrder::set_limit", limit);
        self.core.limit = limit;
    }

    /// Returns how many items were pulled and are neither yielded nor dropped:
    /// futures running plus finished outputs waiting for their turn.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut stream = (0..10).map(|i| async move { i }).limited_in_order(3);
    /// assert_eq!(stream.in_flight(), 0);
    /// assert_eq!(stream.next().await, Some(0));
    /// assert_eq!(stream.in_flight(), 3);
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
    /// let mut stream = (0..10).map(|i| async move { i }).limited_in_order(3);
    /// assert_eq!(stream.next().await, Some(0));
    /// let rest: Vec<_> = stream.into_inner().collect();
    /// assert_eq!(rest.len(), 6); // items 1 to 3 were pulled and are dropped
    /// # });
    /// ```
    pub fn into_inner(self) -> I {
        self.core.source
    }
}

impl<I> Stream for LimitedInOrder<I>
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

impl<I> FusedStream for LimitedInOrder<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
    fn is_terminated(&self) -> bool {
        self.core.is_terminated()
    }
}

impl<I> fmt::Debug for LimitedInOrder<I>
where
    I: Iterator,
    I::Item: IntoFuture,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core
            .debug_fields(&mut f.debug_struct("LimitedInOrder"))
    }
}

/// The input-order engine over any [`Source`].
pub(crate) struct InOrderCore<S: Source> {
    source: S,
    source_done: bool,
    slots: Slots<S::Future>,
    limit: usize,
    /// Items pulled so far; the next item's tag.
    pulled: usize,
    /// Slots of the items pulled and not yet yielded, in input order; the
    /// front holds the item tagged `next_tag`.
    order: VecDeque<SlotId>,
    next_tag: usize,
    /// An output whose slot is already free, kept while the slot is refilled
    /// (and across a poll if the refill panics).
    held: Option<(usize, <S::Future as Future>::Output)>,
}

impl<S: Source> InOrderCore<S> {
    pub(crate) fn new(source: S, limit: usize) -> Self {
        Self {
            source,
            source_done: false,
            slots: Slots::new(),
            limit,
            pulled: 0,
            order: VecDeque::new(),
            next_tag: 0,
            held: None,
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.slots.in_use() + usize::from(self.held.is_some())
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
        loop {
            if let Some(item) = self.pop_front_finished() {
                self.held = Some(item);
                self.fill(cx);
                return Poll::Ready(self.held.take());
            }
            let Some(id) = self.slots.next_woken() else {
                break;
            };
            if let Poll::Ready(output) = self.slots.poll(id) {
                self.slots.store_output(id, output);
            }
        }
        if self.source_done && self.slots.in_use() == 0 {
            return Poll::Ready(None);
        }
        self.slots.park(cx.waker());
        Poll::Pending
    }

    /// Hands out the front item's output if it has finished, skipping items
    /// whose future panicked.
    fn pop_front_finished(&mut self) -> Option<(usize, <S::Future as Future>::Output)> {
        while let Some(&id) = self.order.front() {
            let tag = self.next_tag;
            if self.slots.holds(id, tag) && !self.slots.has_output(id) {
                return None;
            }
            self.order.pop_front();
            self.next_tag += 1;
            if self.slots.holds(id, tag) {
                return Some((tag, self.slots.take_output(id)));
            }
            // The item's future panicked and was dropped: skip it.
        }
        None
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
                    self.order.push_back(id);
                    if let Poll::Ready(output) = self.slots.poll(id) {
                        self.slots.store_output(id, output);
                    }
                }
                Poll::Ready(None) => self.source_done = true,
                Poll::Pending => break,
            }
        }
    }
}
