//! The eight adaptor stream types: completion or input order, plain or
//! fallible, over an iterator or a `Stream` of futures. All they share is
//! written once, in `macros.rs`, [`LimitedStream`](crate::LimitedStream) and
//! the cores.

use core::future::IntoFuture;

use crate::cores::{AsCompletedCore, InOrderCore};

adaptor!(
    LimitedAsCompleted,
    iter,
    plain,
    AsCompletedCore,
    "limited_as_completed",
    LimitedAsCompletedStream,
    "when items are pulled, the bound, the order of outputs, panics and cancellation"
);
adaptor!(
    LimitedInOrder,
    iter,
    plain,
    InOrderCore,
    "limited_in_order",
    LimitedInOrderStream,
    "when items are pulled, the bound, the head-of-line effect, panics and cancellation"
);
adaptor!(
    TryLimitedAsCompleted,
    iter,
    try,
    AsCompletedCore,
    "try_limited_as_completed",
    TryLimitedAsCompletedStream,
    "when items are pulled and what happens at the first error"
);
adaptor!(
    TryLimitedInOrder,
    iter,
    try,
    InOrderCore,
    "try_limited_in_order",
    TryLimitedInOrderStream,
    "when items are pulled and what happens at the first error"
);

adaptor!(
    LimitedAsCompletedStream,
    stream,
    plain,
    AsCompletedCore,
    "limited_as_completed",
    LimitedAsCompleted,
    "the rules"
);
adaptor!(
    LimitedInOrderStream,
    stream,
    plain,
    InOrderCore,
    "limited_in_order",
    LimitedInOrder,
    "the rules"
);
adaptor!(
    TryLimitedAsCompletedStream,
    stream,
    try,
    AsCompletedCore,
    "try_limited_as_completed",
    TryLimitedAsCompleted,
    "the rules"
);
adaptor!(
    TryLimitedInOrderStream,
    stream,
    try,
    InOrderCore,
    "try_limited_in_order",
    TryLimitedInOrder,
    "the rules"
);
