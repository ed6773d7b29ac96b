//! Fail fast: stop at the first error, two ways.
//!
//! 1. `limited_as_completed(n)` and `try_next()?`: a stream of `Result`s is a
//!    `TryStream`, so `try_next()?` stops at the first `Err`, and dropping the
//!    stream drops the futures still in flight. But each slot is refilled
//!    before an output is returned, so by the time the `Err` comes out, one
//!    more item has been pulled (and started) in its place.
//! 2. `try_limited_as_completed(n)`: at the first `Err` nothing more is
//!    pulled, the futures in flight are dropped at once, the `Err` is yielded,
//!    and the stream ends.
//!
//! Both runs below check items 0 to 19 with at most 3 at a time; item 4 fails.
//! Each item takes a few steps of work (an `await` that yields to the
//! executor), so they finish out of order. Watch the "pull" lines.
//!
//! ```text
//! cargo run --example fail_fast
//! ```

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{StreamExt, TryStreamExt};
use limited_as_completed::LimitedAsCompletedExt;

const LIMIT: usize = 3;

/// Returns `Pending` once (waking its task at once), then `Ready`: one step
/// of work, then the executor gets a turn.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Checks item `i` in `1 + i % 3` steps; item 4 fails.
async fn check(i: u32) -> Result<u32, String> {
    for _ in 0..1 + i % 3 {
        YieldNow(false).await;
    }
    if i == 4 {
        println!("  item {i} failed");
        Err(format!("item {i} is bad"))
    } else {
        println!("  item {i} ok");
        Ok(i)
    }
}

/// The items, printing and counting each pull.
fn items(
    pulled: &Cell<u32>,
) -> impl Iterator<Item = impl Future<Output = Result<u32, String>>> + '_ {
    (0..20).map(move |i| {
        pulled.set(pulled.get() + 1);
        println!("pull item {i}");
        check(i)
    })
}

/// Sums the items with `limited_as_completed` and `try_next()?`.
async fn sum_with_try_next(pulled: &Cell<u32>) -> Result<u32, String> {
    let mut results = items(pulled).limited_as_completed(LIMIT);
    let mut sum = 0;
    while let Some(i) = results.try_next().await? {
        sum += i;
    }
    Ok(sum)
}

/// Sums the items with `try_limited_as_completed`.
async fn sum_with_try_limited(pulled: &Cell<u32>) -> Result<u32, String> {
    let mut results = items(pulled).try_limited_as_completed(LIMIT);
    let mut sum = 0;
    while let Some(result) = results.next().await {
        sum += result?;
    }
    Ok(sum)
}

fn main() {
    futures::executor::block_on(async {
        println!("limited_as_completed({LIMIT}) + try_next()?:");
        let pulled_try_next = Cell::new(0);
        let result = sum_with_try_next(&pulled_try_next).await;
        println!("=> {result:?}, {} items pulled\n", pulled_try_next.get());
        assert!(result.is_err());

        println!("try_limited_as_completed({LIMIT}):");
        let pulled_try_limited = Cell::new(0);
        let result = sum_with_try_limited(&pulled_try_limited).await;
        println!("=> {result:?}, {} items pulled", pulled_try_limited.get());
        assert!(result.is_err());

        assert_eq!(pulled_try_next.get(), pulled_try_limited.get() + 1);
    });
}
