//! Background work on smol: each item is a spawned `smol::Task`.
//!
//! A future in flight only advances while the stream is polled. A spawned
//! task runs on the executor whatever the stream is doing, so mapping each
//! item to `smol::spawn(...)` gets background work, and because the iterator
//! is pulled lazily, at most `LIMIT` tasks exist at a time: a task is spawned
//! only when a slot is free.
//!
//! Dropping a `smol::Task` cancels the task, so dropping the stream cancels
//! the tasks still in flight. This example takes the first 6 of 20 results,
//! drops the stream, and shows that the tasks in flight were cancelled, not
//! left running.
//!
//! ```text
//! cargo run --example spawn_smol
//! ```

#[path = "spawn/running.rs"]
mod running;

use std::sync::Arc;

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;

use running::{Stats, JOBS, LIMIT, TAKE};

fn main() {
    smol::block_on(async {
        let stats = Arc::new(Stats::default());

        let tasks = (0..JOBS).map(|job| smol::spawn(stats.job(job, smol::Timer::after)));
        let mut squares = tasks.limited_as_completed(LIMIT);

        for _ in 0..TAKE {
            let square = squares.next().await.expect("20 jobs");
            println!("got {square}");
        }

        stats.dropping(squares.in_flight());
        drop(squares);

        // Cancellation happens on the executor: wait for the cancelled tasks
        // to be dropped.
        stats.settle(smol::Timer::after).await;
        stats.report();
    });
}
