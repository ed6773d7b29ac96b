//! The extension traits that add the adaptors to iterators.

use core::future::IntoFuture;

use crate::{LimitedAsCompleted, LimitedInOrder};

/// Adds [`limited_as_completed`](Self::limited_as_completed) and
/// [`limited_in_order`](Self::limited_in_order) to everything that can be
/// iterated into futures: iterators, `Vec`s, arrays, ranges mapped to
/// `async` blocks, and so on.
///
/// Items need only be [`IntoFuture`], so `async` blocks, spawned task handles
/// and custom `IntoFuture` types all work.
pub trait LimitedAsCompletedExt: IntoIterator + Sized
where
    Self::Item: IntoFuture,
{
    /// Runs at most `limit` futures at once and yields their outputs as they
    /// complete.
    ///
    /// The iterator is pulled lazily, like Python's `islice`: nothing is
    /// pulled or polled until the stream is first polled; the first poll pulls
    /// up to `limit` items and polls each once; from then on each completion
    /// frees a slot that is refilled from the iterator, and the new future
    /// polled once, *before* the poll returns the completed output. So `limit`
    /// futures are really under way while the caller works on an output, and
    /// whenever `poll_next` returns, fewer than `limit` are in flight only if
    /// the iterator has ended. A consequence: `.take(k)` on the stream pulls
    /// `limit + k` items. An iterator that has returned `None` is never called
    /// again.
    ///
    /// Outputs come out in the order the futures complete. Futures woken
    /// together are polled in the order they were woken; futures that finish
    /// on their first poll come out in iterator order. A poll touches only the
    /// futures woken since the last poll, polls each future at most once, and
    /// when a future keeps waking itself returns `Pending` after waking its
    /// own task, so the stream never starves the executor.
    ///
    /// Futures make progress only while the stream is polled. For work that
    /// runs in the background, map items to spawned task handles; see the
    /// [crate docs](crate#progress-happens-while-the-stream-is-polled).
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (pass `usize::MAX` for no bound: slots are created
    /// only as items arrive, so that is cheap).
    ///
    /// A panic in a future or in the iterator comes out of `poll_next`. The
    /// panicking future is dropped and its slot freed; the stream stays usable,
    /// and polling it again goes on with the other futures, none lost, none
    /// yielded twice. A panicking iterator is called again on the next poll.
    /// If the refill after a completion panics, the completed output comes out
    /// of the next poll.
    ///
    /// # Cancellation
    ///
    /// Dropping the stream drops every future in flight and the iterator.
    /// `next()` on the stream is cancel safe: an output is only taken from the
    /// engine when it is returned. [`LimitedAsCompleted::into_inner`] drops the
    /// futures in flight and hands back the iterator, so nothing that was not
    /// started is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::channel::oneshot;
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// # futures::executor::block_on(async {
    /// let (senders, receivers): (Vec<_>, Vec<_>) = (0..3).map(|_| oneshot::channel()).unzip();
    /// let mut stream = receivers.into_iter().limited_as_completed(3);
    ///
    /// let mut senders = senders.into_iter();
    /// let (first, second, third) = (senders.next(), senders.next(), senders.next());
    /// third.unwrap().send("third")?;
    /// assert_eq!(stream.next().await, Some(Ok("third")));
    /// first.unwrap().send("first")?;
    /// second.unwrap().send("second")?;
    /// assert_eq!(stream.next().await, Some(Ok("first")));
    /// assert_eq!(stream.next().await, Some(Ok("second")));
    /// assert_eq!(stream.next().await, None);
    /// # Ok::<(), &str>(())
    /// # }).unwrap();
    /// ```
    ///
    /// A limit of 0 is a bug, caught where it is written:
    ///
    /// ```should_panic
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// // panics: "`limited_as_completed`: `limit` must be at least 1, got 0; ..."
    /// let _stream = [async { 1 }].limited_as_completed(0);
    /// ```
    #[track_caller]
    fn limited_as_completed(self, limit: usize) -> LimitedAsCompleted<Self::IntoIter> {
        LimitedAsCompleted::new(self.into_iter(), limit)
    }

    /// Runs at most `limit` futures at once and yields their outputs in the
    /// iterator's order.
    ///
    /// Items are pulled as for
    /// [`limited_as_completed`](Self::limited_as_completed), with one
    /// difference: a slot is freed only when its output has been *yielded*,
    /// not when its future completes. So at most `limit` items are pulled and
    /// not yet yielded, and memory stays bounded however the completion times
    /// vary. The price is head-of-line blocking: one slow item holds back the
    /// outputs behind it, and once `limit` items have finished behind it, no
    /// new item starts until it completes.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (pass `usize::MAX` for no bound).
    ///
    /// A panic in a future or in the iterator comes out of `poll_next`. The
    /// panicking future is dropped, its item is skipped, and the stream stays
    /// usable: polling it again goes on with the other items in order.
    ///
    /// # Cancellation
    ///
    /// Dropping the stream drops every future in flight, the outputs waiting
    /// for their turn, and the iterator. `next()` is cancel safe.
    /// [`LimitedInOrder::into_inner`] hands back the iterator, so nothing that
    /// was not started is lost.
    ///
    /// # Examples
    ///
    /// The head-of-line effect: item 0 finishes last, and holds back the rest.
    ///
    /// ```
    /// use futures::channel::oneshot;
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    /// use std::task::Poll;
    ///
    /// # futures::executor::block_on(async {
    /// let (senders, receivers): (Vec<_>, Vec<_>) = (0..3).map(|_| oneshot::channel::<u32>()).unzip();
    /// let mut stream = receivers.into_iter().limited_in_order(3);
    /// let mut senders = senders.into_iter();
    /// let slow = senders.next().unwrap();
    /// for (i, fast) in senders.enumerate() {
    ///     fast.send(i as u32 + 1)?;
    /// }
    /// // Items 1 and 2 are done, but item 0 comes first.
    /// assert_eq!(futures::poll!(stream.next()), Poll::Pending);
    /// slow.send(0)?;
    /// let outputs: Vec<_> = stream.map(Result::unwrap).collect().await;
    /// assert_eq!(outputs, [0, 1, 2]);
    /// # Ok::<(), u32>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    fn limited_in_order(self, limit: usize) -> LimitedInOrder<Self::IntoIter> {
        LimitedInOrder::new(self.into_iter(), limit)
    }
}

impl<T> LimitedAsCompletedExt for T
where
    T: IntoIterator,
    T::Item: IntoFuture,
{
}
