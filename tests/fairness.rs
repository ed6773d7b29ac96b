//! Guarantees 5 and 6 (crate docs): no woken future starves behind outputs
//! that are ready at once, and the engine's waker records stay bounded by
//! the items alive at once, however many pass through.
//!
//! The starvation cases are the ones an outside audit found: a slow future
//! woken while every refill finishes on its first poll (a cache in front of a
//! slow service). The record counts look at the wakers the futures are polled
//! with (`Waker::data`): each distinct one is a record the engine keeps for
//! as long as the stream lives.

mod common;

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::{ready, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::channel::oneshot;
use futures::future::{poll_fn, BoxFuture, FutureExt};
use futures::stream::{self, Stream};
use limited_as_completed::{LimitedAsCompletedExt, LimitedAsCompletedStreamExt};

use common::poll_noop;

/// Item 0 waits on a channel; every later item is ready at once, forever.
fn slow_then_ready() -> (
    oneshot::Sender<usize>,
    impl Iterator<Item = BoxFuture<'static, usize>>,
) {
    let (tx, rx) = oneshot::channel::<usize>();
    let slow: BoxFuture<'static, usize> = rx.map(Result::unwrap).boxed();
    let fast = (1..).map(|i| ready(i).boxed());
    (tx, std::iter::once(slow).chain(fast))
}

/// [`slow_then_ready`] with `Result` outputs, none an `Err`.
fn slow_then_ready_ok() -> (
    oneshot::Sender<usize>,
    impl Iterator<Item = BoxFuture<'static, Result<usize, ()>>>,
) {
    let (tx, items) = slow_then_ready();
    (tx, items.map(|f| f.map(Ok).boxed()))
}

/// Polls until `want` comes out of `stream`; returns how many polls that
/// took. Every other poll must give an output (the refills are ready).
fn polls_until<S, T>(stream: &mut S, want: T) -> usize
where
    S: Stream<Item = T> + Unpin,
    T: PartialEq + std::fmt::Debug,
{
    for polls in 1..=100_000 {
        match poll_noop(stream) {
            Poll::Ready(Some(got)) if got == want => return polls,
            Poll::Ready(Some(_)) => {}
            other => panic!("expected an output, got {other:?}"),
        }
    }
    panic!("{want:?} was woken but did not come out in 100 000 polls");
}

/// The audit's reproducer: with limit 2, item 1 comes out first, then item 0
/// is woken (it can finish now) while every refill is ready at once.
#[test]
fn woken_future_is_not_starved_by_futures_ready_on_first_poll() {
    let (tx, items) = slow_then_ready();
    let mut stream = items.limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    tx.send(0).unwrap(); // wakes item 0: it can finish now
    assert_eq!(polls_until(&mut stream, 0), 2);
}

/// Guarantee 6's bound, exactly: a woken future that finishes when polled
/// comes out of one of the next `limit` calls. With ready refills queued
/// ahead of it, the worst case is reached: `limit - 1` outputs first.
#[test]
fn woken_future_comes_out_within_limit_polls_of_its_wake() {
    for limit in [1, 2, 3, 4, 8, 64] {
        let (tx, items) = slow_then_ready();
        let mut stream = items.limited_as_completed(limit);
        // The first poll pulls item 0 (pending) and `limit - 1` ready ones.
        let first = poll_noop(&mut stream);
        if limit == 1 {
            assert_eq!(first, Poll::Pending);
        } else {
            assert_eq!(first, Poll::Ready(Some(1)));
        }
        tx.send(0).unwrap();
        assert_eq!(polls_until(&mut stream, 0), limit, "limit {limit}");
    }
}

#[test]
fn no_starvation_in_every_completion_order_shape() {
    // Iterator, plain.
    let (tx, items) = slow_then_ready();
    let mut s = items.limited_as_completed(3);
    assert_eq!(poll_noop(&mut s), Poll::Ready(Some(1)));
    tx.send(0).unwrap();
    assert_eq!(polls_until(&mut s, 0), 3);

    // Iterator, fallible.
    let (tx, items) = slow_then_ready_ok();
    let mut s = items.try_limited_as_completed(3);
    assert_eq!(poll_noop(&mut s), Poll::Ready(Some(Ok(1))));
    tx.send(0).unwrap();
    assert_eq!(polls_until(&mut s, Ok(0)), 3);

    // Stream source, plain.
    let (tx, items) = slow_then_ready();
    let mut s = LimitedAsCompletedStreamExt::limited_as_completed(stream::iter(items), 3);
    assert_eq!(poll_noop(&mut s), Poll::Ready(Some(1)));
    tx.send(0).unwrap();
    assert_eq!(polls_until(&mut s, 0), 3);

    // Stream source, fallible.
    let (tx, items) = slow_then_ready_ok();
    let mut s = LimitedAsCompletedStreamExt::try_limited_as_completed(stream::iter(items), 3);
    assert_eq!(poll_noop(&mut s), Poll::Ready(Some(Ok(1))));
    tx.send(0).unwrap();
    assert_eq!(polls_until(&mut s, Ok(0)), 3);
}

#[test]
fn no_starvation_with_indexed() {
    let (tx, items) = slow_then_ready();
    let mut s = items.limited_as_completed(3).indexed();
    assert_eq!(poll_noop(&mut s), Poll::Ready(Some((1, 1))));
    tx.send(0).unwrap();
    assert_eq!(polls_until(&mut s, (0, 0)), 3);

    let (tx, items) = slow_then_ready_ok();
    let mut s =
        LimitedAsCompletedStreamExt::try_limited_as_completed(stream::iter(items), 3).indexed();
    assert_eq!(poll_noop(&mut s), Poll::Ready(Some((1, Ok(1)))));
    tx.send(0).unwrap();
    assert_eq!(polls_until(&mut s, (0, Ok(0))), 3);
}

// ---------------------------------------------------------------------------
// Waker records

/// The distinct wakers futures were polled with.
type Records = Rc<RefCell<HashSet<usize>>>;

/// Wraps a future; notes the waker of every poll in `records`.
struct Noting<F> {
    inner: F,
    records: Records,
}

impl<F: Future + Unpin> Future for Noting<F> {
    type Output = F::Output;

    // Tests are not built with the crate's MSRV.
    #[allow(clippy::incompatible_msrv)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.records.borrow_mut().insert(cx.waker().data() as usize);
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// Drains `stream` with a no-op waker, every future waking itself or being
/// ready, and checks the outputs are `0..items` in some order.
fn drain_all<S: Stream<Item = usize> + Unpin>(stream: &mut S, items: usize) {
    let mut seen = vec![false; items];
    let mut idle = 0;
    loop {
        match poll_noop(stream) {
            Poll::Ready(Some(i)) => {
                assert!(!seen[i], "output {i} yielded twice");
                seen[i] = true;
                idle = 0;
            }
            Poll::Ready(None) => break,
            Poll::Pending => {
                idle += 1;
                assert!(idle < 3, "stream stalled");
            }
        }
    }
    assert!(seen.iter().all(|&s| s), "an output was lost");
}

const ITEMS: usize = if cfg!(miri) { 500 } else { 20_000 };

/// Audit case 2: futures that wake themselves as they finish. Each refill
/// finds its slot's waker record with a wake queued; the record must be
/// reused once that wake is taken, not replaced for good.
#[test]
fn futures_waking_themselves_as_they_finish_cost_no_record_per_item() {
    let records = Records::default();
    let items = (0..ITEMS).map(|i| Noting {
        inner: poll_fn(move |cx: &mut Context<'_>| {
            cx.waker().wake_by_ref();
            Poll::Ready(i)
        }),
        records: Rc::clone(&records),
    });
    let mut stream = items.limited_as_completed(4);
    drain_all(&mut stream, ITEMS);
    let count = records.borrow().len();
    // One per slot, and as many again for records whose wake is still
    // queued when their slot is refilled, until the next poll takes it.
    assert!(
        count <= 2 * 4,
        "{count} waker records for {ITEMS} items, 4 in flight"
    );
}

/// Audit case 3: one waker kept for as long as the stream lives (item 0's,
/// as by a registry that never lets go) must not stop the reuse of every
/// other record. Every later item keeps a clone of its waker in one shared
/// place (replacing the one before), wakes itself, is pending once, then
/// finishes.
#[test]
fn a_waker_kept_forever_costs_its_own_record_and_nothing_more() {
    let records = Records::default();
    let kept_forever = RefCell::new(None);
    let registry = RefCell::new(None);
    let items = common::kept_waker_items(ITEMS, &kept_forever, &registry).map(|inner| Noting {
        inner,
        records: Rc::clone(&records),
    });
    let mut stream = items.limited_as_completed(1);
    drain_all(&mut stream, ITEMS);
    drop(stream);
    let count = records.borrow().len();
    // The slot's, the one kept forever, the registry's, and one whose
    // registry clone is being replaced.
    assert!(
        count <= 4,
        "{count} waker records for {ITEMS} items, 1 in flight, 1 waker kept"
    );
    assert!(kept_forever.borrow().is_some());
}
