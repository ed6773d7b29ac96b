//! Guarantee 5 (crate docs): no heap allocation per future once the slots
//! exist, slot storage that grows lazily with the items alive, not with
//! `limit`, and live memory bounded by the items alive however many pass
//! through (futures waking themselves as they finish, wakers kept forever,
//! items panicking behind a slow one, wakers kept after the stream is gone).
//! A counting global allocator, per thread.

mod common;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures::stream::Stream;
use futures::task::noop_waker_ref;
use futures_test::future::FutureTestExt;
use limited_as_completed::LimitedAsCompletedExt;

use common::{allocated, drive_expecting, live_bytes, CountingAlloc};

// ---------------------------------------------------------------------------
// Counting allocator: the kit's, declared here as this binary's allocator.
// ---------------------------------------------------------------------------

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocations and bytes made by `f` on this thread.
fn measure<R>(f: impl FnOnce() -> R) -> (usize, usize, R) {
    let (allocs, bytes) = allocated();
    let result = f();
    let (allocs_after, bytes_after) = allocated();
    (allocs_after - allocs, bytes_after - bytes, result)
}

// ---------------------------------------------------------------------------
// Test futures that allocate nothing themselves
// ---------------------------------------------------------------------------

/// Ready at once for even `i`, `Pending` once (after waking itself:
/// futures-test's `pending_once`) for odd `i`. Not zero-sized, so a boxed one
/// would really allocate.
async fn ready_or_yield(i: usize) -> usize {
    if i % 2 == 1 {
        std::future::ready(()).pending_once().await;
    }
    i
}

/// Polls `stream` by hand (noop waker) until `count` outputs came out or it
/// ended; marks each output in `seen` and asserts it was not seen before.
/// Allocates nothing itself. Returns how many outputs came out.
fn drive<S>(stream: &mut S, seen: &mut [bool], count: usize) -> usize
where
    S: Stream<Item = usize> + Unpin,
{
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut got = 0;
    let mut idle = 0;
    while got < count {
        match Pin::new(&mut *stream).poll_next(&mut cx) {
            Poll::Ready(Some(i)) => {
                assert!(!seen[i], "output {i} yielded twice");
                seen[i] = true;
                got += 1;
                idle = 0;
            }
            Poll::Ready(None) => break,
            Poll::Pending => {
                // Every future here wakes itself, so a `Pending` is followed
                // by progress on the next poll.
                idle += 1;
                assert!(idle < 3, "stream stalled");
            }
        }
    }
    got
}

// Smaller under Miri, which runs this about a million times slower; the
// shape (warm-up, then a measured run several times the limit) is the same.
const WARM_UP: usize = if cfg!(miri) { 100 } else { 1_000 };
const MEASURED: usize = if cfg!(miri) { 300 } else { 10_000 };
const LIMIT: usize = if cfg!(miri) { 16 } else { 64 };

// ---------------------------------------------------------------------------
// No allocation per future once the slots exist
// ---------------------------------------------------------------------------

/// Drives `stream` (over `WARM_UP + MEASURED` items) through `WARM_UP`
/// outputs, then asserts that the `MEASURED` others allocate nothing.
fn assert_no_allocation_after_warm_up<S>(mut stream: S)
where
    S: Stream<Item = usize> + Unpin,
{
    let mut seen = vec![false; WARM_UP + MEASURED];
    assert_eq!(drive(&mut stream, &mut seen, WARM_UP), WARM_UP);

    let (allocs, bytes, got) = measure(|| drive(&mut stream, &mut seen, usize::MAX));
    assert_eq!(got, MEASURED);
    assert_eq!(
        (allocs, bytes),
        (0, 0),
        "allocations while running {MEASURED} more futures"
    );
    assert!(seen.iter().all(|&s| s), "every output came out");
}

#[test]
fn as_completed_allocates_nothing_per_future_after_warm_up() {
    let total = WARM_UP + MEASURED;
    assert_no_allocation_after_warm_up((0..total).map(ready_or_yield).limited_as_completed(LIMIT));
}

#[test]
fn in_order_allocates_nothing_per_future_after_warm_up() {
    let total = WARM_UP + MEASURED;
    assert_no_allocation_after_warm_up((0..total).map(ready_or_yield).limited_in_order(LIMIT));
}

#[test]
fn in_order_yields_in_order_while_allocation_free() {
    let total = WARM_UP + MEASURED;
    let mut stream = (0..total).map(ready_or_yield).limited_in_order(LIMIT);
    let mut expected = 0;
    drive_expecting(&mut stream, &mut expected, WARM_UP);
    assert_eq!(expected, WARM_UP);
    let (allocs, bytes, ()) = measure(|| drive_expecting(&mut stream, &mut expected, total));
    assert_eq!((allocs, bytes), (0, 0));
    assert_eq!(expected, total);
}

// ---------------------------------------------------------------------------
// Slot storage grows lazily
// ---------------------------------------------------------------------------

/// Allocations and bytes to build, run to the end and drop a stream over
/// `items` futures with `limit`.
fn run_as_completed(items: usize, limit: usize) -> (usize, usize) {
    run_to_end(items, || {
        (0..items).map(ready_or_yield).limited_as_completed(limit)
    })
}

fn run_in_order(items: usize, limit: usize) -> (usize, usize) {
    run_to_end(items, || {
        (0..items).map(ready_or_yield).limited_in_order(limit)
    })
}

/// Allocations and bytes to `build` a stream over `items` futures, run it to
/// the end and drop it.
fn run_to_end<S>(items: usize, build: impl FnOnce() -> S) -> (usize, usize)
where
    S: Stream<Item = usize> + Unpin,
{
    let mut seen = vec![false; items];
    let (allocs, bytes, got) = measure(|| {
        let mut stream = build();
        drive(&mut stream, &mut seen, usize::MAX)
    });
    assert_eq!(got, items);
    (allocs, bytes)
}

// By design, per stream: one `Arc` for the ready queue; per slot one `Box`
// for the future and one `Arc` for its waker; the slot `Vec` grows 0 -> 4 ->
// 8 -> 16 for ten slots (and the in-order `VecDeque` of slot ids likewise).
// That is 1 + 10 * 2 + 3 (+ 3) = 24 (27); the bound leaves room for a
// different growth policy but not for anything per `limit`.
const TEN_ITEMS_MAX_ALLOCS: usize = 10 * 2 + 16;
const TEN_ITEMS_MAX_BYTES: usize = 16 * 1024;

/// `run` over 10 items with no bound stays under the ten-item bounds, and a
/// limit of `1 << 20` or of 10 costs exactly the same.
fn assert_allocates_for_ten_items_only(run: fn(usize, usize) -> (usize, usize)) {
    let (allocs, bytes) = run(10, usize::MAX);
    assert!(
        allocs < TEN_ITEMS_MAX_ALLOCS,
        "{allocs} allocations for 10 items"
    );
    assert!(bytes < TEN_ITEMS_MAX_BYTES, "{bytes} bytes for 10 items");
    assert_eq!(
        run(10, 1 << 20),
        (allocs, bytes),
        "limit 1 << 20 costs what usize::MAX does"
    );
    assert_eq!(
        run(10, 10),
        (allocs, bytes),
        "a limit above the item count costs nothing extra"
    );
}

#[test]
fn as_completed_unbounded_limit_allocates_for_the_items_only() {
    assert_allocates_for_ten_items_only(run_as_completed);
}

#[test]
fn in_order_unbounded_limit_allocates_for_the_items_only() {
    assert_allocates_for_ten_items_only(run_in_order);
}

#[test]
fn allocations_grow_with_live_items_not_with_total_items() {
    // Limit 10 over 10 000 items costs what limit 10 over 100 items does:
    // the slots, and the buffer of finished outputs, are reused. (Over only
    // 10 items fewer outputs may wait at once, so that buffer grows less.)
    let many = if cfg!(miri) { 300 } else { 10_000 };
    assert_eq!(run_as_completed(many, 10), run_as_completed(100, 10));
    assert_eq!(run_in_order(many, 10), run_in_order(100, 10));
}

#[test]
fn allocations_grow_with_the_log_of_live_items() {
    // Slots come in segments that double in size, each one allocation for
    // the futures and one for their wakers, and the segment list itself grows
    // by doubling: so n live items cost O(log n) allocations, not O(n).
    for (run, name) in [
        (
            run_as_completed as fn(usize, usize) -> (usize, usize),
            "as_completed",
        ),
        (run_in_order, "in_order"),
    ] {
        // Under Miri a quarter of the sizes: the same doublings, one segment
        // each.
        let k = if cfg!(miri) { 256 } else { 1024 };
        let (one_k, _) = run(k, usize::MAX);
        let (two_k, _) = run(2 * k, usize::MAX);
        let (four_k, _) = run(4 * k, usize::MAX);
        assert!(
            one_k <= 45,
            "{name}: {one_k} allocations for 1024 live items"
        );
        assert!(
            (2..=4).contains(&(two_k - one_k)),
            "{name}: {} allocations for 1024 more live items",
            two_k - one_k
        );
        assert!(
            (2..=4).contains(&(four_k - two_k)),
            "{name}: {} allocations for 2048 more live items",
            four_k - two_k
        );
    }
}

#[test]
fn building_a_stream_allocates_nothing() {
    let (allocs, _, stream) =
        measure(|| (0..10).map(ready_or_yield).limited_as_completed(usize::MAX));
    drop(stream);
    let (allocs_in_order, _, stream) =
        measure(|| (0..10).map(ready_or_yield).limited_in_order(usize::MAX));
    drop(stream);
    // The ready queue's `Arc` may be created up front; nothing per `limit`.
    assert!(allocs <= 1, "{allocs} allocations to build");
    assert!(
        allocs_in_order <= 1,
        "{allocs_in_order} allocations to build"
    );
}

/// Polls `stream` by hand (noop waker) until `count` outputs came out or it
/// ended, handling each through `progress_while` with work that is pending
/// once (it wakes itself), during which the stream's progress polls the
/// woken futures. Allocates nothing itself. Returns how many were handled.
fn handle_with_progress<S>(stream: &mut S, count: usize) -> usize
where
    S: limited_as_completed::LimitedStream<Item = usize>,
{
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut handled = 0;
    while handled < count {
        match Pin::new(&mut *stream).poll_next(&mut cx) {
            Poll::Ready(Some(i)) => {
                let mut progress = std::pin::pin!(stream.progress_while(ready_or_yield(i)));
                let out = loop {
                    if let Poll::Ready(out) = progress.as_mut().poll(&mut cx) {
                        break out;
                    }
                };
                assert_eq!(out, i);
                handled += 1;
            }
            Poll::Ready(None) => break,
            Poll::Pending => {}
        }
    }
    handled
}

/// Guarantee 10 costs no allocation either: `poll_progress` and
/// `progress_while` (the work held inline in its future, not boxed) allocate
/// nothing per call once the slots exist.
#[test]
fn progress_allocates_nothing_per_call_after_warm_up() {
    let total = WARM_UP + MEASURED;
    let mut stream = (0..total).map(ready_or_yield).limited_as_completed(LIMIT);
    assert_eq!(handle_with_progress(&mut stream, WARM_UP), WARM_UP);
    let (allocs, bytes, handled) = measure(|| handle_with_progress(&mut stream, usize::MAX));
    assert_eq!(handled, MEASURED);
    assert_eq!(
        (allocs, bytes),
        (0, 0),
        "allocations while handling {MEASURED} outputs through progress_while"
    );
}

// ---------------------------------------------------------------------------
// Live memory stays flat however many items pass through (Guarantee 5)
// ---------------------------------------------------------------------------

const FLAT_ITEMS: usize = if cfg!(miri) { 600 } else { 40_000 };
const FLAT_WARM_UP: usize = FLAT_ITEMS / 10;

/// Runs `stream` over `FLAT_ITEMS` items: after a warm-up of a tenth of them,
/// the live heap is sampled every tenth; returns the samples' spread.
fn live_spread<S: Stream<Item = usize> + Unpin>(mut stream: S) -> isize {
    let mut seen = vec![false; FLAT_ITEMS];
    assert_eq!(drive(&mut stream, &mut seen, FLAT_WARM_UP), FLAT_WARM_UP);
    let start = live_bytes();
    let (mut low, mut high) = (start, start);
    for _ in 1..10 {
        let got = drive(&mut stream, &mut seen, FLAT_WARM_UP);
        assert_eq!(got, FLAT_WARM_UP);
        let now = live_bytes();
        (low, high) = (low.min(now), high.max(now));
    }
    assert!(seen.iter().all(|&s| s), "every output came out");
    high - low
}

#[test]
fn live_memory_stays_flat_when_futures_wake_themselves_as_they_finish() {
    let items = (0..FLAT_ITEMS).map(|i| {
        futures::future::poll_fn(move |cx: &mut Context<'_>| {
            cx.waker().wake_by_ref();
            Poll::Ready(i)
        })
    });
    let spread = live_spread(items.limited_as_completed(4));
    assert_eq!(spread, 0, "live heap moved by {spread} bytes after warm-up");
}

#[test]
fn live_memory_stays_flat_with_a_waker_kept_forever() {
    let kept_forever = RefCell::new(None);
    let registry = RefCell::new(None);
    let items = common::kept_waker_items(FLAT_ITEMS, &kept_forever, &registry);
    let spread = live_spread(items.limited_as_completed(1));
    assert_eq!(spread, 0, "live heap moved by {spread} bytes after warm-up");
    assert!(kept_forever.borrow().is_some());
}

#[test]
fn counting_allocator_counts() {
    // The tests above assert zeros; make sure the counter is live.
    let (allocs, bytes, v) = measure(|| Vec::<u64>::with_capacity(100));
    assert_eq!((allocs, bytes), (1, 800));
    drop(v);
}

// ---------------------------------------------------------------------------
// Guarantee 5 (memory bounded by the items alive, however many pass
// through) with Guarantee 8 (a panicking future is dropped, the stream goes
// on).

/// The message of [`Churn`]'s panic.
const CHURN_PANIC: &str = "alloc: a future panics on its second poll on purpose";

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
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| common::poll_noop(stream))) {
            Ok(Poll::Pending) => {}
            Ok(Poll::Ready(_)) => panic!("nothing can come out: item 0 never finishes"),
            Err(_) => seen += 1,
        }
    }
}

/// Live bytes added by `more` further panicking items after `warm_up` of
/// them went through `stream`.
fn growth<S: Stream + Unpin>(stream: &mut S, warm_up: usize, more: usize) -> isize {
    common::quiet_panics_on_purpose(&[CHURN_PANIC]);
    run_panics(stream, warm_up);
    let before = live_bytes();
    run_panics(stream, more);
    live_bytes() - before
}

// Under Miri, where each panic costs a lot, fewer: the growth was 25 bytes
// per panicked item.
const CHURN_WARM_UP: usize = if cfg!(miri) { 10 } else { 1_000 };
const CHURN_MORE: usize = if cfg!(miri) { 60 } else { 20_000 };

/// The in-order core keeps an entry for every item pulled until it reaches
/// the front of the line; entries of items whose future panicked are
/// forgotten once they outnumber the live ones. Behind a head that never
/// finishes, items that panic after their first poll must not make memory
/// grow with the items passed through (it grew by 500 KB here when those
/// entries were only skipped at the front).
#[test]
fn in_order_memory_stays_bounded_while_items_panic_behind_a_stuck_head() {
    let mut stream = churn().limited_in_order(2);
    let grown = growth(&mut stream, CHURN_WARM_UP, CHURN_MORE);
    assert!(stream.in_flight() <= 2, "the head and one churning item");
    assert!(
        grown < 1024,
        "{grown} bytes more after {CHURN_MORE} more items panicked through 2 places"
    );
}

/// The same in completion order, which holds nothing per item that
/// panicked.
#[test]
fn as_completed_memory_stays_bounded_while_items_panic_beside_a_stuck_one() {
    let mut stream = churn().limited_as_completed(2);
    let grown = growth(&mut stream, CHURN_WARM_UP, CHURN_MORE);
    assert!(stream.in_flight() <= 2);
    assert!(
        grown < 1024,
        "{grown} bytes more after {CHURN_MORE} more items panicked through 2 places"
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

/// Live bytes while `n` futures that never finish are in flight (limit `n`).
fn parked_bytes(n: usize) -> isize {
    let before = live_bytes();
    let mut stream = (0..n)
        .map(|_| std::future::pending::<usize>())
        .limited_as_completed(n);
    assert_eq!(common::poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.in_flight(), n);
    let bytes = live_bytes() - before;
    drop(stream);
    assert_eq!(live_bytes(), before);
    bytes
}

/// Guarantee 5: `n` items alive at once take room for
/// `n.next_power_of_two()`, so a power-of-two limit takes no more room than
/// the items need: 1024 parked futures cost what 513 do, and the 1025th
/// starts the next block. Before blocks of 2, 2, 4, ..., the 1024th item
/// alone allocated a block of 1024 slots and records.
#[test]
fn a_power_of_two_of_live_items_takes_room_for_that_many() {
    let (low, full, more) = if cfg!(miri) {
        (65, 128, 129)
    } else {
        (513, 1024, 1025)
    };
    let low_bytes = parked_bytes(low);
    assert_eq!(parked_bytes(full), low_bytes);
    // Each: a 64-byte slot (`pending()` is small) and a 16-byte waker record,
    // plus a little for the stream itself (and 16 bytes per block of records).
    let per_item = 64 + 16;
    let expected = full * per_item;
    assert!(
        (expected..expected + 1024).contains(&(low_bytes as usize)),
        "{low_bytes} bytes for {full} parked futures: {per_item} each and under 1 KiB more expected"
    );
    assert!(
        parked_bytes(more) > low_bytes + low_bytes / 2,
        "the next item starts a block as large as all before it"
    );
}

const WIDE: usize = if cfg!(miri) { 256 } else { 4096 };

/// Guarantee 5: once the stream is dropped, a waker still held keeps only
/// the block its own record is in (item 0's: a block of two). This failed
/// when every record lived until the last waker: some 390 KB here.
#[test]
fn a_waker_kept_after_the_stream_is_dropped_keeps_only_its_own_record() {
    let kept = RefCell::new(None);
    let before = live_bytes();
    let items = (0..WIDE).map(|i| KeepsWaker {
        cell: (i == 0).then_some(&kept),
    });
    let mut stream = items.limited_as_completed(WIDE);
    assert_eq!(common::poll_noop(&mut stream), Poll::Pending);
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

/// Guarantee 5, the other end: a waker kept from the last record made keeps
/// its block, the largest (records come in blocks that double in size), and
/// no other.
#[test]
fn a_waker_kept_after_the_stream_is_dropped_keeps_at_most_its_block() {
    let kept = RefCell::new(None);
    let before = live_bytes();
    let items = (0..WIDE).map(|i| KeepsWaker {
        cell: (i == WIDE - 1).then_some(&kept),
    });
    let mut stream = items.limited_as_completed(WIDE);
    assert_eq!(common::poll_noop(&mut stream), Poll::Pending);
    let records_made = live_bytes() - before;
    drop(stream);
    let retained = live_bytes() - before;
    assert!(kept.borrow().is_some());
    assert!(
        retained * 2 < records_made,
        "one kept waker retains {retained} of {records_made} bytes once the stream is gone"
    );
    drop(kept);
    assert_eq!(live_bytes(), before, "everything is freed with the waker");
}
