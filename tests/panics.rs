//! Guarantees 8 and 9 (crate docs): panicking futures and iterators, and
//! the limit-0 panic at the caller's location.

mod common;

use std::cell::Cell;
use std::future::ready;
use std::task::Poll;

use futures::Stream;
use limited_as_completed::LimitedAsCompletedExt;

use common::{
    assert_books, catch, poll_noop, Caught, CountingIter, Job, Jobs, Output, FUTURE_PANIC,
    ITER_PANIC,
};

// ---------------------------------------------------------------------------
// Catching panics with their location.

/// Polls `stream` once with a no-op waker, catching a panic.
fn poll_caught<S: Stream + Unpin>(stream: &mut S) -> Result<Poll<Option<S::Item>>, Caught> {
    catch(|| poll_noop(stream))
}

/// Polls `stream` once and returns the message of the panic it must raise.
#[track_caller]
fn poll_panics<S: Stream + Unpin>(stream: &mut S) -> String
where
    S::Item: std::fmt::Debug,
{
    match poll_caught(stream) {
        Err(caught) => caught.message,
        Ok(poll) => panic!("expected a panic, got {poll:?}"),
    }
}

/// Runs `f`, which must panic, and returns the panic.
#[track_caller]
fn expect_panic(f: impl FnOnce()) -> Caught {
    match catch(f) {
        Err(caught) => caught,
        Ok(()) => panic!("expected a panic"),
    }
}

/// `n` jobs, ids `0..n`; job `panicking` panics on its poll number `k`.
fn jobs_with_panic(
    jobs: &std::rc::Rc<Jobs<usize>>,
    n: usize,
    panicking: usize,
    k: usize,
) -> Vec<Job<usize>> {
    (0..n)
        .map(|i| {
            let job = jobs.job();
            if i == panicking {
                job.panic_on_poll(k)
            } else {
                job
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Guarantee 8: panicking futures (LimitedAsCompleted).

#[test]
fn future_panicking_on_its_first_poll_is_dropped_and_the_stream_goes_on() {
    let jobs = Jobs::<usize>::new();
    let items = jobs_with_panic(&jobs, 5, 1, 1);
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(3);
    let panicked = 1;

    assert_eq!(poll_panics(&mut stream), FUTURE_PANIC);
    // Item 0 runs; item 1 was pulled, panicked and was dropped.
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (1, 1));
    assert_eq!((jobs.drops(), jobs.live()), (1, 4));

    // The next poll refills both free slots.
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (3, 3));
    assert_eq!(counts.items(), 4);
    // Item 1 was polled once, the poll that panicked, and never again.
    assert_eq!(jobs.poll_counts(), [1, 1, 1, 1, 0]);

    let mut outputs = vec![];
    for (i, in_flight) in [(3, 3), (0, 2), (4, 1), (2, 0)] {
        jobs.complete(i, i);
        match poll_noop(&mut stream) {
            Poll::Ready(Some(out)) => outputs.push(out),
            other => panic!("expected output {i}, got {other:?}"),
        }
        assert_books(
            counts.items() - panicked,
            outputs.len(),
            stream.in_flight(),
            (4, in_flight),
        );
    }
    assert_eq!(outputs, [3, 0, 4, 2]);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!((jobs.drops(), jobs.live()), (5, 0));
    assert_eq!(counts.calls(), 6);
}

#[test]
fn future_panicking_on_a_later_poll_is_dropped_and_the_woken_ones_still_come_out() {
    let jobs = Jobs::<usize>::new();
    let items = jobs_with_panic(&jobs, 4, 1, 2);
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(2);
    let panicked = 1;

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (2, 2));

    // Item 1 is woken (its next poll panics), then item 0 completes.
    jobs.wake(1);
    jobs.complete(0, 0);
    assert_eq!(poll_panics(&mut stream), FUTURE_PANIC);
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (1, 1));
    assert_eq!(jobs.drops(), 1);
    assert_eq!(jobs.take_poll_log(), [0, 1, 1]);

    // Item 0's wake was not lost; item 2 fills the freed slot first.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_eq!(jobs.take_poll_log(), [2, 0, 3]);
    assert_books(counts.items() - panicked, 1, stream.in_flight(), (3, 2));

    jobs.complete(3, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_books(counts.items() - panicked, 2, stream.in_flight(), (3, 1));
    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items() - panicked, 3, stream.in_flight(), (3, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!((jobs.drops(), jobs.live()), (4, 0));
    assert_eq!(counts.calls(), 5);
}

#[test]
fn refill_panicking_after_a_completion_yields_the_output_on_the_next_poll() {
    let jobs = Jobs::<usize>::new();
    let items = jobs_with_panic(&jobs, 3, 1, 1);
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(1);
    let panicked = 1;

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (1, 1));

    jobs.complete(0, 0);
    assert_eq!(poll_panics(&mut stream), FUTURE_PANIC);
    // Output 0 is kept, and counts as in flight; item 1 is gone.
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (1, 1));
    assert_eq!(jobs.drops(), 2);

    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    // The slot was refilled with item 2 before output 0 came out.
    assert_books(counts.items() - panicked, 1, stream.in_flight(), (2, 1));
    assert_eq!(jobs.polls(2), 1);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items() - panicked, 1, stream.in_flight(), (2, 1));
    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items() - panicked, 2, stream.in_flight(), (2, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!((jobs.drops(), jobs.live()), (3, 0));
}

#[test]
fn output_kept_after_a_refill_panic_is_dropped_with_the_stream() {
    let jobs = Jobs::<Output>::new();
    let items = vec![jobs.ready(jobs.output(0)), jobs.job().panic_on_poll(1)];
    let mut stream = items.limited_as_completed(1);
    // Item 0 finishes on its first poll; the refill, item 1, panics.
    let caught = poll_caught(&mut stream).map(|_| ()).unwrap_err();
    assert_eq!(caught.message, FUTURE_PANIC);
    assert_eq!(stream.in_flight(), 1);
    assert_eq!(jobs.outputs_live(), 1);
    drop(stream);
    assert_eq!((jobs.outputs_live(), jobs.outputs_dropped()), (0, 1));
}

// ---------------------------------------------------------------------------
// Guarantee 8: panicking iterators.

#[test]
fn iterator_panicking_on_a_pull_is_called_again_on_the_next_poll() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(5);
    let mut stream = iter.panic_on(2).limited_as_completed(3);

    assert_eq!(poll_panics(&mut stream), ITER_PANIC);
    assert_books(counts.items(), 0, stream.in_flight(), (1, 1));
    assert_eq!(counts.calls(), 2);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));
    assert_eq!(counts.calls(), 4);

    let mut outputs = vec![];
    for (i, pulled, in_flight) in [(0, 4, 3), (1, 5, 3), (2, 5, 2), (3, 5, 1), (4, 5, 0)] {
        jobs.complete(i, i);
        assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(i)));
        outputs.push(i);
        assert_books(
            counts.items(),
            outputs.len(),
            stream.in_flight(),
            (pulled, in_flight),
        );
    }
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(outputs, [0, 1, 2, 3, 4]);
    assert_eq!(counts.calls(), 7);
    assert_eq!((jobs.drops(), jobs.live()), (5, 0));
}

#[test]
fn iterator_panicking_in_the_refill_keeps_the_output_for_the_next_poll() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(3);
    let mut stream = iter.panic_on(2).limited_as_completed(1);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (1, 1));

    jobs.complete(0, 0);
    assert_eq!(poll_panics(&mut stream), ITER_PANIC);
    assert_books(counts.items(), 0, stream.in_flight(), (1, 1));
    assert_eq!(counts.calls(), 2);

    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (2, 1));
    assert_eq!(counts.calls(), 3);
    assert_eq!(jobs.polls(1), 1);

    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_books(counts.items(), 2, stream.in_flight(), (3, 1));
    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items(), 3, stream.in_flight(), (3, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 5);
}

// ---------------------------------------------------------------------------
// Guarantee 8: LimitedInOrder.

#[test]
fn in_order_skips_the_item_whose_future_panicked_and_keeps_the_order() {
    let jobs = Jobs::<usize>::new();
    let items = jobs_with_panic(&jobs, 4, 1, 2);
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_in_order(3);
    let panicked = 1;

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));

    jobs.complete(2, 2);
    jobs.wake(1);
    assert_eq!(poll_panics(&mut stream), FUTURE_PANIC);
    // Item 2 finished and waits behind item 0; item 1 is gone.
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (2, 2));

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (3, 3));

    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items() - panicked, 1, stream.in_flight(), (3, 2));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items() - panicked, 2, stream.in_flight(), (3, 1));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(3, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_books(counts.items() - panicked, 3, stream.in_flight(), (3, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!((jobs.drops(), jobs.live()), (4, 0));
}

#[test]
fn in_order_skips_a_front_item_that_panicked_on_its_first_poll() {
    let jobs = Jobs::<usize>::new();
    let items = vec![
        jobs.ready(0).panic_on_poll(1),
        jobs.ready(1),
        jobs.ready(2),
        jobs.ready(3),
    ];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_in_order(2);
    let panicked = 1;

    assert_eq!(poll_panics(&mut stream), FUTURE_PANIC);
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (0, 0));
    // Item 1 reuses item 0's slot; the order is not confused by it.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_books(counts.items() - panicked, 1, stream.in_flight(), (3, 2));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items() - panicked, 2, stream.in_flight(), (3, 1));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_books(counts.items() - panicked, 3, stream.in_flight(), (3, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 5);
}

// ---------------------------------------------------------------------------
// Guarantee 9: limit 0.

const NO_BOUND: &str = "`limit` must be at least 1, got 0; pass `usize::MAX` for no bound";

#[test]
fn limited_as_completed_with_limit_0_panics_at_the_caller() {
    let line = Cell::new(0);
    let caught = expect_panic(|| {
        line.set(line!() + 1);
        let _stream = [ready(1)].limited_as_completed(0);
    });
    assert_eq!(
        caught.message,
        format!("`limited_as_completed`: {NO_BOUND}")
    );
    assert_eq!((caught.file.as_str(), caught.line), (file!(), line.get()));
}

#[test]
fn limited_in_order_with_limit_0_panics_at_the_caller() {
    let line = Cell::new(0);
    let caught = expect_panic(|| {
        line.set(line!() + 1);
        let _stream = vec![ready(1)].limited_in_order(0);
    });
    assert_eq!(caught.message, format!("`limited_in_order`: {NO_BOUND}"));
    assert_eq!((caught.file.as_str(), caught.line), (file!(), line.get()));
}

#[test]
fn as_completed_set_limit_0_panics_at_the_caller_and_keeps_the_bound() {
    let (iter, counts) = CountingIter::new((0..3).map(ready));
    let mut stream = iter.limited_as_completed(2);
    let line = Cell::new(0);
    let caught = expect_panic(|| {
        line.set(line!() + 1);
        stream.set_limit(0);
    });
    assert_eq!(
        caught.message,
        format!("`LimitedAsCompleted::set_limit`: {NO_BOUND}")
    );
    assert_eq!((caught.file.as_str(), caught.line), (file!(), line.get()));
    // The stream is unchanged and usable.
    assert_eq!(stream.limit(), 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (3, 2));
}

#[test]
fn in_order_set_limit_0_panics_at_the_caller_and_keeps_the_bound() {
    let (iter, counts) = CountingIter::new((0..3).map(ready));
    let mut stream = iter.limited_in_order(2);
    let line = Cell::new(0);
    let caught = expect_panic(|| {
        line.set(line!() + 1);
        stream.set_limit(0);
    });
    assert_eq!(
        caught.message,
        format!("`LimitedInOrder::set_limit`: {NO_BOUND}")
    );
    assert_eq!((caught.file.as_str(), caught.line), (file!(), line.get()));
    assert_eq!(stream.limit(), 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (3, 2));
}
