//! An outside review's reproducers: each test names the guarantee (crate
//! docs) it holds the code to. Tests marked "fails" show a defect on the
//! code they were written against; tests marked "pins" hold an edge case
//! that behaves correctly but is easy to break or is described wrongly by
//! the docs.
//!
//! The memory tests count live heap bytes per thread with a counting global
//! allocator (as `tests/alloc.rs` does), so tests running in parallel on
//! other threads do not disturb them.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures::stream::Stream;
use futures_test::task::noop_context;
use limited_as_completed::LimitedAsCompletedExt;

use common::{catch, poll_noop, quiet_panics_on_purpose, CountingIter, Jobs};

// ---------------------------------------------------------------------------
// Counting allocator: live bytes per thread.

struct Counting;

thread_local! {
    /// Bytes allocated and not yet freed by this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn live(change: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get() + change));
}

// SAFETY: every method forwards to `System` unchanged; counting touches only
// a thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        live(layout.size() as isize);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        live(layout.size() as isize);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        live(new_size as isize - layout.size() as isize);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live heap bytes of this thread.
fn live_bytes() -> isize {
    LIVE.with(Cell::get)
}

// ---------------------------------------------------------------------------
// Guarantee 5 (memory bounded by the items alive, however many pass
// through) with Guarantee 8 (a panicking future is dropped, the stream goes
// on).

/// The message of [`Churn`]'s panic.
const CHURN_PANIC: &str = "review: a future panics on its second poll on purpose";

/// Item 0 never finishes (the head of the line); every later item wakes
/// itself on its first poll and panics on its second. Allocates nothing.
enum Churn {
    Stuck,
    PanicsOnSecondPoll { polled: bool },
}

impl Future for Churn {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.get_mut() {
            Churn::Stuck => Poll::Pending,
            Churn::PanicsOnSecondPoll { polled } => {
                if *polled {
                    panic!("{CHURN_PANIC}");
                }
                *polled = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

fn churn() -> impl Iterator<Item = Churn> {
    std::iter::once(Churn::Stuck).chain(std::iter::repeat_with(|| Churn::PanicsOnSecondPoll {
        polled: false,
    }))
}

/// Polls `stream` (no-op waker) until `panics` futures have panicked out of
/// it, catching each panic; nothing ever comes out.
fn run_panics<S: Stream + Unpin>(stream: &mut S, panics: usize) {
    let mut seen = 0;
    let mut calls = 0;
    while seen < panics {
        calls += 1;
        assert!(calls <= 3 * panics + 3, "the stream stalled");
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_noop(stream))) {
            Ok(Poll::Pending) => {}
            Ok(Poll::Ready(_)) => panic!("nothing can come out: item 0 never finishes"),
            Err(_) => seen += 1,
        }
    }
}

/// Live bytes added by `more` further panicking items after `warm_up` of
/// them went through `stream`.
fn growth<S: Stream + Unpin>(stream: &mut S, warm_up: usize, more: usize) -> isize {
    quiet_panics_on_purpose(&[CHURN_PANIC]);
    run_panics(stream, warm_up);
    let before = live_bytes();
    run_panics(stream, more);
    live_bytes() - before
}

const WARM_UP: usize = if cfg!(miri) { 20 } else { 1_000 };
const MORE: usize = if cfg!(miri) { 300 } else { 20_000 };

/// Fails. The in-order core keeps an `order` entry for every item pulled
/// until it reaches the front of the line, also for items whose future
/// panicked (they are skipped only there). Behind a head that never
/// finishes, every item that panics after its first poll leaves its entry
/// behind, so memory grows with the items passed through, not with the
/// items alive (2 here).
#[test]
fn in_order_memory_stays_bounded_while_items_panic_behind_a_stuck_head() {
    let mut stream = churn().limited_in_order(2);
    let grown = growth(&mut stream, WARM_UP, MORE);
    assert!(stream.in_flight() <= 2, "the head and one churning item");
    assert!(
        grown < 1024,
        "{grown} bytes more after {MORE} more items panicked through 2 places"
    );
}

/// Pins (the control for the test above): the completion-order core holds
/// nothing per item that panicked.
#[test]
fn as_completed_memory_stays_bounded_while_items_panic_beside_a_stuck_one() {
    let mut stream = churn().limited_as_completed(2);
    let grown = growth(&mut stream, WARM_UP, MORE);
    assert!(stream.in_flight() <= 2);
    assert!(
        grown < 1024,
        "{grown} bytes more after {MORE} more items panicked through 2 places"
    );
}

// ---------------------------------------------------------------------------
// Guarantee 5: "a waker that outlives its future, even one kept forever,
// costs its own small record and nothing more".

/// Pending forever; the one given a cell puts a clone of its waker there
/// (a registry that never lets go). Allocates nothing.
struct KeepsWaker<'a> {
    cell: Option<&'a RefCell<Option<Waker>>>,
}

impl Future for KeepsWaker<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(cell) = self.cell {
            *cell.borrow_mut() = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

const WIDE: usize = if cfg!(miri) { 256 } else { 4096 };

/// Fails. Every waker holds a count of the state that owns *all* waker
/// records, so one waker kept after the stream is gone keeps every record
/// the stream ever made (here 4096, in segments with room for 8191: some
/// 390 KB), not "its own small record".
#[test]
fn a_waker_kept_after_the_stream_is_dropped_keeps_only_its_own_record() {
    let kept = RefCell::new(None);
    let before = live_bytes();
    let items = (0..WIDE).map(|i| KeepsWaker {
        cell: (i == 0).then_some(&kept),
    });
    let mut stream = items.limited_as_completed(WIDE);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.in_flight(), WIDE);
    drop(stream);
    let retained = live_bytes() - before;
    assert!(kept.borrow().is_some());
    assert!(
        retained < 1024,
        "one kept waker retains {retained} bytes once the stream is gone"
    );
    drop(kept);
    assert_eq!(live_bytes(), before, "everything is freed with the waker");
}

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

/// Fails (a doc claim, by a factor of two): with `held` wakers kept
/// forever, the engine goes on making new records while its retired list
/// is shorter than twice the wakers held at the last sweep, so a kept waker
/// costs up to two records, not "its own small record and nothing more"
/// (Guarantee 5; the changelog says "each costing only its own record").
/// The records are counted as the distinct wakers the futures see.
#[test]
fn a_waker_kept_forever_costs_one_record_in_a_running_stream() {
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
    // One slot, the `held` records kept forever, the one `last` keeps, and
    // the sweep's minimum of 8.
    assert!(
        records <= 1 + held + 1 + 8,
        "{records} waker records for 1 slot and {held} + 1 wakers kept"
    );
}

// ---------------------------------------------------------------------------
// Guarantee 12: `size_hint` "is exactly `(in_flight, Some(in_flight))` once
// the source has ended".

/// Pins, and shows a false doc claim: the `try_` streams report a lower
/// bound of at most 1 even once the source has ended (any output may be the
/// last), which is right, but is not the `(in_flight, Some(in_flight))`
/// that Guarantee 12 promises for "every stream type".
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
// Guarantees 2, 6 and 8: "a woken future waits for one call at most";
// "polling it again goes on with the other futures"; "if the refill after a
// completion panics, the completed output is kept and comes out of a later
// poll".

/// Fails. Each call refills before it polls the woken futures, and a
/// source that panicked is called again first thing: while the source
/// panics, no call reaches the woken futures, and the output kept from the
/// panicked refill does not come out either. Here the source panics on two
/// calls in a row; the woken future 0 is not polled by the second.
#[test]
fn a_woken_future_is_polled_even_when_the_source_panics_twice_in_a_row() {
    const SOURCE_PANIC: &str = "review: the source panics on purpose";
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

    // Job 0 finishes and is woken, before the next call begins.
    jobs.complete(0, 0);
    let polls = jobs.polls(0);
    let caught = catch(|| poll_noop(&mut stream)).expect_err("the source panics again");
    assert_eq!(caught.message, SOURCE_PANIC);
    assert_eq!(
        jobs.polls(0),
        polls + 1,
        "job 0 was woken before the call began and was not polled by it"
    );
}

// ---------------------------------------------------------------------------
// Guarantee 2: "whenever `poll_next` returns, `pulled == yielded +
// in_flight`".

/// Pins the real relation, and shows the doc's is only true while nothing
/// was dropped: after a future panics (Guarantee 8) or a `try_` stream
/// stops (Guarantee 11), `pulled == yielded + in_flight + dropped`.
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

/// Pins: an `Err` that finishes in `poll_progress` of
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

/// Pins: in `try_limited_in_order`, items after the `Err` are dropped newest
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

/// Pins: in `try_limited_as_completed`, an `Err` seen by `poll_progress`
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

/// Pins: `set_limit(0)` on `Indexed`, inherent or through `LimitedStream`,
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
