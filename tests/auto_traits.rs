//! Auto traits of the stream types: `Send`/`Sync` when the parts are, `Unpin` always, not `Send` when a part is not.

use std::cell::Cell;
use std::future::{Future, Ready};
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures::StreamExt;
use limited_as_completed::{LimitedAsCompleted, LimitedAsCompletedExt, LimitedInOrder};

// ---------------------------------------------------------------------------
// Helpers (inline on purpose: this file does not use tests/common).
// ---------------------------------------------------------------------------

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_send_val<T: Send>(_: &T) {}
fn assert_sync_val<T: Sync>(_: &T) {}
fn assert_unpin_val<T: Unpin>(_: &T) {}

/// "Assert not implemented" on stable, by ambiguity (the trick of the
/// `static_assertions` crate): `<T as AmbiguousIfSend<_>>::some_item` names
/// one impl when `T: !Send` (the blanket one, `A = ()`), and two when
/// `T: Send` (`A = ()` and `A = Marker`), which is a type-inference error.
/// So `assert_not_send!(T)` compiles exactly when `T` is not `Send`.
trait AmbiguousIfSend<A> {
    fn some_item() {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
struct SendMarker;
impl<T: ?Sized + Send> AmbiguousIfSend<SendMarker> for T {}

/// As [`AmbiguousIfSend`], for `Sync`.
trait AmbiguousIfSync<A> {
    fn some_item() {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
struct SyncMarker;
impl<T: ?Sized + Sync> AmbiguousIfSync<SyncMarker> for T {}

/// As [`AmbiguousIfSend`], for `Unpin`.
trait AmbiguousIfUnpin<A> {
    fn some_item() {}
}
impl<T: ?Sized> AmbiguousIfUnpin<()> for T {}
struct UnpinMarker;
impl<T: ?Sized + Unpin> AmbiguousIfUnpin<UnpinMarker> for T {}

/// Compiles only if the type is not `Send`.
macro_rules! assert_not_send {
    ($t:ty) => {
        const _: fn() = || {
            let _ = <$t as AmbiguousIfSend<_>>::some_item;
        };
    };
}

/// Compiles only if the type is not `Sync`.
macro_rules! assert_not_sync {
    ($t:ty) => {
        const _: fn() = || {
            let _ = <$t as AmbiguousIfSync<_>>::some_item;
        };
    };
}

/// Compiles only if the type is not `Unpin`.
macro_rules! assert_not_unpin {
    ($t:ty) => {
        const _: fn() = || {
            let _ = <$t as AmbiguousIfUnpin<_>>::some_item;
        };
    };
}

type Iter<F> = std::vec::IntoIter<F>;

/// `Send + Sync`, `!Unpin`; returns `Pending` once (after waking itself), and
/// checks on its second poll that it has not moved since its first.
struct Pinned {
    value: u32,
    /// Address at the first poll; 0 before it.
    address: AtomicUsize,
    _pin: PhantomPinned,
}

impl Pinned {
    fn new(value: u32) -> Self {
        Self {
            value,
            address: AtomicUsize::new(0),
            _pin: PhantomPinned,
        }
    }
}

impl Future for Pinned {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let here = &*self as *const Self as usize;
        match self.address.load(Ordering::Relaxed) {
            0 => {
                self.address.store(here, Ordering::Relaxed);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            first => {
                assert_eq!(first, here, "future {} moved while pinned", self.value);
                Poll::Ready(self.value)
            }
        }
    }
}

/// `!Send`, `!Sync` (holds an `Rc`), `Unpin`.
struct NotSendFuture(Rc<u32>);

impl Future for NotSendFuture {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(*self.0)
    }
}

/// `Send`, `Unpin`, but `!Sync` (holds a `Cell`).
struct NotSyncFuture(Cell<u32>);

impl Future for NotSyncFuture {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(self.0.get())
    }
}

/// `Send + Sync`, but its output is `!Send` (a finished output may wait in
/// its slot, so the stream must not be `Send` either).
struct NotSendOutput;

impl Future for NotSendOutput {
    type Output = Rc<u32>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Rc<u32>> {
        Poll::Ready(Rc::new(1))
    }
}

/// An iterator of `Send + Sync` futures that is itself `!Send`.
struct NotSendIter(std::marker::PhantomData<Rc<()>>);

impl Iterator for NotSendIter {
    type Item = Ready<u32>;

    fn next(&mut self) -> Option<Ready<u32>> {
        None
    }
}

// ---------------------------------------------------------------------------
// Send / Sync when the iterator, futures and outputs are
// ---------------------------------------------------------------------------

#[test]
fn streams_are_send_and_sync_when_iterator_futures_and_outputs_are() {
    assert_send::<LimitedAsCompleted<Iter<Ready<u32>>>>();
    assert_sync::<LimitedAsCompleted<Iter<Ready<u32>>>>();
    assert_send::<LimitedInOrder<Iter<Ready<u32>>>>();
    assert_sync::<LimitedInOrder<Iter<Ready<u32>>>>();

    assert_send::<LimitedAsCompleted<Iter<Pinned>>>();
    assert_sync::<LimitedAsCompleted<Iter<Pinned>>>();
    assert_send::<LimitedInOrder<Iter<Pinned>>>();
    assert_sync::<LimitedInOrder<Iter<Pinned>>>();

    // Unnameable types: an async block over a closure-mapped range, and
    // tokio join handles.
    let shared = std::sync::Arc::new(7_u32);
    let stream = (0..4_u32)
        .map(|i| {
            let shared = std::sync::Arc::clone(&shared);
            async move { i + *shared }
        })
        .limited_as_completed(2);
    assert_send_val(&stream);
    assert_sync_val(&stream);
    let stream = (0..4_u32).map(|i| async move { i }).limited_in_order(2);
    assert_send_val(&stream);
    assert_sync_val(&stream);

    assert_send::<LimitedAsCompleted<Iter<tokio::task::JoinHandle<String>>>>();
    assert_sync::<LimitedAsCompleted<Iter<tokio::task::JoinHandle<String>>>>();
}

// Documented negative cases. Each line below compiles only because the type
// is *not* `Send` (or `Sync`); if the stream became `Send` with a `!Send`
// part, this file would stop compiling.

// A `!Send` future makes both streams `!Send` (and `!Sync`).
assert_not_send!(LimitedAsCompleted<Iter<NotSendFuture>>);
assert_not_send!(LimitedInOrder<Iter<NotSendFuture>>);
assert_not_sync!(LimitedAsCompleted<Iter<NotSendFuture>>);
assert_not_sync!(LimitedInOrder<Iter<NotSendFuture>>);
// A `!Send` output, even from a `Send` future, makes both streams `!Send`:
// finished outputs wait in the stream.
assert_not_send!(LimitedAsCompleted<Iter<NotSendOutput>>);
assert_not_send!(LimitedInOrder<Iter<NotSendOutput>>);
// A `!Send` iterator makes both streams `!Send`: `into_inner` hands it back.
assert_not_send!(LimitedAsCompleted<NotSendIter>);
assert_not_send!(LimitedInOrder<NotSendIter>);
// A `!Sync` future (`Cell`) leaves the streams `Send` but not `Sync`.
assert_not_sync!(LimitedAsCompleted<Iter<NotSyncFuture>>);
assert_not_sync!(LimitedInOrder<Iter<NotSyncFuture>>);
// Sanity checks of the trick itself: it rejects what is not `Send`/`Unpin`
// and the helpers accept what is.
assert_not_send!(Rc<u32>);
assert_not_unpin!(Pinned);

#[test]
fn not_sync_future_still_gives_send_streams() {
    assert_send::<LimitedAsCompleted<Iter<NotSyncFuture>>>();
    assert_send::<LimitedInOrder<Iter<NotSyncFuture>>>();
}

// ---------------------------------------------------------------------------
// Unpin whatever the future type
// ---------------------------------------------------------------------------

#[test]
fn streams_are_unpin_with_a_phantom_pinned_future() {
    // `vec::IntoIter<Pinned>` is itself `!Unpin` (it holds a
    // `PhantomData<Pinned>`), so this also shows that the stream does not
    // need the iterator to be `Unpin`.
    assert_unpin::<LimitedAsCompleted<Iter<Pinned>>>();
    assert_unpin::<LimitedInOrder<Iter<Pinned>>>();
}

assert_not_unpin!(Iter<Pinned>);

async fn yield_once() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

#[test]
fn streams_are_unpin_with_async_blocks_that_borrow_across_await() {
    let data = vec![10_u32, 20, 30, 40];
    let make = || {
        (0..data.len()).map(|i| {
            let data = &data;
            async move {
                let item = &data[i];
                yield_once().await;
                *item
            }
        })
    };

    let mut as_completed = make().limited_as_completed(2);
    assert_unpin_val(&as_completed);
    let mut in_order = make().limited_in_order(2);
    assert_unpin_val(&in_order);

    // And they run: `next()` needs `Unpin`.
    futures::executor::block_on(async {
        let mut outputs = Vec::new();
        while let Some(x) = as_completed.next().await {
            outputs.push(x);
        }
        outputs.sort_unstable();
        assert_eq!(outputs, [10, 20, 30, 40]);
        let mut outputs = Vec::new();
        while let Some(x) = in_order.next().await {
            outputs.push(x);
        }
        assert_eq!(outputs, [10, 20, 30, 40]);
    });
}

#[test]
fn stream_of_unpin_hostile_futures_is_driven_with_next_without_pinning() {
    // No `pin!`: `next()` takes `&mut self` and needs `Self: Unpin`.
    let mut stream = (0..5).map(Pinned::new).limited_as_completed(2);
    let outputs = futures::executor::block_on(async {
        let mut outputs = Vec::new();
        while let Some(x) = stream.next().await {
            outputs.push(x);
        }
        outputs
    });
    // Every future returns Pending once after waking itself: the two in
    // flight are polled again in wake order, so outputs are in input order.
    assert_eq!(outputs, [0, 1, 2, 3, 4]);

    let mut stream = (0..5).map(Pinned::new).limited_in_order(3);
    let outputs = futures::executor::block_on(async {
        let mut outputs = Vec::new();
        while let Some(x) = stream.next().await {
            outputs.push(x);
        }
        outputs
    });
    assert_eq!(outputs, [0, 1, 2, 3, 4]);
}

#[test]
fn futures_do_not_move_while_slot_storage_grows() {
    // With no bound, 200 pending futures are started in one poll, so the
    // slot storage grows many times while earlier futures are parked; each
    // future checks on its second poll that its address did not change.
    let mut stream = (0..200).map(Pinned::new).limited_as_completed(usize::MAX);
    let mut outputs: Vec<u32> = futures::executor::block_on(async {
        let mut outputs = Vec::new();
        while let Some(x) = stream.next().await {
            outputs.push(x);
        }
        outputs
    });
    outputs.sort_unstable();
    assert_eq!(outputs, (0..200).collect::<Vec<_>>());

    let outputs: Vec<u32> = futures::executor::block_on(
        (0..200)
            .map(Pinned::new)
            .limited_in_order(usize::MAX)
            .collect(),
    );
    assert_eq!(outputs, (0..200).collect::<Vec<_>>());
}
