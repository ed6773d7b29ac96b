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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;

const JOBS: u64 = 20;
const LIMIT: usize = 4;
const TAKE: usize = 6;

/// Counts the jobs running now, and those that finished or were cancelled.
#[derive(Default)]
struct Stats {
    running: AtomicUsize,
    finished: AtomicUsize,
    cancelled: AtomicUsize,
}

/// Lives as long as a job's body; tells a finished job from a cancelled one.
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
            self.stats.cancelled.fetch_add(1, Ordering::SeqCst);
            println!("  job {:2} cancelled", self.job);
        }
    }
}

fn main() {
    smol::block_on(async {
        let stats = Arc::new(Stats::default());
        let spawned = AtomicUsize::new(0);

        let tasks = (0..JOBS).map(|job| {
            spawned.fetch_add(1, Ordering::SeqCst);
            println!("spawn job {job:2}");
            let stats = Arc::clone(&stats);
            smol::spawn(async move {
                let mut running = Running::start(job, &stats);
                smol::Timer::after(Duration::from_millis(10 + 15 * (job % 4))).await;
                running.done = true;
                println!("  job {job:2} done");
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

        // Cancellation happens on the executor: wait (at most 2 s) for the
        // cancelled tasks to be dropped.
        let deadline = Instant::now() + Duration::from_secs(2);
        while stats.running.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            smol::Timer::after(Duration::from_millis(1)).await;
        }
        // Give a task that was wrongly left running the time to finish.
        smol::Timer::after(Duration::from_millis(100)).await;

        let spawned = spawned.load(Ordering::SeqCst);
        let finished = stats.finished.load(Ordering::SeqCst);
        let cancelled = stats.cancelled.load(Ordering::SeqCst);
        let running = stats.running.load(Ordering::SeqCst);
        let never_started = spawned - finished - cancelled;
        println!(
            "{spawned} spawned: {finished} finished, {cancelled} cancelled while running, \
             {never_started} cancelled before they started, {running} still running"
        );
        assert_eq!(running, 0);
        assert_eq!(spawned, TAKE + LIMIT);
    });
}
