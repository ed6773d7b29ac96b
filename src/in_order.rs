//! [`LimitedInOrder`]: an iterator's futures, outputs in input order.

use core::future::IntoFuture;

use crate::cores::InOrderCore;

limited_stream! {
    /// Stream for the
    /// [`limited_in_order`](crate::LimitedAsCompletedExt::limited_in_order)
    /// method.
    ///
    /// See that method for when items are pulled, the bound, the head-of-line
    /// effect, panics and cancellation. [`LimitedInOrderStream`](crate::LimitedInOrderStream)
    /// is the same over a `Stream` of futures.
    pub struct LimitedInOrder<I>
    where [I: Iterator, I::Item: IntoFuture]
    impl [] where [I: Iterator, I::Item: IntoFuture]
    {
        core: InOrderCore<I>,
        item: <I::Item as IntoFuture>::Output,
        new: |iter: I| iter,
        into_inner: I, |iter| iter,
        example: "use limited_as_completed::LimitedAsCompletedExt;",
            "(0..10).map(|i| async move { i }).limited_in_order(3)",
            "stream.into_inner().count()",
    }
}
