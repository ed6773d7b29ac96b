//! `.indexed()` on every stream type: `(index, output)` with `index` the
//! item's position in the input, through the orders of Guarantee 4, the
//! panics of Guarantee 8, the fail-fast end of Guarantee 11 and the
//! `FusedStream`, `size_hint` and `Debug` of Guarantee 12 (crate docs).

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::channel::oneshot::{self, Canceled};
use futures::stream::{self, FusedStream};
use futures::{FutureExt, Stream, StreamExt};
use limited_as_completed::{
    Indexed, LimitedAsCompleted, LimitedAsCompletedExt, LimitedAsCompletedStreamExt,
};

use common::{catch, poll_noop};

type Out = Result<u32, Canceled>;

/// `n` oneshot channels: the senders, and the receivers (the items).
fn channels(
    n: usize,
) -> (
    Vec<Option<oneshot::Sender<u32>>>,
    Vec<oneshot::Receiver<u32>>,
) {
    (0..n)
        .map(|_| {
            let (tx, rx) = oneshot::channel();
            (Some(tx), rx)
        })
        .unzip()
}

/// Item `i` completes with `10 * i`.
fn send(senders: &mut [Option<oneshot::Sender<u32>>], i: usize) {
    let tx = senders[i].take().expect("sent twice");
    tx.send(10 * i as u32).expect("receiver dropped");
}

/// One step of a script: complete these items, then poll once and expect
/// this (an index and `Ok(10 * index)`, or the end, or `Pending`).
type Step = (&'static [usize], Poll<Option<usize>>);

/// Runs `script` over the stream `make` builds from 6 fresh items.
fn run_script<S>(make: impl FnOnce(Vec<oneshot::Receiver<u32>>) -> S, script: &[Step])
where
    S: Stream<Item = (usize, Out)> + Unpin,
{
    let (mut senders, items) = channels(6);
    let mut stream = make(items);
    for (step, (sends, expected)) in script.iter().enumerate() {
        for &i in *sends {
            send(&mut senders, i);
        }
        let expected = expected.map(|item| item.map(|i| (i, Ok(10 * i as u32))));
        assert_eq!(poll_noop(&mut stream), expected, "step {step}");
    }
}

/// Completion order with limit 3 over 6 items, completed out of order.
const AS_COMPLETED: &[Step] = &[
    (&[], Poll::Pending),
    (&[2], Poll::Ready(Some(2))),
    (&[1], Poll::Ready(Some(1))),
    (&[4, 3], Poll::Ready(Some(4))),
    (&[], Poll::Ready(Some(3))),
    (&[5, 0], Poll::Ready(Some(5))),
    (&[], Poll::Ready(Some(0))),
    (&[], Poll::Ready(None)),
];

/// Input order with limit 3 over 6 items, completed out of order.
const IN_ORDER: &[Step] = &[
    (&[], Poll::Pending),
    (&[2], Poll::Pending),
    (&[1], Poll::Pending),
    (&[0], Poll::Ready(Some(0))),
    (&[], Poll::Ready(Some(1))),
    (&[], Poll::Ready(Some(2))),
    (&[5, 4], Poll::Pending),
    (&[3], Poll::Ready(Some(3))),
    (&[], Poll::Ready(Some(4))),
    (&[], Poll::Ready(Some(5))),
    (&[], Poll::Ready(None)),
];

#[test]
fn index_is_the_input_position_for_every_stream_type() {
    run_script(|rx| rx.limited_as_completed(3).indexed(), AS_COMPLETED);
    run_script(|rx| rx.try_limited_as_completed(3).indexed(), AS_COMPLETED);
    run_script(|rx| rx.limited_in_order(3).indexed(), IN_ORDER);
    run_script(
        |rx| stream::iter(rx).limited_as_completed(3).indexed(),
        AS_COMPLETED,
    );
    run_script(
        |rx| stream::iter(rx).try_limited_as_completed(3).indexed(),
        AS_COMPLETED,
    );
    run_script(
        |rx| stream::iter(rx).limited_in_order(3).indexed(),
        IN_ORDER,
    );
}

#[test]
fn try_streams_index_the_error_too() {
    let (mut tx, rx) = channels(6);
    let mut stream = rx.try_limited_as_completed(2).indexed();
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    send(&mut tx, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((1, Ok(10)))));
    tx[2] = None; // item 2 fails with `Canceled`
    assert_eq!(
        poll_noop(&mut stream),
        Poll::Ready(Some((2, Err(Canceled))))
    );
    assert!(stream.is_terminated());
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));

    let (mut tx, rx) = channels(6);
    let mut stream = futures::stream::iter(rx)
        .try_limited_as_completed(2)
        .indexed();
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    tx[0] = None;
    assert_eq!(
        poll_noop(&mut stream),
        Poll::Ready(Some((0, Err(Canceled))))
    );
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
}

#[test]
fn set_limit_up_and_down_does_not_change_indices() {
    let (mut tx, rx) = channels(8);
    let mut stream = rx.limited_as_completed(2).indexed();
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.get_ref().in_flight(), 2);

    stream.get_mut().set_limit(4);
    send(&mut tx, 1);
    // Items 2 and 3 start on this poll, item 4 refills item 1's slot.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((1, Ok(10)))));
    assert_eq!(stream.get_ref().in_flight(), 4);

    stream.get_mut().set_limit(1);
    send(&mut tx, 4);
    send(&mut tx, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((4, Ok(40)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((0, Ok(0)))));
    assert_eq!(stream.get_ref().in_flight(), 2); // nothing new while above the bound
    send(&mut tx, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((3, Ok(30)))));
    send(&mut tx, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((2, Ok(20)))));
    assert_eq!(stream.get_ref().in_flight(), 1); // item 5 refilled

    stream.get_mut().set_limit(3);
    send(&mut tx, 7);
    send(&mut tx, 6);
    // Both finish on their first poll: they come out in input order.
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((6, Ok(60)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((7, Ok(70)))));
    send(&mut tx, 5);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((5, Ok(50)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));

    // In input order over a stream source, lowering then raising the bound.
    let (mut tx, rx) = channels(6);
    let mut stream = futures::stream::iter(rx).limited_in_order(3).indexed();
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    stream.get_mut().set_limit(1);
    send(&mut tx, 0);
    send(&mut tx, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((0, Ok(0)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((1, Ok(10)))));
    stream.get_mut().set_limit(5);
    for i in [5, 4, 3, 2] {
        send(&mut tx, i);
    }
    let rest: Vec<_> = futures::executor::block_on_stream(stream).collect();
    assert_eq!(rest, [(2, Ok(20)), (3, Ok(30)), (4, Ok(40)), (5, Ok(50))]);
}

#[test]
fn indexed_after_outputs_were_yielded_keeps_absolute_positions() {
    let (mut tx, rx) = channels(5);
    let mut stream = rx.limited_as_completed(2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    send(&mut tx, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(10))));
    send(&mut tx, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));

    let mut stream = stream.indexed();
    send(&mut tx, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((3, Ok(30)))));
    send(&mut tx, 2);
    send(&mut tx, 4);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((2, Ok(20)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((4, Ok(40)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));

    // And in input order over a stream source.
    let (mut tx, rx) = channels(4);
    let mut stream = futures::stream::iter(rx).limited_in_order(2);
    send(&mut tx, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some(Ok(0))));
    let mut stream = stream.indexed();
    for i in [3, 2, 1] {
        send(&mut tx, i);
    }
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((1, Ok(10)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((2, Ok(20)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((3, Ok(30)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
}

/// Waits for its channel; panics instead of finishing if `panics`.
struct MaybePanics {
    rx: oneshot::Receiver<u32>,
    panics: bool,
}

impl Future for MaybePanics {
    type Output = Out;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        let output = futures::ready!(self.rx.poll_unpin(cx));
        assert!(!self.panics, "item panicked");
        Poll::Ready(output)
    }
}

/// Items over `rx`; the one at `panicking` panics when completed.
fn with_panicking(
    rx: Vec<oneshot::Receiver<u32>>,
    panicking: usize,
) -> impl Iterator<Item = MaybePanics> {
    rx.into_iter().enumerate().map(move |(i, rx)| MaybePanics {
        rx,
        panics: i == panicking,
    })
}

fn expect_panic<S: Stream + Unpin>(stream: &mut S) {
    let result = catch(|| poll_noop(stream));
    assert!(result.is_err(), "the item did not panic");
}

#[test]
fn later_indices_stay_input_positions_after_a_future_panics() {
    // Completion order, iterator source, item 2 panics when woken.
    let (mut tx, rx) = channels(6);
    let mut stream = with_panicking(rx, 2).limited_as_completed(2).indexed();
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    send(&mut tx, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((0, Ok(0)))));
    send(&mut tx, 2);
    expect_panic(&mut stream);
    send(&mut tx, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((3, Ok(30)))));
    send(&mut tx, 1);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((1, Ok(10)))));
    send(&mut tx, 5);
    send(&mut tx, 4);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((5, Ok(50)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((4, Ok(40)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));

    // Completion order, stream source, item 1 panics on its first poll.
    let (mut tx, rx) = channels(4);
    send(&mut tx, 1);
    let source = futures::stream::iter(with_panicking(rx, 1));
    let mut stream = source.limited_as_completed(2).indexed();
    expect_panic(&mut stream);
    send(&mut tx, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((2, Ok(20)))));
    send(&mut tx, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((3, Ok(30)))));
    send(&mut tx, 0);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((0, Ok(0)))));
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));

    // Input order: the panicking item is skipped, the rest keep their index.
    let (mut tx, rx) = channels(6);
    let mut stream = with_panicking(rx, 2).limited_in_order(3).indexed();
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    send(&mut tx, 2);
    expect_panic(&mut stream);
    for i in [5, 4, 3, 1, 0] {
        send(&mut tx, i);
    }
    let rest: Vec<_> = futures::executor::block_on_stream(stream).collect();
    assert_eq!(
        rest,
        [
            (0, Ok(0)),
            (1, Ok(10)),
            (3, Ok(30)),
            (4, Ok(40)),
            (5, Ok(50))
        ]
    );
}

#[test]
fn get_ref_get_mut_and_into_inner_reach_the_wrapped_stream() {
    let (mut tx, rx) = channels(6);
    let mut stream = rx.limited_as_completed(3).indexed();
    assert_eq!(stream.get_ref().limit(), 3);
    assert_eq!(stream.get_ref().in_flight(), 0);
    stream.get_mut().set_limit(2);
    assert_eq!(stream.get_ref().limit(), 2);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    assert_eq!(stream.get_ref().in_flight(), 2);
    // Polling through get_mut yields bare outputs.
    send(&mut tx, 1);
    assert_eq!(poll_noop(stream.get_mut()), Poll::Ready(Some(Ok(10))));
    send(&mut tx, 2);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((2, Ok(20)))));

    let mut inner = stream.into_inner();
    assert_eq!(inner.in_flight(), 2);
    send(&mut tx, 0);
    assert_eq!(poll_noop(&mut inner), Poll::Ready(Some(Ok(0))));
    // The iterator behind it is where it should be: items 0 to 4 pulled.
    assert_eq!(inner.into_inner().len(), 1);
}

#[test]
fn fused_stream_and_size_hint_delegate_to_the_wrapped_stream() {
    let (mut tx, rx) = channels(4);
    let mut stream = rx.limited_as_completed(2).indexed();
    type Tested = Indexed<LimitedAsCompleted<std::vec::IntoIter<oneshot::Receiver<u32>>>>;
    let check = |stream: &Tested, hint: (usize, Option<usize>), terminated: bool| {
        assert_eq!(stream.size_hint(), hint);
        assert_eq!(stream.size_hint(), stream.get_ref().size_hint());
        assert_eq!(stream.is_terminated(), terminated);
        assert_eq!(stream.get_ref().is_terminated(), terminated);
    };
    check(&stream, (4, Some(4)), false);
    assert_eq!(poll_noop(&mut stream), Poll::Pending);
    check(&stream, (4, Some(4)), false);
    for i in 0..3 {
        send(&mut tx, i);
        assert!(poll_noop(&mut stream).is_ready());
    }
    check(&stream, (1, Some(1)), false);
    send(&mut tx, 3);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(Some((3, Ok(30)))));
    check(&stream, (0, Some(0)), true);
    assert_eq!(poll_noop(&mut stream), Poll::Ready(None));
    check(&stream, (0, Some(0)), true);

    // A try stream: the next output may be the last, so the lower bound is at
    // most 1, through `Indexed` too.
    let (_tx, rx) = channels(5);
    let stream = rx.try_limited_as_completed(2).indexed();
    assert_eq!(stream.size_hint(), (1, Some(5)));
    assert_eq!(stream.size_hint(), stream.get_ref().size_hint());

    // A stream source with an open end.
    let (_tx, rx) = channels(3);
    let open_end = futures::stream::poll_fn(|_| Poll::<Option<oneshot::Receiver<u32>>>::Pending);
    let source = futures::stream::iter(rx).chain(open_end);
    let stream = source.limited_in_order(2).indexed();
    assert_eq!(stream.size_hint(), (3, None));
    assert!(!stream.is_terminated());
}

#[test]
fn debug_shows_the_wrapped_stream() {
    // No `Debug` needed of the futures or the iterator.
    struct NotDebug;
    let stream = (0..3)
        .map(|_| async { NotDebug })
        .limited_as_completed(3)
        .indexed();
    assert_eq!(
        format!("{stream:?}"),
        format!("Indexed {{ stream: {:?} }}", stream.get_ref())
    );
    assert_eq!(
        format!("{stream:?}"),
        "Indexed { stream: LimitedAsCompleted { limit: 3, in_flight: 0, source_done: false, .. } }"
    );
    let stream = futures::stream::iter([async { 1 }])
        .limited_in_order(2)
        .indexed();
    assert_eq!(
        format!("{stream:?}"),
        "Indexed { stream: LimitedInOrderStream { limit: 2, in_flight: 0, source_done: false, .. } }"
    );
}
