//! [`TryLimitedAsCompletedStream`]: a stream's futures, stopping at the first
//! error.

use core::future::IntoFuture;
use core::pin::Pin;

use alloc::boxed::Box;
use futures_core::Stream;

use crate::cores::{AsCompletedCore, OnErr};
use crate::source::Polled;

limited_stream! {
    /// Stream for the
    /// [`try_limited_as_completed`](crate::LimitedAsCompletedStreamExt::try_limited_as_completed)
    /// method of [`LimitedAsCompletedStreamExt`](crate::LimitedAsCompletedStreamExt).
    ///
    /// The same as [`TryLimitedAsCompleted`](crate::TryLimitedAsCompleted), with a
    /// `Stream` of futures as the source; the
    /// [trait docs](crate::LimitedAsCompletedStreamExt) say what differs.
    pub struct TryLimitedAsCompletedStream<S>
    where [S: Stream, S::Item: IntoFuture]
    impl [T, E] where [S: Stream, S::Item: IntoFuture<Output = Result<T, E>>]
    {
        core: AsCompletedCore<Polled<S>, OnErr>,
        item: Result<T, E>,
        new: |stream: S| Polled::new(stream),
        into_inner: Pin<Box<S>>, |source| source.into_inner(),
        example: "use limited_as_completed::LimitedAsCompletedStreamExt;",
            "futures::stream::iter((0..10).map(|i| async move { Ok::<u32, String>(i) })).try_limited_as_completed(3)",
            "stream.into_inner().count().await",
    }
}
