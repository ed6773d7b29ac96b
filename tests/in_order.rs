//! Guarantees 1 to 5, 7, 9 and 12 (crate docs) for `LimitedInOrder`: input
//! order (4), the bound on items pulled and not yielded (3), laziness (1),
//! refill before yield (2), no poll without a wake (5), drop and
//! `into_inner` (7), the limit-0 panic (9) and the accessors (12).

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use futures::stream::{FusedStream, Stream};
use futures_test::task::{new_count_waker, noop_waker_ref};
use limited_as_completed::{LimitedAsCompletedExt, LimitedInOrder};

use common::{poll_noop, poll_once, CountingIter, IterCounts, Job, Jobs, Output, Rng};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The iterator of a [`Harness`]: makes job `i` when item `i` is pulled,
/// checking first that fewer than the bound of futures exist.
type Source =
    CountingIter<std::iter::Map<std::ops::Range<usize>, Box<dyn FnMut(usize) -> Job<Output>>>>;

/// A stream of `n` hand-completed items (kit [`Job`]s made as they are
/// pulled, each completed with its [`Output`]).
struct Harness {
    n: usize,
    jobs: Rc<Jobs<Output>>,
    /// Pulls and calls of the iterator, which panics if called after `None`.
    counts: Arc<IterCounts>,
    /// The bound checked when an item is pulled: fewer than this many futures
    /// may exist at that moment.
    limit: Rc<Cell<usize>>,
    /// Outputs yielded so far, by index.
    yielded: Vec<usize>,
    stream: LimitedInOrder<Source>,
}

impl Harness {
    fn new(n: usize, limit: usize) -> Self {
        let jobs = Jobs::for_items(n);
        let bound = Rc::new(Cell::new(limit));
        let make: Box<dyn FnMut(usize) -> Job<Output>> = {
            let (jobs, bound) = (Rc::clone(&jobs), Rc::clone(&bound));
            Box::new(move |index| {
                assert!(
                    jobs.live() < bound.get(),
                    "pulling item {index} would make {} futures exist (limit {})",
                    jobs.live() + 1,
                    bound.get()
                );
                jobs.job()
            })
        };
        let (source, counts) = CountingIter::new((0..n).map(make));
        Self {
            n,
            jobs,
            counts,
            limit: bound,
            yielded: Vec::new(),
            stream: source.limited_in_order(limit),
        }
    }

    /// Completes item `index`.
    fn complete(&mut self, index: usize) {
        self.jobs.complete(index, self.jobs.output(index));
    }

    fn pulled(&self) -> usize {
        self.counts.items()
    }

    fn polls(&self, index: usize) -> usize {
        self.jobs.polls(index)
    }

    /// Polls once with `waker`, records the output and checks the invariants
    /// that hold after every poll.
    fn poll_with(&mut self, waker: &Waker) -> Poll<Option<usize>> {
        let poll = poll_once(&mut self.stream, waker).map(|out| out.map(|out| out.id()));
        if let Poll::Ready(Some(index)) = poll {
            self.yielded.push(index);
        }
        let yielded = self.yielded.len();
        let in_flight = self.stream.in_flight();
        assert_eq!(
            self.pulled(),
            yielded + in_flight,
            "pulled == yielded + in_flight"
        );
        assert!(
            in_flight <= self.stream.limit().max(self.limit.get()),
            "in_flight {in_flight} above the limit"
        );
        let left = self.n - yielded;
        assert_eq!(self.stream.size_hint(), (left, Some(left)));
        poll
    }

    fn poll(&mut self) -> Poll<Option<usize>> {
        self.poll_with(noop_waker_ref())
    }

    /// Polls until `Pending` or the end; returns what came out.
    fn drain(&mut self) -> Vec<usize> {
        let mut out = Vec::new();
        while let Poll::Ready(Some(index)) = self.poll() {
            out.push(index);
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------

#[test]
fn yields_in_input_order_when_futures_finish_in_reverse() {
    let mut h = Harness::new(5, 5);
    assert_eq!(h.poll(), Poll::Pending);
    assert_eq!(h.pulled(), 5);
    for index in (1..5).rev() {
        h.complete(index);
        assert_eq!(h.poll(), Poll::Pending, "item {index} must wait for item 0");
        assert_eq!(h.stream.in_flight(), 5);
    }
    h.complete(0);
    assert_eq!(h.drain(), [0, 1, 2, 3, 4]);
    assert_eq!(h.poll(), Poll::Ready(None));
    assert_eq!(h.yielded, [0, 1, 2, 3, 4]);
}

/// Drives `n` items with `limit`, completing the pulled ones in a shuffled
/// order and draining after each completion. After each drain, exactly the
/// longest completed prefix has been yielded.
fn run_shuffled(n: usize, limit: usize, seed: u64) -> Harness {
    let mut h = Harness::new(n, limit);
    assert_eq!(h.poll(), Poll::Pending);
    let order = Rng::new(seed).shuffled(n);
    let mut completed = vec![false; n];
    let mut step = 0;
    while h.yielded.len() < n {
        // Complete the first item in `order` that has been pulled and is not
        // yet completed (an item that was not pulled cannot be completed by a
        // real producer either).
        let index = *order
            .iter()
            .find(|&&i| i < h.pulled() && !completed[i])
            .expect("a pulled item is left to complete");
        completed[index] = true;
        h.complete(index);
        h.drain();
        let prefix = completed.iter().take_while(|&&done| done).count();
        assert_eq!(
            h.yielded,
            (0..prefix).collect::<Vec<_>>(),
            "step {step}: after completing {index}, exactly the completed prefix is out"
        );
        assert_eq!(
            h.stream.in_flight(),
            limit.min(n - prefix),
            "step {step}: every freed slot was refilled"
        );
        step += 1;
    }
    assert_eq!(h.poll(), Poll::Ready(None));
    h
}

#[test]
fn yields_in_input_order_when_futures_finish_shuffled() {
    for (n, limit, seed) in [
        (30, 4, 1),
        (30, 7, 99),
        (64, 64, 5),
        (50, 1, 7),
        (40, 3, 12345),
    ] {
        let h = run_shuffled(n, limit, seed);
        assert_eq!(h.yielded, (0..n).collect::<Vec<_>>());
        assert_eq!(h.jobs.outputs_dropped(), n);
        assert_eq!(h.jobs.drops(), n);
    }
}

#[test]
fn at_most_limit_items_pulled_and_not_yielded_after_every_poll() {
    // `Harness::poll` checks `pulled == yielded + in_flight` and
    // `in_flight <= limit` after every poll; `Source` checks that fewer than
    // `limit` futures exist whenever an item is pulled.
    for (n, limit, seed) in [(40, 1, 3), (40, 2, 8), (40, 5, 21), (40, 9, 77)] {
        let h = run_shuffled(n, limit, seed);
        assert_eq!(h.jobs.peak(), limit);
        assert_eq!(h.pulled(), n);
        assert_eq!(h.counts.calls(), n + 1);
    }
}

#[test]
fn head_of_line_item_holds_back_pulling_at_exactly_limit() {
    let mut h = Harness::new(100, 3);
    assert_eq!(h.poll(), Poll::Pending);
    assert_eq!(h.pulled(), 3);
    h.complete(1);
    h.complete(2);
    for _ in 0..5 {
        assert_eq!(h.poll(), Poll::Pending);
        assert_eq!(h.pulled(), 3, "nothing more is pulled while item 0 runs");
        assert_eq!(h.stream.in_flight(), 3);
    }
    // Items 1 and 2 finished; their futures are gone, their outputs wait.
    assert_eq!(h.jobs.live(), 1);
    assert_eq!(h.jobs.outputs_dropped(), 0);

    h.complete(0);
    assert_eq!(h.poll(), Poll::Ready(Some(0)));
    assert_eq!(h.pulled(), 4);
    assert_eq!(h.poll(), Poll::Ready(Some(1)));
    assert_eq!(h.pulled(), 5);
    assert_eq!(h.poll(), Poll::Ready(Some(2)));
    assert_eq!(h.pulled(), 6);
    assert_eq!(h.poll(), Poll::Pending);
    assert_eq!(h.pulled(), 6);
}

#[test]
fn head_of_line_with_ready_followers_pulls_exactly_limit() {
    // Item 0 never completes; every other item is ready at once.
    let items = (0..1000).map(|i| {
        if i == 0 {
            futures::future::Either::Left(futures::future::pending::<usize>())
        } else {
            futures::future::Either::Right(futures::future::ready(i))
        }
    });
    let pulled = Rc::new(Cell::new(0));
    let counted = items.inspect({
        let pulled = Rc::clone(&pulled);
        move |_| pulled.set(pulled.get() + 1)
    });
    let mut stream = counted.limited_in_order(3);
    for _ in 0..10 {
        assert_eq!(poll_noop(&mut stream), Poll::Pending);
        assert_eq!(pulled.get(), 3);
        assert_eq!(stream.in_flight(), 3);
    }
}

// ---------------------------------------------------------------------------
// Laziness and refill
// ---------------------------------------------------------------------------

#[test]
fn builds_lazily_pulling_and_polling_nothing() {
    let h = Harness::new(10, 4);
    assert_eq!(h.pulled(), 0);
    assert_eq!(h.counts.calls(), 0);
    assert_eq!(h.stream.in_flight(), 0);
    assert_eq!(h.stream.size_hint(), (10, Some(10)));
    let (jobs, counts) = (Rc::clone(&h.jobs), Arc::clone(&h.counts));
    drop(h);
    assert_eq!(counts.calls(), 0);
    assert_eq!(jobs.poll_counts(), [0; 10]);
}

#[test]
fn first_poll_pulls_limit_items_and_polls_each_once() {
    let mut h = Harness::new(10, 4);
    assert_eq!(h.poll(), Poll::Pending);
    assert_eq!(h.pulled(), 4);
    assert_eq!(h.jobs.poll_counts(), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn refills_slot_before_yielding() {
    let mut h = Harness::new(10, 2);
    assert_eq!(h.poll(), Poll::Pending);
    h.complete(0);
    assert_eq!(h.poll(), Poll::Ready(Some(0)));
    // Item 2 was pulled and polled once before item 0's output was returned.
    assert_eq!(h.pulled(), 3);
    assert_eq!(h.polls(2), 1);
    assert_eq!(h.stream.in_flight(), 2);
    assert_eq!(h.jobs.live(), 2);
}

#[test]
fn slot_is_freed_only_when_its_output_is_yielded() {
    let mut h = Harness::new(10, 2);
    assert_eq!(h.poll(), Poll::Pending);
    h.complete(1);
    assert_eq!(h.poll(), Poll::Pending);
    // Item 1 finished but item 0 has not: item 1 keeps its slot.
    assert_eq!(h.pulled(), 2);
    assert_eq!(h.stream.in_flight(), 2);
    assert_eq!(h.jobs.live(), 1);
    h.complete(0);
    assert_eq!(h.poll(), Poll::Ready(Some(0)));
    assert_eq!(h.pulled(), 3);
    assert_eq!(h.poll(), Poll::Ready(Some(1)));
    assert_eq!(h.pulled(), 4);
    assert_eq!(h.poll(), Poll::Pending);
}

// ---------------------------------------------------------------------------
// set_limit
// ---------------------------------------------------------------------------

#[test]
fn set_limit_up_pulls_more_on_next_poll() {
    let mut h = Harness::new(10, 2);
    assert_eq!(h.poll(), Poll::Pending);
    assert_eq!(h.pulled(), 2);
    h.stream.set_limit(5);
    h.limit.set(5);
    assert_eq!(h.stream.limit(), 5);
    assert_eq!(h.pulled(), 2, "set_limit itself pulls nothing");
    assert_eq!(h.poll(), Poll::Pending);
    assert_eq!(h.pulled(), 5);
    // Items 0 and 1 were not woken, so they were not polled again.
    assert_eq!(h.jobs.poll_counts(), [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
}

#[test]
fn set_limit_down_pulls_nothing_until_below_new_limit() {
    let mut h = Harness::new(10, 4);
    assert_eq!(h.poll(), Poll::Pending);
    assert_eq!(h.pulled(), 4);
    h.stream.set_limit(1);
    assert_eq!(h.stream.limit(), 1);
    // `h.limit` stays 4 for the pull-time check until the excess is gone.

    h.complete(1);
    assert_eq!(h.poll(), Poll::Pending);
    assert_eq!(
        h.stream.in_flight(),
        4,
        "lowering the bound cancels nothing"
    );
    h.complete(0);
    assert_eq!(h.poll(), Poll::Ready(Some(0)));
    assert_eq!(h.pulled(), 4);
    assert_eq!(h.stream.in_flight(), 3);
    assert_eq!(h.poll(), Poll::Ready(Some(1)));
    assert_eq!(h.pulled(), 4);
    assert_eq!(h.stream.in_flight(), 2);
    h.complete(2);
    h.complete(3);
    assert_eq!(h.poll(), Poll::Ready(Some(2)));
    assert_eq!(h.pulled(), 4, "in flight is 1, not below the new bound 1");
    h.limit.set(1);
    assert_eq!(h.poll(), Poll::Ready(Some(3)));
    assert_eq!(
        h.pulled(),
        5,
        "below the new bound: refilled before yielding"
    );
    assert_eq!(h.stream.in_flight(), 1);
    assert_eq!(h.poll(), Poll::Pending);
    assert_eq!(h.pulled(), 5);
}

#[test]
#[should_panic(
    expected = "`LimitedInOrder::set_limit`: `limit` must be at least 1, got 0; pass `usize::MAX` for no bound"
)]
fn set_limit_zero_panics_with_message() {
    let mut stream = [async { 1 }].limited_in_order(1);
    stream.set_limit(0);
}

#[test]
#[should_panic(
    expected = "`limited_in_order`: `limit` must be at least 1, got 0; pass `usize::MAX` for no bound"
)]
fn limit_zero_panics_with_message() {
    let _stream = [async { 1 }].limited_in_order(0);
}

// ---------------------------------------------------------------------------
// into_inner, drop
// ---------------------------------------------------------------------------

#[test]
fn into_inner_returns_iterator_after_last_pulled_and_drops_in_flight() {
    let mut h = Harness::new(10, 3);
    assert_eq!(h.poll(), Poll::Pending);
    h.complete(0);
    assert_eq!(h.poll(), Poll::Ready(Some(0)));
    h.complete(2);
    assert_eq!(h.poll(), Poll::Pending);
    // Pulled 0..=3: 0 yielded, 2 finished (output waiting), 1 and 3 running.
    assert_eq!(h.pulled(), 4);
    assert_eq!(h.jobs.drops(), 2);
    assert_eq!(h.jobs.outputs_dropped(), 1);

    let jobs = Rc::clone(&h.jobs);
    let source = h.stream.into_inner();
    assert_eq!(jobs.live(), 0, "running futures were dropped");
    assert_eq!(jobs.drops(), 4);
    assert_eq!(jobs.outputs_dropped(), 2, "the waiting output was dropped");
    let rest: Vec<usize> = source.map(|job| job.id()).collect();
    assert_eq!(rest, [4, 5, 6, 7, 8, 9]);
}

#[test]
fn into_inner_before_first_poll_loses_nothing() {
    let h = Harness::new(5, 3);
    let rest: Vec<usize> = h.stream.into_inner().map(|job| job.id()).collect();
    assert_eq!(rest, [0, 1, 2, 3, 4]);
}

#[test]
fn dropping_the_stream_drops_futures_outputs_and_iterator() {
    let mut h = Harness::new(10, 3);
    assert_eq!(h.poll(), Poll::Pending);
    h.complete(1);
    assert_eq!(h.poll(), Poll::Pending);
    let Harness { stream, jobs, .. } = h;
    // Held by: this test, the iterator, 2 running futures, 1 waiting output.
    assert_eq!(Rc::strong_count(&jobs), 5);
    drop(stream);
    assert_eq!(jobs.live(), 0);
    assert_eq!(jobs.drops(), 3);
    assert_eq!(jobs.outputs_dropped(), 1);
    assert_eq!(Rc::strong_count(&jobs), 1, "the iterator was dropped too");
    // Items 0 and 2 were running, items 3.. were still in the iterator: every
    // item not completed is gone and can never complete.
    let canceled: Vec<usize> = (0..10)
        .filter(|&i| !jobs.is_completed(i) && !jobs.is_alive(i))
        .collect();
    assert_eq!(canceled, [0, 2, 3, 4, 5, 6, 7, 8, 9]);
}

// ---------------------------------------------------------------------------
// size_hint, is_terminated, iterator end
// ---------------------------------------------------------------------------

#[test]
fn size_hint_is_exact_throughout() {
    // `Harness::poll` asserts `size_hint == (n - yielded, Some(n - yielded))`
    // after every poll; here also before the first one and at the end.
    let mut h = Harness::new(6, 4);
    assert_eq!(h.stream.size_hint(), (6, Some(6)));
    assert_eq!(h.poll(), Poll::Pending);
    for i in 0..6 {
        h.complete(i);
    }
    assert_eq!(h.drain(), [0, 1, 2, 3, 4, 5]);
    assert_eq!(h.stream.size_hint(), (0, Some(0)));
}

/// An iterator whose hint is wrong: it says 1000 items and has 3.
struct LyingHint(usize);

impl Iterator for LyingHint {
    type Item = futures::future::Pending<()>;

    fn next(&mut self) -> Option<Self::Item> {
        (self.0 < 3).then(|| {
            self.0 += 1;
            futures::future::pending()
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (1000, Some(1000))
    }
}

#[test]
fn size_hint_is_in_flight_exactly_once_iterator_ended() {
    let mut stream = LyingHint(0).limited_in_order(10);
    assert_eq!(stream.size_hint(), (1000, Some(1000)));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.in_flight(), 3);
    assert_eq!(stream.size_hint(), (3, Some(3)));
}

#[test]
fn size_hint_saturates_on_endless_iterator() {
    let endless = std::iter::repeat_with(futures::future::pending::<()>);
    let mut stream = endless.limited_in_order(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    // `RepeatWith` says (usize::MAX, None); 2 in flight saturates.
    assert_eq!(stream.size_hint(), (usize::MAX, None));
}

#[test]
fn is_terminated_only_once_the_end_was_reached() {
    let mut h = Harness::new(2, 2);
    assert!(!h.stream.is_terminated());
    assert_eq!(h.poll(), Poll::Pending);
    assert!(!h.stream.is_terminated());
    h.complete(1);
    assert_eq!(h.poll(), Poll::Pending);
    assert!(!h.stream.is_terminated());
    h.complete(0);
    assert_eq!(h.poll(), Poll::Ready(Some(0)));
    assert!(!h.stream.is_terminated(), "item 1 is still to come");
    assert_eq!(h.poll(), Poll::Ready(Some(1)));
    assert_eq!(h.poll(), Poll::Ready(None));
    assert!(h.stream.is_terminated());
    assert_eq!(h.poll(), Poll::Ready(None));
    assert!(h.stream.is_terminated());
}

#[test]
fn empty_iterator_ends_on_first_poll() {
    let mut h = Harness::new(0, 3);
    assert!(!h.stream.is_terminated());
    assert_eq!(h.poll(), Poll::Ready(None));
    assert!(h.stream.is_terminated());
    assert_eq!(h.counts.calls(), 1);
}

#[test]
fn never_calls_iterator_after_none() {
    let mut h = Harness::new(4, 3);
    assert_eq!(h.poll(), Poll::Pending);
    h.complete(0);
    // The refill after item 0 pulls item 3; the one after item 1 meets `None`.
    assert_eq!(h.poll(), Poll::Ready(Some(0)));
    h.complete(1);
    assert_eq!(h.poll(), Poll::Ready(Some(1)));
    assert_eq!(h.counts.calls(), 5);
    h.complete(3);
    h.complete(2);
    // More completions and polls with the iterator ended: `Source` panics if
    // it is called again.
    assert_eq!(h.drain(), [2, 3]);
    for _ in 0..3 {
        assert_eq!(h.poll(), Poll::Ready(None));
    }
    assert_eq!(h.counts.calls(), 5);
}

// ---------------------------------------------------------------------------
// Wakes
// ---------------------------------------------------------------------------

#[test]
fn future_not_woken_is_not_polled_again() {
    let mut h = Harness::new(10, 3);
    let (waker, parent) = new_count_waker();
    assert_eq!(h.poll_with(&waker), Poll::Pending);
    for _ in 0..5 {
        assert_eq!(h.poll_with(&waker), Poll::Pending);
    }
    assert_eq!(&h.jobs.poll_counts()[..4], [1, 1, 1, 0]);
    assert_eq!(
        parent.get(),
        0,
        "nothing woken: the stream does not wake itself"
    );

    h.complete(1);
    assert_eq!(
        parent.get(),
        1,
        "completing a future wakes the stream's task"
    );
    assert_eq!(h.poll_with(&waker), Poll::Pending);
    assert_eq!(&h.jobs.poll_counts()[..4], [1, 2, 1, 0]);
    assert_eq!(h.poll_with(&waker), Poll::Pending);
    assert_eq!(&h.jobs.poll_counts()[..4], [1, 2, 1, 0]);
    assert_eq!(parent.get(), 1);
}
