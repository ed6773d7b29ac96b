//! Guarantees 1 to 4, 6 to 8 and 12 (crate docs) over stream sources
//! (`LimitedAsCompletedStreamExt`): a source that is polled, never blocked
//! on, never called after it ended, called again after it panicked, dropped
//! with the stream and handed back by `into_inner`.

mod common;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{ready, Ready};
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::stream::{self, FusedStream, Stream};
use futures::StreamExt;
use futures_test::stream::{AssertUnmoved, StreamTestExt};
use futures_test::task::new_count_waker;
use limited_as_completed::LimitedAsCompletedStreamExt;

use common::{assert_not_impl, catch, poll_noop, Job, Jobs};

// ---------------------------------------------------------------------------
// Helpers.

struct SourceState<F> {
    queue: VecDeque<F>,
    closed: bool,
    /// Calls of `poll_next`.
    polls: usize,
    /// Calls that returned `Ready(Some)`.
    pulled: usize,
    /// The source returned `Ready(None)`.
    ended: bool,
    panic_next: bool,
    waker: Option<Waker>,
    dropped: bool,
}

/// A hand-fed stream source: `Pending` while its queue is empty and it is
/// open. It is `!Unpin`, panics if polled after it returned `Ready(None)`, and
/// counts its polls.
struct Source<F> {
    state: Rc<RefCell<SourceState<F>>>,
    _pinned: PhantomPinned,
}

/// Feeds, closes and inspects a [`Source`].
struct SourceHandle<F> {
    state: Rc<RefCell<SourceState<F>>>,
}

fn source<F>() -> (Source<F>, SourceHandle<F>) {
    let state = Rc::new(RefCell::new(SourceState {
        queue: VecDeque::new(),
        closed: false,
        polls: 0,
        pulled: 0,
        ended: false,
        panic_next: false,
        waker: None,
        dropped: false,
    }));
    (
        Source {
            state: Rc::clone(&state),
            _pinned: PhantomPinned,
        },
        SourceHandle { state },
    )
}

impl<F> Stream for Source<F> {
    type Item = F;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F>> {
        let mut state = self.state.borrow_mut();
        assert!(!state.ended, "source polled after it returned Ready(None)");
        state.polls += 1;
        if state.panic_next {
            state.panic_next = false;
            drop(state);
            panic!("source panicked");
        }
        if let Some(item) = state.queue.pop_front() {
            state.pulled += 1;
            Poll::Ready(Some(item))
        } else if state.closed {
            state.ended = true;
            Poll::Ready(None)
        } else {
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let state = self.state.borrow();
        let len = state.queue.len();
        (len, state.closed.then_some(len))
    }
}

impl<F> Drop for Source<F> {
    fn drop(&mut self) {
        self.state.borrow_mut().dropped = true;
    }
}

impl<F> SourceHandle<F> {
    fn push(&self, item: F) {
        let waker = {
            let mut state = self.state.borrow_mut();
            assert!(!state.closed, "pushed to a closed source");
            state.queue.push_back(item);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn close(&self) {
        let waker = {
            let mut state = self.state.borrow_mut();
            state.closed = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn panic_on_next_poll(&self) {
        self.state.borrow_mut().panic_next = true;
    }

    fn polls(&self) -> usize {
        self.state.borrow().polls
    }

    fn pulled(&self) -> usize {
        self.state.borrow().pulled
    }

    fn ended(&self) -> bool {
        self.state.borrow().ended
    }

    fn dropped(&self) -> bool {
        self.state.borrow().dropped
    }
}

/// A ledger, and a hand-fed source of its jobs with its handle.
type Fed = (Rc<Jobs<u32>>, Source<Job<u32>>, SourceHandle<Job<u32>>);

/// A new ledger and a hand-fed source holding its first `n` jobs.
fn fed_source(n: usize) -> Fed {
    let jobs = Jobs::new();
    let (src, feed) = source();
    for _ in 0..n {
        feed.push(jobs.job());
    }
    (jobs, src, feed)
}

// ---------------------------------------------------------------------------
// Polled, never blocked on.

#[test]
fn pending_source_does_not_hold_back_outputs_in_flight() {
    let (jobs, src, feed) = fed_source(0);
    let mut stream = src.limited_as_completed(3);
    feed.push(jobs.job());
    feed.push(jobs.job());

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(feed.pulled(), 2);
    assert_eq!(feed.polls(), 3); // two items, then Pending
    assert_eq!(stream.in_flight(), 2);

    // The source stays Pending; job 1's output still comes out.
    jobs.complete(1, 10);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(10)));
    assert_eq!(stream.in_flight(), 1);
    assert!(!feed.ended());

    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_eq!(stream.in_flight(), 0);

    // Nothing in flight, source open: Pending, not the end.
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert!(!stream.is_terminated());

    feed.push(jobs.job());
    jobs.complete(2, 20);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(20)));
    assert_eq!(feed.pulled(), 3);
}

#[test]
fn source_wake_reaches_the_task_polling_the_stream() {
    let (jobs, src, feed) = fed_source(0);
    let mut stream = src.limited_as_completed(2);
    let (waker, counter) = new_count_waker();
    let mut cx = Context::from_waker(&waker);

    assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
    assert_eq!(feed.polls(), 1);
    assert_eq!(counter.get(), 0);
    feed.push(jobs.job());
    assert_eq!(counter.get(), 1);
    assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
    assert_eq!(feed.pulled(), 1);
    assert_eq!(jobs.polls(0), 1);
}

#[test]
fn stream_ends_only_when_the_source_ended_and_every_future_is_done() {
    let (jobs, src, feed) = fed_source(0);
    let mut stream = src.limited_as_completed(2);
    feed.push(jobs.job());
    feed.push(jobs.job());
    feed.close();

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(feed.pulled(), 2);
    assert!(!feed.ended()); // the limit was reached first

    jobs.complete(0, 0);
    // The refill finds the end of the source; job 1 still runs.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert!(feed.ended());
    assert!(!stream.is_terminated());
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert!(!stream.is_terminated());

    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert!(stream.is_terminated());
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
}

#[test]
fn finished_source_is_never_polled_again() {
    let (jobs, src, feed) = fed_source(0);
    let mut stream = src.limited_as_completed(4);
    feed.push(jobs.job());
    feed.close();

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert!(feed.ended());
    assert_eq!(feed.polls(), 2);
    // The source panics if polled after Ready(None): these polls would fail.
    for _ in 0..3 {
        assert_eq!(poll_noop(&mut stream), Poll::Pending);
    }
    jobs.complete(0, 7);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(7)));
    for _ in 0..3 {
        assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    }
    assert_eq!(feed.polls(), 2);

    // The same for `limited_in_order`.
    let (src, feed) = source();
    let mut stream = src.limited_in_order(4);
    feed.push(jobs.job());
    feed.close();
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(1, 8);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(8)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(feed.polls(), 2);
}

/// A `!Unpin` source that checks it is never moved once polled.
type StaysPut = AssertUnmoved<stream::Iter<std::vec::IntoIter<Ready<u32>>>>;

assert_not_impl!(Source<Job<u32>>: Unpin);
assert_not_impl!(StaysPut: Unpin);

#[test]
fn source_need_not_be_unpin_and_stays_pinned_while_the_stream_moves() {
    let items: Vec<Ready<u32>> = (0..6).map(ready).collect();
    let source: StaysPut = stream::iter(items).assert_unmoved();
    let stream = source.limited_as_completed(2);
    // The adaptor is Unpin whatever the source: move it between polls.
    let mut moved = vec![stream];
    let mut outputs = vec![];
    while let Poll::Ready(Some(value)) = poll_noop(&mut moved[0]) {
        outputs.push(value);
        let stream = moved.pop().unwrap();
        moved = vec![stream];
    }
    assert_eq!(outputs, [0, 1, 2, 3, 4, 5]);
    assert_eq!(poll_noop(&mut moved[0]), Poll::Ready(None));
}

// ---------------------------------------------------------------------------
// islice and bound.

#[test]
fn pulled_equals_yielded_plus_in_flight_after_every_poll() {
    let (jobs, src, feed) = fed_source(5);
    let limit = 3;
    let mut stream = src.limited_as_completed(limit);
    let mut yielded = 0;
    let check = |stream: &limited_as_completed::LimitedAsCompletedStream<Source<Job<u32>>>,
                 yielded: usize,
                 expect_in_flight: usize| {
        assert_eq!(feed.pulled(), yielded + stream.in_flight());
        assert_eq!(stream.in_flight(), expect_in_flight);
    };

    // Lazy: nothing before the first poll.
    assert_eq!(feed.polls(), 0);
    check(&stream, yielded, 0);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    check(&stream, yielded, 3);
    assert_eq!(feed.polls(), 3); // exactly `limit` pulls, no extra poll

    // Each completion refills before returning.
    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    yielded += 1;
    check(&stream, yielded, 3);
    assert_eq!(jobs.polls(3), 1); // the refill was polled once in that call

    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    yielded += 1;
    check(&stream, yielded, 3);

    // The queue is empty now: the next refill finds the source Pending.
    jobs.complete(4, 4);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(4)));
    yielded += 1;
    check(&stream, yielded, 2); // below the limit: the source had nothing

    // New items are pulled as they arrive, up to the limit.
    feed.push(jobs.job());
    feed.push(jobs.job());
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    check(&stream, yielded, 3);
    assert_eq!(jobs.created(), 7);
    assert_eq!(feed.pulled(), 6); // job 6 waits in the source

    // A job that finishes on its first poll keeps its slot until yielded.
    jobs.complete(6, 6);
    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    yielded += 1;
    check(&stream, yielded, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(6)));
    yielded += 1;
    check(&stream, yielded, 2);

    feed.close();
    jobs.complete(3, 3);
    jobs.complete(5, 5);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    yielded += 1;
    check(&stream, yielded, 1);
    assert!(feed.ended());
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(5)));
    yielded += 1;
    check(&stream, yielded, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(yielded, 7);
}

#[test]
fn at_most_limit_futures_exist_at_once() {
    let jobs = Jobs::<u32>::new();
    let source_jobs = Rc::clone(&jobs);
    let limit = 4;
    let mut stream =
        futures::stream::iter((0..40).map(move |_| source_jobs.job())).limited_as_completed(limit);
    let mut outputs = vec![];
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.live(), 4);
    // Complete the live jobs in a scrambled order, newest first in odd rounds.
    let mut round = 0;
    while outputs.len() < 40 {
        let open: Vec<usize> = (0..jobs.created())
            .filter(|&id| !jobs.is_completed(id))
            .collect();
        let id = if round % 2 == 1 {
            *open.last().unwrap()
        } else {
            open[0]
        };
        round += 1;
        jobs.complete(id, id as u32);
        match poll_noop(&mut stream) {
            Poll::Ready(Some(value)) => outputs.push(value),
            other => panic!("expected an output, got {other:?}"),
        }
        assert!(jobs.live() <= limit);
        assert_eq!(jobs.created(), (outputs.len() + limit).min(40));
    }
    assert_eq!(jobs.peak(), limit);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    outputs.sort_unstable();
    assert_eq!(outputs, (0..40).collect::<Vec<u32>>());
}

// ---------------------------------------------------------------------------
// Fairness.

#[test]
fn self_waking_future_is_polled_at_most_once_per_poll_next() {
    let jobs = Jobs::<u32>::new();
    // Wakes itself on every poll and never finishes.
    let spinner = Jobs::<u32>::new();
    let (src, feed) = source();
    feed.push(spinner.job().self_waking(usize::MAX));
    feed.push(jobs.job());
    let mut stream = src.limited_as_completed(3);
    let (waker, counter) = new_count_waker();
    let mut cx = Context::from_waker(&waker);

    for call in 1..=5 {
        let wakes_before = counter.get();
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(spinner.polls(0), call);
        // It returned Pending after waking its own task, instead of spinning.
        assert!(counter.get() > wakes_before);
        // The job was never woken, so it was polled only once.
        assert_eq!(jobs.polls(0), 1);
    }
    jobs.complete(0, 9);
    assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(9)));
    assert_eq!(spinner.polls(0), 6);
}

// ---------------------------------------------------------------------------
// Panics and drop.

#[test]
fn panicking_source_is_called_again_on_the_next_poll() {
    let (jobs, src, feed) = fed_source(0);
    let mut stream = src.limited_as_completed(2);
    feed.push(jobs.job());
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(feed.polls(), 2);
    assert_eq!(stream.in_flight(), 1);

    feed.panic_on_next_poll();
    feed.push(jobs.job());
    let message = catch(|| poll_noop(&mut stream)).unwrap_err().message;
    assert_eq!(message, "source panicked");
    assert_eq!(feed.polls(), 3);
    assert_eq!(feed.pulled(), 1);
    assert_eq!(stream.in_flight(), 1);
    assert_eq!(jobs.drops(), 0);

    // Called again: item 1 is pulled now; job 0 was not lost.
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(feed.polls(), 4);
    assert_eq!(feed.pulled(), 2);
    assert_eq!(stream.in_flight(), 2);
    jobs.complete(0, 0);
    jobs.complete(1, 1);
    feed.close();
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
}

#[test]
fn source_panic_during_a_refill_keeps_the_completed_output() {
    let (jobs, src, feed) = fed_source(0);
    let mut stream = src.limited_as_completed(1);
    feed.push(jobs.job());
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(feed.polls(), 1); // the limit was reached: no second poll

    // Job 0 completes; refilling its slot polls the source, which panics.
    jobs.complete(0, 5);
    feed.panic_on_next_poll();
    let result = catch(|| poll_noop(&mut stream));
    assert!(result.is_err());
    assert_eq!(feed.polls(), 2);
    assert_eq!(stream.in_flight(), 1); // the output, kept

    feed.push(jobs.job());
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(5)));
    assert_eq!(feed.polls(), 3);
    assert_eq!(feed.pulled(), 2);
    assert_eq!(stream.in_flight(), 1);
    feed.close();
    jobs.complete(1, 6);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(6)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
}

#[test]
fn dropping_the_stream_drops_in_flight_futures_finished_outputs_and_the_source() {
    let (jobs, src, feed) = fed_source(5);
    let mut stream = src.limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    // Job 1 was dropped when it finished; 0, 2 and 3 are in flight, 4 waits
    // in the source.
    assert_eq!(feed.pulled(), 4);
    assert_eq!(stream.in_flight(), 3);
    assert_eq!(jobs.drops(), 1);
    assert_eq!(jobs.live(), 4);

    drop(stream);
    assert_eq!(jobs.drops(), 4);
    assert!(feed.dropped());
    // Job 4 lives in the queue the test's handle shares with the source.
    assert_eq!(jobs.live(), 1);
    drop(feed);
    assert_eq!(jobs.live(), 0);

    // A finished output that was never yielded is dropped with the stream.
    let outputs = Jobs::<()>::for_items(2);
    let (src, feed) = source();
    feed.push(ready(outputs.output(0)));
    feed.push(ready(outputs.output(1)));
    let mut stream = src.limited_as_completed(2);
    assert!(matches!(poll_noop(&mut stream), Poll::Ready(Some(_))));
    assert_eq!(outputs.outputs_dropped(), 1);
    assert_eq!(stream.in_flight(), 1);
    drop(stream);
    assert_eq!(outputs.outputs_dropped(), 2);
    assert!(feed.dropped());
}

#[test]
fn into_inner_hands_back_the_source_after_the_last_pulled_item() {
    let (jobs, src, feed) = fed_source(10);
    let mut stream = src.limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_eq!(feed.pulled(), 4);

    let mut source = stream.into_inner();
    // Jobs 0, 2 and 3 were in flight: dropped. The source is not.
    assert_eq!(jobs.drops(), 4);
    assert!(!feed.dropped());
    let next = poll_noop(&mut source).map(|job| job.map(|job| job.id()));
    assert_eq!(next, Poll::Ready(Some(4)), "the source lost its items");
}

// ---------------------------------------------------------------------------
// In order, size hint.

#[test]
fn limited_in_order_over_a_stream_keeps_input_order() {
    let (jobs, src, feed) = fed_source(3);
    let mut stream = src.limited_in_order(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(2, 2);
    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.in_flight(), 3);
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    // The source is Pending; the finished outputs still come out.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    feed.push(jobs.job());
    feed.push(jobs.job());
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_eq!(feed.pulled(), 5);
    jobs.complete(4, 4);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    feed.close();
    jobs.complete(3, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(4)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
}

#[test]
fn size_hint_adds_in_flight_to_the_source_hint() {
    let (jobs, src, feed) = fed_source(4);
    let mut stream = src.limited_as_completed(2);
    assert_eq!(stream.size_hint(), (4, None)); // open source: no upper bound
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.size_hint(), (4, None));
    feed.close();
    assert_eq!(stream.size_hint(), (4, Some(4)));
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_eq!(stream.size_hint(), (3, Some(3)));
    jobs.complete(1, 1);
    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    // The last refill found the end: exact from now on.
    assert!(feed.ended());
    assert_eq!(stream.size_hint(), (1, Some(1)));
    jobs.complete(3, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_eq!(stream.size_hint(), (0, Some(0)));

    // An iterator-backed stream source reports its exact length.
    let stream = futures::stream::iter((0..10).map(std::future::ready)).limited_in_order(3);
    assert_eq!(stream.size_hint(), (10, Some(10)));
}
