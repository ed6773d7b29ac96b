//! [`LimitedStream`]: the surface every stream type of the crate shares, and
//! [`ProgressWhile`], the future of [`LimitedStream::progress_while`].

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

pub(crate) mod sealed {
    use core::task::{Context, Poll};

    use futures_core::Stream;

    /// Keeps [`LimitedStream`](super::LimitedStream) to this crate's types,
    /// and carries the hook [`Indexed`](crate::Indexed) polls through.
    pub trait Sealed: Stream {
        /// Polls for the next item with its position in the input.
        fn poll_tagged(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Self::Item)>>;
    }
}

/// The methods every stream of this crate shares: its limit, what is in
/// flight, and progress without handing out an output.
///
/// Implemented by every adaptor stream
/// ([`LimitedAsCompleted`](crate::LimitedAsCompleted),
/// [`LimitedInOrder`](crate::LimitedInOrder),
/// [`TryLimitedAsCompleted`](crate::TryLimitedAsCompleted),
/// [`TryLimitedInOrder`](crate::TryLimitedInOrder) and their `…Stream`
/// counterparts over a `Stream` source) and by [`Indexed`](crate::Indexed)
/// around any of them. The trait is sealed: no other type can implement it.
///
/// Each stream type also has every method of this trait as an inherent
/// method, so calling one needs no import; import the trait to write code
/// that works with any of the streams.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use limited_as_completed::{LimitedAsCompletedExt, LimitedStream};
///
/// /// Handles every output, keeping the other futures going meanwhile.
/// async fn drain<S: LimitedStream<Item = u32>>(mut stream: S) -> u32 {
///     let mut sum = 0;
///     while let Some(output) = stream.next().await {
///         sum += stream.progress_while(async { output }).await;
///     }
///     sum
/// }
///
/// # futures::executor::block_on(async {
/// let jobs = || (1..=4).map(|i| async move { i });
/// assert_eq!(drain(jobs().limited_as_completed(2)).await, 10);
/// assert_eq!(drain(jobs().limited_in_order(2)).await, 10);
/// # });
/// ```
pub trait LimitedStream: Stream + Unpin + sealed::Sealed {
    /// Returns the most futures that may be in flight at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use limited_as_completed::{LimitedAsCompletedExt, LimitedStream};
    ///
    /// let stream = (0..10).map(|i| async move { i }).limited_as_completed(3);
    /// assert_eq!(LimitedStream::limit(&stream), 3);
    /// ```
    fn limit(&self) -> usize;

    /// Changes the most futures that may be in flight at once.
    ///
    /// Raising the bound starts more futures on the next poll. Lowering it
    /// cancels nothing: what is in flight is let finish, and no new item is
    /// pulled until fewer than `limit` are in flight.
    ///
    /// # Panics
    ///
    /// If `limit` is 0. Pass `usize::MAX` for no bound: slots are created
    /// only as items arrive, so that is cheap.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::{LimitedAsCompletedExt, LimitedStream};
    ///
    /// # futures::executor::block_on(async {
    /// let mut stream = (0..10).map(|i| async move { i }).limited_as_completed(3);
    /// assert_eq!(stream.next().await, Some(0));
    /// LimitedStream::set_limit(&mut stream, 5);
    /// stream.next().await;
    /// assert_eq!(stream.in_flight(), 5);
    /// # });
    /// ```
    #[track_caller]
    fn set_limit(&mut self, limit: usize);

    /// Returns how many items were pulled and are neither yielded nor
    /// dropped: futures running plus finished outputs not yet yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use limited_as_completed::{LimitedAsCompletedExt, LimitedStream};
    ///
    /// # futures::executor::block_on(async {
    /// let mut stream = (0..10).map(|i| async move { i }).limited_as_completed(3);
    /// assert_eq!(LimitedStream::in_flight(&stream), 0); // nothing is pulled before the first poll
    /// assert_eq!(stream.next().await, Some(0));
    /// assert_eq!(LimitedStream::in_flight(&stream), 3); // the freed place was refilled first
    /// # });
    /// ```
    fn in_flight(&self) -> usize;

    /// Advances the futures in flight without handing out an output and
    /// without pulling from the source.
    ///
    /// Polls the futures woken since the last call, each at most once, in
    /// the order they were woken (the same rules as `poll_next`: a future
    /// that was not woken is not polled, and one that keeps waking itself
    /// makes this return `Pending` after waking the task, not spin). A future
    /// that finishes keeps its place: it still counts in
    /// [`in_flight`](Self::in_flight) and against the limit, and its output
    /// comes out of a later `poll_next` in the stream's order (completion
    /// order as this call saw it; input order for the in-order streams).
    ///
    /// Returns `Ready(())` when no future is running (all finished, or none
    /// in flight), else `Pending`, with the task of `cx` woken when a future
    /// in flight is.
    ///
    /// This is the "poll_progress" idea proposed for Rust's async
    /// iterators: a method a `for await` loop would call while its body
    /// runs. Until the language does that, use
    /// [`progress_while`](Self::progress_while).
    ///
    /// For the `try_` streams, an `Err` that finishes here ends the pulling
    /// at once and drops the futures it makes moot (for
    /// `try_limited_as_completed`, every future still running; for
    /// `try_limited_in_order`, those after it in input order); the next
    /// `poll_next` calls hand out the outputs held before it, then the `Err`,
    /// then end.
    ///
    /// # Panics
    ///
    /// A panic in a future comes out of this call; the future is dropped and
    /// the stream stays usable, as with `poll_next`.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::channel::oneshot;
    /// use futures::task::noop_waker_ref;
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    /// use std::task::{Context, Poll};
    ///
    /// let (sender, receiver) = oneshot::channel::<u32>();
    /// let mut stream = [receiver].limited_as_completed(1);
    /// let mut cx = Context::from_waker(noop_waker_ref());
    ///
    /// assert_eq!(stream.poll_progress(&mut cx), Poll::Ready(())); // nothing pulled yet
    /// assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending); // pulls and polls the receiver
    /// assert_eq!(stream.poll_progress(&mut cx), Poll::Pending); // still running
    /// sender.send(7).unwrap();
    /// assert_eq!(stream.poll_progress(&mut cx), Poll::Ready(())); // finished: output held
    /// assert_eq!(stream.in_flight(), 1);
    /// assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(Ok(7))));
    /// ```
    fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<()>;

    /// Runs `work` and, while it is pending, keeps the futures in flight
    /// going; resolves to `work`'s output as soon as `work` is ready.
    ///
    /// Futures in flight advance only while the stream is polled. A loop
    /// that awaits something else between two `next()` calls stalls them
    /// for that long: a request waits between its steps, a server times out,
    /// and if the futures in flight hold what the loop body needs (pool
    /// connections, semaphore permits), the program deadlocks. Awaiting the
    /// body through `progress_while` keeps them going with no runtime and no
    /// spawning:
    ///
    /// ```text
    /// while let Some(page) = pages.next().await {
    ///     pages.progress_while(save(page)).await; // the other fetches go on
    /// }
    /// ```
    ///
    /// Each poll of the returned future polls `work` first, then, if `work`
    /// is pending, [`poll_progress`](Self::poll_progress): so work that is
    /// ready at once returns without touching the stream. Nothing is pulled
    /// from the source meanwhile; futures that finish keep their places and
    /// their outputs come out of the next `next()` calls.
    ///
    /// What it cannot do: work that blocks the thread stalls everything, and
    /// nothing advances while neither the stream nor this future is polled.
    /// For work that must run with no one polling, map items to spawned task
    /// handles (see the [crate docs](crate#a-busy-consumer)).
    ///
    /// # Panics
    ///
    /// A panic in `work` or in a future in flight comes out of the poll of
    /// the returned future; a future that panicked is dropped and the stream
    /// stays usable.
    ///
    /// # Cancellation
    ///
    /// Dropping the returned future drops `work` and leaves the stream as it
    /// was: outputs that finished meanwhile stay held for `next()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::channel::oneshot;
    /// use futures::future::{poll_fn, BoxFuture, FutureExt};
    /// use futures::StreamExt;
    /// use limited_as_completed::LimitedAsCompletedExt;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::task::Poll;
    ///
    /// # futures::executor::block_on(async {
    /// let finished = AtomicBool::new(false);
    /// let (reply, answer) = oneshot::channel::<&str>();
    /// let jobs: Vec<BoxFuture<'_, &str>> = vec![
    ///     async { "first" }.boxed(),
    ///     async {
    ///         let text = answer.await.unwrap_or("lost");
    ///         finished.store(true, Ordering::Relaxed);
    ///         text
    ///     }
    ///     .boxed(),
    /// ];
    /// let mut outputs = jobs.limited_as_completed(2);
    /// assert_eq!(outputs.next().await, Some("first"));
    ///
    /// // Work on "first" (here: the reply the other job waits for arrives,
    /// // then the work waits once more); the other job goes on meanwhile.
    /// let mut waited = false;
    /// let work = async {
    ///     reply.send("second").unwrap();
    ///     poll_fn(|cx| if waited { Poll::Ready(()) } else {
    ///         waited = true;
    ///         cx.waker().wake_by_ref();
    ///         Poll::Pending
    ///     })
    ///     .await;
    ///     "saved"
    /// };
    /// assert_eq!(outputs.progress_while(work).await, "saved");
    /// assert!(finished.load(Ordering::Relaxed)); // it ran during the work
    /// assert_eq!(outputs.in_flight(), 1); // its output is held for `next()`
    /// assert_eq!(outputs.next().await, Some("second"));
    /// # });
    /// ```
    fn progress_while<F: IntoFuture>(&mut self, work: F) -> ProgressWhile<'_, Self, F::IntoFuture>
    where
        Self: Sized,
    {
        ProgressWhile {
            stream: self,
            work: work.into_future(),
        }
    }
}

pin_project! {
    /// Future for the [`progress_while`](LimitedStream::progress_while)
    /// method of every stream of this crate.
    ///
    /// Resolves to the output of the work; while the work is pending, it
    /// keeps the stream's futures in flight going.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ProgressWhile<'a, St, Fut> {
        stream: &'a mut St,
        #[pin]
        work: Fut,
    }
}

impl<St: LimitedStream, Fut: Future> Future for ProgressWhile<'_, St, Fut> {
    type Output = Fut::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.work.poll(cx) {
            return Poll::Ready(output);
        }
        // `Ready(())` only says no future is running: the work is still
        // pending, and its own waker brings the task back.
        let _ = this.stream.poll_progress(cx);
        Poll::Pending
    }
}

impl<St: fmt::Debug, Fut> fmt::Debug for ProgressWhile<'_, St, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgressWhile")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}
