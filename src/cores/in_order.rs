//! Input order: outputs wait in their slots until every earlier one is out.

use alloc::collections::VecDeque;
use core::future::Future;
use core::task::{Context, Poll};

use super::Core;
use crate::size_hint;
use crate::slots::{SlotId, Slots};
use crate::source::Source;

type Output<S> = <<S as Source>::Future as Future>::Output;

/// The input-order engine over any [`Source`].
pub(crate) struct InOrderCore<S: Source> {
    source: S,
    source_done: bool,
    slots: Slots<S::Future>,
    limit: usize,
    /// Items pulled so far; the next item's tag.
    pulled: usize,
    /// Slots and tags of the items pulled and not yet yielded, in input
    /// order. An item whose future panicked is no longer in its slot (the
    /// slot is free or holds a later item) and is skipped.
    order: VecDeque<(SlotId, usize)>,
    /// An output whose slot is already free, kept while the slot is refilled
    /// (and across a poll if the refill panics).
    held: Option<(usize, Output<S>)>,
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
            held: None,
        }
    }

    /// Drops everything in flight and hands back the source. The futures are
    /// dropped while the source is still a local, so a future that panics in
    /// `Drop` unwinds through here with the source dropped too, not leaked.
    pub(crate) fn into_source(self) -> S {
        let Self {
            source,
            slots,
            held,
            ..
        } = self;
        drop(held);
        drop(slots);
        source
    }

    /// Hands out the front item's output if it has finished, skipping items
    /// whose future panicked.
    #[inline]
    fn pop_front_finished(&mut self) -> Option<(usize, Output<S>)> {
        while let Some(&(id, tag)) = self.order.front() {
            let live = self.slots.holds(id, tag);
            if live && !self.slots.has_output(id) {
                return None;
            }
            self.order.pop_front();
            if live {
                return Some((tag, self.slots.take_output(id)));
            }
        }
        None
    }

    /// Pulls and polls once new futures until `limit` slots are taken or the
    /// source has nothing more right now.
    #[inline]
    fn fill(&mut self, cx: &mut Context<'_>) {
        while !self.source_done && self.slots.in_use() < self.limit {
            match self.source.poll_pull(cx) {
                Poll::Ready(Some(future)) => {
                    let tag = self.pulled;
                    self.pulled += 1;
                    // A future that panics on this first poll never gets an
                    // entry: its item is skipped.
                    let (id, poll) = self.slots.insert_and_poll(future, tag);
                    self.order.push_back((id, tag));
                    if let Poll::Ready(output) = poll {
                        self.slots.store_output(id, output);
                    }
                }
                Poll::Ready(None) => self.source_done = true,
                Poll::Pending => break,
            }
        }
    }
}

impl<S: Source> Core for InOrderCore<S> {
    type Output = Output<S>;

    fn limit(&self) -> usize {
        self.limit
    }

    fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    fn in_flight(&self) -> usize {
        self.slots.in_use() + usize::from(self.held.is_some())
    }

    fn source_done(&self) -> bool {
        self.source_done
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        size_hint::with_source(self.in_flight(), self.source.size_hint(), self.source_done)
    }

    #[inline]
    fn poll_tagged(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Output<S>)>> {
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
        if self.is_terminated() {
            return Poll::Ready(None);
        }
        self.slots.park(cx.waker());
        Poll::Pending
    }
}
