//! [`LimitedAsCompleted`]: an iterator's futures, outputs in completion order.

use core::future::IntoFuture;

use crate::cores::AsCompletedCore;

limited_stream! {
    /// Stream for the
    /// [`limited_as_completed`](crate::LimitedAsCompletedExt::limited_as_completed)
    /// method.
    ///
    /// See that method for when items are pulled, the bound, the order of
    /// outputs, panics and cancellation. [`LimitedAsCompletedStream`](crate::LimitedAsCompletedStream)
    /// is the same over a `Stream` of futures.
    pub struct LimitedAsCompleted<I>
    where [I: Iterator, I::Item: IntoFuture]
    impl [] where [I: Iterator, I::Item: IntoFuture]
    {
        core: AsCompletedCore<I>,
        item: <I::Item as IntoFuture>::Output,
        new: |iter: I| iter,
        into_inner: I, |iter| iter,
        example: "use limited_as_completed::LimitedAsCompletedExt;",
            "(0..10).map(|i| async move { i }).limited_as_completed(3)",
            "stream.into_inner().count()",
    }
}
