//! Guarantee 10 (crate docs): `poll_progress` and `progress_while` advance
//! the futures in flight while the consumer is busy, without handing out an
//! output or pulling, with Guarantees 4, 6, 8 and 11 holding for them.
//!
//! The first part polls by hand with exact counts after every call (and runs
//! under Miri). The second reproduces what the feature is for, on tokio's
//! paused clock, where virtual times are exact: multi-step requests that
//! stall while the loop body awaits, and a deadlock over a semaphore whose
//! permits the futures in flight hold.

mod common;

use std::future::{pending, ready, Future};
use std::pin::pin;
use std::task::Poll;

use futures::stream::{self, StreamExt};
use futures_test::task::{new_count_waker, noop_context};
use limited_as_completed::{LimitedAsCompletedExt, LimitedAsCompletedStreamExt, LimitedStream};

use common::{assert_books, catch, poll_noop, Jobs, FUTURE_PANIC};

/// `poll_progress` once with a no-op waker.
fn progress<S: LimitedStream>(stream: &mut S) -> Poll<()> {
    stream.poll_progress(&mut noop_context())
}

#[test]
fn progress_pulls_nothing_and_holds_outputs_in_completion_order() {
    let jobs = Jobs::new();
    let (iter, counts) = jobs.counted(10);
    let mut stream = iter.limited_as_completed(3);

    // Nothing pulled yet: nothing runs.
    assert_eq!(progress(&mut stream), Poll::Ready(()));
    assert_eq!((counts.calls(), jobs.total_polls()), (0, 0));

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));
    assert_eq!(jobs.take_poll_log(), [0, 1, 2]);

    jobs.complete(1, 1);
    assert_eq!(progress(&mut stream), Poll::Pending); // 0 and 2 still run
    assert_eq!(jobs.take_poll_log(), [1]);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3)); // 1's output held
    assert_eq!(counts.calls(), 3, "progress pulled");

    jobs.complete(2, 2);
    jobs.complete(0, 0);
    assert_eq!(progress(&mut stream), Poll::Ready(())); // nothing runs now
    assert_eq!(jobs.take_poll_log(), [2, 0]);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));
    assert_eq!(counts.calls(), 3, "progress pulled");
    assert_eq!(jobs.live(), 7, "the finished futures were dropped");

    // Outputs in completion order as progress saw it; each one frees a
    // place, refilled before it is handed out, nothing more: the held
    // outputs counted against the limit.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items(), 2, stream.in_flight(), (5, 3));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 3, stream.in_flight(), (6, 3));
    assert_eq!(jobs.take_poll_log(), [3, 4, 5]);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
}

#[test]
fn in_order_progress_holds_outputs_for_input_order() {
    let jobs = Jobs::new();
    let (iter, counts) = jobs.counted(6);
    let mut stream = iter.limited_in_order(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.take_poll_log(), [0, 1, 2]);

    jobs.complete(2, 2);
    jobs.complete(1, 1);
    assert_eq!(progress(&mut stream), Poll::Pending);
    assert_eq!(jobs.take_poll_log(), [2, 1]);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));
    // Item 0 is still running: nothing can come out yet.
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(jobs.take_poll_log(), []);

    jobs.complete(0, 0);
    assert_eq!(progress(&mut stream), Poll::Ready(()));
    assert_eq!(counts.calls(), 3, "progress pulled");
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (4, 3));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items(), 3, stream.in_flight(), (6, 3));
}

#[test]
fn progress_polls_only_woken_futures_once_each_in_wake_order() {
    let jobs = Jobs::<()>::new();
    let (iter, _) = jobs.counted(4);
    let mut stream = iter.limited_as_completed(4);
    let (waker, wakes) = new_count_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.take_poll_log();

    // Nothing woken: nothing polled, and no wake of its own task.
    assert_eq!(stream.poll_progress(&mut cx), Poll::Pending);
    assert_eq!((jobs.take_poll_log(), wakes.get()), (vec![], 0));

    // Parked with `cx`: the first wake wakes the task, once; the others
    // (and 3 woken twice) add to the same batch.
    jobs.wake(3);
    jobs.wake(1);
    jobs.wake(3);
    assert_eq!(wakes.get(), 1);
    assert_eq!(stream.poll_progress(&mut cx), Poll::Pending);
    assert_eq!(jobs.take_poll_log(), [3, 1]);
    assert_eq!(wakes.get(), 1);

    jobs.wake(0);
    assert_eq!(wakes.get(), 2);
    assert_eq!(stream.poll_progress(&mut cx), Poll::Pending);
    assert_eq!(jobs.take_poll_log(), [0]);
}

#[test]
fn a_self_waking_future_is_polled_once_per_progress_call_and_no_spin() {
    let jobs = Jobs::<u32>::new();
    let spinner = jobs.job().self_waking(usize::MAX);
    let mut stream = [spinner].limited_as_completed(1);
    let (waker, wakes) = new_count_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    for call in 1..=3 {
        let before = wakes.get();
        assert_eq!(stream.poll_progress(&mut cx), Poll::Pending);
        assert_eq!(jobs.polls(0), 1 + call, "one poll per call");
        assert!(wakes.get() > before, "Pending without waking its task");
    }
}

#[test]
fn a_future_panicking_during_progress_is_dropped_and_the_stream_goes_on() {
    let jobs = Jobs::new();
    let items = vec![jobs.job(), jobs.job().panic_on_poll(2), jobs.job()];
    let (iter, counts) = common::CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);

    jobs.wake(1);
    jobs.complete(2, 2);
    let caught = catch(|| progress(&mut stream)).expect_err("the panic comes out");
    assert_eq!(caught.message, FUTURE_PANIC);
    assert_eq!(jobs.dropped_ids(), [1]);
    assert_eq!(stream.in_flight(), 2);

    // Item 2's wake was not lost; 0 still runs.
    assert_eq!(progress(&mut stream), Poll::Pending);
    assert_eq!(jobs.polls(2), 2);
    jobs.complete(0, 0);
    let outputs: Vec<_> = futures::executor::block_on_stream(stream).collect();
    assert_eq!(outputs, [2, 0]);
    assert_eq!(counts.calls(), 4);
}

#[test]
fn progress_while_returns_the_works_output_and_keeps_the_futures_going() {
    let jobs = Jobs::new();
    let (iter, counts) = jobs.counted(4);
    let mut stream = iter.limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);

    // Work ready at once: the stream is not touched.
    jobs.complete(0, 0);
    let polls = jobs.total_polls();
    let mut work = pin!(stream.progress_while(ready("done")));
    assert_eq!(work.as_mut().poll(&mut noop_context()), Poll::Ready("done"));
    assert_eq!(jobs.total_polls(), polls);

    // Work that waits: each poll of it polls the woken futures.
    let mut work = pin!(stream.progress_while(pending::<()>()));
    assert_eq!(work.as_mut().poll(&mut noop_context()), Poll::Pending);
    assert_eq!(jobs.polls(0), 2, "the woken future ran during the work");
    jobs.complete(1, 1);
    assert_eq!(work.as_mut().poll(&mut noop_context()), Poll::Pending);
    assert_eq!(jobs.polls(1), 2);
    assert_eq!(counts.calls(), 2, "nothing pulled during the work");
    assert_books(counts.items(), 0, stream.in_flight(), (2, 2));
}

#[test]
fn dropping_progress_while_midway_keeps_the_held_outputs() {
    let jobs = Jobs::new();
    let (iter, counts) = jobs.counted(3);
    let mut stream = iter.limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(1, 1);
    {
        let mut work = Box::pin(stream.progress_while(pending::<()>()));
        assert_eq!(work.as_mut().poll(&mut noop_context()), Poll::Pending);
    } // dropped mid-way: the work is dropped, the stream is as it was
    assert_books(counts.items(), 0, stream.in_flight(), (2, 2));
    assert_eq!(jobs.live(), 2, "job 1 finished; 0 runs, 2 not pulled yet");
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_books(counts.items(), 1, stream.in_flight(), (3, 2));
}

#[test]
fn progress_never_polls_a_stream_source() {
    let jobs = Jobs::new();
    let polls_of_source = std::cell::Cell::new(0);
    let source =
        stream::iter(jobs.jobs(5)).inspect(|_| polls_of_source.set(polls_of_source.get() + 1));
    let mut stream = LimitedAsCompletedStreamExt::limited_as_completed(source, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(polls_of_source.get(), 2);
    jobs.complete(0, 0);
    jobs.complete(1, 1);
    assert_eq!(progress(&mut stream), Poll::Ready(()));
    assert_eq!(polls_of_source.get(), 2, "progress polled the source");
    assert_eq!(stream.in_flight(), 2);
}

#[test]
fn progress_through_indexed_keeps_the_indices() {
    let jobs = Jobs::new();
    let (iter, _) = jobs.counted(3);
    let mut stream = iter.limited_as_completed(3).indexed();
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(2, "two");
    assert_eq!(progress(&mut stream), Poll::Pending);
    assert_eq!(stream.in_flight(), 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((2, "two"))));
}

#[test]
fn try_limited_as_completed_fails_fast_when_an_err_finishes_during_progress() {
    let jobs = Jobs::<Result<u32, &str>>::new();
    let (iter, counts) = jobs.counted(10);
    let mut stream = iter.try_limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);

    jobs.complete(1, Ok(1));
    jobs.complete(2, Err("two"));
    assert_eq!(progress(&mut stream), Poll::Ready(()));
    // Job 0, still running, was dropped when the Err was seen; nothing more
    // is pulled, and the outputs come out in order, then the end.
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert_eq!((counts.items(), stream.in_flight()), (3, 2));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(1))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("two"))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 3);
}

#[test]
fn try_limited_in_order_fails_fast_when_an_err_finishes_during_progress() {
    let jobs = Jobs::<Result<u32, &str>>::new();
    let (iter, counts) = jobs.counted(10);
    let mut stream = iter.try_limited_in_order(4);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);

    jobs.complete(3, Ok(3));
    jobs.complete(2, Err("two"));
    assert_eq!(progress(&mut stream), Poll::Pending);
    // Item 3, after the Err in input order, is dropped, output and all;
    // items 0 and 1, before it, run on.
    assert_eq!(jobs.dropped_ids(), [2, 3]);
    assert_eq!((counts.items(), stream.in_flight()), (4, 3));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(1, Ok(1));
    jobs.complete(0, Ok(0));
    assert_eq!(progress(&mut stream), Poll::Ready(()));
    let outputs: Vec<_> = futures::executor::block_on_stream(stream).collect();
    assert_eq!(outputs, [Ok(0), Ok(1), Err("two")]);
    assert_eq!(counts.calls(), 4, "nothing pulled after the Err");
}

/// Any stream of the crate, through the trait.
fn in_flight_after_progress<S: LimitedStream>(stream: &mut S) -> (Poll<()>, usize) {
    (progress(stream), stream.in_flight())
}

#[test]
fn every_stream_type_has_progress() {
    let ready_items = || (0..4).map(|i| ready(Ok::<u32, ()>(i)));
    let src = || stream::iter(ready_items());
    macro_rules! check {
        ($stream:expr) => {{
            let mut s = $stream;
            assert_eq!(poll_noop(&mut s).is_ready(), true);
            assert_eq!(in_flight_after_progress(&mut s), (Poll::Ready(()), 3));
        }};
    }
    check!(ready_items().limited_as_completed(3));
    check!(ready_items().limited_in_order(3));
    check!(ready_items().try_limited_as_completed(3));
    check!(ready_items().try_limited_in_order(3));
    check!(LimitedAsCompletedStreamExt::limited_as_completed(src(), 3));
    check!(LimitedAsCompletedStreamExt::limited_in_order(src(), 3));
    check!(LimitedAsCompletedStreamExt::try_limited_as_completed(
        src(),
        3
    ));
    check!(LimitedAsCompletedStreamExt::try_limited_in_order(src(), 3));
    check!(ready_items().limited_as_completed(3).indexed());
}

// ---------------------------------------------------------------------------
// On tokio's paused clock: what progress_while is for.

#[cfg(not(miri))] // tokio's runtime needs epoll, which Miri lacks
mod paused_clock {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::time::Duration;

    use futures::StreamExt;
    use limited_as_completed::LimitedAsCompletedExt;
    use tokio::sync::Semaphore;
    use tokio::time::{sleep, Instant};

    const STEP: Duration = Duration::from_millis(5);
    const BODY: Duration = Duration::from_millis(100);

    /// When each job started and finished, in ms from the test's start.
    type Times = Rc<RefCell<Vec<(u64, u64)>>>;

    fn ms(start: Instant) -> u64 {
        start.elapsed().as_millis() as u64
    }

    /// A request of three 5 ms steps (connect, send, read).
    async fn three_steps(i: usize, start: Instant, times: Times) -> usize {
        let began = ms(start);
        for _ in 0..3 {
            sleep(STEP).await;
        }
        times.borrow_mut()[i] = (began, ms(start));
        i
    }

    fn jobs(
        n: usize,
        start: Instant,
        times: &Times,
    ) -> impl Iterator<Item = impl std::future::Future<Output = usize>> + '_ {
        (0..n).map(move |i| three_steps(i, start, Rc::clone(times)))
    }

    const JOBS: usize = 8;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn without_progress_the_steps_stall_while_the_body_awaits() {
        let start = Instant::now();
        let times: Times = Rc::new(RefCell::new(vec![(0, 0); JOBS]));
        let mut outputs = jobs(JOBS, start, &times).limited_as_completed(4);
        while let Some(_output) = outputs.next().await {
            sleep(BODY).await; // the loop body's own work
        }
        // Jobs 0 to 3 ran before the first output. Every job pulled after
        // that started as an output was handed out and then took each of its
        // steps only when the stream was polled again, after the body's
        // 100 ms: 300 ms for 15 ms of work. (Job 4, pulled at 15 ms: step 2
        // at 115, step 3 at 215, done at 315.)
        assert_eq!(
            *times.borrow(),
            [
                (0, 15),
                (0, 15),
                (0, 15),
                (0, 15),
                (15, 315),
                (115, 415),
                (215, 515),
                (315, 615),
            ]
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn with_progress_while_every_job_takes_its_own_15_ms() {
        let start = Instant::now();
        let times: Times = Rc::new(RefCell::new(vec![(0, 0); JOBS]));
        let mut outputs = jobs(JOBS, start, &times).limited_as_completed(4);
        while let Some(_output) = outputs.next().await {
            outputs.progress_while(sleep(BODY)).await;
        }
        let times = times.borrow();
        for (i, &(began, finished)) in times.iter().enumerate() {
            assert_eq!(finished - began, 15, "job {i}: {times:?}");
        }
        assert_eq!(
            *times,
            [
                (0, 15),
                (0, 15),
                (0, 15),
                (0, 15),
                (15, 30),
                (115, 130),
                (215, 230),
                (315, 330),
            ]
        );
    }

    /// Jobs that hold a permit of `permits` while they sleep 10 ms, and a
    /// loop body that needs a permit itself. Returns the event log.
    async fn permits_run(with_progress: bool) -> Vec<String> {
        let start = Instant::now();
        let log = Rc::new(RefCell::new(Vec::new()));
        let permits = Arc::new(Semaphore::new(2));
        let items = (0..4).map(|i| {
            let (log, permits) = (Rc::clone(&log), Arc::clone(&permits));
            async move {
                let permit = permits.acquire().await.unwrap();
                log.borrow_mut()
                    .push(format!("{} job {i} has a permit", ms(start)));
                sleep(Duration::from_millis(10)).await;
                drop(permit);
                log.borrow_mut().push(format!("{} job {i} done", ms(start)));
                i
            }
        });
        let mut outputs = items.limited_as_completed(3);
        while let Some(i) = outputs.next().await {
            let body = async {
                let _permit = permits.acquire().await.unwrap();
                log.borrow_mut()
                    .push(format!("{} body {i} has a permit", ms(start)));
            };
            if with_progress {
                outputs.progress_while(body).await;
            } else {
                body.await;
            }
        }
        let log = log.borrow().clone();
        log
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn without_progress_a_body_needing_a_permit_deadlocks() {
        // Job 2 was handed a permit when jobs 0 and 1 gave theirs back, and
        // job 3 took the other; neither gives it back, because nothing polls
        // them while the body waits for a permit. An hour of virtual time
        // changes nothing.
        let run = tokio::time::timeout(Duration::from_secs(3600), permits_run(false));
        assert!(run.await.is_err(), "the plain loop finished");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn with_progress_while_the_body_gets_its_permit() {
        let log = permits_run(true).await;
        assert_eq!(
            log,
            // Jobs 0 and 1 finish at 10 ms; their permits go to job 2
            // (waiting since 0 ms) and to job 3 (pulled as 0's output is
            // handed out). While body 0 waits for a permit, progress polls
            // job 2 (it has its permit) and, at 20 ms, jobs 3 and 2 to their
            // end; body 0 gets job 3's permit, and the other bodies follow.
            [
                "0 job 0 has a permit",
                "0 job 1 has a permit",
                "10 job 0 done",
                "10 job 1 done",
                "10 job 3 has a permit",
                "10 job 2 has a permit",
                "20 job 3 done",
                "20 job 2 done",
                "20 body 0 has a permit",
                "20 body 1 has a permit",
                "20 body 3 has a permit",
                "20 body 2 has a permit",
            ]
        );
    }
}
