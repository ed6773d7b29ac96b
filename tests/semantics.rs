//! Guarantees 1 to 7 and 12 (crate docs) for `LimitedAsCompleted`: each
//! section names the guarantee it checks by hand-polling; the last ones
//! check its methods, `size_hint`, `FusedStream` and `Debug` (12).

mod common;

use std::future::{ready, IntoFuture, Ready};
use std::rc::Rc;
use std::task::Poll;

use futures::future::{FutureExt, LocalBoxFuture};
use futures::stream::FusedStream;
use futures::{Stream, StreamExt};
use futures_test::task::new_count_waker;
use limited_as_completed::{LimitedAsCompleted, LimitedAsCompletedExt};

use common::{assert_books, poll_noop, poll_once, CountingIter, Job, Jobs, Output, Rng};

/// An iterator of `n` jobs created only when pulled: job `i` is item `i`.
fn lazy_jobs(n: usize, jobs: &Rc<Jobs<usize>>) -> impl Iterator<Item = Job<usize>> {
    let jobs = Rc::clone(jobs);
    (0..n).map(move |_| jobs.job())
}

// ---------------------------------------------------------------------------
// Guarantee 1: lazy.

#[test]
fn building_the_stream_pulls_and_polls_nothing() {
    let jobs = Jobs::<usize>::new();
    let iter = lazy_jobs(10, &jobs);
    let (iter, counts) = CountingIter::new(iter);
    let stream = iter.limited_as_completed(3);
    assert_eq!(counts.calls(), 0);
    assert_eq!(jobs.created(), 0);
    assert_eq!(jobs.total_polls(), 0);
    assert_eq!(jobs.poll_counts().len(), 0, "no job was made");
    assert_eq!(stream.in_flight(), 0);
    assert!(!stream.is_terminated());
    drop(stream);
    assert_eq!(counts.calls(), 0);
    assert!(counts.dropped());
}

#[test]
fn building_the_stream_polls_no_future_already_made() {
    let jobs = Jobs::<usize>::new();
    let futures = jobs.jobs(4);
    let stream = futures.limited_as_completed(2);
    assert_eq!(jobs.poll_counts(), [0, 0, 0, 0]);
    assert_eq!(jobs.total_polls(), 0);
    assert_eq!(stream.in_flight(), 0);
}

// ---------------------------------------------------------------------------
// Guarantee 2: islice, refill before yield.

#[test]
fn first_poll_pulls_limit_items_and_polls_each_once() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(10);
    let mut stream = iter.limited_as_completed(3);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));
    assert_eq!(counts.calls(), 3);
    assert_eq!(jobs.poll_counts(), [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(jobs.take_poll_log(), [0, 1, 2]);
}

#[test]
fn refills_slot_before_yielding() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(6);
    let mut stream = iter.limited_as_completed(3);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));

    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    // Item 3 was pulled and polled once before output 1 was returned.
    assert_eq!(jobs.poll_counts(), [1, 2, 1, 1, 0, 0]);
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));

    jobs.complete(3, 3);
    jobs.complete(0, 0);
    // Both woken futures are polled before output 3 is handed out
    // (Guarantee 6); 0's output waits, counted in flight, so the refill
    // pulls only item 4.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_eq!(jobs.poll_counts(), [2, 2, 1, 2, 1, 0]);
    assert_books(counts.items(), 2, stream.in_flight(), (5, 3));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_eq!(jobs.poll_counts(), [2, 2, 1, 2, 1, 1]);
    assert_books(counts.items(), 3, stream.in_flight(), (6, 3));
    assert_eq!(counts.calls(), 6);

    // Nothing woken: nothing polled, nothing pulled.
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.poll_counts(), [2, 2, 1, 2, 1, 1]);
    assert_books(counts.items(), 3, stream.in_flight(), (6, 3));
    assert_eq!(counts.calls(), 6);

    // The refill after output 2 finds the iterator empty.
    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_eq!(counts.calls(), 7);
    assert_books(counts.items(), 4, stream.in_flight(), (6, 2));
    jobs.complete(4, 4);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(4)));
    assert_books(counts.items(), 5, stream.in_flight(), (6, 1));
    jobs.complete(5, 5);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(5)));
    assert_books(counts.items(), 6, stream.in_flight(), (6, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_books(counts.items(), 6, stream.in_flight(), (6, 0));
    assert_eq!(counts.calls(), 7);
    assert_eq!(jobs.drops(), 6);
}

#[test]
fn future_finishing_on_its_first_poll_keeps_its_slot_until_yielded() {
    let jobs = Jobs::<usize>::new();
    let items = vec![jobs.job(), jobs.job(), jobs.ready(2), jobs.job()];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(2);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (2, 2));

    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    // Item 2 finished on the refill's poll: it still takes its slot, so item
    // 3 is not pulled.
    assert_books(counts.items(), 1, stream.in_flight(), (3, 2));
    assert_eq!(counts.calls(), 3);
    assert_eq!(jobs.take_poll_log(), [0, 1, 0, 2]);
    assert_eq!(jobs.drops(), 2); // job 0 and the finished job 2

    // Its output comes out on the next poll, which refills with item 3.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items(), 2, stream.in_flight(), (4, 2));
    assert_eq!(jobs.take_poll_log(), [3]);
    assert_eq!(jobs.polls(3), 1);

    jobs.complete(3, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_books(counts.items(), 3, stream.in_flight(), (4, 1));
    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_books(counts.items(), 4, stream.in_flight(), (4, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 5);
}

#[test]
fn iterator_is_never_called_after_it_returned_none() {
    let (iter, counts) = CountingIter::new((0..5).map(ready));
    let mut stream = iter.limited_as_completed(2);
    let mut outputs = vec![];
    loop {
        match poll_noop(&mut stream) {
            Poll::Ready(Some(x)) => outputs.push(x),
            Poll::Ready(None) => break,
            Poll::Pending => panic!("ready futures gave Pending"),
        }
        assert_eq!(counts.items(), outputs.len() + stream.in_flight());
    }
    assert_eq!(outputs, [0, 1, 2, 3, 4]);
    assert_eq!(counts.calls(), 6);
    for _ in 0..3 {
        assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
        assert!(stream.is_terminated());
    }
    // `CountingIter` panics if called after `None`; the count proves it was not.
    assert_eq!(counts.calls(), 6);
}

#[test]
fn take_k_pulls_limit_plus_k() {
    let (iter, counts) = CountingIter::new((0..).map(ready));
    let stream = iter.limited_as_completed(3);
    let outputs: Vec<usize> = futures::executor::block_on(stream.take(4).collect());
    assert_eq!(outputs, [0, 1, 2, 3]);
    assert_eq!(counts.items(), 3 + 4);
    assert_eq!(counts.calls(), 3 + 4);
    assert!(counts.dropped());
}

// ---------------------------------------------------------------------------
// Guarantee 3: the bound, and `set_limit`.

#[test]
fn never_more_than_limit_futures_alive_under_random_completion() {
    const TOTAL: usize = 300;
    const LIMIT: usize = 7;
    let jobs = Jobs::<usize>::new();
    let iter = lazy_jobs(TOTAL, &jobs);
    let (iter, counts) = CountingIter::new(iter);
    let mut stream = iter.limited_as_completed(LIMIT);
    let mut rng = Rng::new(0x5eed_1234_abcd_0042);
    let mut yielded = 0;
    let mut seen = vec![false; TOTAL];

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (LIMIT, LIMIT));
    assert_eq!(jobs.live(), LIMIT);

    while yielded < TOTAL {
        // Complete a random batch of 1 to 3 running futures, then poll once
        // per completion: outputs come in exactly that order.
        let mut batch = vec![];
        for _ in 0..=rng.below(3) {
            let running: Vec<usize> = (0..jobs.created())
                .filter(|i| !jobs.is_completed(*i) && !batch.contains(i))
                .collect();
            if running.is_empty() {
                break;
            }
            let pick = running[rng.below(running.len())];
            batch.push(pick);
        }
        for &i in &batch {
            jobs.complete(i, i);
        }
        for (j, &i) in batch.iter().enumerate() {
            assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(i)));
            assert!(!seen[i], "output {i} yielded twice");
            seen[i] = true;
            yielded += 1;
            let in_flight = LIMIT.min(TOTAL - yielded);
            assert_books(
                counts.items(),
                yielded,
                stream.in_flight(),
                (yielded + in_flight, in_flight),
            );
            assert!(jobs.live() <= LIMIT, "{} alive", jobs.live());
            // The first poll after the batch polled every future of it
            // (Guarantee 6): the outputs not yet handed out are in flight,
            // their futures already dropped.
            assert_eq!(jobs.live(), in_flight - (batch.len() - 1 - j));
        }
    }
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert!(seen.iter().all(|&s| s));
    assert_eq!(jobs.peak(), LIMIT);
    assert_eq!(jobs.created(), TOTAL);
    assert_eq!(jobs.drops(), TOTAL);
    assert_eq!(counts.calls(), TOTAL + 1);
}

#[test]
fn raising_the_limit_starts_more_futures_on_the_next_poll() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(6);
    let mut stream = iter.limited_as_completed(2);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (2, 2));

    stream.set_limit(4);
    assert_eq!(stream.limit(), 4);
    assert_eq!(counts.calls(), 2, "set_limit itself pulls nothing");

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (4, 4));
    assert_eq!(jobs.poll_counts(), [1, 1, 1, 1, 0, 0]);

    stream.set_limit(usize::MAX);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (6, 6));
    assert_eq!(jobs.poll_counts(), [1, 1, 1, 1, 1, 1]);
    assert_eq!(counts.calls(), 7);
}

#[test]
fn raising_the_limit_before_a_completion_refills_every_free_slot() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(6);
    let mut stream = iter.limited_as_completed(1);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (1, 1));
    stream.set_limit(3);
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));
    assert_eq!(jobs.poll_counts(), [2, 1, 1, 1, 0, 0]);
}

#[test]
fn lowering_the_limit_lets_the_excess_finish_and_starts_nothing_until_below() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(8);
    let mut stream = iter.limited_as_completed(4);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (4, 4));

    stream.set_limit(2);
    assert_eq!(stream.limit(), 2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (4, 4));
    assert_eq!(jobs.drops(), 0, "lowering the bound cancels nothing");

    jobs.complete(3, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));

    // The excess is still polled when woken.
    jobs.wake(0);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.poll_counts(), [2, 1, 1, 2, 0, 0, 0, 0]);
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));

    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    // Down to the new bound, not below it: still nothing new.
    assert_books(counts.items(), 2, stream.in_flight(), (4, 2));

    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    // Below the bound: one new future, polled once before the output came out.
    assert_books(counts.items(), 3, stream.in_flight(), (5, 2));
    assert_eq!(jobs.poll_counts(), [3, 2, 1, 2, 1, 0, 0, 0]);

    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items(), 4, stream.in_flight(), (6, 2));
    assert_eq!(jobs.drops(), 4);
    assert_eq!(jobs.peak(), 8); // all eight jobs were made up front
}

// ---------------------------------------------------------------------------
// Guarantee 4: order.

#[test]
fn outputs_come_in_completion_order() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(4);
    let mut stream = iter.limited_as_completed(4);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (4, 4));
    for (yielded, i) in [2, 0, 3, 1].into_iter().enumerate() {
        jobs.complete(i, i);
        assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(i)));
        assert_books(
            counts.items(),
            yielded + 1,
            stream.in_flight(),
            (4, 3 - yielded),
        );
    }
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 5);
}

#[test]
fn futures_woken_together_are_polled_in_wake_order() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(4);
    let mut stream = iter.limited_as_completed(4);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.take_poll_log(), [0, 1, 2, 3]);
    assert_books(counts.items(), 0, stream.in_flight(), (4, 4));

    jobs.wake(2);
    jobs.wake(0);
    jobs.wake(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.take_poll_log(), [2, 0, 3]);
    assert_books(counts.items(), 0, stream.in_flight(), (4, 4));

    // Completed together: all polled in the first call, in wake order, and
    // yielded in that order, one per poll.
    jobs.complete(3, 3);
    jobs.complete(1, 1);
    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_eq!(jobs.take_poll_log(), [3, 1, 2]);
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_eq!(jobs.take_poll_log(), []);
    assert_books(counts.items(), 2, stream.in_flight(), (4, 2));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_eq!(jobs.take_poll_log(), []);
    assert_books(counts.items(), 3, stream.in_flight(), (4, 1));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.take_poll_log(), Vec::<usize>::new());
}

#[test]
fn future_woken_twice_is_polled_once_in_its_first_wake_place() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(4);
    let mut stream = iter.limited_as_completed(4);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.take_poll_log();

    jobs.wake(1);
    jobs.wake(3);
    jobs.wake(1);
    jobs.wake(0);
    jobs.wake(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.take_poll_log(), [1, 3, 0]);
    assert_eq!(jobs.poll_counts(), [2, 2, 1, 2]);
    assert_books(counts.items(), 0, stream.in_flight(), (4, 4));
}

#[test]
fn outputs_of_futures_ready_on_first_poll_come_in_iterator_order() {
    let (iter, counts) = CountingIter::new((0..5).map(ready));
    let mut stream = iter.limited_as_completed(5);
    for i in 0..5 {
        assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(i)));
        assert_books(counts.items(), i + 1, stream.in_flight(), (5, 4 - i));
    }
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
}

#[test]
fn ready_on_first_poll_outputs_come_before_pending_ones_in_iterator_order() {
    let jobs = Jobs::<usize>::new();
    let items = vec![
        jobs.job(),
        jobs.ready(1),
        jobs.job(),
        jobs.ready(3),
        jobs.ready(4),
    ];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(4);

    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    // Item 4 was pulled into output 1's slot and finished at once.
    assert_books(counts.items(), 1, stream.in_flight(), (5, 4));
    jobs.complete(2, 2);
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_books(counts.items(), 2, stream.in_flight(), (5, 3));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(4)));
    assert_books(counts.items(), 3, stream.in_flight(), (5, 2));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items(), 4, stream.in_flight(), (5, 1));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 5, stream.in_flight(), (5, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
}

// ---------------------------------------------------------------------------
// Guarantee 5: cost.

#[test]
fn future_not_woken_is_not_polled() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(5);
    let mut stream = iter.limited_as_completed(4);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.poll_counts(), [1, 1, 1, 1, 0]);
    for round in 0..3 {
        jobs.wake(1);
        assert_eq!(poll_noop(&mut stream), Poll::Pending);
        assert_eq!(jobs.poll_counts(), [1, 2 + round, 1, 1, 0]);
        assert_books(counts.items(), 0, stream.in_flight(), (4, 4));
    }
    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_eq!(jobs.poll_counts(), [1, 4, 2, 1, 1]);
    assert_books(counts.items(), 1, stream.in_flight(), (5, 4));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.poll_counts(), [1, 4, 2, 1, 1]);
    assert_books(counts.items(), 1, stream.in_flight(), (5, 4));
}

#[test]
fn stale_wake_of_a_finished_future_does_not_poll_the_next_occupant_of_its_slot() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = CountingIter::new(jobs.jobs(2).into_iter());
    let mut stream = iter.limited_as_completed(1);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (2, 1));
    assert_eq!(jobs.poll_counts(), [2, 1]);

    // Job 0 is finished and dropped; someone still holding its waker wakes it
    // (a timer or channel registration it left behind). Job 1 was not woken.
    jobs.wake(0);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(
        jobs.poll_counts(),
        [2, 1],
        "job 1 was polled without being woken"
    );
}

/// Wakes its own waker, then finishes, in the same poll.
struct WakeThenReady(usize);

impl std::future::Future for WakeThenReady {
    type Output = usize;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<usize> {
        cx.waker().wake_by_ref();
        Poll::Ready(self.0)
    }
}

#[test]
fn wake_left_by_a_future_finishing_on_its_poll_does_not_poll_the_next_occupant() {
    // Item 1 is job 0 of the ledger.
    let jobs = Jobs::<usize>::new();
    let items: Vec<LocalBoxFuture<'static, usize>> =
        vec![WakeThenReady(0).boxed_local(), jobs.job().boxed_local()];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(1);

    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (2, 1));
    assert_eq!(jobs.polls(0), 1);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.polls(0), 1, "item 1 was polled without being woken");
}

#[test]
fn limit_usize_max_over_ten_items_pulls_exactly_ten() {
    let (iter, counts) = CountingIter::new((0..10).map(ready));
    let mut stream = iter.limited_as_completed(usize::MAX);
    assert_eq!(stream.limit(), usize::MAX);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (10, 9));
    assert_eq!(counts.calls(), 11);
    for i in 1..10 {
        assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(i)));
        assert_books(counts.items(), i + 1, stream.in_flight(), (10, 9 - i));
    }
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 11);
}

// ---------------------------------------------------------------------------
// Guarantee 6: fair.

#[test]
fn each_future_is_polled_at_most_once_per_poll_next() {
    let jobs = Jobs::<usize>::new();
    let futures: Vec<_> = (0..3).map(|i| jobs.ready(i).self_waking(2)).collect();
    let polls = || jobs.poll_counts();
    let (iter, counts) = CountingIter::new(futures.into_iter());
    let mut stream = iter.limited_as_completed(3);
    let (waker, parent) = new_count_waker();

    // Each woke itself on its first poll; none is polled again in this call.
    assert_eq!(poll_once(&mut stream, &waker), Poll::Pending);
    assert_eq!(polls(), [1, 1, 1]);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));
    let wakes = parent.get();
    assert!(wakes >= 1, "returned Pending without waking its task");

    assert_eq!(poll_once(&mut stream, &waker), Poll::Pending);
    assert_eq!(polls(), [2, 2, 2]);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));
    assert!(
        parent.get() > wakes,
        "returned Pending without waking its task"
    );

    // All three were woken before this call: all are polled in it, once.
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(Some(0)));
    assert_eq!(polls(), [3, 3, 3]);
    assert_books(counts.items(), 1, stream.in_flight(), (3, 2));
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(Some(1)));
    assert_eq!(polls(), [3, 3, 3]);
    assert_books(counts.items(), 2, stream.in_flight(), (3, 1));
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(Some(2)));
    assert_eq!(polls(), [3, 3, 3]);
    assert_books(counts.items(), 3, stream.in_flight(), (3, 0));
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(None));
    assert_eq!(counts.calls(), 4);
}

#[test]
fn self_waking_future_cannot_starve_the_others() {
    // Job 0 wakes itself on every poll and never finishes.
    let jobs = Jobs::<usize>::new();
    let items = vec![jobs.job().self_waking(usize::MAX), jobs.job()];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(2);
    let (waker, parent) = new_count_waker();

    for round in 1..=5 {
        let wakes = parent.get();
        assert_eq!(poll_once(&mut stream, &waker), Poll::Pending);
        assert_eq!(jobs.polls(0), round);
        assert!(
            parent.get() > wakes,
            "returned Pending without waking its task"
        );
        assert_books(counts.items(), 0, stream.in_flight(), (2, 2));
    }
    jobs.complete(1, 1);
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(Some(1)));
    assert_eq!(jobs.polls(0), 6);
    assert_eq!(jobs.polls(1), 2);
    assert_books(counts.items(), 1, stream.in_flight(), (2, 1));
}

#[test]
fn nothing_woken_returns_pending_and_does_not_wake_the_parent() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(2);
    let mut stream = iter.limited_as_completed(2);
    let (waker, parent) = new_count_waker();

    assert_eq!(poll_once(&mut stream, &waker), Poll::Pending);
    assert_eq!(parent.get(), 0);
    assert_books(counts.items(), 0, stream.in_flight(), (2, 2));
    for _ in 0..3 {
        assert_eq!(poll_once(&mut stream, &waker), Poll::Pending);
        assert_eq!(parent.get(), 0);
        assert_eq!(jobs.poll_counts(), [1, 1]);
        assert_books(counts.items(), 0, stream.in_flight(), (2, 2));
    }
    // A completion wakes the task that last polled the stream.
    jobs.complete(1, 1);
    assert_eq!(parent.get(), 1);
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(Some(1)));
    assert_eq!(parent.get(), 1);
    assert_books(counts.items(), 1, stream.in_flight(), (2, 1));
}

// ---------------------------------------------------------------------------
// Guarantee 7: drop.

#[test]
fn dropping_the_stream_drops_in_flight_futures_outputs_and_the_iterator() {
    // Jobs 1 and 2 are ready with an output each.
    let jobs = Jobs::<Output>::new();
    let items = vec![
        jobs.job(),
        jobs.ready(jobs.output(1)),
        jobs.ready(jobs.output(2)),
        jobs.job(),
    ];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(3);

    let first = match poll_noop(&mut stream) {
        Poll::Ready(Some(token)) => token,
        other => panic!(
            "expected output 1, got {:?}",
            other.map(|o| o.map(|t| t.id()))
        ),
    };
    assert_eq!(first.id(), 1);
    drop(first);
    // In flight: job 0, finished output 2, job 3.
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));
    assert_eq!((jobs.live(), jobs.outputs_live()), (2, 1));
    assert!(!counts.dropped());

    drop(stream);
    assert_eq!((jobs.live(), jobs.drops()), (0, 4));
    assert_eq!((jobs.outputs_live(), jobs.outputs_dropped()), (0, 2));
    assert!(counts.dropped());
}

#[test]
fn dropping_the_stream_before_polling_drops_only_the_iterator() {
    let jobs = Jobs::<usize>::new();
    let iter = lazy_jobs(5, &jobs);
    let (iter, counts) = CountingIter::new(iter);
    drop(iter.limited_as_completed(2));
    assert!(counts.dropped());
    assert_eq!(counts.calls(), 0);
    assert_eq!(jobs.created(), 0);
}

// ---------------------------------------------------------------------------
// Methods: limit, in_flight, into_inner.

#[test]
fn limit_returns_the_bound_given() {
    assert_eq!([ready(1)].limited_as_completed(1).limit(), 1);
    assert_eq!([ready(1)].limited_as_completed(7).limit(), 7);
    let mut stream = [ready(1)].limited_as_completed(usize::MAX);
    assert_eq!(stream.limit(), usize::MAX);
    stream.set_limit(3);
    assert_eq!(stream.limit(), 3);
}

#[test]
fn in_flight_counts_running_futures_and_finished_outputs_not_yet_yielded() {
    let jobs = Jobs::<usize>::new();
    let items = vec![jobs.job(), jobs.ready(1), jobs.ready(2)];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(3);
    assert_eq!(stream.in_flight(), 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    // Job 0 running, output 2 waiting.
    assert_books(counts.items(), 1, stream.in_flight(), (3, 2));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items(), 2, stream.in_flight(), (3, 1));
    jobs.complete(0, 0);
    assert_eq!(
        stream.in_flight(),
        1,
        "a completed, unpolled future is in flight"
    );
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 3, stream.in_flight(), (3, 0));
}

#[test]
fn into_inner_drops_in_flight_futures_and_returns_the_iterator_after_the_last_pulled() {
    let jobs = Jobs::<usize>::new();
    let iter = lazy_jobs(10, &jobs);
    let (iter, counts) = CountingIter::new(iter);
    let mut stream = iter.limited_as_completed(3);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));
    assert_eq!((jobs.created(), jobs.drops()), (4, 1));

    let rest = stream.into_inner();
    assert_eq!((jobs.live(), jobs.drops()), (0, 4));
    assert!(!counts.dropped());
    let ids: Vec<usize> = rest.map(|job| job.id()).collect();
    assert_eq!(ids, [4, 5, 6, 7, 8, 9]);
    assert_eq!(counts.items(), 10);
    assert_eq!(jobs.created(), 10);
}

#[test]
fn into_inner_drops_finished_outputs_not_yet_yielded() {
    let jobs = Jobs::<Output>::new();
    let items: Vec<_> = (0..5).map(|i| jobs.ready(jobs.output(i))).collect();
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(2);
    let first = match poll_noop(&mut stream) {
        Poll::Ready(Some(token)) => token.id(),
        _ => panic!("ready futures gave no output"),
    };
    assert_eq!(first, 0);
    assert_books(counts.items(), 1, stream.in_flight(), (3, 2));
    // Items 3 and 4 are still in the vector's iterator, outputs and all.
    assert_eq!(jobs.outputs_dropped(), 1);
    let rest = stream.into_inner();
    assert_eq!(jobs.outputs_dropped(), 3);
    assert_eq!(rest.count(), 2);
    assert_eq!(jobs.outputs_dropped(), 5);
}

#[test]
fn into_inner_before_the_first_poll_returns_the_whole_iterator() {
    let (iter, counts) = CountingIter::new((0..4).map(ready));
    let stream = iter.limited_as_completed(2);
    let rest: Vec<usize> = stream
        .into_inner()
        .map(futures::executor::block_on)
        .collect();
    assert_eq!(rest, [0, 1, 2, 3]);
    assert_eq!(counts.calls(), 5);
}

// ---------------------------------------------------------------------------
// size_hint.

#[test]
fn size_hint_is_in_flight_plus_the_iterators_hint_then_exact() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(5);
    let mut stream = iter.limited_as_completed(3);
    assert_eq!(stream.size_hint(), (5, Some(5)));

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.size_hint(), (5, Some(5)));
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));
    assert_eq!(stream.size_hint(), (4, Some(4)));
    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    // All five pulled, but the iterator has not returned `None` yet.
    assert_books(counts.items(), 2, stream.in_flight(), (5, 3));
    assert_eq!(counts.calls(), 5);
    assert_eq!(stream.size_hint(), (3, Some(3)));
    jobs.complete(2, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_eq!(counts.calls(), 6);
    assert_books(counts.items(), 3, stream.in_flight(), (5, 2));
    assert_eq!(stream.size_hint(), (2, Some(2)));
    jobs.complete(4, 4);
    jobs.complete(3, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(4)));
    assert_eq!(stream.size_hint(), (1, Some(1)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_eq!(stream.size_hint(), (0, Some(0)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(stream.size_hint(), (0, Some(0)));
}

#[test]
fn size_hint_keeps_an_unknown_upper_bound_until_the_iterator_ends() {
    let jobs = Jobs::<usize>::new();
    let mut lazy = lazy_jobs(3, &jobs);
    // `from_fn` hides the length: hint (0, None).
    let (iter, counts) = CountingIter::new(std::iter::from_fn(move || lazy.next()));
    let mut stream = iter.limited_as_completed(2);
    let complete = |i: usize| jobs.complete(i, i);
    assert_eq!(stream.size_hint(), (0, None));

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (2, 2));
    assert_eq!(stream.size_hint(), (2, None));

    complete(0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (3, 2));
    assert_eq!(counts.calls(), 3);
    assert_eq!(stream.size_hint(), (2, None));

    complete(1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_books(counts.items(), 2, stream.in_flight(), (3, 1));
    assert_eq!(counts.calls(), 4);
    assert_eq!(stream.size_hint(), (1, Some(1)));

    complete(2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items(), 3, stream.in_flight(), (3, 0));
    assert_eq!(stream.size_hint(), (0, Some(0)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(stream.size_hint(), (0, Some(0)));
}

#[test]
fn size_hint_saturates_the_lower_bound() {
    let mut stream = (0..)
        .map(|_| std::future::pending::<()>())
        .limited_as_completed(3);
    assert_eq!(stream.size_hint(), (usize::MAX, None));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.in_flight(), 3);
    assert_eq!(stream.size_hint(), (usize::MAX, None));
}

/// An endless iterator of pending futures that reports a fixed hint.
struct Hinted(usize, Option<usize>);

impl Iterator for Hinted {
    type Item = std::future::Pending<()>;
    fn next(&mut self) -> Option<Self::Item> {
        Some(std::future::pending())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0, self.1)
    }
}

#[test]
fn size_hint_drops_an_upper_bound_that_overflows() {
    let mut stream = Hinted(usize::MAX - 1, Some(usize::MAX - 1)).limited_as_completed(3);
    assert_eq!(stream.size_hint(), (usize::MAX - 1, Some(usize::MAX - 1)));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.size_hint(), (usize::MAX, None));

    let mut stream = Hinted(0, Some(usize::MAX - 1)).limited_as_completed(1);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.size_hint(), (1, Some(usize::MAX)));
}

// ---------------------------------------------------------------------------
// FusedStream, Debug, IntoFuture.

#[test]
fn is_terminated_once_the_iterator_ended_and_nothing_is_in_flight() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(2);
    let mut stream = iter.limited_as_completed(2);
    assert!(!stream.is_terminated());
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert!(!stream.is_terminated());
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (2, 1));
    assert_eq!(counts.calls(), 3);
    assert!(!stream.is_terminated());
    jobs.complete(1, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_books(counts.items(), 2, stream.in_flight(), (2, 0));
    // Nothing is left: terminated already, and the next poll says so.
    assert!(stream.is_terminated());
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert!(stream.is_terminated());
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 3);
}

#[test]
fn is_terminated_is_false_while_the_iterator_has_not_returned_none() {
    let jobs = Jobs::<usize>::new();
    let (iter, counts) = jobs.counted(1);
    let mut stream = iter.limited_as_completed(1);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(counts.calls(), 1);
    assert!(!stream.is_terminated());
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_eq!(counts.calls(), 2);
    assert!(stream.is_terminated());
}

#[test]
fn debug_shows_limit_and_in_flight() {
    let jobs = Jobs::<usize>::new();
    let futures = jobs.jobs(5);
    let mut stream = futures.limited_as_completed(3);
    let before = format!("{stream:?}");
    assert!(before.starts_with("LimitedAsCompleted"), "{before}");
    assert!(before.contains("limit: 3"), "{before}");
    assert!(before.contains("in_flight: 0"), "{before}");
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    let after = format!("{stream:?}");
    assert!(after.contains("limit: 3"), "{after}");
    assert!(after.contains("in_flight: 3"), "{after}");
}

/// Neither `Debug` nor anything else.
struct Opaque;

#[test]
fn debug_asks_nothing_of_the_futures_or_their_outputs() {
    // `Job` is not `Debug`, nor is its output `Opaque`.
    let jobs = Jobs::<Opaque>::new();
    let mut stream = jobs.jobs(2).limited_as_completed(2);
    assert!(poll_noop(&mut stream).is_pending());
    jobs.complete(0, Opaque);
    let text = format!("{stream:?}");
    assert!(text.contains("in_flight: 2"), "{text}");
    assert!(matches!(poll_noop(&mut stream), Poll::Ready(Some(Opaque))));
    assert!(format!("{stream:?}").contains("in_flight: 1"));
}

/// Work that is not a future itself but turns into one.
struct Work(usize);

impl IntoFuture for Work {
    type Output = usize;
    type IntoFuture = Ready<usize>;
    fn into_future(self) -> Ready<usize> {
        ready(self.0 * 10)
    }
}

#[test]
fn items_need_only_be_into_future() {
    let (iter, counts) = CountingIter::new((0..4).map(Work));
    let mut stream: LimitedAsCompleted<_> = iter.limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (3, 2));
    let rest: Vec<usize> = futures::executor::block_on(stream.collect());
    assert_eq!(rest, [10, 20, 30]);
    let from_vec: Vec<usize> =
        futures::executor::block_on(vec![Work(1), Work(2)].limited_as_completed(1).collect());
    assert_eq!(from_vec, [10, 20]);
}

// ---------------------------------------------------------------------------
// End to end.

#[test]
fn hundred_thousand_futures_through_limit_1000_each_yielded_once() {
    // Under Miri (about a million times slower) the same shape, smaller.
    const TOTAL: usize = if cfg!(miri) { 1_000 } else { 100_000 };
    const LIMIT: usize = if cfg!(miri) { 10 } else { 1000 };
    let jobs = Jobs::<usize>::new();
    let source_jobs = Rc::clone(&jobs);
    let (iter, counts) =
        CountingIter::new((0..TOTAL).map(move |i| source_jobs.ready(i).self_waking(1)));
    let mut stream = iter.limited_as_completed(LIMIT);
    let mut seen = vec![false; TOTAL];
    let mut yielded = 0;
    futures::executor::block_on(async {
        while let Some(i) = stream.next().await {
            assert!(!seen[i], "output {i} yielded twice");
            seen[i] = true;
            yielded += 1;
            let in_flight = LIMIT.min(TOTAL - yielded);
            assert_books(
                counts.items(),
                yielded,
                stream.in_flight(),
                (yielded + in_flight, in_flight),
            );
        }
    });
    assert_eq!(yielded, TOTAL);
    assert!(seen.iter().all(|&s| s));
    assert_eq!(jobs.peak(), LIMIT);
    assert_eq!(jobs.created(), TOTAL);
    assert_eq!(jobs.drops(), TOTAL);
    assert_eq!(jobs.total_polls(), 2 * TOTAL);
    assert_eq!(counts.calls(), TOTAL + 1);
}
