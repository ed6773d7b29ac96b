//! [`LimitedInOrderStream`]: a stream's futures, outputs in input
//! order.

use core::future::IntoFuture;
use core::pin::Pin;

use alloc::boxed::Box;
use futures_core::Stream;

use crate::cores::InOrderCore;
use crate::source::Polled;

limited_stream! {
    /// Stream for the
    /// [`limited_in_order`](crate::LimitedAsCompletedStreamExt::limited_in_order)
    /// method of [`LimitedAsCompletedStreamExt`](crate::LimitedAsCompletedStreamExt).
    ///
    /// The same as [`LimitedInOrder`](crate::LimitedInOrder), with a
    /// `Stream` of futures as the source; the
    /// [trait docs](crate::LimitedAsCompletedStreamExt) say what differs.
    pub struct LimitedInOrderStream<S>
    where [S: Stream, S::Item: IntoFuture]
    impl [] where [S: Stream, S::Item: IntoFuture]
    {
        core: InOrderCore<Polled<S>>,
        item: <S::Item as IntoFuture>::Output,
        new: |stream: S| Polled::new(stream),
        into_inner: Pin<Box<S>>, |source| source.into_inner(),
        example: "use limited_as_completed::LimitedAsCompletedStreamExt;",
            "futures::stream::iter((0..10).map(|i| async move { i })).limited_in_order(3)",
            "stream.into_inner().count().await",
    }
}
