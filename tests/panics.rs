//! Guarantees 8 and 9 (crate docs): panicking futures and iterators, and the limit-0 panic at the caller's location.

mod common;

use std::cell::{Cell, RefCell};
use std::future::ready;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::task::Poll;

use futures::future::{FutureExt, LocalBoxFuture};
use futures::Stream;
use limited_as_completed::LimitedAsCompletedExt;

use common::{
    assert_books, gate, poll_noop, Counters, CountingIter, GateHandle, PanicOn, Probe,
    FUTURE_PANIC, ITER_PANIC,
};

type Boxed = LocalBoxFuture<'static, usize>;

// ---------------------------------------------------------------------------
// Catching panics with their location.

/// A panic caught by [`catch`]: its message and where it was raised.
#[derive(Debug)]
struct Caught {
    message: String,
    file: String,
    line: u32,
}

thread_local! {
    /// Whether this thread is inside [`catch`].
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic on this thread was raised, while catching.
    static LOCATION: RefCell<Option<(String, u32)>> = const { RefCell::new(None) };
}

/// Installs, once for the whole test binary, a panic hook that records the
/// location of panics raised inside [`catch`] (on that thread, silently) and
/// hands every other panic to the default hook. Installing it once, and
/// recording per thread, keeps tests running in parallel from seeing each
/// other's panics or racing on `set_hook`.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let location = info.location().map(|l| (l.file().to_owned(), l.line()));
                LOCATION.with(|cell| *cell.borrow_mut() = location);
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f`; returns its value, or the panic it raised with the panic's
/// message and location.
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Caught> {
    install_hook();
    CATCHING.with(|c| c.set(true));
    LOCATION.with(|cell| cell.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(false));
    result.map_err(|payload| {
        let message = match payload.downcast::<String>() {
            Ok(s) => *s,
            Err(payload) => match payload.downcast::<&str>() {
                Ok(s) => (*s).to_owned(),
                Err(_) => "<non-string payload>".to_owned(),
            },
        };
        let (file, line) = LOCATION
            .with(|cell| cell.borrow_mut().take())
            .expect("the hook recorded no location");
        Caught {
            message,
            file,
            line,
        }
    })
}

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

/// `n` gates as boxed futures in probes with ids `0..n`, with their handles;
/// item `i` is first passed to `wrap(i, gate)`.
fn boxed_gates(
    n: usize,
    counters: &std::sync::Arc<Counters>,
    wrap: impl Fn(usize, Boxed) -> Boxed,
) -> (Vec<Boxed>, Vec<GateHandle<usize>>) {
    (0..n)
        .map(|i| {
            let (g, h) = gate::<usize>();
            let inner = wrap(i, g.boxed_local());
            (Probe::new(i, inner, counters).boxed_local(), h)
        })
        .unzip()
}

// ---------------------------------------------------------------------------
// Rule 8: panicking futures (LimitedAsCompleted).

#[test]
fn future_panicking_on_its_first_poll_is_dropped_and_the_stream_goes_on() {
    let counters = Counters::new();
    let (items, h) = boxed_gates(5, &counters, |i, g| {
        if i == 1 {
            PanicOn::new(1, g).boxed_local()
        } else {
            g
        }
    });
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(3);
    let panicked = 1;

    assert_eq!(poll_panics(&mut stream), FUTURE_PANIC);
    // Item 0 runs; item 1 was pulled, panicked and was dropped.
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (1, 1));
    assert_eq!((counters.drops(), counters.live()), (1, 4));

    // The next poll refills both free slots.
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (3, 3));
    assert_eq!(counts.items(), 4);
    assert_eq!(
        h.iter().map(GateHandle::polls).collect::<Vec<_>>(),
        [1, 0, 1, 1, 0]
    );

    let mut outputs = vec![];
    for (i, in_flight) in [(3, 3), (0, 2), (4, 1), (2, 0)] {
        h[i].complete(i);
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
    assert_eq!((counters.drops(), counters.live()), (5, 0));
    assert_eq!(counts.calls(), 6);
}

#[test]
fn future_panicking_on_a_later_poll_is_dropped_and_the_woken_ones_still_come_out() {
    let counters = Counters::new();
    let (items, h) = boxed_gates(4, &counters, |i, g| {
        if i == 1 {
            PanicOn::new(2, g).boxed_local()
        } else {
            g
        }
    });
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(2);
    let panicked = 1;

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (2, 2));

    // Item 1 is woken (its next poll panics), then item 0 completes.
    h[1].wake();
    h[0].complete(0);
    assert_eq!(poll_panics(&mut stream), FUTURE_PANIC);
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (1, 1));
    assert_eq!(counters.drops(), 1);
    assert_eq!(counters.take_poll_log(), [0, 1, 1]);

    // Item 0's wake was not lost; item 2 fills the freed slot first.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_eq!(counters.take_poll_log(), [2, 0, 3]);
    assert_books(counts.items() - panicked, 1, stream.in_flight(), (3, 2));

    h[3].complete(3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_books(counts.items() - panicked, 2, stream.in_flight(), (3, 1));
    h[2].complete(2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items() - panicked, 3, stream.in_flight(), (3, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!((counters.drops(), counters.live()), (4, 0));
    assert_eq!(counts.calls(), 5);
}

#[test]
fn refill_panicking_after_a_completion_yields_the_output_on_the_next_poll() {
    let counters = Counters::new();
    let (items, h) = boxed_gates(3, &counters, |i, g| {
        if i == 1 {
            PanicOn::new(1, g).boxed_local()
        } else {
            g
        }
    });
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_as_completed(1);
    let panicked = 1;

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (1, 1));

    h[0].complete(0);
    assert_eq!(poll_panics(&mut stream), FUTURE_PANIC);
    // Output 0 is kept, and counts as in flight; item 1 is gone.
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (1, 1));
    assert_eq!(counters.drops(), 2);

    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    // The slot was refilled with item 2 before output 0 came out.
    assert_books(counts.items() - panicked, 1, stream.in_flight(), (2, 1));
    assert_eq!(h[2].polls(), 1);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items() - panicked, 1, stream.in_flight(), (2, 1));
    h[2].complete(2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items() - panicked, 2, stream.in_flight(), (2, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!((counters.drops(), counters.live()), (3, 0));
}

#[test]
fn output_kept_after_a_refill_panic_is_dropped_with_the_stream() {
    let tokens = Counters::new();
    let items: Vec<LocalBoxFuture<'static, Probe<()>>> = vec![
        ready(Probe::new(0, (), &tokens)).boxed_local(),
        PanicOn::new(1, std::future::pending()).boxed_local(),
    ];
    let mut stream = items.limited_as_completed(1);
    // Item 0 finishes on its first poll; the refill, item 1, panics.
    let caught = poll_caught(&mut stream).map(|_| ()).unwrap_err();
    assert_eq!(caught.message, FUTURE_PANIC);
    assert_eq!(stream.in_flight(), 1);
    assert_eq!(tokens.live(), 1);
    drop(stream);
    assert_eq!((tokens.live(), tokens.drops()), (0, 1));
}

// ---------------------------------------------------------------------------
// Rule 8: panicking iterators.

#[test]
fn iterator_panicking_on_a_pull_is_called_again_on_the_next_poll() {
    let counters = Counters::new();
    let (items, h) = boxed_gates(5, &counters, |_, g| g);
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.panic_on(2).limited_as_completed(3);

    assert_eq!(poll_panics(&mut stream), ITER_PANIC);
    assert_books(counts.items(), 0, stream.in_flight(), (1, 1));
    assert_eq!(counts.calls(), 2);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));
    assert_eq!(counts.calls(), 4);

    let mut outputs = vec![];
    for (i, pulled, in_flight) in [(0, 4, 3), (1, 5, 3), (2, 5, 2), (3, 5, 1), (4, 5, 0)] {
        h[i].complete(i);
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
    assert_eq!((counters.drops(), counters.live()), (5, 0));
}

#[test]
fn iterator_panicking_in_the_refill_keeps_the_output_for_the_next_poll() {
    let counters = Counters::new();
    let (items, h) = boxed_gates(3, &counters, |_, g| g);
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.panic_on(2).limited_as_completed(1);

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (1, 1));

    h[0].complete(0);
    assert_eq!(poll_panics(&mut stream), ITER_PANIC);
    assert_books(counts.items(), 0, stream.in_flight(), (1, 1));
    assert_eq!(counts.calls(), 2);

    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items(), 1, stream.in_flight(), (2, 1));
    assert_eq!(counts.calls(), 3);
    assert_eq!(h[1].polls(), 1);

    h[1].complete(1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(1)));
    assert_books(counts.items(), 2, stream.in_flight(), (3, 1));
    h[2].complete(2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items(), 3, stream.in_flight(), (3, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!(counts.calls(), 5);
}

// ---------------------------------------------------------------------------
// Rule 8: LimitedInOrder.

#[test]
fn in_order_skips_the_item_whose_future_panicked_and_keeps_the_order() {
    let counters = Counters::new();
    let (items, h) = boxed_gates(4, &counters, |i, g| {
        if i == 1 {
            PanicOn::new(2, g).boxed_local()
        } else {
            g
        }
    });
    let (iter, counts) = CountingIter::new(items.into_iter());
    let mut stream = iter.limited_in_order(3);
    let panicked = 1;

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items(), 0, stream.in_flight(), (3, 3));

    h[2].complete(2);
    h[1].wake();
    assert_eq!(poll_panics(&mut stream), FUTURE_PANIC);
    // Item 2 finished and waits behind item 0; item 1 is gone.
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (2, 2));

    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_books(counts.items() - panicked, 0, stream.in_flight(), (3, 3));

    h[0].complete(0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(0)));
    assert_books(counts.items() - panicked, 1, stream.in_flight(), (3, 2));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(2)));
    assert_books(counts.items() - panicked, 2, stream.in_flight(), (3, 1));
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    h[3].complete(3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(3)));
    assert_books(counts.items() - panicked, 3, stream.in_flight(), (3, 0));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    assert_eq!((counters.drops(), counters.live()), (4, 0));
}

#[test]
fn in_order_skips_a_front_item_that_panicked_on_its_first_poll() {
    let items: Vec<Boxed> = vec![
        PanicOn::new(1, ready(0)).boxed_local(),
        ready(1).boxed_local(),
        ready(2).boxed_local(),
        ready(3).boxed_local(),
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
// Rule 9: limit 0.

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
