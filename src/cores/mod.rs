//! The two ways of handing outputs out, over the slot engine: completion
//! order ([`AsCompletedCore`]) and input order ([`InOrderCore`]).
//!
//! Every public stream type wraps one core and one [`Source`](crate::source::Source);
//! the cores hold all of the polling logic, so the public types are thin.

mod as_completed;
mod in_order;

use core::fmt;
use core::future::IntoFuture;
use core::task::{Context, Poll};

pub(crate) use self::as_completed::AsCompletedCore;
pub(crate) use self::in_order::InOrderCore;
use crate::size_hint;
use crate::source::Source;

/// The source as both cores pull it: it counts the items pulled, which
/// gives each its position in the input, and remembers that the source
/// ended (or that an output stopped the stream): nothing more is pulled.
struct Feed<S> {
    source: S,
    /// Items pulled so far; the next item's position.
    pulled: usize,
    done: bool,
}

impl<S: Source> Feed<S> {
    fn new(source: S) -> Self {
        Self {
            source,
            pulled: 0,
            done: false,
        }
    }

    /// The next item's future and position; `None` if the source is
    /// `Pending` or has ended (then [`done`](Self::done) is set). The item
    /// is counted before `into_future` runs, so one whose `into_future`
    /// panics keeps its position in the input, as one whose first poll
    /// panics does.
    #[inline]
    fn next(&mut self, cx: &mut Context<'_>) -> Option<(S::Future, usize)> {
        match self.source.poll_pull(cx) {
            Poll::Ready(Some(item)) => {
                let tag = self.pulled;
                self.pulled += 1;
                Some((item.into_future(), tag))
            }
            Poll::Ready(None) => {
                self.done = true;
                None
            }
            Poll::Pending => None,
        }
    }

    /// Pulls nothing more: the source ended or an output stopped the stream.
    fn stop(&mut self) {
        self.done = true;
    }

    /// The hint of a stream holding `in_flight` items over this source.
    fn size_hint(&self, in_flight: usize) -> (usize, Option<usize>) {
        size_hint::with_source(in_flight, self.source.size_hint(), self.done)
    }
}

/// What every public stream type needs from its core.
pub(crate) trait Core {
    /// The futures' output.
    type Output;

    fn limit(&self) -> usize;

    fn set_limit(&mut self, limit: usize);

    /// Items pulled and neither yielded nor dropped.
    fn in_flight(&self) -> usize;

    /// Whether the source has ended (or the stream stopped pulling for good).
    fn source_done(&self) -> bool;

    fn size_hint(&self) -> (usize, Option<usize>);

    /// Polls for the next output, with its position in the input.
    fn poll_tagged(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Self::Output)>>;

    /// Polls the futures woken since the last call without handing out an
    /// output or pulling: `Ready` once no future is running.
    fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<()>;

    fn is_terminated(&self) -> bool {
        self.source_done() && self.in_flight() == 0
    }

    /// Writes the fields every stream's `Debug` shows.
    fn debug(&self, f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
        f.debug_struct(name)
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .field("source_done", &self.source_done())
            .finish_non_exhaustive()
    }
}

/// Whether an output ends the stream: the fail-fast policy of
/// `try_limited_as_completed`.
pub(crate) trait Stop<T> {
    /// Whether any output may stop the stream (then the lower bound of the
    /// size hint is at most 1: the next output may be the last).
    const MAY_STOP: bool;

    fn stop(output: &T) -> bool;
}

/// Never stops: every output is an ordinary one.
#[derive(Debug)]
pub(crate) struct Never;

impl<T> Stop<T> for Never {
    const MAY_STOP: bool = false;

    #[inline]
    fn stop(_: &T) -> bool {
        false
    }
}

/// Stops at the first `Err`.
#[derive(Debug)]
pub(crate) struct OnErr;

impl<T, E> Stop<Result<T, E>> for OnErr {
    const MAY_STOP: bool = true;

    #[inline]
    fn stop(output: &Result<T, E>) -> bool {
        output.is_err()
    }
}

/// Panics with the crate's message for a limit of 0.
#[track_caller]
pub(crate) fn check_limit(method: &str, limit: usize) {
    if limit == 0 {
        panic!(
            "`{method}`: `limit` must be at least 1, got {limit}; \
             pass `usize::MAX` for no bound"
        );
    }
}
