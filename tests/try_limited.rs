//! `try_limited_as_completed`: completion order, and at the first `Err` nothing more pulled, in-flight futures dropped, the stream ends.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::channel::oneshot;
use futures::stream::FusedStream;
use futures::task::noop_waker_ref;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};
use limited_as_completed::{LimitedAsCompletedExt, LimitedAsCompletedStreamExt};

type Res = Result<u32, &'static str>;

// ---------------------------------------------------------------------------
// Helpers.

fn noop_cx() -> Context<'static> {
    Context::from_waker(noop_waker_ref())
}

/// Polls `stream` once with a waker that does nothing.
fn poll_noop<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    stream.poll_next_unpin(&mut noop_cx())
}

/// Jobs completed by hand, with per-job poll counts and drop flags.
#[derive(Default)]
struct Jobs {
    senders: RefCell<Vec<Option<oneshot::Sender<Res>>>>,
    polls: RefCell<Vec<usize>>,
    dropped: RefCell<Vec<bool>>,
}

impl Jobs {
    /// `n` jobs, created up front so they can be completed before they are
    /// pulled (then they finish on their first poll).
    fn new(n: usize) -> (Rc<Self>, Vec<Job>) {
        let jobs = Rc::new(Self::default());
        let list = (0..n)
            .map(|id| {
                let (sender, receiver) = oneshot::channel();
                jobs.senders.borrow_mut().push(Some(sender));
                jobs.polls.borrow_mut().push(0);
                jobs.dropped.borrow_mut().push(false);
                Job {
                    id,
                    receiver,
                    jobs: Rc::clone(&jobs),
                }
            })
            .collect();
        (jobs, list)
    }

    fn finish(&self, id: usize, output: Res) {
        let sender = self.senders.borrow_mut()[id]
            .take()
            .expect("finished twice");
        // The job may already be dropped; that is what some tests check.
        let _ = sender.send(output);
    }

    fn ok(&self, id: usize) {
        self.finish(id, Ok(10 * id as u32));
    }

    fn err(&self, id: usize, error: &'static str) {
        self.finish(id, Err(error));
    }

    fn polls(&self, id: usize) -> usize {
        self.polls.borrow()[id]
    }

    /// Ids of the jobs dropped so far (a job is dropped when it finishes, when
    /// the stream drops it, or with the iterator).
    fn dropped_ids(&self) -> Vec<usize> {
        let dropped = self.dropped.borrow();
        (0..dropped.len()).filter(|&id| dropped[id]).collect()
    }
}

/// A future finished by hand through [`Jobs::finish`].
struct Job {
    id: usize,
    receiver: oneshot::Receiver<Res>,
    jobs: Rc<Jobs>,
}

impl Future for Job {
    type Output = Res;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Res> {
        self.jobs.polls.borrow_mut()[self.id] += 1;
        self.receiver
            .poll_unpin(cx)
            .map(|output| output.expect("sender dropped"))
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.jobs.dropped.borrow_mut()[self.id] = true;
    }
}

/// Counts its calls (`Some` and `None` alike) and panics if called after it
/// returned `None`.
struct CountingIter<I> {
    inner: I,
    calls: Rc<Cell<usize>>,
    ended: bool,
}

fn counting<I: Iterator>(inner: I) -> (CountingIter<I>, Rc<Cell<usize>>) {
    let calls = Rc::new(Cell::new(0));
    let iter = CountingIter {
        inner,
        calls: Rc::clone(&calls),
        ended: false,
    };
    (iter, calls)
}

impl<I: Iterator> Iterator for CountingIter<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        assert!(!self.ended, "iterator called after it returned None");
        self.calls.set(self.calls.get() + 1);
        let item = self.inner.next();
        self.ended = item.is_none();
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

// ---------------------------------------------------------------------------
// Iterator source.

#[test]
fn ok_outputs_come_in_completion_order() {
    let (jobs, list) = Jobs::new(5);
    let (iter, calls) = counting(list.into_iter());
    let mut stream = iter.try_limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(calls.get(), 3);
    jobs.ok(2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(20))));
    jobs.ok(3);
    jobs.ok(0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(30))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));
    assert_eq!(calls.get(), 6); // items 3 and 4 pulled, then the end
    jobs.ok(4);
    jobs.ok(1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(40))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert!(stream.is_terminated());
    assert_eq!(calls.get(), 6);
}

#[test]
fn first_err_stops_pulling_drops_in_flight_futures_and_ends_the_stream() {
    let (jobs, list) = Jobs::new(10);
    let (iter, calls) = counting(list.into_iter());
    let mut stream = iter.try_limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.ok(1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    assert_eq!(calls.get(), 4);
    assert_eq!(jobs.dropped_ids(), [1]);

    jobs.err(2, "two");
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("two"))));
    // Right after the Err, before any other poll: nothing more pulled, jobs
    // 0 and 3 (in flight) dropped, the stream over.
    assert_eq!(calls.get(), 4);
    assert_eq!(jobs.dropped_ids(), [0, 1, 2, 3]);
    assert_eq!(stream.in_flight(), 0);
    assert!(stream.is_terminated());
    assert_eq!(stream.size_hint(), (0, Some(0)));

    for _ in 0..3 {
        assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    }
    assert_eq!(calls.get(), 4);
    assert_eq!(jobs.polls(0), 1);
    assert_eq!(jobs.polls(3), 1);

    // The iterator is positioned after the last item pulled.
    let mut iter = stream.into_inner();
    assert_eq!(iter.next().map(|job| job.id), Some(4));
    assert_eq!(iter.count(), 5);
    assert_eq!(calls.get(), 11);
}

#[test]
fn err_on_a_first_poll_stops_pulling_at_once_and_earlier_oks_come_first() {
    // The first poll: item 1 is Ok and item 2 Err on their first poll. The
    // limit of 5 is not reached, but nothing after item 2 is pulled.
    let (jobs, list) = Jobs::new(10);
    jobs.ok(1);
    jobs.err(2, "two");
    let (iter, calls) = counting(list.into_iter());
    let mut stream = iter.try_limited_as_completed(5);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    assert_eq!(calls.get(), 3);
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
    assert_eq!(calls.get(), 3);

    // A refill: item 2 fails on its first poll, while item 0's output is
    // being returned. Ok(0) comes out, then the Err; item 3 is never pulled.
    let (jobs, list) = Jobs::new(10);
    let (iter, calls) = counting(list.into_iter());
    let mut stream = iter.try_limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.err(2, "two");
    jobs.ok(0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));
    assert_eq!(calls.get(), 3);
    // Job 1, still running, was dropped when the refill's Err was seen.
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("two"))));
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(calls.get(), 3);
    assert_eq!(stream.into_inner().next().map(|job| job.id), Some(3));
}

#[test]
fn try_next_on_limited_as_completed_pulls_one_more_item() {
    // The same input and the same completions both ways: with limit 2, item 1
    // fails while item 0 runs.
    let (jobs, list) = Jobs::new(10);
    let (iter, calls) = counting(list.into_iter());
    let mut stream = iter.limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.err(1, "one");
    assert_eq!(
        stream.try_next().poll_unpin(&mut noop_cx()),
        Poll::Ready(Err("one"))
    );
    // The slot was refilled before the Err came out: item 2 was pulled and
    // started.
    assert_eq!(calls.get(), 3);
    assert_eq!(jobs.polls(2), 1);
    assert_eq!(stream.in_flight(), 2);
    assert_eq!(jobs.dropped_ids(), [1]);
    drop(stream);
    assert_eq!(jobs.dropped_ids(), (0..10).collect::<Vec<_>>());

    let (jobs, list) = Jobs::new(10);
    let (iter, calls) = counting(list.into_iter());
    let mut stream = iter.try_limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.err(1, "one");
    assert_eq!(
        stream.try_next().poll_unpin(&mut noop_cx()),
        Poll::Ready(Err("one"))
    );
    assert_eq!(calls.get(), 2);
    assert_eq!(jobs.polls(2), 0);
    assert_eq!(jobs.dropped_ids(), [0, 1]);
}

// ---------------------------------------------------------------------------
// Stream source.

#[test]
fn stream_source_stops_at_the_first_err_too() {
    let (jobs, list) = Jobs::new(10);
    let (iter, calls) = counting(list.into_iter());
    let mut stream = futures::stream::iter(iter).try_limited_as_completed(3);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.ok(2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(20))));
    assert_eq!(calls.get(), 4);

    jobs.err(0, "zero");
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("zero"))));
    assert_eq!(calls.get(), 4);
    assert_eq!(jobs.dropped_ids(), [0, 1, 2, 3]);
    assert!(stream.is_terminated());
    assert_eq!(stream.in_flight(), 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(calls.get(), 4);

    let mut source = stream.into_inner();
    match source.as_mut().poll_next(&mut noop_cx()) {
        Poll::Ready(Some(job)) => assert_eq!(job.id, 4),
        _ => panic!("the source lost its items"),
    }
}

#[test]
fn stream_source_err_on_a_first_poll_stops_pulling_at_once() {
    let (jobs, list) = Jobs::new(10);
    jobs.ok(1);
    jobs.err(2, "two");
    let (iter, calls) = counting(list.into_iter());
    let mut stream = futures::stream::iter(iter).try_limited_as_completed(5);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    assert_eq!(calls.get(), 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("two"))));
    assert_eq!(jobs.dropped_ids(), [0, 1, 2]);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(calls.get(), 3);
}

#[test]
fn stream_source_try_next_pulls_one_more_item() {
    let (jobs, list) = Jobs::new(10);
    let (iter, calls) = counting(list.into_iter());
    let mut stream = futures::stream::iter(iter).limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.err(1, "one");
    assert_eq!(
        stream.try_next().poll_unpin(&mut noop_cx()),
        Poll::Ready(Err("one"))
    );
    assert_eq!(calls.get(), 3);

    let (jobs, list) = Jobs::new(10);
    let (iter, calls) = counting(list.into_iter());
    let mut stream = futures::stream::iter(iter).try_limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.err(1, "one");
    assert_eq!(
        stream.try_next().poll_unpin(&mut noop_cx()),
        Poll::Ready(Err("one"))
    );
    assert_eq!(calls.get(), 2);
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
