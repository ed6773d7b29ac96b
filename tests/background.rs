//! Guarantees 3 and 7 (crate docs) with spawned tasks as items on smol,
//! tokio and async-std: at most `limit` tasks exist, and dropping the stream
//! early leaves none running.
//!
//! Not under Miri: the runtimes need epoll and timerfd, which Miri does not
//! provide. The runtime-free scenarios run under Miri in the other test files.
#![cfg(not(miri))]

#[path = "../examples/spawn/abort_on_drop.rs"]
mod abort_on_drop;
#[path = "../examples/spawn/canceller.rs"]
mod canceller;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use limited_as_completed::LimitedAsCompletedExt;

use abort_on_drop::AbortOnDrop;
use canceller::Canceller;

const JOBS: usize = 20;
const LIMIT: usize = 4;

// ---------------------------------------------------------------------------
// Probe: what the task bodies did.

#[derive(Default)]
struct Probe {
    /// Task bodies running now (a guard lives from a body's start to its end
    /// or its cancellation).
    live: AtomicUsize,
    peak: AtomicUsize,
    started: AtomicUsize,
    /// Task bodies that reached their end.
    finished: AtomicUsize,
    /// Handles created by the lazy iterator.
    handles: AtomicUsize,
    /// Held task bodies may end.
    release: AtomicBool,
    stream_dropped: AtomicBool,
    /// A task body reached its end after the stream was dropped.
    finished_after_drop: AtomicBool,
}

impl Probe {
    fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    fn handles(&self) -> usize {
        self.handles.load(Ordering::SeqCst)
    }
}

/// Counts a task body as live from its creation to its drop.
struct LiveGuard(Arc<Probe>);

impl LiveGuard {
    fn new(probe: &Arc<Probe>) -> Self {
        probe.started.fetch_add(1, Ordering::SeqCst);
        let live = probe.live.fetch_add(1, Ordering::SeqCst) + 1;
        probe.peak.fetch_max(live, Ordering::SeqCst);
        Self(Arc::clone(probe))
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How a held task body waits: at most this long, so that a task wrongly
/// left running after the stream is dropped does reach its end (and is seen
/// doing so) before the test's own wait of [`WAIT`] runs out.
const HOLD: Duration = Duration::from_millis(1000);
const WAIT: Duration = Duration::from_secs(2);

/// A task body: returns `i`; if `hold`, first waits for the release (at most
/// [`HOLD`]).
async fn task_body<Sl, F>(i: usize, probe: Arc<Probe>, hold: bool, sleep: Sl) -> usize
where
    Sl: Fn(Duration) -> F,
    F: Future,
{
    let _guard = LiveGuard::new(&probe);
    if hold {
        let deadline = Instant::now() + HOLD;
        while !probe.release.load(Ordering::SeqCst) && Instant::now() < deadline {
            sleep(Duration::from_millis(1)).await;
        }
    }
    probe.finished.fetch_add(1, Ordering::SeqCst);
    if probe.stream_dropped.load(Ordering::SeqCst) {
        probe.finished_after_drop.store(true, Ordering::SeqCst);
    }
    i
}

/// Sleeps in steps of 1 ms until `done()` or [`WAIT`] has passed; returns
/// `done()`.
async fn wait_until<Sl, F>(sleep: Sl, mut done: impl FnMut() -> bool) -> bool
where
    Sl: Fn(Duration) -> F,
    F: Future,
{
    let deadline = Instant::now() + WAIT;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(1)).await;
    }
    true
}

// ---------------------------------------------------------------------------
// The two scenarios, for any runtime.

/// (a) At most `LIMIT` tasks exist at once: spawned handles not yet yielded
/// stay at `LIMIT`, and task bodies running never exceed it.
async fn at_most_limit_tasks_at_once<H, Sl, F>(
    spawn: impl Fn(BoxFuture<'static, usize>) -> H,
    sleep: Sl,
    output: fn(H::Output) -> usize,
) where
    H: Future,
    Sl: Fn(Duration) -> F + Copy + Send + Sync + 'static,
    F: Future + Send + 'static,
{
    let probe = Arc::new(Probe::default());
    let tasks = (0..JOBS).map(|i| {
        probe.handles.fetch_add(1, Ordering::SeqCst);
        spawn(task_body(i, Arc::clone(&probe), true, sleep).boxed())
    });
    let mut stream = tasks.limited_as_completed(LIMIT);
    assert_eq!(probe.handles(), 0, "the iterator is lazy");

    // The first poll spawns `LIMIT` tasks, which are held.
    assert!(futures::poll!(stream.next()).is_pending());
    assert_eq!(probe.handles(), LIMIT);
    assert!(wait_until(sleep, || probe.live() == LIMIT).await);
    assert_eq!(probe.handles(), LIMIT);
    assert_eq!(probe.live(), LIMIT);

    probe.release.store(true, Ordering::SeqCst);
    let mut outputs = vec![];
    while let Some(out) = stream.next().await {
        outputs.push(output(out));
        let handles = probe.handles();
        let yielded = outputs.len();
        assert_eq!(handles - yielded, stream.in_flight());
        assert!(handles - yielded <= LIMIT);
        // Refill before return: the freed slot was refilled already.
        assert_eq!(handles, (yielded + LIMIT).min(JOBS));
        assert!(probe.live() <= LIMIT);
    }
    assert_eq!(probe.peak.load(Ordering::SeqCst), LIMIT);
    assert_eq!(probe.live(), 0);
    assert_eq!(probe.started.load(Ordering::SeqCst), JOBS);
    assert_eq!(probe.finished.load(Ordering::SeqCst), JOBS);
    outputs.sort_unstable();
    assert_eq!(outputs, (0..JOBS).collect::<Vec<_>>());
}

/// How the tasks in flight are expected to fare when the stream is dropped.
#[derive(PartialEq)]
enum OnDrop {
    /// Cancelled: no task body reaches its end after the drop.
    Cancelled,
    /// Detached (bare tokio and async-std handles): they go on and finish.
    Detached,
}

/// (b) Drops the stream with `LIMIT` held tasks in flight, runs `after_drop`,
/// then waits for every task body to be gone and checks whether any reached
/// its end after the drop.
async fn drop_stream_early<H, Sl, F, A, AF>(
    probe: Arc<Probe>,
    spawn: impl Fn(BoxFuture<'static, usize>) -> H,
    sleep: Sl,
    output: fn(H::Output) -> usize,
    after_drop: A,
    expect: OnDrop,
) where
    H: Future,
    Sl: Fn(Duration) -> F + Copy + Send + Sync + 'static,
    F: Future + Send + 'static,
    A: FnOnce() -> AF,
    AF: Future<Output = ()>,
{
    // Items 0 and 1 end at once; the others are held.
    let tasks = (0..JOBS).map(|i| {
        probe.handles.fetch_add(1, Ordering::SeqCst);
        spawn(task_body(i, Arc::clone(&probe), i >= 2, sleep).boxed())
    });
    let mut stream = tasks.limited_as_completed(LIMIT);
    let mut outputs = vec![
        output(stream.next().await.unwrap()),
        output(stream.next().await.unwrap()),
    ];
    outputs.sort_unstable();
    assert_eq!(outputs, [0, 1]);
    assert_eq!(probe.handles(), 2 + LIMIT);
    assert_eq!(stream.in_flight(), LIMIT);
    // Tasks 2 to 5 are running (held).
    assert!(wait_until(sleep, || probe.live() == LIMIT).await);

    probe.stream_dropped.store(true, Ordering::SeqCst);
    drop(stream);
    after_drop().await;
    if expect == OnDrop::Detached {
        probe.release.store(true, Ordering::SeqCst);
    }

    assert!(
        wait_until(sleep, || probe.live() == 0).await,
        "{} tasks still running after the stream was dropped",
        probe.live()
    );
    assert_eq!(probe.handles(), 2 + LIMIT);
    assert_eq!(probe.started.load(Ordering::SeqCst), 2 + LIMIT);
    assert_eq!(probe.peak.load(Ordering::SeqCst), LIMIT);
    match expect {
        OnDrop::Cancelled => {
            assert!(!probe.finished_after_drop.load(Ordering::SeqCst));
            assert_eq!(probe.finished.load(Ordering::SeqCst), 2);
        }
        OnDrop::Detached => {
            assert!(probe.finished_after_drop.load(Ordering::SeqCst));
            assert_eq!(probe.finished.load(Ordering::SeqCst), 2 + LIMIT);
        }
    }
}

// ---------------------------------------------------------------------------
// smol: dropping a `smol::Task` cancels it.

#[test]
fn smol_runs_at_most_limit_tasks_at_once() {
    smol::block_on(at_most_limit_tasks_at_once(
        smol::spawn,
        smol::Timer::after,
        |i| i,
    ));
}

#[test]
fn smol_dropping_the_stream_early_cancels_the_tasks_in_flight() {
    smol::block_on(drop_stream_early(
        Arc::default(),
        smol::spawn,
        smol::Timer::after,
        |i| i,
        || async {},
        OnDrop::Cancelled,
    ));
}

// ---------------------------------------------------------------------------
// tokio: a `JoinHandle` detaches on drop; `AbortOnDrop` aborts instead.

fn abort_on_drop(future: BoxFuture<'static, usize>) -> AbortOnDrop<usize> {
    AbortOnDrop(tokio::spawn(future))
}

fn joined(result: Result<usize, tokio::task::JoinError>) -> usize {
    result.expect("task failed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_runs_at_most_limit_tasks_at_once() {
    at_most_limit_tasks_at_once(abort_on_drop, tokio::time::sleep, joined).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_dropping_the_stream_early_aborts_wrapped_tasks() {
    drop_stream_early(
        Arc::default(),
        abort_on_drop,
        tokio::time::sleep,
        joined,
        || async {},
        OnDrop::Cancelled,
    )
    .await;
}

/// Why the wrapper: with bare handles the tasks outlive the stream (and this
/// shows that the scenario above would catch it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_bare_join_handles_detach_so_tasks_outlive_the_stream() {
    drop_stream_early(
        Arc::default(),
        tokio::spawn,
        tokio::time::sleep,
        joined,
        || async {},
        OnDrop::Detached,
    )
    .await;
}

// ---------------------------------------------------------------------------
// async-std: a `JoinHandle` detaches on drop, and `cancel` is async, so the
// handles of unfinished tasks are collected on drop and cancelled explicitly.

#[async_std::test]
async fn async_std_runs_at_most_limit_tasks_at_once() {
    at_most_limit_tasks_at_once(async_std::task::spawn, async_std::task::sleep, |i| i).await;
}

#[async_std::test]
async fn async_std_dropping_the_stream_early_then_cancelling_leaves_no_task() {
    let probe: Arc<Probe> = Arc::default();
    let canceller = Canceller::new();
    let (canceller_ref, probe_ref) = (&canceller, &probe);
    drop_stream_early(
        Arc::clone(&probe),
        |future| canceller_ref.wrap(async_std::task::spawn(future)),
        async_std::task::sleep,
        |i| i,
        move || async move {
            // The 4 tasks in flight were handed over when the stream dropped
            // them, and `cancel` waits until each has stopped: none is left.
            assert_eq!(canceller_ref.cancel_all().await, LIMIT);
            assert_eq!(probe_ref.live(), 0);
        },
        OnDrop::Cancelled,
    )
    .await;
    assert_eq!(canceller.cancel_all().await, 0);
}

/// Why the explicit cancel: with bare handles the tasks outlive the stream.
#[async_std::test]
async fn async_std_bare_join_handles_detach_so_tasks_outlive_the_stream() {
    drop_stream_early(
        Arc::default(),
        async_std::task::spawn,
        async_std::task::sleep,
        |i| i,
        || async {},
        OnDrop::Detached,
    )
    .await;
}
