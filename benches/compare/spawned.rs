//! Workload (e) of issue 12: every item spawns a tiny task on a 2-worker
//! tokio multi-thread runtime when it is pulled (the spawn happens in the
//! iterator's `map`) and awaits its `JoinHandle`; the contender runs under
//! `futures::executor::block_on` on the main thread, so every completion that
//! is not ready at its first poll is a wake from a worker thread.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinSet;

use crate::contenders::{run, Contender, Tally};
use crate::valgrind;

/// The contenders of (e).
pub const CONTENDERS: [Contender; 5] = [
    Contender::AsCompleted,
    Contender::FuturesBuffered,
    Contender::BufferUnordered,
    Contender::FuturesUnordered,
    Contender::JoinSet,
];

/// The runtime the tasks are spawned on: 2 workers, no I/O or time driver.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio multi-thread runtime")
}

/// Runs `items` spawned tasks at most `limit` at once the way `contender`
/// does; returns the wall time and the outputs' tally.
pub fn run_spawned(
    contender: Contender,
    handle: &Handle,
    items: usize,
    limit: usize,
) -> (Duration, Tally) {
    valgrind::start();
    let start = Instant::now();
    let tally = match contender {
        Contender::JoinSet => block_on(join_set(handle, items, limit)),
        c => {
            let spawned = (0..items as u64).map(|i| {
                let task = handle.spawn(async move { i });
                async move { task.await.expect("task failed") }
            });
            block_on(run(c, spawned, limit))
        }
    };
    let elapsed = start.elapsed();
    valgrind::stop();
    (elapsed, tally)
}

/// A `JoinSet` refill loop: `limit` tasks spawned, then one more per output.
async fn join_set(handle: &Handle, items: usize, limit: usize) -> Tally {
    let mut tally = Tally::default();
    let mut set = JoinSet::new();
    let mut next = 0u64;
    let items = items as u64;
    while next < items && set.len() < limit {
        set.spawn_on(async move { next }, handle);
        next += 1;
    }
    while let Some(result) = set.join_next().await {
        if next < items {
            set.spawn_on(async move { next }, handle);
            next += 1;
        }
        tally.add(result.expect("task failed"));
    }
    tally
}

/// Polls of the items' `JoinHandle`s, and first polls that found the task
/// done, counted by [`probe`] only.
static POLLS: AtomicUsize = AtomicUsize::new(0);
static READY_AT_FIRST_POLL: AtomicUsize = AtomicUsize::new(0);

/// What [`probe`] saw, per item.
pub struct Probe {
    pub elapsed: Duration,
    pub tally: Tally,
    /// Polls of a `JoinHandle` per item (`None` for `JoinSet`).
    pub polls: Option<f64>,
    /// Share of items whose task was done at the `JoinHandle`'s first poll.
    pub ready_at_first_poll: Option<f64>,
    /// The main thread's and the other threads' CPU time, time spent
    /// runnable but waiting for a CPU, and voluntary context switches (parks),
    /// from `/proc/self/task/*/{schedstat,status}`; zeros where unreadable.
    pub main: ThreadTimes,
    pub others: ThreadTimes,
}

/// Scheduler statistics of a set of threads, summed.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadTimes {
    pub run_ns: u64,
    pub wait_ns: u64,
    pub parks: u64,
}

impl std::ops::Sub for ThreadTimes {
    type Output = ThreadTimes;
    fn sub(self, o: ThreadTimes) -> ThreadTimes {
        ThreadTimes {
            run_ns: self.run_ns.saturating_sub(o.run_ns),
            wait_ns: self.wait_ns.saturating_sub(o.wait_ns),
            parks: self.parks.saturating_sub(o.parks),
        }
    }
}

/// (main thread, every other thread of the process).
fn thread_times() -> (ThreadTimes, ThreadTimes) {
    let me = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse::<u64>().ok());
    let (mut main, mut others) = (ThreadTimes::default(), ThreadTimes::default());
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (main, others);
    };
    for task in tasks.flatten() {
        let tid = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u64>().ok());
        let sched = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let mut fields = sched
            .split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0));
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let parks = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let times = ThreadTimes {
            run_ns: fields.next().unwrap_or(0),
            wait_ns: fields.next().unwrap_or(0),
            parks,
        };
        let sum = if tid == me { &mut main } else { &mut others };
        sum.run_ns += times.run_ns;
        sum.wait_ns += times.wait_ns;
        sum.parks += times.parks;
    }
    (main, others)
}

/// One run of (e) for `--probe`: as [`run_spawned`], but every `JoinHandle`
/// poll is counted, and the threads' scheduler statistics are read around
/// the run.
pub fn probe(contender: Contender, handle: &Handle, items: usize, limit: usize) -> Probe {
    POLLS.store(0, Relaxed);
    READY_AT_FIRST_POLL.store(0, Relaxed);
    let before = thread_times();
    valgrind::start();
    let start = Instant::now();
    let tally = match contender {
        Contender::JoinSet => block_on(join_set(handle, items, limit)),
        c => {
            let spawned = (0..items as u64).map(|i| counted(handle.spawn(async move { i })));
            block_on(run(c, spawned, limit))
        }
    };
    let elapsed = start.elapsed();
    valgrind::stop();
    let after = thread_times();
    let per_item = |n: usize| n as f64 / items as f64;
    let counted = contender != Contender::JoinSet;
    Probe {
        elapsed,
        tally,
        polls: counted.then(|| per_item(POLLS.load(Relaxed))),
        ready_at_first_poll: counted.then(|| per_item(READY_AT_FIRST_POLL.load(Relaxed))),
        main: after.0 - before.0,
        others: after.1 - before.1,
    }
}

/// A `JoinHandle` awaited with its polls counted.
fn counted(mut task: tokio::task::JoinHandle<u64>) -> impl Future<Output = u64> {
    let mut first = true;
    poll_fn(move |cx| {
        POLLS.fetch_add(1, Relaxed);
        let poll = Pin::new(&mut task).poll(cx);
        if first && poll.is_ready() {
            READY_AT_FIRST_POLL.fetch_add(1, Relaxed);
        }
        first = false;
        poll.map(|r| r.expect("task failed"))
    })
}
