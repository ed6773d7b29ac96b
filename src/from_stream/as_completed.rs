//! [`LimitedAsCompletedStream`]: a stream's futures, outputs in completion
//! order.

use core::future::IntoFuture;
use core::pin::Pin;

use alloc::boxed::Box;
use futures_core::Stream;

use crate::cores::AsCompletedCore;
use crate::source::Polled;

limited_stream! {
    /// Stream for the
    /// [`limited_as_completed`](crate::LimitedAsCompletedStreamExt::limited_as_completed)
    /// method of [`LimitedAsCompletedStreamExt`](crate::LimitedAsCompletedStreamExt).
    ///
    /// The same as [`LimitedAsCompleted`](crate::LimitedAsCompleted), with a
    /// `Stream` of futures as the source; the
    /// [trait docs](crate::LimitedAsCompletedStreamExt) say what differs.
    pub struct LimitedAsCompletedStream<S>
    where [S: Stream, S::Item: IntoFuture]
    impl [] where [S: Stream, S::Item: IntoFuture]
    {
        core: AsCompletedCore<Polled<S>>,
        item: <S::Item as IntoFuture>::Output,
        new: |stream: S| Polled::new(stream),
        into_inner: Pin<Box<S>>, |source| source.into_inner(),
        example: "use limited_as_completed::LimitedAsCompletedStreamExt;",
            "futures::stream::iter((0..10).map(|i| async move { i })).limited_as_completed(3)",
            "stream.into_inner().count().await",
    }
}
