//! What the spawn examples share: the jobs, counting those that run, finish
//! or are cancelled, and the report after the stream was dropped.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Jobs in the source.
pub const JOBS: u64 = 20;
/// Jobs in flight at most.
pub const LIMIT: usize = 4;
/// Outputs taken before the stream is dropped.
pub const TAKE: usize = 6;

/// Counts the jobs spawned, running now, and those that finished or were
/// cancelled.
#[derive(Default)]
pub struct Stats {
    spawned: AtomicUsize,
    running: AtomicUsize,
    finished: AtomicUsize,
    cancelled: AtomicUsize,
}

impl Stats {
    /// Job `job`, about to be spawned (so the stream pulled it): a body that
    /// runs 10 to 55 ms, sleeping with `sleep`, and returns the square.
    pub fn job<F>(
        self: &Arc<Self>,
        job: u64,
        sleep: impl FnOnce(Duration) -> F + Send + 'static,
    ) -> impl Future<Output = u64> + Send + 'static
    where
        F: Future + Send,
    {
        self.spawned.fetch_add(1, Ordering::SeqCst);
        println!("spawn job {job:2}");
        let stats = Arc::clone(self);
        async move {
            let running = Running::start(job, &stats);
            sleep(Duration::from_millis(10 + 15 * (job % 4))).await;
            running.done();
            job * job
        }
    }

    /// Says what the stream holds when it is dropped.
    pub fn dropping(&self, in_flight: usize) {
        let spawned = self.spawned.load(Ordering::SeqCst);
        println!("dropping the stream: {in_flight} tasks in flight, {spawned} spawned of {JOBS}");
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Waits (at most 2 s, sleeping with `sleep`) for the cancelled tasks to
    /// be dropped on their executor, then 100 ms more, to give a task that
    /// was wrongly left running the time to finish.
    pub async fn settle<F: Future>(&self, sleep: impl Fn(Duration) -> F) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.running() > 0 && Instant::now() < deadline {
            sleep(Duration::from_millis(1)).await;
        }
        sleep(Duration::from_millis(100)).await;
    }

    /// Prints how the spawned jobs ended, and checks that none is running
    /// and that exactly `TAKE + LIMIT` were spawned: the stream pulled no
    /// more than it needed.
    pub fn report(&self) {
        let spawned = self.spawned.load(Ordering::SeqCst);
        let finished = self.finished.load(Ordering::SeqCst);
        let cancelled = self.cancelled.load(Ordering::SeqCst);
        let running = self.running();
        let never_started = spawned - finished - cancelled;
        println!(
            "{spawned} spawned: {finished} finished, {cancelled} cancelled while running, \
             {never_started} cancelled before they started, {running} still running"
        );
        assert_eq!(running, 0);
        assert_eq!(spawned, TAKE + LIMIT);
    }
}

/// Lives as long as a job's body; tells a finished job from a cancelled one.
pub struct Running {
    job: u64,
    stats: Arc<Stats>,
    done: bool,
}

impl Running {
    /// A job's body starts.
    pub fn start(job: u64, stats: &Arc<Stats>) -> Self {
        let now = stats.running.fetch_add(1, Ordering::SeqCst) + 1;
        println!("  job {job:2} starts ({now} running)");
        Self {
            job,
            stats: Arc::clone(stats),
            done: false,
        }
    }

    /// The job's body reached its end.
    pub fn done(mut self) {
        self.done = true;
        println!("  job {:2} done", self.job);
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
