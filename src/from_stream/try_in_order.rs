//! [`TryLimitedInOrderStream`]: a stream's fallible futures, outputs in input
//! order, stopping at the first error in input order.

use core::future::IntoFuture;
use core::pin::Pin;

use alloc::boxed::Box;
use futures_core::Stream;

use crate::cores::{InOrderCore, OnErr};
use crate::source::Polled;

limited_stream! {
    /// Stream for the
    /// [`try_limited_in_order`](crate::LimitedAsCompletedStreamExt::try_limited_in_order)
    /// method of [`LimitedAsCompletedStreamExt`](crate::LimitedAsCompletedStreamExt).
    ///
    /// The same as [`TryLimitedInOrder`](crate::TryLimitedInOrder), with a
    /// `Stream` of futures as the source; the
    /// [trait docs](crate::LimitedAsCompletedStreamExt) say what differs.
    pub struct TryLimitedInOrderStream<S>
    where [S: Stream, S::Item: IntoFuture]
    impl [T, E] where [S: Stream, S::Item: IntoFuture<Output = Result<T, E>>]
    {
        core: InOrderCore<Polled<S>, OnErr>,
        item: Result<T, E>,
        new: |stream: S| Polled::new(stream),
        into_inner: Pin<Box<S>>, |source| source.into_inner(),
        example: "use limited_as_completed::LimitedAsCompletedStreamExt;",
            "futures::stream::iter((0..10).map(|i| async move { Ok::<u32, String>(i) })).try_limited_in_order(3)",
            "stream.into_inner().count().await",
    }
}
