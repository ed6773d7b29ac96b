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
//! running, unobserved. The small `AbortOnDrop` wrapper below calls
//! `JoinHandle::abort` in its `Drop`, so dropping the stream aborts them.
//! (tokio-util's `AbortOnDropHandle` is the same thing, if you already depend
//! on tokio-util.)
//!
//! ```text
//! cargo run --example spawn_tokio
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;
use tokio::task::{JoinError, JoinHandle};

const JOBS: u64 = 20;
const LIMIT: usize = 4;
const TAKE: usize = 6;

/// A tokio task handle that aborts its task when dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        // A no-op if the task has already finished.
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Counts the jobs running now, and those that finished or were aborted.
#[derive(Default)]
struct Stats {
    running: AtomicUsize,
    finished: AtomicUsize,
    aborted: AtomicUsize,
}

/// Lives as long as a job's body; tells a finished job from an aborted one.
struct Running {
    job: u64,
    stats: Arc<Stats>,
    done: bool,
}

impl Running {
    fn start(job: u64, stats: &Arc<Stats>) -> Self {
        let now = stats.running.fetch_add(1, Ordering::SeqCst) + 1;
        println!("  job {job:2} starts ({now} running)");
        Self {
            job,
            stats: Arc::clone(stats),
            done: false,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stats.running.fetch_sub(1, Ordering::SeqCst);
        if self.done {
            self.stats.finished.fetch_add(1, Ordering::SeqCst);
        } else {
            self.stats.aborted.fetch_add(1, Ordering::SeqCst);
            println!("  job {:2} aborted", self.job);
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), JoinError> {
    let stats = Arc::new(Stats::default());
    let spawned = AtomicUsize::new(0);

    let tasks = (0..JOBS).map(|job| {
        spawned.fetch_add(1, Ordering::SeqCst);
        println!("spawn job {job:2}");
        let stats = Arc::clone(&stats);
        AbortOnDrop(tokio::spawn(async move {
            let mut running = Running::start(job, &stats);
            tokio::time::sleep(Duration::from_millis(10 + 15 * (job % 4))).await;
            running.done = true;
            println!("  job {job:2} done");
            job * job
        }))
    });
    let mut squares = tasks.limited_as_completed(LIMIT);

    for _ in 0..TAKE {
        let square = squares.next().await.expect("20 jobs")?;
        println!("got {square}");
    }

    println!(
        "dropping the stream: {} tasks in flight, {} spawned of {JOBS}",
        squares.in_flight(),
        spawned.load(Ordering::SeqCst),
    );
    drop(squares);

    // `abort` takes effect on the runtime: wait (at most 2 s) for the aborted
    // tasks to be dropped.
    let deadline = Instant::now() + Duration::from_secs(2);
    while stats.running.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Give a task that was wrongly left running the time to finish.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let spawned = spawned.load(Ordering::SeqCst);
    let finished = stats.finished.load(Ordering::SeqCst);
    let aborted = stats.aborted.load(Ordering::SeqCst);
    let running = stats.running.load(Ordering::SeqCst);
    let never_started = spawned - finished - aborted;
    println!(
        "{spawned} spawned: {finished} finished, {aborted} aborted while running, \
         {never_started} aborted before they started, {running} still running"
    );
    assert_eq!(running, 0);
    assert_eq!(spawned, TAKE + LIMIT);
    Ok(())
}
