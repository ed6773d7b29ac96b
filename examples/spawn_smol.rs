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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;

use running::{Running, Stats};

const JOBS: u64 = 20;
const LIMIT: usize = 4;
const TAKE: usize = 6;

fn main() {
    smol::block_on(async {
        let stats = Arc::new(Stats::default());
        let spawned = AtomicUsize::new(0);

        let tasks = (0..JOBS).map(|job| {
            spawned.fetch_add(1, Ordering::SeqCst);
            println!("spawn job {job:2}");
            let stats = Arc::clone(&stats);
            smol::spawn(async move {
                let running = Running::start(job, &stats);
                smol::Timer::after(Duration::from_millis(10 + 15 * (job % 4))).await;
                running.done();
                job * job
            })
        });
        let mut squares = tasks.limited_as_completed(LIMIT);

        for _ in 0..TAKE {
            let square = squares.next().await.expect("20 jobs");
            println!("got {square}");
        }

        println!(
            "dropping the stream: {} tasks in flight, {} spawned of {JOBS}",
            squares.in_flight(),
            spawned.load(Ordering::SeqCst),
        );
        drop(squares);

        // Cancellation happens on the executor: wait for the cancelled tasks
        // to be dropped.
        stats.settle(smol::Timer::after).await;
        stats.report(spawned.load(Ordering::SeqCst), TAKE + LIMIT);
    });
}
