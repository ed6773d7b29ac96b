//! The extension traits that add the adaptors to iterators and streams.

use core::future::IntoFuture;

use futures_core::Stream;

use crate::{
    LimitedAsCompleted, LimitedAsCompletedStream, LimitedInOrder, LimitedInOrderStream,
    TryLimitedAsCompleted, TryLimitedAsCompletedStream, TryLimitedInOrder, TryLimitedInOrderStream,
};

/// Adds [`limited_as_completed`](Self::limited_as_completed),
/// [`limited_in_order`](Self::limited_in_order),
/// [`try_limited_as_completed`](Self::try_limited_as_completed) and
/// [`try_limited_in_order`](Self::try_limited_in_order) to everything that
/// can be iterated into futures: iterators, `Vec`s, arrays, ranges mapped to
/// `async` blocks, and so on.
///
/// Items need only be [`IntoFuture`], so `async` blocks, spawned task handles
/// and custom `IntoFuture` types all work.
///
/// The trait is implemented for every [`IntoIterator`], and each method asks
/// for `Self::Item: IntoFuture` itself, so that items that are not futures get
/// an error that says so, at the call: mapping URLs to request *builders*
/// (`client.get(u)` without `.send()`) fails with "`RequestBuilder` is not a
/// future", and mapping to a plain value with "`u32` is not a future":
///
/// ```compile_fail
/// use limited_as_completed::LimitedAsCompletedExt;
///
/// // error[E0277]: `u32` is not a future
/// let _stream = (0..3u32).map(|i| i * 2).limited_as_completed(2);
/// ```
///
/// A type that is both an iterator and a [`Stream`] (futures'
/// `SelectAll`, `FuturesUnordered`) has the methods of this trait and of
/// [`LimitedAsCompletedStreamExt`]; with both traits imported, name the one
/// you mean, as shown there.
pub trait LimitedAsCompletedExt: IntoIterator + Sized {
    /// Runs at most `limit` futures at once and yields their outputs as they
    /// complete.
    ///
    /// The iterator is pulled lazily, like Python's `islice`: nothing is
    /// pulled or polled until the stream is first polled; the first poll pulls
    /// up to `limit` items and polls each once; from then on each completion
    /// frees a slot that is refilled from the iterator, and the new future
    /// polled once, *before* the poll returns the completed output. So `limit`
    /// futures have been started whenever the caller gets an output, and
    /// whenever `poll_next` returns, fewer than `limit` are in flight only if
    /// the iterator has ended. A consequence: `.take(k)` on the stream pulls
    /// `limit + k` items. An iterator that has returned `None` is never called
    /// again.
    ///
    /// Outputs come out in the order the futures complete, as the stream sees
    /// it: a future's completion is seen when the stream polls it, so an
    /// output already finished and waiting comes out before one whose future
    /// has been woken but not yet polled. Futures woken together are polled in
    /// the order they were woken; futures that finish on their first poll come
    /// out in iterator order. A poll touches only the
    /// futures woken since the last poll, polls each future at most once, and
    /// when a future keeps waking itself returns `Pending` after waking its
    /// own task, so the stream never starves the executor.
    ///
    /// Futures make progress only while the stream is polled: while the caller
    /// awaits something else between two `next()` calls, they wait too, even
    /// if what they wait for is ready. Await that work through
    /// [`progress_while`](crate::LimitedStream::progress_while) to keep them
    /// going, or, for work that must go on with no one polling, map items to
    /// spawned task handles; see [A busy consumer](crate#a-busy-consumer).
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (pass `usize::MAX` for no bound: slots are created
    /// only as items arrive, so that is cheap). A limit from configuration
    /// needs no panic path: parse it into a [`NonZeroUsize`] where it is read,
    /// and pass [`NonZeroUsize::get`], which is never 0 (see the last
    /// example).
    ///
    /// [`NonZeroUsize`]: core::num::NonZeroUsize
    /// [`NonZeroUsize::get`]: core::num::NonZeroUsize::get
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
    ///
    /// A limit from configuration, checked once where it is read:
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    /// use std::num::NonZeroUsize;
    ///
    /// fn limit_from(setting: &str) -> Result<NonZeroUsize, String> {
    ///     setting.parse().map_err(|e| format!("`limit = {setting}`: {e}"))
    /// }
    ///
    /// # futures::executor::block_on(async {
    /// assert!(limit_from("0").is_err()); // rejected with a message, no panic
    /// let limit = limit_from("8")?;
    /// let outputs: Vec<u32> = (0..20).map(|i| async move { i })
    ///     .limited_as_completed(limit.get())
    ///     .collect()
    ///     .await;
    /// assert_eq!(outputs.len(), 20);
    /// # Ok::<(), String>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    fn limited_as_completed(self, limit: usize) -> LimitedAsCompleted<Self::IntoIter>
    where
        Self::Item: IntoFuture,
    {
        LimitedAsCompleted::new(self.into_iter(), limit, "limited_as_completed")
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
    fn limited_in_order(self, limit: usize) -> LimitedInOrder<Self::IntoIter>
    where
        Self::Item: IntoFuture,
    {
        LimitedInOrder::new(self.into_iter(), limit, "limited_in_order")
    }

    /// Runs at most `limit` fallible futures at once, yields their outputs as
    /// they complete, and stops at the first error.
    ///
    /// Items are pulled and outputs ordered as for
    /// [`limited_as_completed`](Self::limited_as_completed), with one
    /// difference: as soon as the stream sees a future finish with `Err`,
    /// nothing more is pulled and the futures still running are dropped (they
    /// would finish after it). Outputs that finished before the `Err` still
    /// come out first, then the `Err`, and the stream ends. This holds
    /// whether the `Err` is seen by `poll_next`, by a refill's first poll, or
    /// by [`poll_progress`](crate::LimitedStream::poll_progress).
    ///
    /// Because any output may be the last, the stream's
    /// [`size_hint`](futures_core::Stream::size_hint) gives a lower bound of at
    /// most 1; the upper bound is as for `limited_as_completed`.
    ///
    /// Compared with `limited_as_completed(n)` followed by `try_next()?`, which
    /// also stops at the first error and drops what is in flight when the
    /// stream is dropped: that one has already pulled the refill for the
    /// failed item's slot by the time the `Err` comes out, this one pulls
    /// nothing after the error.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (pass `usize::MAX` for no bound). Panics in futures and
    /// in the iterator behave as for
    /// [`limited_as_completed`](Self::limited_as_completed).
    ///
    /// # Cancellation
    ///
    /// As for [`limited_as_completed`](Self::limited_as_completed); after the
    /// error, [`TryLimitedAsCompleted::into_inner`] hands back the iterator
    /// positioned just after the last item pulled.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    /// use std::cell::Cell;
    ///
    /// # futures::executor::block_on(async {
    /// let pulled = Cell::new(0);
    /// let items = (0..100).inspect(|_| pulled.set(pulled.get() + 1)).map(|i| async move {
    ///     if i == 4 { Err(format!("item {i} failed")) } else { Ok(i) }
    /// });
    /// let outputs: Vec<_> = items.try_limited_as_completed(2).collect().await;
    /// assert_eq!(outputs, [Ok(0), Ok(1), Ok(2), Ok(3), Err("item 4 failed".to_string())]);
    /// assert_eq!(pulled.get(), 5); // nothing after the failing item
    /// # });
    /// ```
    #[track_caller]
    fn try_limited_as_completed<T, E>(self, limit: usize) -> TryLimitedAsCompleted<Self::IntoIter>
    where
        Self::Item: IntoFuture<Output = Result<T, E>>,
    {
        TryLimitedAsCompleted::new(self.into_iter(), limit, "try_limited_as_completed")
    }

    /// Runs at most `limit` fallible futures at once, yields their outputs in
    /// the iterator's order, and stops at the first error in that order.
    ///
    /// Items are pulled as for [`limited_in_order`](Self::limited_in_order),
    /// with one difference: once any future finishes with `Err`, nothing more
    /// is pulled and every item after it in input order is dropped, future
    /// or finished output; the items before it run on. The stream yields, in
    /// input order, the outputs up to the first `Err` in input order, that
    /// `Err`, and ends. That is what `limited_in_order(limit)` followed by
    /// `try_collect` would give, without pulling past the failure:
    /// `limited_in_order` goes on pulling and running items after a failed
    /// one until the failure reaches the front of the line.
    ///
    /// Because any output may be the last, the stream's
    /// [`size_hint`](futures_core::Stream::size_hint) gives a lower bound of at
    /// most 1.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (pass `usize::MAX` for no bound). Panics in futures and
    /// in the iterator behave as for
    /// [`limited_as_completed`](Self::limited_as_completed).
    ///
    /// # Cancellation
    ///
    /// As for [`limited_in_order`](Self::limited_in_order); after the error,
    /// [`TryLimitedInOrder::into_inner`] hands back the iterator positioned
    /// just after the last item pulled.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    /// use std::cell::Cell;
    ///
    /// # futures::executor::block_on(async {
    /// let pulled = Cell::new(0);
    /// let items = (0..100).inspect(|_| pulled.set(pulled.get() + 1)).map(|i| async move {
    ///     if i == 4 { Err(format!("item {i} failed")) } else { Ok(i) }
    /// });
    /// let outputs: Vec<_> = items.try_limited_in_order(2).collect().await;
    /// assert_eq!(outputs, [Ok(0), Ok(1), Ok(2), Ok(3), Err("item 4 failed".to_string())]);
    /// assert_eq!(pulled.get(), 5); // nothing after the failing item
    /// # });
    /// ```
    ///
    /// A later item that fails first stops the pulling at once, while the
    /// items before it run on:
    ///
    /// ```
    /// use futures::channel::oneshot;
    /// use futures::future::{ready, BoxFuture, FutureExt};
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    ///
    /// # futures::executor::block_on(async {
    /// let (slow, answer) = oneshot::channel::<u32>();
    /// let items: Vec<BoxFuture<'_, Result<u32, String>>> = vec![
    ///     answer.map(|answer| Ok(answer.unwrap_or(0))).boxed(),
    ///     ready(Err("item 1 failed".to_string())).boxed(),
    ///     ready(Ok(2)).boxed(), // never pulled
    /// ];
    /// let mut stream = items.try_limited_in_order(2);
    /// assert_eq!(futures::poll!(stream.next()), std::task::Poll::Pending);
    /// assert_eq!(stream.in_flight(), 2); // item 0 runs; item 1 failed
    /// slow.send(0).unwrap();
    /// let outputs: Vec<_> = stream.collect().await;
    /// assert_eq!(outputs, [Ok(0), Err("item 1 failed".to_string())]);
    /// # });
    /// ```
    #[track_caller]
    fn try_limited_in_order<T, E>(self, limit: usize) -> TryLimitedInOrder<Self::IntoIter>
    where
        Self::Item: IntoFuture<Output = Result<T, E>>,
    {
        TryLimitedInOrder::new(self.into_iter(), limit, "try_limited_in_order")
    }
}

/// Every iterator; the methods ask for items that are [`IntoFuture`].
impl<T: IntoIterator> LimitedAsCompletedExt for T {}

/// Adds [`limited_as_completed`](Self::limited_as_completed),
/// [`limited_in_order`](Self::limited_in_order),
/// [`try_limited_as_completed`](Self::try_limited_as_completed) and
/// [`try_limited_in_order`](Self::try_limited_in_order) to every [`Stream`]
/// whose items are [`IntoFuture`].
///
/// As with [`LimitedAsCompletedExt`], the trait is implemented for every
/// [`Stream`] and each method asks for `Self::Item: IntoFuture` itself, so a
/// stream of anything else gets "`X` is not a future" at the call.
///
/// They behave as the methods of the same names on
/// [`LimitedAsCompletedExt`], with the stream as the source, "the source
/// ended" in place of "the iterator returned `None`", and these differences:
///
/// * The source is polled, never blocked on: while it is `Pending`, the
///   futures in flight still run and their outputs still come out. The stream
///   ends when the source has ended and every future is done.
/// * The source need not be `Unpin`: it is boxed once, when the adaptor is
///   built, so the adaptor is `Unpin` anyway, and `into_inner` hands back a
///   `Pin<Box<S>>`. The source need not be fused either: it is never polled
///   again after it returned `Ready(None)`.
///
/// The adaptors are types of their own ([`LimitedAsCompletedStream`],
/// [`LimitedInOrderStream`], [`TryLimitedAsCompletedStream`],
/// [`TryLimitedInOrderStream`]) so that `into_inner` can hand back the
/// source's own type.
///
/// A few types are both a [`Stream`] and an iterator: futures' `SelectAll`
/// iterates over its streams, `FuturesUnordered` over its futures. With both
/// extension traits imported, a method call on one of them is ambiguous
/// (error E0034); call the method through the trait you mean:
///
/// ```
/// use futures::future::ready;
/// use futures::stream::{self, StreamExt};
/// use limited_as_completed::{LimitedAsCompletedExt, LimitedAsCompletedStreamExt};
///
/// # futures::executor::block_on(async {
/// let jobs = |range: std::ops::Range<u32>| stream::iter(range.map(ready));
/// let queues = stream::select_all([jobs(0..3), jobs(3..6)]);
/// // `queues.limited_as_completed(2)` would be ambiguous: name the trait.
/// let mut outputs: Vec<u32> =
///     LimitedAsCompletedStreamExt::limited_as_completed(queues, 2).collect().await;
/// outputs.sort_unstable();
/// assert_eq!(outputs, [0, 1, 2, 3, 4, 5]);
///
/// // A plain iterator or stream is not ambiguous.
/// let doubled: Vec<u32> = (0..3).map(|i| ready(i * 2)).limited_in_order(2).collect().await;
/// assert_eq!(doubled, [0, 2, 4]);
/// # });
/// ```
pub trait LimitedAsCompletedStreamExt: Stream + Sized {
    /// Runs at most `limit` futures from the stream at once and yields their
    /// outputs as they complete.
    ///
    /// See [`LimitedAsCompletedExt::limited_as_completed`] for the rules, and
    /// the [trait docs](LimitedAsCompletedStreamExt) for what differs with a
    /// stream source.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (pass `usize::MAX` for no bound).
    ///
    /// # Cancellation
    ///
    /// Dropping the stream drops every future in flight and the source.
    /// `next()` is cancel safe.
    ///
    /// # Examples
    ///
    /// Futures arrive through a channel while earlier ones run:
    ///
    /// ```
    /// use futures::channel::mpsc;
    /// use futures::future::ready;
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedStreamExt;
    /// use std::task::Poll;
    ///
    /// # futures::executor::block_on(async {
    /// let (jobs, queue) = mpsc::unbounded();
    /// let mut outputs = queue.limited_as_completed(2);
    /// jobs.unbounded_send(ready(1))?;
    /// assert_eq!(outputs.next().await, Some(1));
    /// // The source is empty but open: the stream waits, it does not end.
    /// assert_eq!(futures::poll!(outputs.next()), Poll::Pending);
    /// jobs.unbounded_send(ready(2))?;
    /// drop(jobs);
    /// assert_eq!(outputs.next().await, Some(2));
    /// assert_eq!(outputs.next().await, None);
    /// # Ok::<(), mpsc::TrySendError<_>>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    fn limited_as_completed(self, limit: usize) -> LimitedAsCompletedStream<Self>
    where
        Self::Item: IntoFuture,
    {
        LimitedAsCompletedStream::new(self, limit, "limited_as_completed")
    }

    /// Runs at most `limit` futures from the stream at once and yields their
    /// outputs in the stream's order.
    ///
    /// See [`LimitedAsCompletedExt::limited_in_order`] for the rules and the
    /// head-of-line effect, and the [trait docs](LimitedAsCompletedStreamExt)
    /// for what differs with a stream source.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (pass `usize::MAX` for no bound).
    ///
    /// # Cancellation
    ///
    /// Dropping the stream drops every future in flight, the outputs waiting
    /// for their turn, and the source. `next()` is cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedStreamExt;
    ///
    /// # futures::executor::block_on(async {
    /// let source = futures::stream::iter((0..5).map(|i| async move { i * 10 }));
    /// let outputs: Vec<u32> = source.limited_in_order(2).collect().await;
    /// assert_eq!(outputs, [0, 10, 20, 30, 40]);
    /// # });
    /// ```
    #[track_caller]
    fn limited_in_order(self, limit: usize) -> LimitedInOrderStream<Self>
    where
        Self::Item: IntoFuture,
    {
        LimitedInOrderStream::new(self, limit, "limited_in_order")
    }

    /// Runs at most `limit` fallible futures from the stream at once, yields
    /// their outputs as they complete, and stops at the first error.
    ///
    /// See [`LimitedAsCompletedExt::try_limited_as_completed`]: as soon as a
    /// future is seen to finish with `Err`, nothing more is pulled from the
    /// source and the futures still running are dropped; the outputs that
    /// finished before it come out first, then the `Err`, and the stream
    /// ends.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (pass `usize::MAX` for no bound).
    ///
    /// # Cancellation
    ///
    /// Dropping the stream drops every future in flight and the source.
    /// `next()` is cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedStreamExt;
    ///
    /// # futures::executor::block_on(async {
    /// let source = futures::stream::iter((0..100).map(|i| async move {
    ///     if i == 2 { Err("item 2 failed") } else { Ok(i) }
    /// }));
    /// let outputs: Vec<_> = source.try_limited_as_completed(1).collect().await;
    /// assert_eq!(outputs, [Ok(0), Ok(1), Err("item 2 failed")]);
    /// # });
    /// ```
    #[track_caller]
    fn try_limited_as_completed<T, E>(self, limit: usize) -> TryLimitedAsCompletedStream<Self>
    where
        Self::Item: IntoFuture<Output = Result<T, E>>,
    {
        TryLimitedAsCompletedStream::new(self, limit, "try_limited_as_completed")
    }

    /// Runs at most `limit` fallible futures from the stream at once, yields
    /// their outputs in the stream's order, and stops at the first error in
    /// that order.
    ///
    /// See [`LimitedAsCompletedExt::try_limited_in_order`]: once any future
    /// finishes with `Err`, nothing more is pulled from the source and every
    /// item after it in input order is dropped; the outputs before it, then
    /// the `Err`, come out in input order, and the stream ends.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (pass `usize::MAX` for no bound).
    ///
    /// # Cancellation
    ///
    /// Dropping the stream drops every future in flight, the outputs waiting
    /// for their turn, and the source. `next()` is cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedStreamExt;
    ///
    /// # futures::executor::block_on(async {
    /// let source = futures::stream::iter((0..100).map(|i| async move {
    ///     if i == 2 { Err("item 2 failed") } else { Ok(i) }
    /// }));
    /// let outputs: Vec<_> = source.try_limited_in_order(3).collect().await;
    /// assert_eq!(outputs, [Ok(0), Ok(1), Err("item 2 failed")]);
    /// # });
    /// ```
    #[track_caller]
    fn try_limited_in_order<T, E>(self, limit: usize) -> TryLimitedInOrderStream<Self>
    where
        Self::Item: IntoFuture<Output = Result<T, E>>,
    {
        TryLimitedInOrderStream::new(self, limit, "try_limited_in_order")
    }
}

/// Every stream; the methods ask for items that are [`IntoFuture`].
impl<S: Stream> LimitedAsCompletedStreamExt for S {}
