//! Background work on async-std: each item is a spawned task's handle, and
//! the tasks still in flight are cancelled explicitly when we stop early.
//!
//! A future in flight only advances while the stream is polled. A spawned
//! task runs on the executor whatever the stream is doing, so mapping each
//! item to `async_std::task::spawn(...)` gets background work, and because the
//! iterator is pulled lazily, at most `LIMIT` tasks exist at a time.
//!
//! An `async_std::task::JoinHandle` *detaches* its task when dropped: the task
//! goes on running. Stopping is `JoinHandle::cancel(self).await`, which is
//! async, so a `Drop` cannot do it. The pattern, in `spawn/canceller.rs`:
//! each handle is wrapped in a `Cancellable`, which, if it is dropped before
//! its task finished, hands the handle to a shared `Canceller`. After dropping the stream, one
//! `canceller.cancel_all().await` cancels those tasks and waits until each has
//! stopped, so when it returns nothing is left running. (If you skip
//! `cancel_all`, the handles are dropped with the `Canceller` and the tasks
//! detach, as with bare handles.)
//!
//! ```text
//! cargo run --example spawn_async_std
//! ```

#[path = "spawn/canceller.rs"]
mod canceller;
#[path = "spawn/running.rs"]
mod running;

use std::sync::Arc;

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;

use canceller::Canceller;
use running::{Stats, JOBS, LIMIT, TAKE};

#[async_std::main]
async fn main() {
    let stats = Arc::new(Stats::default());
    let canceller = Canceller::new();

    let tasks = (0..JOBS).map(|job| {
        canceller.wrap(async_std::task::spawn(
            stats.job(job, async_std::task::sleep),
        ))
    });
    let mut squares = tasks.limited_as_completed(LIMIT);

    for _ in 0..TAKE {
        let square = squares.next().await.expect("20 jobs");
        println!("got {square}");
    }

    stats.dropping(squares.in_flight());
    drop(squares);
    let cancelled = canceller.cancel_all().await;
    println!("cancel_all cancelled {cancelled} tasks");

    // `cancel_all` waited for every task to stop: nothing is running now.
    assert_eq!(stats.running(), 0);
    stats.settle(async_std::task::sleep).await;
    stats.report();
}
