//! Guarantee 12 (crate docs), its auto traits: the stream types are
//! `Send`/`Sync` when the parts are, `Unpin` always, not `Send` when a part
//! is not.

mod common;

use std::cell::Cell;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use futures_test::future::{AssertUnmoved, FutureTestExt, PendingOnce};
use limited_as_completed::{LimitedAsCompleted, LimitedAsCompletedExt, LimitedInOrder};

use common::assert_not_impl;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_send_val<T: Send>(_: &T) {}
fn assert_sync_val<T: Sync>(_: &T) {}
fn assert_unpin_val<T: Unpin>(_: &T) {}

type Iter<F> = std::vec::IntoIter<F>;

/// `Send + Sync`, `!Unpin`; returns `Pending` once (after waking itself), and
/// checks at every later poll and when dropped that it has not moved since
/// its first poll (futures-test's `pending_once` and `assert_unmoved`).
type Pinned = AssertUnmoved<PendingOnce<Ready<u32>>>;

fn pinned(value: u32) -> Pinned {
    ready(value).pending_once().assert_unmoved()
}

/// Drives `stream` to its end with `next()`, which takes `&mut self` and
/// needs `Self: Unpin`: no `pin!`.
fn collect_with_next<S: Stream + Unpin>(stream: &mut S) -> Vec<S::Item> {
    futures::executor::block_on(async {
        let mut outputs = Vec::new();
        while let Some(x) = stream.next().await {
            outputs.push(x);
        }
        outputs
    })
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
assert_not_impl!(LimitedAsCompleted<Iter<NotSendFuture>>: Send);
assert_not_impl!(LimitedInOrder<Iter<NotSendFuture>>: Send);
assert_not_impl!(LimitedAsCompleted<Iter<NotSendFuture>>: Sync);
assert_not_impl!(LimitedInOrder<Iter<NotSendFuture>>: Sync);
// A `!Send` output, even from a `Send` future, makes both streams `!Send`:
// finished outputs wait in the stream.
assert_not_impl!(LimitedAsCompleted<Iter<NotSendOutput>>: Send);
assert_not_impl!(LimitedInOrder<Iter<NotSendOutput>>: Send);
// A `!Send` iterator makes both streams `!Send`: `into_inner` hands it back.
assert_not_impl!(LimitedAsCompleted<NotSendIter>: Send);
assert_not_impl!(LimitedInOrder<NotSendIter>: Send);
// A `!Sync` future (`Cell`) leaves the streams `Send` but not `Sync`.
assert_not_impl!(LimitedAsCompleted<Iter<NotSyncFuture>>: Sync);
assert_not_impl!(LimitedInOrder<Iter<NotSyncFuture>>: Sync);
// Sanity checks of the trick itself: it rejects what is not `Send`/`Unpin`
// and the helpers accept what is.
assert_not_impl!(Rc<u32>: Send);
assert_not_impl!(Pinned: Unpin);

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

assert_not_impl!(Iter<Pinned>: Unpin);

#[test]
fn streams_are_unpin_with_async_blocks_that_borrow_across_await() {
    let data = vec![10_u32, 20, 30, 40];
    let make = || {
        (0..data.len()).map(|i| {
            let data = &data;
            async move {
                let item = &data[i];
                ready(()).pending_once().await;
                *item
            }
        })
    };

    let mut as_completed = make().limited_as_completed(2);
    assert_unpin_val(&as_completed);
    let mut in_order = make().limited_in_order(2);
    assert_unpin_val(&in_order);

    // And they run: `next()` needs `Unpin`.
    let mut outputs = collect_with_next(&mut as_completed);
    outputs.sort_unstable();
    assert_eq!(outputs, [10, 20, 30, 40]);
    let outputs = collect_with_next(&mut in_order);
    assert_eq!(outputs, [10, 20, 30, 40]);
}

#[test]
fn stream_of_unpin_hostile_futures_is_driven_with_next_without_pinning() {
    // No `pin!`: `next()` takes `&mut self` and needs `Self: Unpin`.
    let mut stream = (0..5).map(pinned).limited_as_completed(2);
    let outputs = collect_with_next(&mut stream);
    // Every future returns Pending once after waking itself: the two in
    // flight are polled again in wake order, so outputs are in input order.
    assert_eq!(outputs, [0, 1, 2, 3, 4]);

    let mut stream = (0..5).map(pinned).limited_in_order(3);
    let outputs = collect_with_next(&mut stream);
    assert_eq!(outputs, [0, 1, 2, 3, 4]);
}

#[test]
fn futures_do_not_move_while_slot_storage_grows() {
    // With no bound, 200 pending futures are started in one poll, so the
    // slot storage grows many times while earlier futures are parked; each
    // future checks on its second poll that its address did not change.
    let mut stream = (0..200).map(pinned).limited_as_completed(usize::MAX);
    let mut outputs: Vec<u32> = collect_with_next(&mut stream);
    outputs.sort_unstable();
    assert_eq!(outputs, (0..200).collect::<Vec<_>>());

    let outputs: Vec<u32> =
        futures::executor::block_on((0..200).map(pinned).limited_in_order(usize::MAX).collect());
    assert_eq!(outputs, (0..200).collect::<Vec<_>>());
}
