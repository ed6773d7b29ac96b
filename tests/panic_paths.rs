//! Guarantees 7 and 8 (crate docs) on every panic path: panics in a
//! future's poll (first and later), in `Iterator::next`, in a future's `Drop`
//! and in the source's `Drop`, with exact drop counts for every future,
//! output and source.
//!
//! Every scenario runs over the four shapes of the engine:
//! `limited_as_completed`, `limited_in_order`, `try_limited_as_completed` (all
//! over an iterator) and `limited_as_completed` over a `Stream` source. The
//! futures are `!Unpin` and stored inline in their slots. A `Drop` that panics
//! does so only when the thread is not already unwinding (a second panic would
//! abort, as it does anywhere in Rust).
//!
//! Last, a panic in an item's `IntoFuture::into_future`, which the stream
//! calls as it pulls the item, with `indexed` over three of the shapes.

mod common;

use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;

use futures::stream::{self, FusedStream, Stream};
use futures_test::task::noop_context;
use limited_as_completed::{
    LimitedAsCompleted, LimitedAsCompletedExt, LimitedAsCompletedStream,
    LimitedAsCompletedStreamExt, LimitedInOrder, TryLimitedAsCompleted,
};

use common::{
    CountingIter, IterCounts, Job, Jobs, Output, DROP_PANIC, FUTURE_PANIC as POLL_PANIC,
    ITER_DROP_PANIC as SOURCE_DROP_PANIC, ITER_PANIC as NEXT_PANIC,
};

/// Runs `f`, returning its value or the message it panicked with.
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    common::catch(f).map_err(|caught| caught.message)
}

// ---------------------------------------------------------------------------
// Book: what happened to every job, output and the source.

/// A job's output: `Err` for a job planned to fail.
type Res = Result<Output, Output>;

/// The source: the jobs in order, counting its calls; it may panic once in
/// `next` and in `Drop`.
type Source = CountingIter<std::vec::IntoIter<Job<Res>>>;

/// How a job behaves.
#[derive(Clone, Copy, Default)]
struct Plan {
    /// `Ready` on its first poll (else it waits for [`Book::complete`]).
    instant: bool,
    /// Panics on this poll (1-based).
    panic_on_poll: Option<usize>,
    /// Panics in `Drop` (unless the thread is already unwinding).
    panic_in_drop: bool,
    /// Its output is an `Err`.
    err: bool,
}

/// The jobs' ledger, the source's counts and the plans.
struct Book {
    jobs: Rc<Jobs<Res>>,
    source: Arc<IterCounts>,
    plans: Vec<Plan>,
}

impl Book {
    /// Gives job `id` its output (by its plan) and wakes it.
    fn complete(&self, id: usize) {
        let out = self.jobs.output(id);
        let output = if self.plans[id].err {
            Err(out)
        } else {
            Ok(out)
        };
        self.jobs.complete(id, output);
    }

    /// Wakes job `id` (it must have been polled).
    fn wake(&self, id: usize) {
        self.jobs.wake(id);
    }

    fn fut_drops(&self) -> Vec<usize> {
        self.jobs.future_drops()
    }

    fn out_drops(&self) -> Vec<usize> {
        self.jobs.output_drops()
    }

    fn polls(&self) -> Vec<usize> {
        self.jobs.poll_counts()
    }

    fn source_calls(&self) -> usize {
        self.source.calls()
    }

    fn source_drops(&self) -> usize {
        self.source.drops()
    }
}

/// Builds the source and its book for jobs with these plans.
fn source(plans: &[Plan]) -> (Source, Book) {
    let jobs = Jobs::new();
    let list = plans
        .iter()
        .map(|plan| {
            let mut job = jobs.job();
            if let Some(k) = plan.panic_on_poll {
                job = job.panic_on_poll(k);
            }
            if plan.panic_in_drop {
                job = job.panic_in_drop();
            }
            job
        })
        .collect::<Vec<_>>();
    let (source, counts) = CountingIter::new(list.into_iter());
    let book = Book {
        jobs,
        source: counts,
        plans: plans.to_vec(),
    };
    for (id, plan) in plans.iter().enumerate() {
        if plan.instant {
            book.complete(id);
        }
    }
    (source, book)
}

fn gate() -> Plan {
    Plan::default()
}

fn instant() -> Plan {
    Plan {
        instant: true,
        ..Plan::default()
    }
}

// ---------------------------------------------------------------------------
// The four shapes

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    AsCompleted,
    InOrder,
    Try,
    StreamSource,
}

const SHAPES: [Shape; 4] = [
    Shape::AsCompleted,
    Shape::InOrder,
    Shape::Try,
    Shape::StreamSource,
];

enum Subject {
    AsCompleted(LimitedAsCompleted<Source>),
    InOrder(LimitedInOrder<Source>),
    Try(TryLimitedAsCompleted<Source>),
    StreamSource(LimitedAsCompletedStream<stream::Iter<Source>>),
}

/// What `poll_next` gave: an output's id and whether it was an `Err`.
type Polled = Poll<Option<(usize, bool)>>;

impl Subject {
    fn new(shape: Shape, source: Source, limit: usize) -> Self {
        match shape {
            Shape::AsCompleted => Self::AsCompleted(source.limited_as_completed(limit)),
            Shape::InOrder => Self::InOrder(source.limited_in_order(limit)),
            Shape::Try => Self::Try(source.try_limited_as_completed(limit)),
            Shape::StreamSource => Self::StreamSource(
                LimitedAsCompletedStreamExt::limited_as_completed(stream::iter(source), limit),
            ),
        }
    }

    fn poll_raw(&mut self) -> Poll<Option<Res>> {
        let mut cx = noop_context();
        match self {
            Self::AsCompleted(s) => Pin::new(s).poll_next(&mut cx),
            Self::InOrder(s) => Pin::new(s).poll_next(&mut cx),
            Self::Try(s) => Pin::new(s).poll_next(&mut cx),
            Self::StreamSource(s) => Pin::new(s).poll_next(&mut cx),
        }
    }

    /// Polls once; the output is dropped (and counted) here.
    fn poll(&mut self) -> Result<Polled, String> {
        catch(|| {
            self.poll_raw().map(|item| {
                item.map(|output| match output {
                    Ok(out) => (out.id(), false),
                    Err(out) => (out.id(), true),
                })
            })
        })
    }

    fn in_flight(&self) -> usize {
        match self {
            Self::AsCompleted(s) => s.in_flight(),
            Self::InOrder(s) => s.in_flight(),
            Self::Try(s) => s.in_flight(),
            Self::StreamSource(s) => s.in_flight(),
        }
    }

    fn is_terminated(&self) -> bool {
        match self {
            Self::AsCompleted(s) => s.is_terminated(),
            Self::InOrder(s) => s.is_terminated(),
            Self::Try(s) => s.is_terminated(),
            Self::StreamSource(s) => s.is_terminated(),
        }
    }

    /// `into_inner`, the source returned type-erased.
    fn into_inner(self) -> Box<dyn std::any::Any> {
        match self {
            Self::AsCompleted(s) => Box::new(s.into_inner()),
            Self::InOrder(s) => Box::new(s.into_inner()),
            Self::Try(s) => Box::new(s.into_inner()),
            Self::StreamSource(s) => Box::new(s.into_inner()),
        }
    }
}

fn ok(id: usize) -> Result<Polled, String> {
    Ok(Poll::Ready(Some((id, false))))
}

fn pending() -> Result<Polled, String> {
    Ok(Poll::Pending)
}

fn end() -> Result<Polled, String> {
    Ok(Poll::Ready(None))
}

fn panicked(message: &str) -> Result<Polled, String> {
    Err(message.to_string())
}

// ---------------------------------------------------------------------------
// Panics in poll and in next

#[test]
fn future_panicking_on_its_first_poll_is_dropped_once_and_the_rest_come_out() {
    for shape in SHAPES {
        let boom = Plan {
            panic_on_poll: Some(1),
            ..gate()
        };
        let (source, book) = source(&[gate(), boom, gate()]);
        let mut s = Subject::new(shape, source, 3);
        assert_eq!(s.poll(), panicked(POLL_PANIC), "{shape:?}");
        assert_eq!(
            book.fut_drops(),
            [0, 1, 0],
            "{shape:?}: only the panicking job dropped"
        );
        assert_eq!(book.source_calls(), 2, "{shape:?}");
        assert_eq!(s.in_flight(), 1, "{shape:?}");
        // The stream goes on: it pulls job 2 into the freed slot.
        assert_eq!(s.poll(), pending(), "{shape:?}");
        // ... and, with a slot still free, finds the iterator ended.
        assert_eq!((s.in_flight(), book.source_calls()), (2, 4), "{shape:?}");
        book.complete(2);
        book.complete(0);
        let (first, second) = match shape {
            Shape::InOrder => (0, 2),
            _ => (2, 0),
        };
        assert_eq!(s.poll(), ok(first), "{shape:?}");
        assert_eq!(s.poll(), ok(second), "{shape:?}");
        assert_eq!(s.poll(), end(), "{shape:?}");
        assert!(s.is_terminated(), "{shape:?}");
        assert_eq!(book.polls(), [2, 1, 2], "{shape:?}");
        drop(s);
        assert_eq!(book.fut_drops(), [1, 1, 1], "{shape:?}");
        assert_eq!(book.out_drops(), [1, 0, 1], "{shape:?}");
        assert_eq!(
            (book.source_calls(), book.source_drops()),
            (4, 1),
            "{shape:?}"
        );
    }
}

#[test]
fn future_panicking_on_a_later_poll_is_dropped_once_and_the_rest_come_out() {
    for shape in SHAPES {
        let boom = Plan {
            panic_on_poll: Some(2),
            ..gate()
        };
        let (source, book) = source(&[boom, gate()]);
        let mut s = Subject::new(shape, source, 2);
        assert_eq!(s.poll(), pending(), "{shape:?}");
        book.wake(0);
        assert_eq!(s.poll(), panicked(POLL_PANIC), "{shape:?}");
        assert_eq!(book.fut_drops(), [1, 0], "{shape:?}");
        assert_eq!(s.in_flight(), 1, "{shape:?}");
        assert!(!s.is_terminated(), "{shape:?}");
        book.complete(1);
        assert_eq!(s.poll(), ok(1), "{shape:?}");
        assert_eq!(s.poll(), end(), "{shape:?}");
        assert_eq!(book.polls(), [2, 2], "{shape:?}");
        drop(s);
        assert_eq!(book.fut_drops(), [1, 1], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 1], "{shape:?}");
        assert_eq!(book.source_drops(), 1, "{shape:?}");
    }
}

/// Guarantee 8, none lost: an output that finished in the same call, before
/// the panicking future was polled, comes out of the next call.
#[test]
fn output_finished_before_a_panic_in_the_same_call_comes_out_of_the_next() {
    for shape in SHAPES {
        let boom = Plan {
            panic_on_poll: Some(2),
            ..gate()
        };
        let (source, book) = source(&[gate(), boom, gate()]);
        let mut s = Subject::new(shape, source, 2);
        assert_eq!(s.poll(), pending(), "{shape:?}");
        // Woken in this order: 0 finishes, then 1 panics, in one call.
        book.complete(0);
        book.wake(1);
        assert_eq!(s.poll(), panicked(POLL_PANIC), "{shape:?}");
        assert_eq!(book.polls(), [2, 2, 0], "{shape:?}");
        assert_eq!(book.fut_drops(), [1, 1, 0], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 0, 0], "{shape:?}");
        assert_eq!(s.in_flight(), 1, "{shape:?}");
        assert_eq!(s.poll(), ok(0), "{shape:?}");
        assert_eq!(book.out_drops(), [1, 0, 0], "{shape:?}");
        assert_eq!(book.polls(), [2, 2, 1], "{shape:?}");
        book.complete(2);
        assert_eq!(s.poll(), ok(2), "{shape:?}");
        assert_eq!(s.poll(), end(), "{shape:?}");
        drop(s);
        assert_eq!(book.fut_drops(), [1, 1, 1], "{shape:?}");
        assert_eq!(book.out_drops(), [1, 0, 1], "{shape:?}");
        assert_eq!(book.source_drops(), 1, "{shape:?}");
    }
}

#[test]
fn iterator_panicking_in_next_is_called_again_and_loses_nothing() {
    for shape in SHAPES {
        let (source, book) = source(&[gate(), gate()]);
        let source = source.panic_on(2);
        let mut s = Subject::new(shape, source, 2);
        assert_eq!(s.poll(), panicked(NEXT_PANIC), "{shape:?}");
        assert_eq!((s.in_flight(), book.source_calls()), (1, 2), "{shape:?}");
        assert_eq!(book.fut_drops(), [0, 0], "{shape:?}");
        // Called again on the next poll: job 1 starts.
        assert_eq!(s.poll(), pending(), "{shape:?}");
        assert_eq!((s.in_flight(), book.source_calls()), (2, 3), "{shape:?}");
        book.complete(0);
        book.complete(1);
        assert_eq!(s.poll(), ok(0), "{shape:?}");
        assert_eq!(s.poll(), ok(1), "{shape:?}");
        assert_eq!(s.poll(), end(), "{shape:?}");
        drop(s);
        assert_eq!(book.fut_drops(), [1, 1], "{shape:?}");
        assert_eq!(book.out_drops(), [1, 1], "{shape:?}");
        assert_eq!(
            (book.source_calls(), book.source_drops()),
            (4, 1),
            "{shape:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Panics in a future's `Drop`

#[test]
fn future_panicking_in_drop_when_it_finishes_frees_its_slot() {
    for shape in SHAPES {
        let boom = Plan {
            panic_in_drop: true,
            ..gate()
        };
        let (source, book) = source(&[boom, gate()]);
        let mut s = Subject::new(shape, source, 2);
        assert_eq!(s.poll(), pending(), "{shape:?}");
        book.complete(0);
        // The finished future is dropped in its slot, and its `Drop` panics:
        // the panic comes out, the output is dropped with it.
        assert_eq!(s.poll(), panicked(DROP_PANIC), "{shape:?}");
        assert_eq!(book.fut_drops(), [1, 0], "{shape:?}");
        assert_eq!(book.out_drops(), [1, 0], "{shape:?}");
        assert_eq!(s.in_flight(), 1, "{shape:?}: the slot is freed");
        book.complete(1);
        assert_eq!(s.poll(), ok(1), "{shape:?}");
        assert_eq!(s.poll(), end(), "{shape:?}");
        drop(s);
        assert_eq!(book.fut_drops(), [1, 1], "{shape:?}");
        assert_eq!(book.out_drops(), [1, 1], "{shape:?}");
        assert_eq!(book.source_drops(), 1, "{shape:?}");
    }
}

#[test]
fn future_finishing_on_its_first_poll_and_panicking_in_drop_frees_its_slot() {
    for shape in SHAPES {
        let boom = Plan {
            panic_in_drop: true,
            ..instant()
        };
        let (source, book) = source(&[boom, gate()]);
        let mut s = Subject::new(shape, source, 2);
        assert_eq!(s.poll(), panicked(DROP_PANIC), "{shape:?}");
        assert_eq!(book.fut_drops(), [1, 0], "{shape:?}");
        assert_eq!(book.out_drops(), [1, 0], "{shape:?}");
        assert_eq!(s.in_flight(), 0, "{shape:?}: the slot is freed");
        assert_eq!(s.poll(), pending(), "{shape:?}");
        book.complete(1);
        assert_eq!(s.poll(), ok(1), "{shape:?}");
        assert_eq!(s.poll(), end(), "{shape:?}");
        drop(s);
        assert_eq!(book.fut_drops(), [1, 1], "{shape:?}");
        assert_eq!(book.out_drops(), [1, 1], "{shape:?}");
    }
}

#[test]
fn refill_panicking_in_drop_keeps_the_completed_output_for_the_next_poll() {
    for shape in SHAPES {
        let boom = Plan {
            panic_in_drop: true,
            ..instant()
        };
        let (source, book) = source(&[gate(), boom, gate()]);
        let mut s = Subject::new(shape, source, 1);
        assert_eq!(s.poll(), pending(), "{shape:?}");
        book.complete(0);
        // Job 0 finishes; its slot is refilled with job 1, which finishes on
        // its first poll and panics in `Drop`.
        assert_eq!(s.poll(), panicked(DROP_PANIC), "{shape:?}");
        assert_eq!(book.fut_drops(), [1, 1, 0], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 1, 0], "{shape:?}");
        assert_eq!(s.in_flight(), 1, "{shape:?}: only job 0's output is kept");
        assert_eq!(s.poll(), ok(0), "{shape:?}");
        assert_eq!(s.in_flight(), 1, "{shape:?}: job 2 runs");
        book.complete(2);
        assert_eq!(s.poll(), ok(2), "{shape:?}");
        assert_eq!(s.poll(), end(), "{shape:?}");
        drop(s);
        assert_eq!(book.fut_drops(), [1, 1, 1], "{shape:?}");
        assert_eq!(book.out_drops(), [1, 1, 1], "{shape:?}");
    }
}

/// Jobs 0 and 1 wait, 2 and 3 finish on their first poll; job `boom` panics
/// in `Drop`. After the first poll, 0 and 1 run and 3 waits as an output; in
/// order, 2 waits too, else 2 was yielded and job 4 took its slot.
fn started_with_waiting_output(
    shape: Shape,
    boom: usize,
    source_panics_in_drop: bool,
) -> (Subject, Book) {
    let mut plans = [gate(), gate(), instant(), instant(), gate(), gate()];
    if boom < plans.len() {
        plans[boom].panic_in_drop = true;
    }
    let (mut source, book) = source(&plans);
    if source_panics_in_drop {
        source = source.panic_in_drop();
    }
    let mut s = Subject::new(shape, source, 4);
    let expected = match shape {
        Shape::InOrder => pending(),
        _ => ok(2),
    };
    assert_eq!(s.poll(), expected, "{shape:?}");
    assert_eq!(s.in_flight(), 4, "{shape:?}");
    assert_eq!(book.source_calls(), pulled(shape), "{shape:?}");
    (s, book)
}

/// Jobs pulled by [`started_with_waiting_output`].
fn pulled(shape: Shape) -> usize {
    match shape {
        Shape::InOrder => 4,
        _ => 5,
    }
}

#[test]
fn future_panicking_in_drop_during_the_stream_drop_unwinds_and_drops_the_rest_once() {
    for shape in SHAPES {
        let (s, book) = started_with_waiting_output(shape, 1, false);
        assert_eq!(catch(|| drop(s)), Err(DROP_PANIC.to_string()), "{shape:?}");
        // Pulled jobs, running or not, dropped once; the unpulled ones with
        // the source.
        assert_eq!(book.fut_drops(), [1; 6], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 0, 1, 1, 0, 0], "{shape:?}");
        assert_eq!(
            (book.source_calls(), book.source_drops()),
            (pulled(shape), 1),
            "{shape:?}"
        );
    }
}

#[test]
fn future_panicking_in_drop_during_into_inner_unwinds_and_drops_the_source_once() {
    for shape in SHAPES {
        let (s, book) = started_with_waiting_output(shape, 0, false);
        let result = catch(|| drop(s.into_inner()));
        assert_eq!(result, Err(DROP_PANIC.to_string()), "{shape:?}");
        assert_eq!(
            book.source_drops(),
            1,
            "{shape:?}: the source is dropped, not leaked"
        );
        assert_eq!(book.fut_drops(), [1; 6], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 0, 1, 1, 0, 0], "{shape:?}");
    }
}

#[test]
fn future_panicking_in_drop_at_the_first_err_keeps_the_err_for_the_next_poll() {
    let fails = Plan {
        err: true,
        ..gate()
    };
    let boom = Plan {
        panic_in_drop: true,
        ..gate()
    };
    let (source, book) = source(&[fails, boom, gate(), gate()]);
    let mut s = Subject::new(Shape::Try, source, 3);
    assert_eq!(s.poll(), pending());
    book.complete(0);
    // The `Err` drops what is in flight; job 1's `Drop` panics. The panic
    // comes out, and the `Err` is kept for the next poll, as after a refill
    // that panics; then the stream ends.
    assert_eq!(s.poll(), panicked(DROP_PANIC));
    assert_eq!(book.fut_drops(), [1, 1, 1, 0]);
    assert_eq!(book.out_drops(), [0, 0, 0, 0]);
    assert_eq!(s.in_flight(), 1);
    assert!(!s.is_terminated());
    assert_eq!(s.poll(), Ok(Poll::Ready(Some((0, true)))));
    assert_eq!(book.out_drops(), [1, 0, 0, 0]);
    assert_eq!(s.in_flight(), 0);
    assert!(s.is_terminated());
    assert_eq!(s.poll(), end());
    assert_eq!(book.source_calls(), 3, "nothing pulled after the Err");
    drop(s);
    assert_eq!(book.fut_drops(), [1; 4]);
    assert_eq!(book.source_drops(), 1);
}

// ---------------------------------------------------------------------------
// Panics in the source's `Drop`

#[test]
fn iterator_panicking_in_drop_during_the_stream_drop_unwinds_and_drops_every_future_once() {
    for shape in SHAPES {
        let (s, book) = started_with_waiting_output(shape, usize::MAX, true);
        let result = catch(|| drop(s));
        assert_eq!(result, Err(SOURCE_DROP_PANIC.to_string()), "{shape:?}");
        assert_eq!(book.fut_drops(), [1; 6], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 0, 1, 1, 0, 0], "{shape:?}");
        assert_eq!(book.source_drops(), 1, "{shape:?}");
    }
}

#[test]
fn into_inner_hands_back_the_iterator_undropped_so_its_drop_panic_is_the_callers() {
    for shape in SHAPES {
        let (s, book) = started_with_waiting_output(shape, usize::MAX, true);
        let rest = s.into_inner();
        assert_eq!(book.source_drops(), 0, "{shape:?}");
        let pulled_4 = usize::from(pulled(shape) == 5);
        assert_eq!(book.fut_drops(), [1, 1, 1, 1, pulled_4, 0], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 0, 1, 1, 0, 0], "{shape:?}");
        let result = catch(|| drop(rest));
        assert_eq!(result, Err(SOURCE_DROP_PANIC.to_string()), "{shape:?}");
        assert_eq!(book.fut_drops(), [1; 6], "{shape:?}");
        assert_eq!(book.source_drops(), 1, "{shape:?}");
    }
}

// ---------------------------------------------------------------------------
// Panics in `IntoFuture::into_future`

/// The message of an [`Item`] whose `into_future` panics on purpose.
const INTO_FUTURE_PANIC: &str = "into_future panics on purpose";

/// An item that is only `IntoFuture` (a request builder, say): the stream
/// turns it into its future as it pulls it, and this conversion may panic
/// (dropping the job unpolled).
struct Item {
    job: Job<Res>,
    panics: bool,
}

impl std::future::IntoFuture for Item {
    type Output = Res;
    type IntoFuture = Job<Res>;

    fn into_future(self) -> Job<Res> {
        if self.panics {
            panic!("{INTO_FUTURE_PANIC}");
        }
        self.job
    }
}

/// Guarantees 8 and 2 with `indexed` (its index is the item's position in
/// the input, "even if an earlier item's future panicked"): item 1's
/// `into_future` panics as the first poll pulls it. The panic comes out of
/// that poll and job 1 is dropped, unpolled, once; item 1 was taken from the
/// source, so it counts as pulled and dropped, like an item whose future
/// panics on its first poll. Items 0 and 2 come out with indices 0 and 2,
/// in completion order, in input order, and over a `Stream` source.
///
/// (This found a defect, since fixed: the item was turned into its future
/// before the stream counted it as pulled, so the panic skipped the count:
/// item 2 got index 1, and every later index was one short.)
#[test]
fn into_future_panicking_consumes_its_index() {
    type Indexed = Vec<(usize, usize)>;
    fn run<S>(mut s: S, book: &Book, shape: &str) -> Indexed
    where
        S: Stream<Item = (usize, Res)> + Unpin,
    {
        let mut cx = noop_context();
        let first = catch(|| Pin::new(&mut s).poll_next(&mut cx).map(|_| ()));
        assert_eq!(first, Err(INTO_FUTURE_PANIC.to_string()), "{shape}");
        // Job 0 finished (and was dropped); job 1 dropped unpolled.
        assert_eq!(book.fut_drops(), [1, 1, 0], "{shape}");
        assert_eq!(book.polls(), [1, 0, 0], "{shape}");
        let mut out = vec![];
        loop {
            match Pin::new(&mut s).poll_next(&mut cx) {
                Poll::Ready(Some((index, Ok(output)))) => out.push((index, output.id())),
                Poll::Ready(Some((_, Err(output)))) => panic!("{shape}: Err {output:?}"),
                Poll::Ready(None) => break,
                Poll::Pending => panic!("{shape}: Pending after {out:?}"),
            }
        }
        drop(s);
        assert_eq!(book.fut_drops(), [1, 1, 1], "{shape}");
        assert_eq!(book.out_drops(), [1, 0, 1], "{shape}");
        assert_eq!(book.source_drops(), 1, "{shape}");
        out
    }
    fn items(source: Source) -> impl Iterator<Item = Item> {
        source.enumerate().map(|(i, job)| Item {
            job,
            panics: i == 1,
        })
    }
    let mut got = vec![];
    let (jobs, book) = source(&[instant(), gate(), instant()]);
    let s = items(jobs).limited_as_completed(3).indexed();
    got.push(("as completed", run(s, &book, "as completed")));
    let (jobs, book) = source(&[instant(), gate(), instant()]);
    let s = items(jobs).limited_in_order(3).indexed();
    got.push(("in order", run(s, &book, "in order")));
    let (jobs, book) = source(&[instant(), gate(), instant()]);
    let s =
        LimitedAsCompletedStreamExt::limited_as_completed(stream::iter(items(jobs)), 3).indexed();
    got.push(("stream source", run(s, &book, "stream source")));
    // (index, job id) of every output, per shape.
    let expected: Indexed = vec![(0, 0), (2, 2)];
    assert_eq!(
        got,
        [
            ("as completed", expected.clone()),
            ("in order", expected.clone()),
            ("stream source", expected),
        ]
    );
}
