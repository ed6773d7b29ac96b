//! Background work on tokio: each item is a spawned task's handle, wrapped so
//! that dropping it aborts the task.
//!
//! A future in flight only advances while the stream is polled. A spawned
//! task runs on the runtime whatever the stream is doing, so mapping each item
//! to `tokio::spawn(...)` gets background work, and because the iterator is
//! pulled lazily, at most `LIMIT` tasks exist at a time.
//!
//! A bare `tokio::task::JoinHandle` *detaches* its task when dropped: the task
//! goes on running. Dropping the stream would then leave the tasks in flight
//! running, unobserved. The small `AbortOnDrop` wrapper (in
//! `spawn/abort_on_drop.rs`) calls `JoinHandle::abort` in its `Drop`, so
//! dropping the stream aborts them: tokio's way of cancelling a task.
//!
//! ```text
//! cargo run --example spawn_tokio
//! ```

#[path = "spawn/abort_on_drop.rs"]
mod abort_on_drop;
#[path = "spawn/running.rs"]
mod running;

use std::sync::Arc;

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;
use tokio::task::JoinError;

use abort_on_drop::AbortOnDrop;
use running::{Stats, JOBS, LIMIT, TAKE};

#[tokio::main]
async fn main() -> Result<(), JoinError> {
    let stats = Arc::new(Stats::default());

    let tasks = (0..JOBS).map(|job| AbortOnDrop(tokio::spawn(stats.job(job, tokio::time::sleep))));
    let mut squares = tasks.limited_as_completed(LIMIT);

    for _ in 0..TAKE {
        let square = squares.next().await.expect("20 jobs")?;
        println!("got {square}");
    }

    stats.dropping(squares.in_flight());
    drop(squares);

    // `abort` takes effect on the runtime: wait for the aborted tasks to be
    // dropped.
    stats.settle(tokio::time::sleep).await;
    stats.report();
    Ok(())
}
