//! [`TryLimitedInOrder`]: an iterator's fallible futures, outputs in input
//! order, stopping at the first error in input order.

use core::future::IntoFuture;

use crate::cores::{InOrderCore, OnErr};

limited_stream! {
    /// Stream for the
    /// [`try_limited_in_order`](crate::LimitedAsCompletedExt::try_limited_in_order)
    /// method.
    ///
    /// See that method for when items are pulled and what happens at the first
    /// error. [`TryLimitedInOrderStream`](crate::TryLimitedInOrderStream) is the
    /// same over a `Stream` of futures.
    pub struct TryLimitedInOrder<I>
    where [I: Iterator, I::Item: IntoFuture]
    impl [T, E] where [I: Iterator, I::Item: IntoFuture<Output = Result<T, E>>]
    {
        core: InOrderCore<I, OnErr>,
        item: Result<T, E>,
        new: |iter: I| iter,
        into_inner: I, |iter| iter,
        example: "use limited_as_completed::LimitedAsCompletedExt;",
            "(0..10).map(|i| async move { Ok::<u32, String>(i) }).try_limited_in_order(3)",
            "stream.into_inner().count()",
    }
}
