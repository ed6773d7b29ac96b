//! The "one-wake" workload of issue 12, and the variants of it that tell
//! where it and workload (c) part ways.
//!
//! n futures, limit n, each parked on a `futures::channel::oneshot` receiver;
//! every one is polled once before timing starts. Then, timed, one sender at a
//! time (in a fresh Fisher-Yates order) sends, and the next send waits until
//! the consumer has seen that output. What varies:
//!
//! * [`Item`]: what each future is. The issue's item is
//!   `async move { counter.fetch_add(1, Relaxed); rx.await.unwrap() }` with a
//!   per-item `Arc<AtomicUsize>` clone; `Small` is the same with a `&'static`
//!   counter (no `Arc`, a smaller future); `Receiver` is (c)'s bare receiver
//!   (only for the hand driver, which does not need the counter).
//! * [`Driver`]: who sends and who polls. `Hand` is (c)'s: send, then poll the
//!   stream by hand with a no-op waker until the output comes out, so the
//!   stream's parent waker is never a real one. `BlockOn` and `TokioCt` are
//!   the issue's: a driver future and the consumer joined by
//!   `futures::future::select` on one task, under `futures::executor::block_on`
//!   or a tokio current-thread runtime (no I/O or time driver): every send
//!   wakes the task through the stream's parent waker, and every output wakes
//!   the driver.
//!
//! The bench rows use `Item::Issue` with `BlockOn` and `TokioCt`; the other
//! combinations are for `--probe` (see `benches/cachegrind.sh`).

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures::channel::oneshot::{self, Sender};
use futures::future::{select, Either};
use futures::stream::{Stream, StreamExt};
use futures::task::noop_waker_ref;
use futures_buffered::FuturesUnorderedBounded;
use limited_as_completed::LimitedAsCompletedExt;

use crate::contenders::{Contender, Tally, Woken};
use crate::valgrind;

/// The contenders of the one-wake rows.
pub const CONTENDERS: [Contender; 3] = [
    Contender::AsCompleted,
    Contender::FuturesBuffered,
    Contender::BufferUnordered,
];

/// What each of the n futures is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    /// The issue's: an `async` block holding an `Arc<AtomicUsize>` clone and
    /// the receiver.
    Issue,
    /// The same with a `&'static AtomicUsize`: no `Arc`, a smaller future.
    Small,
    /// A bare `oneshot::Receiver<u64>`, as in (c). Hand driver only.
    Receiver,
}

impl Item {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "issue" => Some(Item::Issue),
            "small" => Some(Item::Small),
            "receiver" => Some(Item::Receiver),
            _ => None,
        }
    }
}

/// Who sends and who polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// (c)'s: poll by hand with a no-op waker after each send.
    Hand,
    /// `futures::executor::block_on(select(driver, consumer))`.
    BlockOn,
    /// The same on a tokio current-thread runtime.
    TokioCt,
}

impl Driver {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hand" => Some(Driver::Hand),
            "block_on" => Some(Driver::BlockOn),
            "tokio_ct" => Some(Driver::TokioCt),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Driver::Hand => "hand",
            Driver::BlockOn => "block_on",
            Driver::TokioCt => "tokio-ct",
        }
    }
}

/// The counter of first polls that `Item::Small` futures share.
static SMALL_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One batch: `n` futures (limit `n`), all polled once, then the senders of
/// `order` (a prefix of a permutation of `0..n`) completed one at a time.
/// Returns the time of the sends and polls only, and the outputs' tally.
pub fn run_batch(
    contender: Contender,
    item: Item,
    driver: Driver,
    runtime: &tokio::runtime::Runtime,
    n: usize,
    order: &[u32],
) -> (Duration, Tally) {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..n).map(|_| oneshot::channel::<u64>()).unzip();
    let setup = Setup {
        driver,
        runtime,
        n,
        senders,
        order,
    };
    match item {
        Item::Issue => {
            let counter = Arc::new(AtomicUsize::new(0));
            let polled = Arc::clone(&counter);
            let items = receivers.into_iter().map(move |rx| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Relaxed);
                    rx.await.expect("sender dropped")
                }
            });
            let polled = move || polled.load(Relaxed);
            with_stream(contender, items, n, Job { setup, polled })
        }
        Item::Small => {
            SMALL_COUNTER.store(0, Relaxed);
            let items = receivers.into_iter().map(|rx| async move {
                SMALL_COUNTER.fetch_add(1, Relaxed);
                rx.await.expect("sender dropped")
            });
            let polled = || SMALL_COUNTER.load(Relaxed);
            with_stream(contender, items, n, Job { setup, polled })
        }
        Item::Receiver => {
            assert_eq!(driver, Driver::Hand, "bare receivers: hand driver only");
            // No counter to read: the first polls go on until the stream
            // stops asking to be polled again.
            let polled = || usize::MAX;
            let expect = |r: Result<u64, oneshot::Canceled>| r.expect("sender dropped");
            let job = Job { setup, polled };
            match contender {
                Contender::AsCompleted => {
                    job.visit(receivers.into_iter().limited_as_completed(n).map(expect))
                }
                Contender::FuturesBuffered => {
                    let mut set = FuturesUnorderedBounded::new(n);
                    for rx in receivers {
                        set.push(rx);
                    }
                    job.visit(set.map(expect))
                }
                Contender::BufferUnordered => job.visit(
                    futures::stream::iter(receivers)
                        .buffer_unordered(n)
                        .map(expect),
                ),
                c => panic!("{} is not a one-wake contender", c.label()),
            }
        }
    }
}

/// Something to do with a stream of outputs, whatever its type.
trait Visit {
    type Out;
    fn visit<S: Stream<Item = u64> + Unpin>(self, stream: S) -> Self::Out;
}

/// Builds `contender`'s stream over `items` (limit `n`) and visits it.
/// futures-buffered gets all `n` pushed; with limit = n it never refills.
fn with_stream<I, F, V>(contender: Contender, items: I, n: usize, v: V) -> V::Out
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
    V: Visit,
{
    match contender {
        Contender::AsCompleted => v.visit(items.limited_as_completed(n)),
        Contender::FuturesBuffered => {
            let mut set = FuturesUnorderedBounded::new(n);
            for fut in items {
                set.push(fut);
            }
            v.visit(set)
        }
        Contender::BufferUnordered => v.visit(futures::stream::iter(items).buffer_unordered(n)),
        c => panic!("{} is not a one-wake contender", c.label()),
    }
}

struct Setup<'a> {
    driver: Driver,
    runtime: &'a tokio::runtime::Runtime,
    n: usize,
    senders: Vec<Sender<u64>>,
    order: &'a [u32],
}

/// A batch, ready to run over whichever stream it is given. `polled` reads
/// how many futures have been polled at least once.
struct Job<'a, P> {
    setup: Setup<'a>,
    polled: P,
}

impl<P: Fn() -> usize> Visit for Job<'_, P> {
    type Out = (Duration, Tally);

    fn visit<S: Stream<Item = u64> + Unpin>(self, stream: S) -> (Duration, Tally) {
        let Job { setup, polled } = self;
        match setup.driver {
            Driver::Hand => setup.hand(stream, polled),
            Driver::BlockOn => futures::executor::block_on(setup.select(stream, polled)),
            Driver::TokioCt => {
                let runtime = setup.runtime;
                runtime.block_on(setup.select(stream, polled))
            }
        }
    }
}

impl Setup<'_> {
    /// (c)'s driver: send, then poll by hand with a no-op waker until the
    /// output comes out.
    fn hand<S: Stream<Item = u64> + Unpin>(
        self,
        mut stream: S,
        polled: impl Fn() -> usize,
    ) -> (Duration, Tally) {
        let mut tally = Tally::default();
        // Untimed first polls: until every future was polled once
        // (futures-buffered polls at most 61 per call, then wakes the task to
        // be polled again) and the stream no longer asks to be polled again.
        loop {
            let woken = Arc::new(Woken::default());
            let waker = Waker::from(Arc::clone(&woken));
            let poll = Pin::new(&mut stream).poll_next(&mut Context::from_waker(&waker));
            assert!(
                poll.is_pending(),
                "an output came out before any sender sent"
            );
            if !woken.get() && polled() >= self.n {
                break;
            }
        }
        if polled() != usize::MAX {
            assert_eq!(polled(), self.n, "not every future was polled once");
        }
        let mut cx = Context::from_waker(noop_waker_ref());
        let mut senders: Vec<Option<Sender<u64>>> = self.senders.into_iter().map(Some).collect();
        valgrind::start();
        let start = Instant::now();
        for &i in self.order {
            let sender = senders[i as usize].take().expect("index sent twice");
            sender.send(u64::from(i)).expect("receiver dropped");
            let want = u64::from(i);
            while let Poll::Ready(Some(v)) = Pin::new(&mut stream).poll_next(&mut cx) {
                tally.add(v);
                if v == want {
                    break;
                }
            }
        }
        let elapsed = start.elapsed();
        valgrind::stop();
        drop(stream);
        drop(senders);
        (elapsed, tally)
    }

    /// The issue's driver: a driver future and the consumer on one task,
    /// joined by `select`.
    async fn select<S: Stream<Item = u64> + Unpin>(
        self,
        mut stream: S,
        polled: impl Fn() -> usize,
    ) -> (Duration, Tally) {
        let seen = Cell::new(0usize);
        let tally = Cell::new(Tally::default());
        let driver_waker: RefCell<Option<Waker>> = RefCell::new(None);
        let consumer = async {
            while let Some(v) = stream.next().await {
                let mut t = tally.get();
                t.add(v);
                tally.set(t);
                seen.set(seen.get() + 1);
                if let Some(waker) = &*driver_waker.borrow() {
                    waker.wake_by_ref();
                }
            }
            // All n sent and seen: stay pending so that the driver, polled
            // next, ends the select.
            std::future::pending::<()>().await;
        };
        let n = self.n;
        let order = self.order;
        let mut senders: Vec<Option<Sender<u64>>> = self.senders.into_iter().map(Some).collect();
        let driver = async {
            // Untimed: every future polled once, then two more turns so the
            // consumer is parked with nothing to do.
            poll_fn(|cx| {
                if polled() >= n {
                    Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await;
            yield_now().await;
            yield_now().await;
            assert_eq!(polled(), n, "not every future was polled once");
            assert_eq!(seen.get(), 0, "an output came out before any sender sent");
            valgrind::start();
            let start = Instant::now();
            for (k, &i) in order.iter().enumerate() {
                let sender = senders[i as usize].take().expect("index sent twice");
                sender.send(u64::from(i)).expect("receiver dropped");
                poll_fn(|cx| {
                    if seen.get() > k {
                        return Poll::Ready(());
                    }
                    let mut slot = driver_waker.borrow_mut();
                    if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *slot = Some(cx.waker().clone());
                    }
                    Poll::Pending
                })
                .await;
            }
            let elapsed = start.elapsed();
            valgrind::stop();
            elapsed
        };
        let elapsed = match select(pin!(driver), pin!(consumer)).await {
            Either::Left((elapsed, _)) => elapsed,
            Either::Right(_) => unreachable!("the consumer never ends"),
        };
        (elapsed, tally.get())
    }
}

/// Returns `Pending` once after waking its task.
fn yield_now() -> impl Future<Output = ()> {
    let mut yielded = false;
    poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

/// A fresh Fisher-Yates permutation of `0..n`, cut to its first `take`.
pub fn shuffled(rng: &mut crate::XorShift, n: usize, take: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    order.truncate(take);
    order
}

/// Size in bytes of the issue's item and of the small one.
pub fn item_sizes() -> (usize, usize) {
    fn size_of_val<F>(_: &F) -> usize {
        std::mem::size_of::<F>()
    }
    let (_tx, rx) = oneshot::channel::<u64>();
    let counter = Arc::new(AtomicUsize::new(0));
    let issue = async move {
        counter.fetch_add(1, Relaxed);
        rx.await.expect("sender dropped")
    };
    let (_tx, rx) = oneshot::channel::<u64>();
    let small = async move {
        SMALL_COUNTER.fetch_add(1, Relaxed);
        rx.await.expect("sender dropped")
    };
    (size_of_val(&issue), size_of_val(&small))
}
