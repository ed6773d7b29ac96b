//! Edge cases an outside review found easy to get wrong, each named by the
//! guarantee (crate docs) it holds the code to: size hints and books after a
//! stop or a panic, a woken future while the source keeps panicking,
//! cancellation that panics midway, and `set_limit(0)` through `Indexed`.
//! (The review's memory cases live in `tests/alloc.rs`, beside the counting
//! allocator.)

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures::stream::Stream;
use futures_test::task::noop_context;
use limited_as_completed::LimitedAsCompletedExt;

use common::{catch, poll_noop, CountingIter, Jobs};

/// Ready on its first poll; keeps a clone of its waker first: forever (in
/// `forever`), or until the next item's poll replaces it (in `last`).
struct Keeper<'a> {
    forever: bool,
    kept: &'a RefCell<Vec<Waker>>,
    last: &'a RefCell<Option<Waker>>,
    records: &'a RefCell<HashSet<usize>>,
}

impl Future for Keeper<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // `Waker::data` is newer than the MSRV; only the tests use it.
        #[allow(clippy::incompatible_msrv)]
        self.records.borrow_mut().insert(cx.waker().data() as usize);
        if self.forever {
            self.kept.borrow_mut().push(cx.waker().clone());
        } else {
            *self.last.borrow_mut() = Some(cx.waker().clone());
        }
        Poll::Ready(())
    }
}

/// Guarantee 5: with `held` wakers kept forever, a running stream makes at
/// most two records per waker kept (its own, and one while the stream looks
/// for records to reuse; the engine sweeps its retired list once that has
/// grown to twice the wakers held at the last sweep). The records are
/// counted as the distinct wakers the futures see.
#[test]
fn a_waker_kept_forever_costs_at_most_two_records_in_a_running_stream() {
    let held = if cfg!(miri) { 20 } else { 100 };
    let churn = if cfg!(miri) { 200 } else { 5_000 };
    let kept = RefCell::new(Vec::new());
    let last = RefCell::new(None);
    let records = RefCell::new(HashSet::new());
    let items = (0..held + churn).map(|i| Keeper {
        forever: i < held,
        kept: &kept,
        last: &last,
        records: &records,
    });
    let mut stream = items.limited_as_completed(1);
    let mut outputs = 0;
    while let Poll::Ready(Some(())) = poll_noop(&mut stream) {
        outputs += 1;
    }
    assert_eq!(outputs, held + churn);
    assert_eq!(kept.borrow().len(), held);
    let records = records.borrow().len();
    // One slot, two records for each of the `held` + 1 wakers kept, and the
    // sweep's minimum of 8.
    assert!(
        records <= 1 + 2 * (held + 1) + 8,
        "{records} waker records for 1 slot and {held} + 1 wakers kept"
    );
}

// ---------------------------------------------------------------------------
// Guarantee 12: `size_hint` once the source has ended.

/// Guarantee 12 as documented: the `try_` streams report a lower bound of
/// at most 1 even once the source has ended (any output may be the last),
/// not `(in_flight, Some(in_flight))` as the other streams do.
#[test]
fn try_streams_size_hint_once_the_source_ended_is_not_exact() {
    let jobs = Jobs::<Result<u32, ()>>::new();
    let mut stream = jobs.jobs(3).try_limited_as_completed(4);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!((stream.size_hint(), stream.in_flight()), ((1, Some(3)), 3));

    let jobs = Jobs::<Result<u32, ()>>::new();
    let mut stream = jobs.jobs(3).try_limited_in_order(4);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!((stream.size_hint(), stream.in_flight()), ((1, Some(3)), 3));
}

// ---------------------------------------------------------------------------
// Guarantees 2, 6 and 8: a woken future while the source panics.

/// Guarantees 2, 6 and 8 as documented: a source that panicked is called
/// again first thing, so while it keeps panicking no call reaches the woken
/// futures, and the output kept from the panicked refill waits too; the
/// first call that gets past the source polls the woken future and hands the
/// kept output out. Here the source panics on two calls in a row.
#[test]
fn a_woken_future_waits_while_the_source_keeps_panicking_then_is_polled() {
    const SOURCE_PANIC: &str = "edge case: the source panics on purpose";
    let jobs = Jobs::<u32>::new();
    let source = {
        let made = jobs.jobs(10);
        let calls = Cell::new(0);
        let mut made = made.into_iter();
        std::iter::from_fn(move || {
            calls.set(calls.get() + 1);
            // Calls 3 and 4: the refill after output 1, and the next poll's.
            if (3..=4).contains(&calls.get()) {
                panic!("{SOURCE_PANIC}");
            }
            made.next()
        })
    };
    let (source, _) = CountingIter::new(source);
    let mut stream = source.limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);

    jobs.complete(1, 1);
    let caught = catch(|| poll_noop(&mut stream)).expect_err("the refill panics");
    assert_eq!(caught.message, SOURCE_PANIC);
    assert_eq!(stream.in_flight(), 2, "job 0 runs; output 1 is kept");

    // Job 0 finishes and is woken, before the next call begins; that call
    // panics in the source before it reaches job 0.
    jobs.complete(0, 0);
    let polls = jobs.polls(0);
    let caught = catch(|| poll_noop(&mut stream)).expect_err("the source panics again");
    assert_eq!(caught.message, SOURCE_PANIC);
    assert_eq!(
        jobs.polls(0),
        polls,
        "job 0 polled by a call that panicked first"
    );

    // The next call gets past the source: job 0 is polled, output 1 comes out.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_eq!(jobs.polls(0), polls + 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
}

// ---------------------------------------------------------------------------
// Guarantee 2: the books after a panic or a stop.

/// Guarantee 2 as documented: after a future panics (Guarantee 8) or a
/// `try_` stream stops (Guarantee 11), `pulled == yielded + in_flight +
/// dropped`.
#[test]
fn pulled_is_yielded_plus_in_flight_plus_dropped() {
    let jobs = Jobs::<u32>::new();
    let items = vec![
        jobs.job(),
        jobs.job().panic_on_poll(2),
        jobs.job(),
        jobs.job(),
    ];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.wake(1);
    assert!(catch(|| poll_noop(&mut stream)).is_err());
    jobs.complete(0, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    // Pulled 0, 1, 2, 3; yielded 0; 1 dropped by its panic; 2 and 3 run.
    assert_eq!((counts.items(), 1, stream.in_flight()), (4, 1, 2));
}

// ---------------------------------------------------------------------------
// Guarantee 10 with Guarantee 11: an `Err` seen by `poll_progress`.

/// an `Err` that finishes in `poll_progress` of
/// `try_limited_in_order` while the items before it still run keeps them
/// running, drops the ones after it, and the stream reports its state
/// consistently meanwhile.
#[test]
fn try_in_order_err_seen_by_progress_keeps_the_books_until_the_end() {
    let jobs = Jobs::<Result<u32, &str>>::new();
    let (iter, counts) = jobs.counted(10);
    let mut stream = iter.try_limited_in_order(4);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    jobs.complete(1, Err("one"));
    assert_eq!(stream.poll_progress(&mut noop_context()), Poll::Pending);
    assert_eq!(jobs.dropped_ids(), [1, 2, 3]);
    assert_eq!(stream.in_flight(), 2);
    assert_eq!(stream.size_hint(), (1, Some(2)));
    assert!(!futures::stream::FusedStream::is_terminated(&stream));
    jobs.complete(0, Ok(0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));
    assert_eq!(stream.size_hint(), (1, Some(1)));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Err("one"))));
    assert_eq!(stream.size_hint(), (0, Some(0)));
    assert!(futures::stream::FusedStream::is_terminated(&stream));
    assert_eq!(counts.calls(), 4);
}

// ---------------------------------------------------------------------------
// Guarantees 7, 8, 10 and 11: a `Drop` that panics while the first `Err`
// drops what it made moot, in `poll_progress`.

/// in `try_limited_in_order`, items after the `Err` are dropped newest
/// first; each `Drop` that panics comes out of one call, the next call goes
/// on where it stopped, and every future is dropped exactly once.
#[test]
fn try_in_order_cancel_panicking_in_drop_goes_on_where_it_stopped() {
    let jobs = Jobs::<Result<u32, &str>>::new();
    let items = vec![
        jobs.job(),
        jobs.job(),
        jobs.job().panic_in_drop(),
        jobs.job().panic_in_drop(),
        jobs.job(),
    ];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.try_limited_in_order(4);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);

    jobs.complete(1, Err("one"));
    let caught = catch(|| stream.poll_progress(&mut noop_context())).expect_err("3's Drop");
    assert_eq!(caught.message, common::DROP_PANIC);
    assert_eq!(jobs.dropped_ids(), [1, 3]);
    assert_eq!(
        stream.in_flight(),
        3,
        "0 runs, 1 holds its Err, 2 not dropped yet"
    );

    let caught = catch(|| stream.poll_progress(&mut noop_context())).expect_err("2's Drop");
    assert_eq!(caught.message, common::DROP_PANIC);
    assert_eq!(jobs.dropped_ids(), [1, 2, 3]);
    assert_eq!(stream.in_flight(), 2);
    assert_eq!(stream.poll_progress(&mut noop_context()), Poll::Pending);

    jobs.complete(0, Ok(0));
    let outputs: Vec<_> = futures::executor::block_on_stream(&mut stream).collect();
    assert_eq!(outputs, [Ok(0), Err("one")]);
    assert_eq!(jobs.future_drops(), [1, 1, 1, 1, 0]);
    assert_eq!(counts.calls(), 4, "item 4 was never pulled");
    assert!(futures::stream::FusedStream::is_terminated(&stream));
}

/// in `try_limited_as_completed`, an `Err` seen by `poll_progress`
/// drops every running future at once; a `Drop` that panics comes out of
/// that call, the others are still dropped, once each, and the outputs held
/// before the `Err`, then the `Err`, come out.
#[test]
fn try_as_completed_stop_in_progress_with_a_drop_panic_drops_the_rest_once() {
    let jobs = Jobs::<Result<u32, &str>>::new();
    let items = vec![
        jobs.job(),
        jobs.job().panic_in_drop(),
        jobs.job(),
        jobs.job(),
        jobs.job(),
    ];
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.try_limited_as_completed(4);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);

    jobs.complete(3, Ok(3));
    jobs.complete(2, Err("two"));
    let caught = catch(|| stream.poll_progress(&mut noop_context())).expect_err("1's Drop");
    assert_eq!(caught.message, common::DROP_PANIC);
    assert_eq!(jobs.future_drops(), [1, 1, 1, 1, 0]);
    assert_eq!(stream.in_flight(), 2);
    assert_eq!(stream.size_hint(), (1, Some(2)));
    assert_eq!(stream.poll_progress(&mut noop_context()), Poll::Ready(()));
    let outputs: Vec<_> = futures::executor::block_on_stream(&mut stream).collect();
    assert_eq!(outputs, [Ok(3), Err("two")]);
    assert_eq!(counts.calls(), 4);
    assert!(futures::stream::FusedStream::is_terminated(&stream));
}

// ---------------------------------------------------------------------------
// Guarantee 9 through `Indexed` and through the trait.

/// `set_limit(0)` on `Indexed`, inherent or through `LimitedStream`,
/// panics at the caller's line with a message naming the value.
#[test]
fn indexed_set_limit_0_panics_at_the_caller() {
    let mut stream = (0..3)
        .map(|i| async move { i })
        .limited_as_completed(2)
        .indexed();
    let caught = catch(|| stream.set_limit(0)).expect_err("limit 0");
    assert_eq!((caught.file.as_str(), caught.line), (file!(), line!() - 1));
    assert!(caught.message.contains("got 0"), "{}", caught.message);
    let caught = catch(|| limited_as_completed::LimitedStream::set_limit(&mut stream, 0))
        .expect_err("limit 0");
    assert_eq!((caught.file.as_str(), caught.line), (file!(), line!() - 2));
    assert_eq!(stream.limit(), 2);
}
