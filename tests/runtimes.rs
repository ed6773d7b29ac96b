//! Guarantees 2, 3 and 4 (crate docs) on real executors: the same smoke
//! scenario under tokio, async-std, smol and `futures::executor`, spawned
//! task handles as items, and wakes from other threads.
//!
//! Not under Miri: the runtimes need epoll and timerfd, which Miri does not
//! provide. The runtime-free scenarios run under Miri in the other test files.
#![cfg(not(miri))]

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use futures_test::future::FutureTestExt;
use limited_as_completed::LimitedAsCompletedExt;

use common::Rng;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const N: usize = 1000;
const LIMIT: usize = 16;

/// Returns `Pending` once after waking its task, then `Ready`: a yield that
/// works under any executor (futures-test's `pending_once`).
fn yield_once() -> impl Future<Output = ()> {
    std::future::ready(()).pending_once()
}

/// Counts live values and remembers the peak.
#[derive(Default)]
struct Live {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Live {
    fn enter(self: &Arc<Self>) -> LiveGuard {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        LiveGuard(Arc::clone(self))
    }

    fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// One live value; decrements the count when dropped.
struct LiveGuard(Arc<Live>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How each smoke-test future waits.
#[derive(Clone, Copy, Debug)]
enum Wait {
    /// [`yield_once`] only: runtime-agnostic.
    Yield,
    Tokio,
    AsyncStd,
    Smol,
}

/// A short wait, 0 to 750 µs, varied per item so completions interleave.
fn short(i: usize) -> Duration {
    Duration::from_micros((i % 4) as u64 * 250)
}

/// Waits as `how` says. Always `Pending` on the first poll (the timers start
/// with a yield), so the first `LIMIT` futures are all alive at once and the
/// peak is exact even where a zero-length timer would be ready at once.
async fn wait(how: Wait, i: usize) {
    yield_once().await;
    match how {
        Wait::Yield => {}
        Wait::Tokio => tokio::time::sleep(short(i)).await,
        Wait::AsyncStd => async_std::task::sleep(short(i)).await,
        Wait::Smol => {
            smol::Timer::after(short(i)).await;
        }
    }
}

/// The smoke scenario: `N` futures through `limited_as_completed(LIMIT)` and
/// `limited_in_order(LIMIT)`; every output exactly once (in order for the
/// latter) and exactly `LIMIT` futures alive at the peak.
async fn smoke(how: Wait) {
    // `N` futures, each counted in `live` from its creation to its drop.
    let futures = |live: &Arc<Live>| {
        let live = Arc::clone(live);
        (0..N).map(move |i| {
            let guard = live.enter();
            async move {
                let _guard = guard;
                wait(how, i).await;
                i
            }
        })
    };
    let live = Arc::new(Live::default());
    let mut outputs: Vec<usize> = futures(&live).limited_as_completed(LIMIT).collect().await;
    outputs.sort_unstable();
    assert_eq!(outputs, (0..N).collect::<Vec<_>>(), "{how:?}: as_completed");
    assert_eq!(live.peak(), LIMIT, "{how:?}: as_completed peak");
    assert_eq!(live.now(), 0, "{how:?}: as_completed leftovers");

    let live = Arc::new(Live::default());
    let outputs: Vec<usize> = futures(&live).limited_in_order(LIMIT).collect().await;
    assert_eq!(outputs, (0..N).collect::<Vec<_>>(), "{how:?}: in_order");
    assert_eq!(live.peak(), LIMIT, "{how:?}: in_order peak");
    assert_eq!(live.now(), 0, "{how:?}: in_order leftovers");
}

fn tokio_current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio current-thread runtime")
}

fn tokio_multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("tokio multi-thread runtime")
}

// ---------------------------------------------------------------------------
// Smoke test per runtime
// ---------------------------------------------------------------------------

#[test]
fn smoke_under_tokio_current_thread() {
    let rt = tokio_current_thread();
    rt.block_on(smoke(Wait::Yield));
    rt.block_on(smoke(Wait::Tokio));
}

#[test]
fn smoke_under_tokio_multi_thread() {
    let rt = tokio_multi_thread();
    // Spawned, so the stream runs on (and may move between) worker threads.
    rt.block_on(rt.spawn(smoke(Wait::Yield)))
        .expect("yield flavour");
    rt.block_on(rt.spawn(smoke(Wait::Tokio)))
        .expect("timer flavour");
}

#[test]
fn smoke_under_async_std() {
    async_std::task::block_on(smoke(Wait::Yield));
    async_std::task::block_on(smoke(Wait::AsyncStd));
    async_std::task::block_on(async_std::task::spawn(smoke(Wait::AsyncStd)));
}

#[test]
fn smoke_under_smol() {
    smol::block_on(smoke(Wait::Yield));
    smol::block_on(smoke(Wait::Smol));
}

#[test]
fn smoke_under_futures_executor() {
    futures::executor::block_on(smoke(Wait::Yield));
}

// ---------------------------------------------------------------------------
// Spawned task handles as items
// ---------------------------------------------------------------------------

const TASKS: usize = 200;
const TASK_LIMIT: usize = 8;

/// Counters for a run of spawned tasks.
#[derive(Default)]
struct TaskCounts {
    /// Task bodies running (entered and not yet left).
    bodies: Arc<Live>,
    /// Handles the iterator has created.
    created: AtomicUsize,
}

/// Drives a stream of task outputs, checking after each output that the
/// iterator created exactly `min(limit, left)` handles beyond those yielded,
/// and returns the outputs.
async fn drain_tasks<S>(mut stream: S, counts: &TaskCounts) -> Vec<usize>
where
    S: futures::Stream<Item = usize> + Unpin,
{
    let mut outputs = Vec::new();
    while let Some(i) = stream.next().await {
        outputs.push(i);
        let created = counts.created.load(Ordering::SeqCst);
        let yielded = outputs.len();
        assert_eq!(
            created - yielded,
            TASK_LIMIT.min(TASKS - yielded),
            "handles created and not yet yielded, after {yielded} outputs"
        );
    }
    outputs
}

fn check_tasks(mut outputs: Vec<usize>, counts: &TaskCounts) {
    outputs.sort_unstable();
    assert_eq!(outputs, (0..TASKS).collect::<Vec<_>>());
    assert_eq!(counts.created.load(Ordering::SeqCst), TASKS);
    let peak = counts.bodies.peak();
    assert!(
        (1..=TASK_LIMIT).contains(&peak),
        "{peak} task bodies ran at once (limit {TASK_LIMIT})"
    );
    assert_eq!(counts.bodies.now(), 0);
}

/// `TASKS` task handles, made lazily with `spawn` and counted in `counts`;
/// task `i` waits `sleep(wait(i))` and returns `i`, its body counted too.
fn tasks<H, Sl, F>(
    counts: &Arc<TaskCounts>,
    spawn: impl Fn(BoxFuture<'static, usize>) -> H,
    sleep: Sl,
    wait: fn(usize) -> Duration,
) -> impl Iterator<Item = H>
where
    Sl: Fn(Duration) -> F + Send + Sync + Copy + 'static,
    F: Future + Send + 'static,
{
    let counts = Arc::clone(counts);
    (0..TASKS).map(move |i| {
        counts.created.fetch_add(1, Ordering::SeqCst);
        let counts = Arc::clone(&counts);
        spawn(
            async move {
                let _body = counts.bodies.enter();
                sleep(wait(i)).await;
                i
            }
            .boxed(),
        )
    })
}

#[test]
fn smol_tasks_as_items_run_at_most_limit_at_once() {
    let counts = Arc::new(TaskCounts::default());
    let tasks = tasks(&counts, smol::spawn, smol::Timer::after, short);
    let outputs = smol::block_on(drain_tasks(tasks.limited_as_completed(TASK_LIMIT), &counts));
    check_tasks(outputs, &counts);
}

/// Runs `TASKS` tokio tasks, task `i` sleeping `wait(i)`, through
/// `limited_in_order` or `limited_as_completed` on a multi-thread runtime;
/// returns the outputs and the counts.
fn tokio_tasks(wait: fn(usize) -> Duration, in_order: bool) -> (Vec<usize>, Arc<TaskCounts>) {
    let rt = tokio_multi_thread();
    let counts = Arc::new(TaskCounts::default());
    let outputs = rt.block_on({
        let counts = Arc::clone(&counts);
        async move {
            let tasks = tasks(&counts, tokio::spawn, tokio::time::sleep, wait);
            let joined = |joined: Result<usize, _>| joined.expect("task panicked");
            if in_order {
                let stream = tasks.limited_in_order(TASK_LIMIT).map(joined);
                drain_tasks(stream, &counts).await
            } else {
                let stream = tasks.limited_as_completed(TASK_LIMIT).map(joined);
                drain_tasks(stream, &counts).await
            }
        }
    });
    (outputs, counts)
}

#[test]
fn tokio_tasks_as_items_run_at_most_limit_at_once() {
    let (outputs, counts) = tokio_tasks(short, false);
    check_tasks(outputs, &counts);
}

#[test]
fn async_std_tasks_as_items_run_at_most_limit_at_once() {
    let counts = Arc::new(TaskCounts::default());
    let tasks = tasks(
        &counts,
        async_std::task::spawn,
        async_std::task::sleep,
        short,
    );
    let outputs =
        async_std::task::block_on(drain_tasks(tasks.limited_as_completed(TASK_LIMIT), &counts));
    check_tasks(outputs, &counts);
}

#[test]
fn tokio_tasks_in_order_come_out_in_order() {
    // Later items finish sooner.
    let (outputs, counts) = tokio_tasks(|i| short(TASKS - i), true);
    assert_eq!(outputs, (0..TASKS).collect::<Vec<_>>());
    check_tasks(outputs, &counts);
}

// ---------------------------------------------------------------------------
// Wakes from other threads
// ---------------------------------------------------------------------------

const THREADED: usize = 300;
const THREADED_LIMIT: usize = 8;
const THREADS: usize = 3;

/// `THREADED` oneshot receivers (as futures of their index), completed by
/// `THREADS` OS threads in a shuffled order, each thread taking every
/// `THREADS`-th sender of the shuffle; and the threads.
fn completed_by_threads(
    seed: u64,
) -> (
    Vec<impl Future<Output = usize>>,
    Vec<std::thread::JoinHandle<()>>,
) {
    let (mut senders, receivers): (Vec<_>, Vec<_>) = (0..THREADED)
        .map(|_| {
            let (tx, rx) = oneshot::channel::<usize>();
            (Some(tx), rx)
        })
        .unzip();
    let mut per_thread: Vec<Vec<(usize, oneshot::Sender<usize>)>> =
        (0..THREADS).map(|_| Vec::new()).collect();
    for (k, &i) in Rng::new(seed).shuffled(THREADED).iter().enumerate() {
        per_thread[k % THREADS].push((i, senders[i].take().unwrap()));
    }
    let threads = per_thread
        .into_iter()
        .map(|batch| {
            std::thread::spawn(move || {
                for (i, tx) in batch {
                    tx.send(i).expect("receiver dropped");
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    let futures = receivers
        .into_iter()
        .map(|rx| async move { rx.await.expect("sender dropped") })
        .collect();
    (futures, threads)
}

#[test]
fn wakes_from_other_threads_under_block_on_as_completed() {
    for seed in 1..=10 {
        let (futures, threads) = completed_by_threads(seed);
        let mut stream = futures.limited_as_completed(THREADED_LIMIT);
        let outputs = futures::executor::block_on(async {
            let mut outputs = Vec::new();
            while let Some(i) = stream.next().await {
                outputs.push(i);
                assert_eq!(
                    stream.in_flight(),
                    THREADED_LIMIT.min(THREADED - outputs.len())
                );
            }
            outputs
        });
        for thread in threads {
            thread.join().expect("sender thread panicked");
        }
        let mut sorted = outputs;
        sorted.sort_unstable();
        assert_eq!(sorted, (0..THREADED).collect::<Vec<_>>(), "seed {seed}");
    }
}

#[test]
fn wakes_from_other_threads_under_block_on_in_order() {
    for seed in 11..=20 {
        let (futures, threads) = completed_by_threads(seed);
        let outputs: Vec<usize> =
            futures::executor::block_on(futures.limited_in_order(THREADED_LIMIT).collect());
        for thread in threads {
            thread.join().expect("sender thread panicked");
        }
        assert_eq!(outputs, (0..THREADED).collect::<Vec<_>>(), "seed {seed}");
    }
}

/// Each sender reaches the completer thread only once its receiver's first
/// poll has returned `Pending` (its waker registered), so every completion is
/// a wake, from another thread, of a future the stream has already polled;
/// the completer picks among the senders it holds at random. So all
/// `THREADED_LIMIT` futures are alive at once after the first fill, whatever
/// the timing. (Handing the sender over at pull time let a fast completer
/// finish a future before its first poll: under ThreadSanitizer a run then
/// peaked at 7 live futures.)
#[test]
fn wakes_of_parked_futures_from_other_threads() {
    type Pair = (usize, oneshot::Sender<usize>);
    for seed in 21..=25_u64 {
        let (pair_tx, pair_rx) = std::sync::mpsc::channel::<Pair>();
        let completer = std::thread::spawn(move || {
            let mut held: Vec<Pair> = Vec::new();
            let mut rng = Rng::new(seed);
            loop {
                held.extend(pair_rx.try_iter());
                if held.is_empty() {
                    match pair_rx.recv() {
                        Ok(pair) => held.push(pair),
                        Err(_) => break,
                    }
                }
                let k = rng.below(held.len());
                let (i, tx) = held.swap_remove(k);
                tx.send(i).expect("receiver dropped");
            }
        });
        let live = Arc::new(Live::default());
        let futures = (0..THREADED).map(|i| {
            let (tx, mut rx) = oneshot::channel::<usize>();
            let (mut tx, pair_tx) = (Some(tx), pair_tx.clone());
            let guard = live.enter();
            futures::future::poll_fn(move |cx| {
                // Owned by the closure: counted live until the future drops.
                let _guard = &guard;
                let poll = rx.poll_unpin(cx);
                if poll.is_pending() {
                    if let Some(tx) = tx.take() {
                        pair_tx.send((i, tx)).expect("completer gone");
                    }
                }
                poll.map(|output| output.expect("sender dropped"))
            })
        });
        let stream = futures.limited_as_completed(THREADED_LIMIT);
        let mut outputs: Vec<usize> = futures::executor::block_on(stream.collect());
        drop(pair_tx);
        completer.join().expect("completer panicked");
        outputs.sort_unstable();
        assert_eq!(outputs, (0..THREADED).collect::<Vec<_>>(), "seed {seed}");
        assert_eq!(live.peak(), THREADED_LIMIT, "seed {seed}");
        assert_eq!(live.now(), 0);
    }
}
