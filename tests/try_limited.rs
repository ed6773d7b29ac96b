//! Guarantee 11 (crate docs) for `try_limited_as_completed`, with the order
//! of Guarantee 4: outputs in completion order, and at the first `Err`
//! nothing more pulled, in-flight futures dropped, the stream ends; and for
//! `try_limited_in_order`: outputs in input order, and once any future
//! finishes with `Err`, nothing more pulled, every item after it in input
//! order dropped, the items before it run on, then that `Err` and the end.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;

use futures::stream::FusedStream;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};
use futures_test::task::noop_context;
use limited_as_completed::{LimitedAsCompletedExt, LimitedAsCompletedStreamExt};

use common::{poll_noop, IterCounts, JobIter, Jobs};

type Res = Result<u32, &'static str>;

// ---------------------------------------------------------------------------
// Helpers.

/// `n` jobs, created up front so they can be completed before they are
/// pulled (then they finish on their first poll), and a counting iterator
/// over them.
fn counted_jobs(n: usize) -> (Rc<Jobs<Res>>, JobIter<Res>, Arc<IterCounts>) {
    let jobs = Jobs::new();
    let (iter, counts) = jobs.counted(n);
    (jobs, iter, counts)
}

/// Completes job `id` with `Ok(10 * id)`.
fn ok(jobs: &Jobs<Res>, id: usize) {
    jobs.complete(id, Ok(10 * id as u32));
}

/// With limit 2, item 1 fails while item 0 runs: after the first poll it
/// gets its `Err`, and `try_next` hands that out at once.
fn err_1_while_0_runs<S>(jobs: &Jobs<Res>, stream: &mut S)
where
    S: Stream<Item = Res> + Unpin,
{
    assert_eq!(poll_noop(stream), Poll::Pending);
    jobs.complete(1, Err("one"));
    assert_eq!(
        stream.try_next().poll_unpin(&mut noop_context()),
        Poll::Ready(Err("one"))
    );
}

// ---------------------------------------------------------------------------
// Iterator source.

#[test]
fn ok_outputs_come_in_completion_order() {
    let (jobs, iter, counts) = counted_jobs(5);
    let mut stream = iter.try_limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(counts.calls(), 3);
    ok(&jobs, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(20))));
    ok(&jobs, 3);
    ok(&jobs, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(30))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));
    assert_eq!(counts.calls(), 6); // items 3 and 4 pulled, then the end
    ok(&jobs, 4);
    ok(&jobs, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(40))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert!(stream.is_terminated());
    assert_eq!(counts.calls(), 6);
}

#[test]
fn first_err_stops_pulling_drops_in_flight_futures_and_ends_the_stream() {
    let (jobs, iter, counts) = counted_jobs(10);
    let mut stream = iter.try_limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    ok(&jobs, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    assert_eq!(counts.calls(), 4);
    assert_eq!(jobs.dropped_ids(), [1]);

    jobs.complete(2, Err("two"));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("two"))));
    // Right after the Err, before any other poll: nothing more pulled, jobs
    // 0 and 3 (in flight) dropped, the stream over.
    assert_eq!(counts.calls(), 4);
    assert_eq!(jobs.dropped_ids(), [0, 1, 2, 3]);
    assert_eq!(stream.in_flight(), 0);
    assert!(stream.is_terminated());
    assert_eq!(stream.size_hint(), (0, Some(0)));

    for _ in 0..3 {
        assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    }
    assert_eq!(counts.calls(), 4);
    assert_eq!(jobs.polls(0), 1);
    assert_eq!(jobs.polls(3), 1);

    // The iterator is positioned after the last item pulled.
    let mut iter = stream.into_inner();
    assert_eq!(iter.next().map(|job| job.id()), Some(4));
    assert_eq!(iter.count(), 5);
    assert_eq!(counts.calls(), 11);
}

#[test]
fn err_on_a_first_poll_stops_pulling_at_once_and_earlier_oks_come_first() {
    // The first poll: item 1 is Ok and item 2 Err on their first poll. The
    // limit of 5 is not reached, but nothing after item 2 is pulled.
    let (jobs, iter, counts) = counted_jobs(10);
    ok(&jobs, 1);
    jobs.complete(2, Err("two"));
    let mut stream = iter.try_limited_as_completed(5);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    assert_eq!(counts.calls(), 3);
    // Job 0, still running, was dropped as soon as job 2's Err was seen
    // (it would finish after it); the Err waits.
    assert_eq!(stream.in_flight(), 1);
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert!(!stream.is_terminated());

    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("two"))));
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert_eq!(jobs.polls(0), 1);
    assert!(stream.is_terminated());
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 3);

    // A refill: item 2 fails on its first poll, while item 0's output is
    // being returned. Ok(0) comes out, then the Err; item 3 is never pulled.
    let (jobs, iter, counts) = counted_jobs(10);
    let mut stream = iter.try_limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(2, Err("two"));
    ok(&jobs, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));
    assert_eq!(counts.calls(), 3);
    // Job 1, still running, was dropped when the refill's Err was seen.
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("two"))));
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 3);
    assert_eq!(stream.into_inner().next().map(|job| job.id()), Some(3));
}

#[test]
fn try_next_on_limited_as_completed_pulls_one_more_item() {
    // The same input and the same completions both ways: with limit 2, item 1
    // fails while item 0 runs.
    let (jobs, iter, counts) = counted_jobs(10);
    let mut stream = iter.limited_as_completed(2);
    err_1_while_0_runs(&jobs, &mut stream);
    // The slot was refilled before the Err came out: item 2 was pulled and
    // started.
    assert_eq!(counts.calls(), 3);
    assert_eq!(jobs.polls(2), 1);
    assert_eq!(stream.in_flight(), 2);
    assert_eq!(jobs.dropped_ids(), [1]);
    drop(stream);
    assert_eq!(jobs.dropped_ids(), (0..10).collect::<Vec<_>>());

    let (jobs, iter, counts) = counted_jobs(10);
    let mut stream = iter.try_limited_as_completed(2);
    err_1_while_0_runs(&jobs, &mut stream);
    assert_eq!(counts.calls(), 2);
    assert_eq!(jobs.polls(2), 0);
    assert_eq!(jobs.dropped_ids(), [0, 1]);
}

// ---------------------------------------------------------------------------
// Stream source.

#[test]
fn stream_source_stops_at_the_first_err_too() {
    let (jobs, iter, counts) = counted_jobs(10);
    let mut stream = futures::stream::iter(iter).try_limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    ok(&jobs, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(20))));
    assert_eq!(counts.calls(), 4);

    jobs.complete(0, Err("zero"));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("zero"))));
    assert_eq!(counts.calls(), 4);
    assert_eq!(jobs.dropped_ids(), [0, 1, 2, 3]);
    assert!(stream.is_terminated());
    assert_eq!(stream.in_flight(), 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 4);

    let mut source = stream.into_inner();
    let next = poll_noop(&mut source).map(|job| job.map(|job| job.id()));
    assert_eq!(next, Poll::Ready(Some(4)), "the source lost its items");
}

#[test]
fn stream_source_err_on_a_first_poll_stops_pulling_at_once() {
    let (jobs, iter, counts) = counted_jobs(10);
    ok(&jobs, 1);
    jobs.complete(2, Err("two"));
    let mut stream = futures::stream::iter(iter).try_limited_as_completed(5);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    assert_eq!(counts.calls(), 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("two"))));
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 3);
}

#[test]
fn stream_source_try_next_pulls_one_more_item() {
    let (jobs, iter, counts) = counted_jobs(10);
    let mut stream = futures::stream::iter(iter).limited_as_completed(2);
    err_1_while_0_runs(&jobs, &mut stream);
    assert_eq!(counts.calls(), 3);

    let (jobs, iter, counts) = counted_jobs(10);
    let mut stream = futures::stream::iter(iter).try_limited_as_completed(2);
    err_1_while_0_runs(&jobs, &mut stream);
    assert_eq!(counts.calls(), 2);
}

#[test]
fn collect_end_to_end_stops_at_the_first_err() {
    let pulled = Cell::new(0);
    let items = (0..100u32)
        .inspect(|_| pulled.set(pulled.get() + 1))
        .map(|i| async move {
            if i == 6 {
                Err("six")
            } else {
                Ok(i)
            }
        });
    let outputs: Vec<Res> =
        futures::executor::block_on(items.try_limited_as_completed(3).collect());
    let mut expected: Vec<Res> = (0..6).map(Ok).collect();
    expected.push(Err("six"));
    assert_eq!(outputs, expected);
    assert_eq!(pulled.get(), 7);
}

// ---------------------------------------------------------------------------
// try_limited_in_order.

#[test]
fn in_order_err_stops_pulling_drops_later_items_and_earlier_ones_run_on() {
    let (jobs, iter, counts) = counted_jobs(10);
    let mut stream = iter.try_limited_in_order(4);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(counts.calls(), 4);

    // Item 3 finishes first, then item 2 fails: item 3 (after the Err in
    // input order) is dropped, output and all; items 0 and 1 run on;
    // nothing more is pulled.
    ok(&jobs, 3);
    jobs.complete(2, Err("two"));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.dropped_ids(), [2, 3]);
    assert_eq!(counts.calls(), 4);
    assert_eq!(stream.in_flight(), 3); // 0 and 1 running, 2's Err held
    assert!(!stream.is_terminated());
    assert_eq!(stream.size_hint(), (1, Some(3)));

    ok(&jobs, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Pending); // 0 is first in line
    ok(&jobs, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("two"))));
    assert_eq!(jobs.dropped_ids(), [0, 1, 2, 3]);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert!(stream.is_terminated());
    assert_eq!(counts.calls(), 4);
    assert_eq!(
        jobs.poll_counts()[..4],
        [2, 2, 2, 2],
        "one poll at the pull, one when done"
    );

    // The iterator is positioned after the last item pulled.
    let mut rest = stream.into_inner();
    assert_eq!(rest.next().map(|job| job.id()), Some(4));
}

#[test]
fn in_order_an_earlier_err_found_later_wins() {
    let (jobs, iter, counts) = counted_jobs(10);
    let mut stream = iter.try_limited_in_order(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);

    jobs.complete(2, Err("two"));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.dropped_ids(), [2]);
    assert_eq!(stream.in_flight(), 3); // 0 and 1 run, 2's Err held

    // Item 0 fails too: it is first in input order, so items 1 and 2 (and
    // 2's Err) are dropped, and 0's Err is the one handed out.
    jobs.complete(0, Err("zero"));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("zero"))));
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert_eq!(stream.in_flight(), 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 3);
}

#[test]
fn in_order_err_on_a_first_poll_stops_pulling_at_once() {
    let (jobs, iter, counts) = counted_jobs(10);
    ok(&jobs, 0);
    jobs.complete(1, Err("one"));
    let mut stream = iter.try_limited_in_order(5);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));
    assert_eq!(counts.calls(), 2, "nothing pulled after the failing item");
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("one"))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 2);
}

/// What `limited_in_order(n)` then `try_collect` would give: the outputs in
/// input order up to the first `Err` in input order, that `Err`, the end;
/// for many orders of completion of six items, items 1 and 4 failing.
#[test]
fn in_order_gives_what_try_collect_of_limited_in_order_would() {
    let failing = [1usize, 4];
    let mut rng = common::Rng::new(0x007e_570f_1a11);
    for _ in 0..if cfg!(miri) { 20 } else { 300 } {
        let order = rng.shuffled(6);
        let (jobs, iter, counts) = counted_jobs(6);
        let mut stream = iter.try_limited_in_order(3);
        let mut outputs = vec![];
        let mut next = order.iter();
        loop {
            match poll_noop(&mut stream) {
                Poll::Ready(Some(output)) => outputs.push(output),
                Poll::Ready(None) => break,
                Poll::Pending => {
                    // Complete the next item, in the shuffled order, that is
                    // still running.
                    let id = *next
                        .by_ref()
                        .find(|&&id| jobs.is_alive(id) && !jobs.is_completed(id))
                        .expect("a running item to complete");
                    if failing.contains(&id) {
                        jobs.complete(id, Err("failed"));
                    } else {
                        ok(&jobs, id);
                    }
                }
            }
        }
        assert_eq!(
            outputs,
            [Ok(0), Err("failed")],
            "completion order {order:?}"
        );
        // Pulled: the limit's worth, and one more only if item 0 finished
        // before item 1 failed.
        assert!(
            counts.calls() <= 4,
            "order {order:?}: {} calls",
            counts.calls()
        );
    }
}

#[test]
fn in_order_stream_source_stops_too_and_hands_the_source_back() {
    let jobs = Jobs::<Res>::new();
    let made = jobs.jobs(8);
    let pulled = Rc::new(Cell::new(0));
    let counter = Rc::clone(&pulled);
    let source = futures::stream::iter(made).inspect(move |_| counter.set(counter.get() + 1));
    let mut stream = LimitedAsCompletedStreamExt::try_limited_in_order(source, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(1, Err("one"));
    ok(&jobs, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("one"))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(pulled.get(), 2);
    let mut rest = stream.into_inner();
    assert_eq!(
        rest.next().now_or_never().flatten().map(|job| job.id()),
        Some(2)
    );
}
