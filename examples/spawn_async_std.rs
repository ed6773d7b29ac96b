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
//! async, so a `Drop` cannot do it. The pattern below: each handle is wrapped
//! in a `Cancellable`, which, if it is dropped before its task finished, hands
//! the handle to a shared `Canceller`. After dropping the stream, one
//! `canceller.cancel_all().await` cancels those tasks and waits until each has
//! stopped, so when it returns nothing is left running. (If you skip
//! `cancel_all`, the handles are dropped with the `Canceller` and the tasks
//! detach, as with bare handles.)
//!
//! ```text
//! cargo run --example spawn_async_std
//! ```

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use async_std::task::JoinHandle;
use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;

const JOBS: u64 = 20;
const LIMIT: usize = 4;
const TAKE: usize = 6;

/// Collects the handles of tasks dropped before they finished, to cancel them.
struct Canceller<T> {
    dropped: Arc<Mutex<Vec<JoinHandle<T>>>>,
}

impl<T> Canceller<T> {
    fn new() -> Self {
        Self {
            dropped: Arc::default(),
        }
    }

    /// Wraps `handle` so that dropping it before the task finished hands it
    /// to this canceller.
    fn wrap(&self, handle: JoinHandle<T>) -> Cancellable<T> {
        Cancellable {
            handle: Some(handle),
            dropped: Arc::clone(&self.dropped),
        }
    }

    /// Cancels every task whose handle was dropped unfinished, and waits for
    /// each to stop. Returns how many there were.
    async fn cancel_all(&self) -> usize {
        let handles = mem::take(&mut *self.dropped.lock().unwrap_or_else(PoisonError::into_inner));
        let count = handles.len();
        for handle in handles {
            handle.cancel().await;
        }
        count
    }
}

/// A task handle that, if dropped before its task finished, hands the handle
/// to its [`Canceller`].
struct Cancellable<T> {
    handle: Option<JoinHandle<T>>,
    dropped: Arc<Mutex<Vec<JoinHandle<T>>>>,
}

impl<T> Future for Cancellable<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let handle = self.handle.as_mut().expect("polled after completion");
        let output = futures::ready!(Pin::new(handle).poll(cx));
        self.handle = None; // finished: nothing to cancel
        Poll::Ready(output)
    }
}

impl<T> Drop for Cancellable<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.dropped
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(handle);
        }
    }
}

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

#[async_std::main]
async fn main() {
    let stats = Arc::new(Stats::default());
    let spawned = AtomicUsize::new(0);
    let canceller = Canceller::new();

    let tasks = (0..JOBS).map(|job| {
        spawned.fetch_add(1, Ordering::SeqCst);
        println!("spawn job {job:2}");
        let stats = Arc::clone(&stats);
        canceller.wrap(async_std::task::spawn(async move {
            let mut running = Running::start(job, &stats);
            async_std::task::sleep(Duration::from_millis(10 + 15 * (job % 4))).await;
            running.done = true;
            println!("  job {job:2} done");
            job * job
        }))
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
    let cancelled = canceller.cancel_all().await;
    println!("cancel_all cancelled {cancelled} tasks");

    // `cancel_all` waited for every task to stop: nothing is running now.
    let running = stats.running.load(Ordering::SeqCst);
    // Give a task that was wrongly left running the time to finish.
    async_std::task::sleep(Duration::from_millis(100)).await;

    let spawned = spawned.load(Ordering::SeqCst);
    let finished = stats.finished.load(Ordering::SeqCst);
    let cancelled = stats.cancelled.load(Ordering::SeqCst);
    let never_started = spawned - finished - cancelled;
    println!(
        "{spawned} spawned: {finished} finished, {cancelled} cancelled while running, \
         {never_started} cancelled before they started, {running} still running"
    );
    assert_eq!(running, 0);
    assert_eq!(spawned, TAKE + LIMIT);
}
