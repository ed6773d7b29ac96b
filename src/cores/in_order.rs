//! Input order: outputs wait in their slots until every earlier one is out.

use alloc::collections::VecDeque;
use core::future::Future;
use core::marker::PhantomData;
use core::task::{Context, Poll};

use super::{Core, Feed, Never, Stop};
use crate::slots::{SlotId, Slots};
use crate::source::Source;

type Output<S> = <<S as Source>::Future as Future>::Output;

/// The input-order engine over any [`Source`], stopping early where the
/// policy `P` says so.
pub(crate) struct InOrderCore<S: Source, P = Never> {
    feed: Feed<S>,
    slots: Slots<S::Future>,
    limit: usize,
    /// Slots and tags of the items pulled and not yet yielded, in input
    /// order. An item whose future panicked is no longer in its slot (the
    /// slot is free or holds a later item) and is skipped.
    order: VecDeque<(SlotId, usize)>,
    /// An output whose slot is already free, kept while the slot is refilled
    /// (and across a poll if the refill panics).
    held: Option<(usize, Output<S>)>,
    /// The tag of the first item, in input order, whose output stops the
    /// stream: every item after it is dropped.
    stop_at: Option<usize>,
    policy: PhantomData<P>,
}

impl<S: Source, P> InOrderCore<S, P> {
    pub(crate) fn new(source: S, limit: usize) -> Self {
        Self {
            feed: Feed::new(source),
            slots: Slots::new(),
            limit,
            order: VecDeque::new(),
            held: None,
            stop_at: None,
            policy: PhantomData,
        }
    }

    /// Drops everything in flight and hands back the source. The futures are
    /// dropped while the source is still a local, so a future that panics in
    /// `Drop` unwinds through here with the source dropped too, not leaked.
    pub(crate) fn into_source(self) -> S {
        let Self {
            feed, slots, held, ..
        } = self;
        drop(held);
        drop(slots);
        feed.source
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

    /// Forgets the entries of items whose future panicked once they outnumber
    /// the live ones (plus a little), so that items panicking behind a slow
    /// front item cost nothing lasting. Each sweep removes at least half of
    /// the entries, so this is O(1) per item, amortised.
    #[inline]
    fn forget_panicked(&mut self) {
        if self.order.len() > 2 * self.slots.in_use() + 16 {
            self.forget_panicked_now();
        }
    }

    #[cold]
    fn forget_panicked_now(&mut self) {
        let slots = &mut self.slots;
        self.order.retain(|&(id, tag)| slots.holds(id, tag));
    }

    /// Drops every item after the one that stopped the stream, newest first.
    /// Each entry is removed before its slot is cleared, so if a `Drop`
    /// panics, the next call goes on where this one stopped.
    #[inline]
    fn cancel_after_stop(&mut self) {
        // Inline and first: only a try stream that has stopped goes on.
        if let Some(stop_at) = self.stop_at {
            self.cancel_after(stop_at);
        }
    }

    fn cancel_after(&mut self, stop_at: usize) {
        while let Some(&(id, tag)) = self.order.back() {
            if tag <= stop_at {
                break;
            }
            self.order.pop_back();
            if self.slots.holds(id, tag) {
                self.slots.cancel(id);
            }
        }
    }
}

impl<S: Source, P: Stop<Output<S>>> InOrderCore<S, P> {
    /// After an output that stops the stream (item `tag`) was kept in its
    /// slot: ends the pulling and drops every item after it in input order;
    /// the items before it run on.
    #[cold]
    fn stopped_at(&mut self, tag: usize) {
        self.feed.stop();
        if self.stop_at.map_or(true, |stop_at| tag < stop_at) {
            self.stop_at = Some(tag);
        }
        self.cancel_after_stop();
    }

    /// Polls every future woken before this call, once each, in wake order,
    /// and keeps the outputs of those that finish in their slots.
    #[inline]
    fn poll_woken(&mut self) {
        while let Some((_, poll)) = self.slots.poll_next_woken_keep(P::stop) {
            if let Poll::Ready((tag, true)) = poll {
                self.stopped_at(tag);
            }
        }
    }

    /// Pulls and polls once new futures until `limit` slots are taken or the
    /// source has nothing more right now.
    #[inline]
    fn fill(&mut self, cx: &mut Context<'_>) {
        // Checked here, inline, so that a call with no room costs a
        // comparison.
        if self.has_room() {
            self.fill_from_source(cx);
        }
    }

    /// Whether another item may be pulled now.
    #[inline]
    fn has_room(&self) -> bool {
        !self.feed.done && self.slots.in_use() < self.limit
    }

    /// [`fill`](Self::fill) once it found room for one item at least.
    fn fill_from_source(&mut self, cx: &mut Context<'_>) {
        debug_assert!(self.has_room());
        while let Some((future, tag)) = self.feed.next(cx) {
            // A future that panics on this first poll never gets an entry:
            // its item is skipped.
            let (id, poll) = self.slots.insert_and_poll_keep(future, tag, P::stop);
            self.order.push_back((id, tag));
            if let Poll::Ready((tag, true)) = poll {
                self.stopped_at(tag);
            }
            if !self.has_room() {
                return;
            }
        }
    }
}

impl<S: Source, P: Stop<Output<S>>> Core for InOrderCore<S, P> {
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
        self.feed.done
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.feed.size_hint(self.in_flight());
        if P::MAY_STOP {
            (low.min(1), high)
        } else {
            (low, high)
        }
    }

    #[inline]
    fn poll_tagged(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Output<S>)>> {
        self.slots.begin_round();
        self.forget_panicked();
        self.cancel_after_stop();
        // As in the completion-order core: refill, then every future woken
        // before this call, then hand out.
        self.fill(cx);
        self.poll_woken();
        if let Some(item) = self.held.take() {
            return Poll::Ready(Some(item));
        }
        if let Some(item) = self.pop_front_finished() {
            self.held = Some(item);
            self.fill(cx);
            return Poll::Ready(self.held.take());
        }
        if self.is_terminated() {
            return Poll::Ready(None);
        }
        self.slots.park(cx.waker());
        Poll::Pending
    }

    fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.slots.begin_round();
        self.forget_panicked();
        self.cancel_after_stop();
        self.poll_woken();
        if self.slots.running() == 0 {
            return Poll::Ready(());
        }
        self.slots.park(cx.waker());
        Poll::Pending
    }
}
