//! [`TryLimitedAsCompleted`]: an iterator's fallible futures, stopping at the
//! first error.

use core::future::IntoFuture;

use crate::cores::{AsCompletedCore, OnErr};

limited_stream! {
    /// Stream for the
    /// [`try_limited_as_completed`](crate::LimitedAsCompletedExt::try_limited_as_completed)
    /// method.
    ///
    /// See that method for when items are pulled and what happens at the first
    /// error. [`TryLimitedAsCompletedStream`](crate::TryLimitedAsCompletedStream)
    /// is the same over a `Stream` of futures.
    pub struct TryLimitedAsCompleted<I>
    where [I: Iterator, I::Item: IntoFuture]
    impl [T, E] where [I: Iterator, I::Item: IntoFuture<Output = Result<T, E>>]
    {
        core: AsCompletedCore<I, OnErr>,
        item: Result<T, E>,
        new: |iter: I| iter,
        into_inner: I, |iter| iter,
        example: "use limited_as_completed::LimitedAsCompletedExt;",
            "(0..10).map(|i| async move { Ok::<u32, String>(i) }).try_limited_as_completed(3)",
            "stream.into_inner().count()",
    }
}
