//! Completion order: each output is handed out as soon as its future is done.

use alloc::collections::VecDeque;
use core::convert::Infallible;
use core::future::Future;
use core::marker::PhantomData;
use core::mem;
use core::task::{Context, Poll};

use super::{Core, Feed, Never, Stop};
use crate::slots::Slots;
use crate::source::Source;

type Output<S> = <<S as Source>::Future as Future>::Output;

/// The completion-order engine over any [`Source`], stopping early where the
/// policy `P` says so.
pub(crate) struct AsCompletedCore<S: Source, P = Never> {
    feed: Feed<S>,
    /// Outputs never wait in the slots here (see `finished`), so the slots
    /// keep no room for one.
    slots: Slots<S::Future, Infallible>,
    limit: usize,
    /// Outputs of futures that finished, in the order the engine saw them
    /// finish, oldest first. They count as in flight (they take a place
    /// under `limit`) but not as slots: a finished future's slot is freed at
    /// once, so the next refill reuses a slot that is still in cache, and the
    /// outputs are read in order from one compact ring.
    finished: VecDeque<(usize, Output<S>)>,
    /// The next output to hand out, its slot already free: kept while the
    /// slot is refilled, and while the futures woken after it are polled
    /// (and across a poll if either panics). Ahead of `finished`.
    held: Option<(usize, Output<S>)>,
    policy: PhantomData<P>,
}

impl<S: Source, P> AsCompletedCore<S, P> {
    pub(crate) fn new(source: S, limit: usize) -> Self {
        Self {
            feed: Feed::new(source),
            slots: Slots::new(),
            limit,
            finished: VecDeque::new(),
            held: None,
            policy: PhantomData,
        }
    }

    /// Drops everything in flight and hands back the source. The futures are
    /// dropped while the source is still a local, so a future that panics in
    /// `Drop` unwinds through here with the source dropped too, not leaked.
    pub(crate) fn into_source(self) -> S {
        let Self {
            feed,
            slots,
            finished,
            held,
            ..
        } = self;
        drop(held);
        drop(finished);
        drop(slots);
        feed.source
    }
}

impl<S: Source, P: Stop<Output<S>>> AsCompletedCore<S, P> {
    /// Queues the output of a future that finished. An output that stops the
    /// stream drops every future still running (they would finish after it)
    /// and ends the pulling; the outputs queued before it stay.
    #[inline]
    fn finish(&mut self, tag: usize, output: Output<S>) {
        let stop = P::stop(&output);
        self.finished.push_back((tag, output));
        if stop {
            self.stop();
        }
    }

    /// Ends the pulling and drops every future still running, after an
    /// output that stops the stream.
    #[cold]
    fn stop(&mut self) {
        self.feed.stop();
        // The empty arena is installed before the old one drops, so a
        // future that panics in `Drop` leaves a consistent stream.
        drop(mem::replace(&mut self.slots, Slots::new()));
    }

    /// Polls every future woken before this call, once each, in wake order,
    /// and queues the outputs of those that finish. With `hand_out` (a
    /// `poll_next`), the first output goes to `held` instead when nothing is
    /// queued (the common case with futures that wait): it is the next output
    /// either way, and skips the ring. It is in `held` before anything else
    /// is polled, so if a later poll panics, it comes out of the next call.
    #[inline]
    fn poll_woken(&mut self, hand_out: bool) {
        while let Some(poll) = self.slots.poll_next_woken_release() {
            if let Poll::Ready((tag, output)) = poll {
                if hand_out && self.held.is_none() && self.finished.is_empty() {
                    let stop = P::stop(&output);
                    self.held = Some((tag, output));
                    if stop {
                        self.stop();
                    }
                } else {
                    self.finish(tag, output);
                }
            }
        }
    }

    /// Yields `item`, refilling the slot it freed first. If the refill
    /// panics, `item` is kept and yielded by the next poll.
    #[inline]
    fn yield_item(
        &mut self,
        item: (usize, Output<S>),
        cx: &mut Context<'_>,
    ) -> Poll<Option<(usize, Output<S>)>> {
        self.held = Some(item);
        self.yield_held(cx)
    }

    /// Yields the output in `held`, refilling the slot it freed first.
    #[inline]
    fn yield_held(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Output<S>)>> {
        // Held while the slots change: if that panics (in `poll_pull`,
        // `into_future`, a refill's first poll, or a future's `Drop`), the
        // item comes out of the next poll.
        self.fill(cx);
        Poll::Ready(self.held.take())
    }

    /// Whether another item may be pulled now.
    #[inline]
    fn has_room(&self) -> bool {
        !self.feed.done && self.slots.in_use() + self.finished.len() < self.limit
    }

    /// Pulls and polls once new futures until `limit` items are in flight or
    /// the source has nothing more right now.
    #[inline]
    fn fill(&mut self, cx: &mut Context<'_>) {
        // Checked here, inline, so that a call with no room (every call on a
        // full stream that finds nothing finished) costs a comparison.
        if self.has_room() {
            self.fill_from_source(cx);
        }
    }

    /// [`fill`](Self::fill) once it found room for one item at least.
    fn fill_from_source(&mut self, cx: &mut Context<'_>) {
        debug_assert!(self.has_room());
        while let Some((future, tag)) = self.feed.next(cx) {
            if let Poll::Ready(output) = self.slots.insert_and_poll_release(future, tag) {
                self.finish(tag, output);
            }
            if !self.has_room() {
                return;
            }
        }
    }
}

impl<S: Source, P: Stop<Output<S>>> Core for AsCompletedCore<S, P> {
    type Output = Output<S>;

    fn limit(&self) -> usize {
        self.limit
    }

    fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    #[inline]
    fn in_flight(&self) -> usize {
        self.slots.in_use() + self.finished.len() + usize::from(self.held.is_some())
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
        // Refill first: a source that panicked in the last call is called
        // again in this one. Then every future woken before this call, before
        // an output is handed out: an output queued earlier (a refill that
        // finished on its first poll, say) never holds back their polls.
        self.fill(cx);
        self.poll_woken(true);
        if self.held.is_some() {
            return self.yield_held(cx);
        }
        if let Some(item) = self.finished.pop_front() {
            return self.yield_item(item, cx);
        }
        if self.is_terminated() {
            return Poll::Ready(None);
        }
        self.slots.park(cx.waker());
        Poll::Pending
    }

    fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.slots.begin_round();
        self.poll_woken(false);
        if self.slots.running() == 0 {
            return Poll::Ready(());
        }
        self.slots.park(cx.waker());
        Poll::Pending
    }
}
