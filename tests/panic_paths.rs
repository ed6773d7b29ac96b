//! Panic paths: panics in a future's poll (first and later), in `Iterator::next`, in a future's `Drop` and in the source's `Drop`, with exact drop counts for every future, output and source.
//!
//! Every scenario runs over the four shapes of the engine:
//! `limited_as_completed`, `limited_in_order`, `try_limited_as_completed` (all
//! over an iterator) and `limited_as_completed` over a `Stream` source. The
//! futures are `!Unpin` and stored inline in their slots. A `Drop` that panics
//! does so only when the thread is not already unwinding (a second panic would
//! abort, as it does anywhere in Rust).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomPinned;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Once;
use std::task::{Context, Poll, Waker};

use futures::stream::{self, FusedStream, Stream};
use limited_as_completed::{
    LimitedAsCompleted, LimitedAsCompletedExt, LimitedAsCompletedStream,
    LimitedAsCompletedStreamExt, LimitedInOrder, TryLimitedAsCompleted,
};

const POLL_PANIC: &str = "panic_paths: a future panics in poll";
const NEXT_PANIC: &str = "panic_paths: the iterator panics in next";
const DROP_PANIC: &str = "panic_paths: a future panics in drop";
const SOURCE_DROP_PANIC: &str = "panic_paths: the iterator panics in drop";

/// Keeps the panics on purpose out of the test output.
fn quiet_panics_on_purpose() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let message = payload_message(info.payload());
            if ![POLL_PANIC, NEXT_PANIC, DROP_PANIC, SOURCE_DROP_PANIC].contains(&message.as_str())
            {
                previous(info);
            }
        }));
    });
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Runs `f`, returning its value or the message it panicked with.
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| payload_message(&*payload))
}

// ---------------------------------------------------------------------------
// Book: what happened to every job, output and the source.

#[derive(Default)]
struct Book {
    completed: RefCell<Vec<bool>>,
    wakers: RefCell<Vec<Option<Waker>>>,
    polls: RefCell<Vec<usize>>,
    fut_drops: RefCell<Vec<usize>>,
    out_drops: RefCell<Vec<usize>>,
    source_calls: Cell<usize>,
    source_drops: Cell<usize>,
}

impl Book {
    fn new(n: usize) -> Rc<Self> {
        let book = Self::default();
        *book.completed.borrow_mut() = vec![false; n];
        *book.wakers.borrow_mut() = vec![None; n];
        *book.polls.borrow_mut() = vec![0; n];
        *book.fut_drops.borrow_mut() = vec![0; n];
        *book.out_drops.borrow_mut() = vec![0; n];
        Rc::new(book)
    }

    /// Gives job `id` its output and wakes it.
    fn complete(&self, id: usize) {
        self.completed.borrow_mut()[id] = true;
        self.wake(id);
    }

    /// Wakes job `id` (it must have been polled).
    fn wake(&self, id: usize) {
        let waker = self.wakers.borrow()[id].clone();
        waker.expect("job was polled").wake();
    }

    fn fut_drops(&self) -> Vec<usize> {
        self.fut_drops.borrow().clone()
    }

    fn out_drops(&self) -> Vec<usize> {
        self.out_drops.borrow().clone()
    }

    fn polls(&self) -> Vec<usize> {
        self.polls.borrow().clone()
    }
}

/// An output; counts its drop.
struct Out {
    id: usize,
    book: Rc<Book>,
}

impl Drop for Out {
    fn drop(&mut self) {
        self.book.out_drops.borrow_mut()[self.id] += 1;
    }
}

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

/// A `!Unpin` future controlled through its [`Book`].
struct Job {
    id: usize,
    plan: Plan,
    book: Rc<Book>,
    _pin: PhantomPinned,
}

impl Future for Job {
    type Output = Result<Out, Out>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Out, Out>> {
        let this = self.into_ref().get_ref();
        let id = this.id;
        let polls = {
            let mut polls = this.book.polls.borrow_mut();
            polls[id] += 1;
            polls[id]
        };
        if this.plan.panic_on_poll == Some(polls) {
            panic!("{}", POLL_PANIC);
        }
        if this.plan.instant || this.book.completed.borrow()[id] {
            let out = Out {
                id,
                book: Rc::clone(&this.book),
            };
            return Poll::Ready(if this.plan.err { Err(out) } else { Ok(out) });
        }
        this.book.wakers.borrow_mut()[id] = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.book.fut_drops.borrow_mut()[self.id] += 1;
        let waker = self.book.wakers.borrow_mut()[self.id].take();
        drop(waker);
        if self.plan.panic_in_drop && !std::thread::panicking() {
            panic!("{}", DROP_PANIC);
        }
    }
}

/// The source: hands out the jobs in order; counts its calls; may panic once
/// in `next` and in `Drop`.
struct Source {
    jobs: std::vec::IntoIter<Job>,
    book: Rc<Book>,
    ended: bool,
    panic_on_call: Option<usize>,
    panic_in_drop: bool,
}

impl Iterator for Source {
    type Item = Job;

    fn next(&mut self) -> Option<Job> {
        let call = self.book.source_calls.get() + 1;
        self.book.source_calls.set(call);
        assert!(!self.ended, "source called again after it returned None");
        if self.panic_on_call == Some(call) {
            self.panic_on_call = None;
            panic!("{}", NEXT_PANIC);
        }
        let job = self.jobs.next();
        self.ended = job.is_none();
        job
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.book.source_drops.set(self.book.source_drops.get() + 1);
        if self.panic_in_drop && !std::thread::panicking() {
            panic!("{}", SOURCE_DROP_PANIC);
        }
    }
}

/// Builds the source and its book for jobs with these plans.
fn source(plans: &[Plan]) -> (Source, Rc<Book>) {
    let book = Book::new(plans.len());
    let jobs: Vec<Job> = plans
        .iter()
        .enumerate()
        .map(|(id, &plan)| Job {
            id,
            plan,
            book: Rc::clone(&book),
            _pin: PhantomPinned,
        })
        .collect();
    (
        Source {
            jobs: jobs.into_iter(),
            book: Rc::clone(&book),
            ended: false,
            panic_on_call: None,
            panic_in_drop: false,
        },
        book,
    )
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

    fn poll_raw(&mut self) -> Poll<Option<Result<Out, Out>>> {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
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
                    Ok(out) => (out.id, false),
                    Err(out) => (out.id, true),
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
    quiet_panics_on_purpose();
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
        assert_eq!(book.source_calls.get(), 2, "{shape:?}");
        assert_eq!(s.in_flight(), 1, "{shape:?}");
        // The stream goes on: it pulls job 2 into the freed slot.
        assert_eq!(s.poll(), pending(), "{shape:?}");
        // ... and, with a slot still free, finds the iterator ended.
        assert_eq!(
            (s.in_flight(), book.source_calls.get()),
            (2, 4),
            "{shape:?}"
        );
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
            (book.source_calls.get(), book.source_drops.get()),
            (4, 1),
            "{shape:?}"
        );
    }
}

#[test]
fn future_panicking_on_a_later_poll_is_dropped_once_and_the_rest_come_out() {
    quiet_panics_on_purpose();
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
        assert_eq!(book.source_drops.get(), 1, "{shape:?}");
    }
}

#[test]
fn iterator_panicking_in_next_is_called_again_and_loses_nothing() {
    quiet_panics_on_purpose();
    for shape in SHAPES {
        let (mut source, book) = source(&[gate(), gate()]);
        source.panic_on_call = Some(2);
        let mut s = Subject::new(shape, source, 2);
        assert_eq!(s.poll(), panicked(NEXT_PANIC), "{shape:?}");
        assert_eq!(
            (s.in_flight(), book.source_calls.get()),
            (1, 2),
            "{shape:?}"
        );
        assert_eq!(book.fut_drops(), [0, 0], "{shape:?}");
        // Called again on the next poll: job 1 starts.
        assert_eq!(s.poll(), pending(), "{shape:?}");
        assert_eq!(
            (s.in_flight(), book.source_calls.get()),
            (2, 3),
            "{shape:?}"
        );
        book.complete(0);
        book.complete(1);
        assert_eq!(s.poll(), ok(0), "{shape:?}");
        assert_eq!(s.poll(), ok(1), "{shape:?}");
        assert_eq!(s.poll(), end(), "{shape:?}");
        drop(s);
        assert_eq!(book.fut_drops(), [1, 1], "{shape:?}");
        assert_eq!(book.out_drops(), [1, 1], "{shape:?}");
        assert_eq!(
            (book.source_calls.get(), book.source_drops.get()),
            (4, 1),
            "{shape:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Panics in a future's `Drop`

#[test]
fn future_panicking_in_drop_when_it_finishes_frees_its_slot() {
    quiet_panics_on_purpose();
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
        assert_eq!(book.source_drops.get(), 1, "{shape:?}");
    }
}

#[test]
fn future_finishing_on_its_first_poll_and_panicking_in_drop_frees_its_slot() {
    quiet_panics_on_purpose();
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
    quiet_panics_on_purpose();
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
) -> (Subject, Rc<Book>) {
    let mut plans = [gate(), gate(), instant(), instant(), gate(), gate()];
    if boom < plans.len() {
        plans[boom].panic_in_drop = true;
    }
    let (mut source, book) = source(&plans);
    source.panic_in_drop = source_panics_in_drop;
    let mut s = Subject::new(shape, source, 4);
    let expected = match shape {
        Shape::InOrder => pending(),
        _ => ok(2),
    };
    assert_eq!(s.poll(), expected, "{shape:?}");
    assert_eq!(s.in_flight(), 4, "{shape:?}");
    assert_eq!(book.source_calls.get(), pulled(shape), "{shape:?}");
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
    quiet_panics_on_purpose();
    for shape in SHAPES {
        let (s, book) = started_with_waiting_output(shape, 1, false);
        assert_eq!(catch(|| drop(s)), Err(DROP_PANIC.to_string()), "{shape:?}");
        // Pulled jobs, running or not, dropped once; the unpulled ones with
        // the source.
        assert_eq!(book.fut_drops(), [1; 6], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 0, 1, 1, 0, 0], "{shape:?}");
        assert_eq!(
            (book.source_calls.get(), book.source_drops.get()),
            (pulled(shape), 1),
            "{shape:?}"
        );
    }
}

#[test]
fn future_panicking_in_drop_during_into_inner_unwinds_and_drops_the_source_once() {
    quiet_panics_on_purpose();
    for shape in SHAPES {
        let (s, book) = started_with_waiting_output(shape, 0, false);
        let result = catch(|| drop(s.into_inner()));
        assert_eq!(result, Err(DROP_PANIC.to_string()), "{shape:?}");
        assert_eq!(
            book.source_drops.get(),
            1,
            "{shape:?}: the source is dropped, not leaked"
        );
        assert_eq!(book.fut_drops(), [1; 6], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 0, 1, 1, 0, 0], "{shape:?}");
    }
}

#[test]
fn future_panicking_in_drop_at_the_first_err_keeps_the_err_for_the_next_poll() {
    quiet_panics_on_purpose();
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
    assert_eq!(book.source_calls.get(), 3, "nothing pulled after the Err");
    drop(s);
    assert_eq!(book.fut_drops(), [1; 4]);
    assert_eq!(book.source_drops.get(), 1);
}

// ---------------------------------------------------------------------------
// Panics in the source's `Drop`

#[test]
fn iterator_panicking_in_drop_during_the_stream_drop_unwinds_and_drops_every_future_once() {
    quiet_panics_on_purpose();
    for shape in SHAPES {
        let (s, book) = started_with_waiting_output(shape, usize::MAX, true);
        let result = catch(|| drop(s));
        assert_eq!(result, Err(SOURCE_DROP_PANIC.to_string()), "{shape:?}");
        assert_eq!(book.fut_drops(), [1; 6], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 0, 1, 1, 0, 0], "{shape:?}");
        assert_eq!(book.source_drops.get(), 1, "{shape:?}");
    }
}

#[test]
fn into_inner_hands_back_the_iterator_undropped_so_its_drop_panic_is_the_callers() {
    quiet_panics_on_purpose();
    for shape in SHAPES {
        let (s, book) = started_with_waiting_output(shape, usize::MAX, true);
        let rest = s.into_inner();
        assert_eq!(book.source_drops.get(), 0, "{shape:?}");
        let pulled_4 = usize::from(pulled(shape) == 5);
        assert_eq!(book.fut_drops(), [1, 1, 1, 1, pulled_4, 0], "{shape:?}");
        assert_eq!(book.out_drops(), [0, 0, 1, 1, 0, 0], "{shape:?}");
        let result = catch(|| drop(rest));
        assert_eq!(result, Err(SOURCE_DROP_PANIC.to_string()), "{shape:?}");
        assert_eq!(book.fut_drops(), [1; 6], "{shape:?}");
        assert_eq!(book.source_drops.get(), 1, "{shape:?}");
    }
}
