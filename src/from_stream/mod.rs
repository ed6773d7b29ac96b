//! The stream types for a `Stream` of futures as the source.

mod as_completed;
mod in_order;
mod try_as_completed;
mod try_in_order;

pub use self::as_completed::LimitedAsCompletedStream;
pub use self::in_order::LimitedInOrderStream;
pub use self::try_as_completed::TryLimitedAsCompletedStream;
pub use self::try_in_order::TryLimitedInOrderStream;
