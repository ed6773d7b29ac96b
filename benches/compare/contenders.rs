//! The eight contenders, each run over the same iterator of futures, and the
//! hand-driven form of each for workload (c).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures::channel::oneshot::{Canceled, Receiver, Sender};
use futures::future::join_all;
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use futures::task::noop_waker_ref;
use futures_buffered::FuturesUnorderedBounded;
use futures_concurrency::future::FutureGroup;
use limited_as_completed::LimitedAsCompletedExt;
use tokio::sync::Semaphore;

use crate::valgrind;

/// One way to run an iterator of futures with at most `limit` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    /// This crate, completion order.
    AsCompleted,
    /// This crate, iterator order.
    InOrder,
    /// `futures::stream::iter(it).buffer_unordered(limit)`.
    BufferUnordered,
    /// `futures::stream::FuturesUnordered`, fed by hand: `limit` pushed, then
    /// one more pushed after each output.
    FuturesUnordered,
    /// `futures_buffered::FuturesUnorderedBounded::new(limit)`, fed by hand
    /// like `FuturesUnordered`.
    FuturesBuffered,
    /// `futures_concurrency::future::FutureGroup::new()`, fed by hand.
    FutureGroup,
    /// Every future wrapped to take a `tokio::sync::Semaphore` permit first,
    /// all of them handed to `futures::future::join_all`.
    SemaphoreJoinAll,
    /// `for f in it { f.await }`: no concurrency, the floor.
    Sequential,
    /// `tokio::task::JoinSet`, fed by hand with `spawn_on`: only in workload
    /// (e), whose items are task bodies spawned when pulled.
    JoinSet,
}

impl Contender {
    /// Every contender, in column order.
    pub const ALL: [Contender; 9] = [
        Contender::AsCompleted,
        Contender::InOrder,
        Contender::BufferUnordered,
        Contender::FuturesUnordered,
        Contender::FuturesBuffered,
        Contender::FutureGroup,
        Contender::SemaphoreJoinAll,
        Contender::Sequential,
        Contender::JoinSet,
    ];

    /// The contenders that run any iterator of futures: workloads (a) to (d)
    /// and the memory table.
    pub const GENERIC: [Contender; 8] = [
        Contender::AsCompleted,
        Contender::InOrder,
        Contender::BufferUnordered,
        Contender::FuturesUnordered,
        Contender::FuturesBuffered,
        Contender::FutureGroup,
        Contender::SemaphoreJoinAll,
        Contender::Sequential,
    ];

    /// Column header.
    pub fn label(self) -> &'static str {
        match self {
            Contender::AsCompleted => "as_completed",
            Contender::InOrder => "in_order",
            Contender::BufferUnordered => "buffer_unord",
            Contender::FuturesUnordered => "FuturesUnord",
            Contender::FuturesBuffered => "fut-buffered",
            Contender::FutureGroup => "FutureGroup",
            Contender::SemaphoreJoinAll => "sem+join_all",
            Contender::Sequential => "sequential",
            Contender::JoinSet => "JoinSet",
        }
    }

    /// What the label stands for, for the legend.
    pub fn describe(self) -> &'static str {
        match self {
            Contender::AsCompleted => "it.limited_as_completed(n)",
            Contender::InOrder => "it.limited_in_order(n)",
            Contender::BufferUnordered => "futures::stream::iter(it).buffer_unordered(n)",
            Contender::FuturesUnordered => {
                "futures::stream::FuturesUnordered, push n, then push one per output"
            }
            Contender::FuturesBuffered => {
                "futures_buffered::FuturesUnorderedBounded::new(n), push n, then one per output"
            }
            Contender::FutureGroup => {
                "futures_concurrency::future::FutureGroup::new(), insert n, then one per output"
            }
            Contender::SemaphoreJoinAll => {
                "join_all(it.map(|f| async { let _p = sem.acquire().await; f.await })), Semaphore::new(n)"
            }
            Contender::Sequential => "for f in it { f.await } (the floor; no bound)",
            Contender::JoinSet => {
                "tokio::task::JoinSet, spawn_on n task bodies, then one per output ((e) only)"
            }
        }
    }
}

/// How many outputs came out, and their sum: compared with the expected
/// values after every run, so a broken contender fails loudly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: usize,
    pub sum: u64,
}

impl Tally {
    pub fn add(&mut self, value: u64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(black_box(value));
    }

    /// The tally of the outputs `0..count`.
    pub fn of_range(count: usize) -> Self {
        let n = count as u64;
        Tally {
            count,
            sum: n * n.saturating_sub(1) / 2,
        }
    }
}

/// Runs every future of `items`, at most `limit` at once, the way `contender`
/// does, and tallies the outputs.
pub async fn run<I, F>(contender: Contender, items: I, limit: usize) -> Tally
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    let mut tally = Tally::default();
    run_with(contender, items, limit, |v| tally.add(v)).await;
    tally
}

/// Runs every future of `items`, at most `limit` at once, the way `contender`
/// does, and hands each output to `each` as it comes out.
///
/// # Panics
///
/// For [`Contender::JoinSet`], which spawns task bodies rather than running
/// futures (see `spawned.rs`).
pub async fn run_with<I, F>(
    contender: Contender,
    mut items: I,
    limit: usize,
    mut each: impl FnMut(u64),
) where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    match contender {
        Contender::AsCompleted => {
            let mut stream = items.limited_as_completed(limit);
            while let Some(v) = stream.next().await {
                each(v);
            }
        }
        Contender::InOrder => {
            let mut stream = items.limited_in_order(limit);
            while let Some(v) = stream.next().await {
                each(v);
            }
        }
        Contender::BufferUnordered => {
            let mut stream = futures::stream::iter(items).buffer_unordered(limit);
            while let Some(v) = stream.next().await {
                each(v);
            }
        }
        Contender::FuturesUnordered => {
            let mut set = FuturesUnordered::new();
            set.extend(items.by_ref().take(limit));
            while let Some(v) = set.next().await {
                if let Some(f) = items.next() {
                    set.push(f);
                }
                each(v);
            }
        }
        Contender::FuturesBuffered => {
            let mut set = FuturesUnorderedBounded::new(limit);
            for f in items.by_ref().take(limit) {
                set.push(f);
            }
            while let Some(v) = set.next().await {
                if let Some(f) = items.next() {
                    set.push(f);
                }
                each(v);
            }
        }
        Contender::FutureGroup => {
            let mut group = FutureGroup::new();
            for f in items.by_ref().take(limit) {
                group.insert(f);
            }
            while let Some(v) = group.next().await {
                if let Some(f) = items.next() {
                    group.insert(f);
                }
                each(v);
            }
        }
        Contender::SemaphoreJoinAll => {
            let semaphore = Semaphore::new(limit.min(Semaphore::MAX_PERMITS));
            let semaphore = &semaphore;
            let outputs = join_all(items.map(|f| async move {
                let _permit = semaphore.acquire().await.expect("semaphore closed");
                f.await
            }))
            .await;
            for v in outputs {
                each(v);
            }
        }
        Contender::Sequential => {
            for f in items {
                each(f.await);
            }
        }
        Contender::JoinSet => panic!("JoinSet runs only in workload (e)"),
    }
}

/// Workload (b)'s future: wakes its own task and returns `Pending` once,
/// then returns its value.
#[derive(Debug)]
pub struct YieldOnce {
    value: u64,
    yielded: bool,
}

impl YieldOnce {
    pub fn new(value: u64) -> Self {
        YieldOnce {
            value,
            yielded: false,
        }
    }
}

impl Future for YieldOnce {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if self.yielded {
            Poll::Ready(self.value)
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Marker for "nothing wanted": poll until `Pending`.
pub const NOTHING: u64 = u64::MAX;

/// A contender set up over parked oneshot receivers, driven by hand.
pub trait Pump {
    /// Polls until the output `want` comes out or nothing more is ready,
    /// tallying every output on the way.
    fn pump(&mut self, cx: &mut Context<'_>, want: u64, tally: &mut Tally);
}

/// Any of the stream contenders in completion order: the pump stops at the
/// output wanted.
pub struct StreamPump<S>(pub S);

/// `limited_in_order`: outputs other than the one wanted may be ready behind
/// it, so the pump polls until `Pending`.
pub struct DrainPump<S>(pub S);

impl<S> Pump for DrainPump<S>
where
    S: Stream<Item = Result<u64, Canceled>> + Unpin,
{
    #[inline]
    fn pump(&mut self, cx: &mut Context<'_>, _want: u64, tally: &mut Tally) {
        while let Poll::Ready(Some(v)) = Pin::new(&mut self.0).poll_next(cx) {
            tally.add(v.expect("sender dropped"));
        }
    }
}

impl<S> Pump for StreamPump<S>
where
    S: Stream<Item = Result<u64, Canceled>> + Unpin,
{
    #[inline]
    fn pump(&mut self, cx: &mut Context<'_>, want: u64, tally: &mut Tally) {
        while let Poll::Ready(Some(v)) = Pin::new(&mut self.0).poll_next(cx) {
            let v = v.expect("sender dropped");
            tally.add(v);
            if v == want {
                return;
            }
        }
    }
}

/// `join_all` is one future: each pump polls it once; its outputs all come
/// out at the end.
pub struct JoinAllPump<F>(pub Option<Pin<Box<F>>>);

impl<F> Pump for JoinAllPump<F>
where
    F: Future<Output = Vec<Result<u64, Canceled>>>,
{
    #[inline]
    fn pump(&mut self, cx: &mut Context<'_>, _want: u64, tally: &mut Tally) {
        if let Some(fut) = &mut self.0 {
            if let Poll::Ready(outputs) = fut.as_mut().poll(cx) {
                self.0 = None;
                for v in outputs {
                    tally.add(v.expect("sender dropped"));
                }
            }
        }
    }
}

/// The floor for (c): each receiver polled directly, by index.
pub struct FloorPump(pub Vec<Receiver<u64>>);

impl Pump for FloorPump {
    #[inline]
    fn pump(&mut self, cx: &mut Context<'_>, want: u64, tally: &mut Tally) {
        if want == NOTHING {
            // Park every receiver, as the other contenders' first poll does.
            for rx in &mut self.0 {
                assert!(Pin::new(rx).poll(cx).is_pending());
            }
            return;
        }
        if let Poll::Ready(v) = Pin::new(&mut self.0[want as usize]).poll(cx) {
            tally.add(v.expect("sender dropped"));
        }
    }
}

/// Workload (c) for one contender: parks one future per receiver (limit =
/// their number) with a first poll, then, timed, sends on `senders[i]` for
/// each `i` of `order` and pumps until output `i` comes out (or, for the
/// contenders that do not yield in completion order, until nothing more is
/// ready). Returns the time of the sends and pumps only, and the tally.
pub fn drive_parked(
    contender: Contender,
    receivers: Vec<Receiver<u64>>,
    senders: Vec<Sender<u64>>,
    order: &[u32],
) -> (Duration, Tally) {
    let n = receivers.len();
    match contender {
        Contender::AsCompleted => drive(
            StreamPump(receivers.into_iter().limited_as_completed(n)),
            senders,
            order,
        ),
        Contender::InOrder => drive(
            DrainPump(receivers.into_iter().limited_in_order(n)),
            senders,
            order,
        ),
        Contender::BufferUnordered => drive(
            StreamPump(futures::stream::iter(receivers).buffer_unordered(n)),
            senders,
            order,
        ),
        Contender::FuturesUnordered => drive(
            StreamPump(receivers.into_iter().collect::<FuturesUnordered<_>>()),
            senders,
            order,
        ),
        Contender::FuturesBuffered => {
            let mut set = FuturesUnorderedBounded::new(n);
            for rx in receivers {
                set.push(rx);
            }
            drive(StreamPump(set), senders, order)
        }
        Contender::FutureGroup => {
            let mut group = FutureGroup::new();
            for rx in receivers {
                group.insert(rx);
            }
            drive(StreamPump(group), senders, order)
        }
        Contender::SemaphoreJoinAll => {
            let fut = async move {
                let semaphore = Semaphore::new(n);
                let semaphore = &semaphore;
                join_all(receivers.into_iter().map(|rx| async move {
                    let _permit = semaphore.acquire().await.expect("semaphore closed");
                    rx.await
                }))
                .await
            };
            drive(JoinAllPump(Some(Box::pin(fut))), senders, order)
        }
        Contender::Sequential => drive(FloorPump(receivers), senders, order),
        Contender::JoinSet => panic!("JoinSet runs only in workload (e)"),
    }
}

fn drive<P: Pump>(mut pump: P, senders: Vec<Sender<u64>>, order: &[u32]) -> (Duration, Tally) {
    let mut tally = Tally::default();
    // Untimed first polls, until the contender stops asking to be polled
    // again: futures-buffered polls at most 61 futures per call and wakes its
    // task for the rest, `FuturesUnordered` wakes it after polling them all.
    // One call with a no-op waker would leave futures-buffered's other first
    // polls to the timed loop (issue 12).
    for calls in 0.. {
        assert!(calls <= senders.len() + 1, "the first polls never settle");
        let woken = Arc::new(Woken::default());
        let waker = Waker::from(Arc::clone(&woken));
        pump.pump(&mut Context::from_waker(&waker), NOTHING, &mut tally);
        if !woken.get() {
            break;
        }
    }
    assert_eq!(tally.count, 0, "an output came out before any sender sent");
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut senders: Vec<Option<Sender<u64>>> = senders.into_iter().map(Some).collect();
    valgrind::start();
    let start = Instant::now();
    for &i in order {
        let sender = senders[i as usize].take().expect("index sent twice");
        sender.send(u64::from(i)).expect("receiver dropped");
        pump.pump(&mut cx, u64::from(i), &mut tally);
    }
    let elapsed = start.elapsed();
    valgrind::stop();
    // Dropping the rest (in-flight futures, unsent senders) is not timed.
    drop(pump);
    drop(senders);
    (elapsed, tally)
}

/// A waker that records whether it was woken.
#[derive(Default)]
pub struct Woken(AtomicBool);

impl Woken {
    pub fn get(&self) -> bool {
        self.0.load(Relaxed)
    }
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Relaxed);
    }
}
