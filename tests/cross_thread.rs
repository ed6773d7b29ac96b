//! Guarantees 3 to 7 (crate docs) under cross-thread waking: slot wakers
//! woken from several OS threads at once (double wakes, wakes racing polls,
//! stale wakes racing slot reuse, wakers outliving the stream), checked for
//! exact outputs, no lost wake and no unwoken poll.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures::executor::block_on;
use futures::{Stream, StreamExt};
use limited_as_completed::LimitedAsCompletedExt;

use common::wakes::within;
use common::{lock, scale, Rng};

/// [`within`] 60 s (a lost wake shows up as a hang).
fn within_60s<T: Send + 'static>(scenario: impl FnOnce() -> T + Send + 'static) -> T {
    within(Duration::from_secs(60), scenario)
}

// ---------------------------------------------------------------------------
// Probe: what the test knows about one future.

/// Per-future counters shared between the future (polled on the stream's
/// thread) and the threads that wake it.
///
/// The "woken since last poll" check has to allow for one unavoidable race: a
/// wake counted before a poll started may still land after the engine took the
/// slot off its ready list, and then legitimately causes one more poll. So a
/// wake counted by poll `k` beyond the one it needs carries at most one credit
/// to poll `k + 1`; a poll with no credit at all is a violation.
///
/// That one credit is enough only if a wake is counted and delivered in one
/// step as far as the poll's count is concerned: a waking thread that counted
/// two wakes, then stalled until after poll `k + 1` took the slot off the
/// list, would make poll `k + 2` look unwoken (seen under ThreadSanitizer,
/// whose scheduling stretches such gaps). `counting` makes "count, then
/// wake" and the poll's taking of the count exclusive of each other.
struct Probe {
    index: usize,
    /// Ticks needed before the future finishes.
    need: usize,
    ticks: AtomicUsize,
    /// Wake calls counted since the last poll (incremented before waking).
    wakes_since_poll: AtomicUsize,
    wake_calls: AtomicUsize,
    polls: AtomicUsize,
    carry: AtomicUsize,
    violations: AtomicUsize,
    finished: AtomicBool,
    /// Wakes still to deliver after the future finished (stale wakes).
    stale_left: AtomicUsize,
    waker: Mutex<Option<Waker>>,
    /// Held while a wake is counted and delivered, and while a poll takes
    /// the count (see the type's doc).
    counting: Mutex<()>,
}

impl Probe {
    fn new(index: usize, need: usize, stale: usize) -> Arc<Self> {
        Arc::new(Self {
            index,
            need,
            ticks: AtomicUsize::new(0),
            wakes_since_poll: AtomicUsize::new(0),
            wake_calls: AtomicUsize::new(0),
            polls: AtomicUsize::new(0),
            carry: AtomicUsize::new(0),
            violations: AtomicUsize::new(0),
            finished: AtomicBool::new(false),
            stale_left: AtomicUsize::new(stale),
            waker: Mutex::new(None),
            counting: Mutex::new(()),
        })
    }

    fn polls(&self) -> usize {
        self.polls.load(SeqCst)
    }

    fn violations(&self) -> usize {
        self.violations.load(SeqCst)
    }

    /// Bookkeeping at the start of every poll.
    fn on_poll(&self, waker: &Waker) {
        let _counting = lock(&self.counting);
        let first = self.polls.fetch_add(1, SeqCst) == 0;
        let credits = self.wakes_since_poll.swap(0, SeqCst) + self.carry.load(SeqCst);
        let left = if first {
            credits
        } else if credits == 0 {
            self.violations.fetch_add(1, SeqCst);
            0
        } else {
            credits - 1
        };
        self.carry.store(left.min(1), SeqCst);
        // Stored after the count was taken: a wake through this waker is
        // counted for the next poll.
        *lock(&self.waker) = Some(waker.clone());
    }

    /// Wakes the future through the waker of its latest poll, counting the
    /// wake first. `by_value` uses `Waker::wake` on a clone instead of
    /// `wake_by_ref`. Returns `false` if the future was never polled.
    fn wake(&self, by_value: bool) -> bool {
        let Some(waker) = lock(&self.waker).clone() else {
            return false;
        };
        let _counting = lock(&self.counting);
        self.wakes_since_poll.fetch_add(1, SeqCst);
        self.wake_calls.fetch_add(1, SeqCst);
        if by_value {
            waker.wake();
        } else {
            waker.wake_by_ref();
        }
        true
    }

    /// Gives the future one tick and wakes it.
    fn tick_and_wake(&self, by_value: bool) -> bool {
        if lock(&self.waker).is_none() {
            return false;
        }
        self.ticks.fetch_add(1, SeqCst);
        self.wake(by_value)
    }
}

/// Futures alive right now, and the most ever alive at once.
#[derive(Default)]
struct Live {
    now: AtomicUsize,
    max: AtomicUsize,
    created: AtomicUsize,
    dropped: AtomicUsize,
}

/// Runs on a [`Ticker`]'s last poll with its waker, before it returns `Ready`.
type FinishHook = Box<dyn FnOnce(&Waker) + Send>;

/// A future that finishes with its index once its probe got `need` ticks.
/// It can run a hook on its last poll, just before returning `Ready`.
struct Ticker {
    probe: Arc<Probe>,
    live: Arc<Live>,
    on_finish: Option<FinishHook>,
}

impl Ticker {
    fn new(probe: Arc<Probe>, live: Arc<Live>) -> Self {
        let now = live.now.fetch_add(1, SeqCst) + 1;
        live.max.fetch_max(now, SeqCst);
        live.created.fetch_add(1, SeqCst);
        Self {
            probe,
            live,
            on_finish: None,
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.live.now.fetch_sub(1, SeqCst);
        self.live.dropped.fetch_add(1, SeqCst);
    }
}

impl Future for Ticker {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let probe = Arc::clone(&self.probe);
        assert!(
            !probe.finished.load(SeqCst),
            "future {} polled after it finished",
            probe.index
        );
        probe.on_poll(cx.waker());
        if probe.ticks.load(SeqCst) < probe.need {
            return Poll::Pending;
        }
        if let Some(hook) = self.on_finish.take() {
            hook(cx.waker());
        }
        probe.finished.store(true, SeqCst);
        Poll::Ready(probe.index)
    }
}

// ---------------------------------------------------------------------------
// The parent task's waker, counting wakes; lets a test wait for one.

#[derive(Default)]
struct Parent {
    wakes: Mutex<usize>,
    woken: Condvar,
}

impl Wake for Parent {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *lock(&self.wakes) += 1;
        self.woken.notify_all();
    }
}

impl Parent {
    /// A new parent and a waker that counts into it.
    fn new() -> (Arc<Self>, Waker) {
        let parent = Arc::new(Self::default());
        let waker = Waker::from(Arc::clone(&parent));
        (parent, waker)
    }

    fn count(&self) -> usize {
        *lock(&self.wakes)
    }

    /// Blocks until the wake count exceeds `seen` (a lost wake blocks for
    /// ever and trips the 60 s timeout).
    fn wait_past(&self, seen: usize) {
        let mut wakes = lock(&self.wakes);
        while *wakes <= seen {
            wakes = self
                .woken
                .wait(wakes)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Drives `stream` to the end like an executor: polls, and after `Pending`
/// sleeps until the parent waker is woken.
fn drive<S: Stream + Unpin>(stream: &mut S, parent: &Arc<Parent>) -> Vec<S::Item> {
    let waker = Waker::from(Arc::clone(parent));
    let mut cx = Context::from_waker(&waker);
    let mut out = Vec::new();
    loop {
        let seen = parent.count();
        match stream.poll_next_unpin(&mut cx) {
            Poll::Ready(Some(item)) => out.push(item),
            Poll::Ready(None) => return out,
            Poll::Pending => parent.wait_past(seen),
        }
    }
}

// ---------------------------------------------------------------------------
// Stress harness.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Completion,
    Input,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    BlockOn,
    ByHand,
}

#[derive(Clone, Copy)]
struct Plan {
    order: Order,
    driver: Driver,
    items: usize,
    limit: usize,
    threads: usize,
    /// Each wake is delivered twice (once by reference, once by value).
    double: bool,
    /// Wakes delivered to each future after it finished.
    stale: usize,
}

struct Report {
    outputs: Vec<usize>,
    probes: Vec<Arc<Probe>>,
    live: Arc<Live>,
}

impl Report {
    fn violations(&self) -> usize {
        self.probes.iter().map(|p| p.violations()).sum()
    }

    /// Every poll after a future's first needs a wake that re-queued its slot
    /// after its previous poll; a wake of any future counts (a stale wake of
    /// one occupant may poll the next), so this holds even with slot reuse.
    fn assert_no_poll_without_some_wake(&self) {
        let repolls: usize = self.probes.iter().map(|p| p.polls() - 1).sum();
        let wakes: usize = self.probes.iter().map(|p| p.wake_calls.load(SeqCst)).sum();
        assert!(
            repolls <= wakes,
            "{repolls} polls after first polls, but only {wakes} wake calls"
        );
    }
}

/// Runs `plan.items` tickers through the stream while `plan.threads` threads
/// tick and wake them at random, until the stream ends.
fn stress(plan: Plan, seed: u64) -> Report {
    within_60s(move || {
        let live = Arc::new(Live::default());
        let probes: Vec<Arc<Probe>> = (0..plan.items)
            .map(|i| Probe::new(i, 1 + i % 3, plan.stale))
            .collect();
        let done = Arc::new(AtomicBool::new(false));

        let wakers: Vec<_> = (0..plan.threads)
            .map(|t| {
                let probes = probes.clone();
                let live = Arc::clone(&live);
                let done = Arc::clone(&done);
                thread::spawn(move || wake_at_random(&probes, &live, &done, plan, seed ^ t as u64))
            })
            .collect();

        let items = {
            let probes = probes.clone();
            let live = Arc::clone(&live);
            (0..plan.items).map(move |i| Ticker::new(Arc::clone(&probes[i]), Arc::clone(&live)))
        };
        let parent = Arc::new(Parent::default());
        let outputs = match (plan.order, plan.driver) {
            (Order::Completion, Driver::BlockOn) => {
                block_on(items.limited_as_completed(plan.limit).collect())
            }
            (Order::Input, Driver::BlockOn) => {
                block_on(items.limited_in_order(plan.limit).collect())
            }
            (Order::Completion, Driver::ByHand) => {
                drive(&mut items.limited_as_completed(plan.limit), &parent)
            }
            (Order::Input, Driver::ByHand) => {
                drive(&mut items.limited_in_order(plan.limit), &parent)
            }
        };
        done.store(true, SeqCst);
        for handle in wakers {
            handle.join().expect("waking thread panicked");
        }
        Report {
            outputs,
            probes,
            live,
        }
    })
}

/// One waking thread: picks pulled futures at random (half the time among
/// the most recently pulled); gives a running one a tick and wakes it (twice
/// if `double`), wakes a finished one while it has stale wakes left. Keeps
/// going until the stream is done and no stale wake is left.
fn wake_at_random(probes: &[Arc<Probe>], live: &Live, done: &AtomicBool, plan: Plan, seed: u64) {
    let mut rng = Rng::new(seed);
    loop {
        if done.load(SeqCst) && probes.iter().all(|p| p.stale_left.load(SeqCst) == 0) {
            return;
        }
        let pulled = live.created.load(SeqCst);
        if pulled == 0 {
            thread::yield_now();
            continue;
        }
        let index = if rng.one_in(2) {
            pulled - 1 - rng.below(pulled.min(2 * plan.limit + 2))
        } else {
            rng.below(pulled)
        };
        let probe = &probes[index];
        let by_value = rng.one_in(2);
        if probe.finished.load(SeqCst) {
            let claimed = probe
                .stale_left
                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if claimed {
                probe.wake(by_value);
            }
        } else if probe.tick_and_wake(by_value) && plan.double {
            probe.wake(!by_value);
        }
        thread::yield_now();
    }
}

fn assert_each_output_once(report: &Report, plan: Plan) {
    let mut sorted = report.outputs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..plan.items).collect::<Vec<_>>());
    if plan.order == Order::Input {
        assert_eq!(report.outputs, (0..plan.items).collect::<Vec<_>>());
    }
    assert!(report.live.max.load(SeqCst) <= plan.limit);
    assert_eq!(report.live.created.load(SeqCst), plan.items);
    assert_eq!(report.live.dropped.load(SeqCst), plan.items);
    assert_eq!(report.live.now.load(SeqCst), 0);
    for probe in &report.probes {
        assert!(probe.finished.load(SeqCst));
    }
    report.assert_no_poll_without_some_wake();
}

const ROUNDS: usize = scale(60, 1);
const ITEMS: usize = scale(160, 6);
const THREADS: usize = scale(4, 2);

/// The plan the stress tests start from: every item in its own slot, each
/// wake delivered twice, two stale wakes per finished future.
const BASE_PLAN: Plan = Plan {
    order: Order::Completion,
    driver: Driver::BlockOn,
    items: ITEMS,
    limit: ITEMS,
    threads: THREADS,
    double: true,
    stale: 2,
};

fn run_rounds(plan: Plan, expect_strict: bool) {
    for round in 0..ROUNDS {
        let report = stress(plan, 0x9E37_79B9_7F4A_7C15 ^ round as u64);
        assert_each_output_once(&report, plan);
        if expect_strict {
            assert_eq!(report.violations(), 0, "a future was polled without a wake");
        }
    }
}

// ---------------------------------------------------------------------------
// Stress tests without slot reuse: every future has its own slot, so the
// strict "woken since last poll" check applies to every poll.

#[test]
fn as_completed_polls_only_woken_futures_under_cross_thread_double_wakes() {
    run_rounds(BASE_PLAN, true);
}

#[test]
fn in_order_polls_only_woken_futures_under_cross_thread_double_wakes() {
    let plan = Plan {
        order: Order::Input,
        ..BASE_PLAN
    };
    run_rounds(plan, true);
}

#[test]
fn hand_driven_as_completed_never_loses_a_cross_thread_wake() {
    let plan = Plan {
        driver: Driver::ByHand,
        double: false,
        stale: 0,
        ..BASE_PLAN
    };
    run_rounds(plan, true);
}

// ---------------------------------------------------------------------------
// Stress tests with slot reuse and stale wakes: the threads keep waking
// futures that already finished while their slots are refilled.

#[test]
fn as_completed_yields_each_output_once_while_stale_wakes_race_slot_reuse() {
    let plan = Plan {
        limit: 3,
        stale: 3,
        ..BASE_PLAN
    };
    run_rounds(plan, false);
}

#[test]
fn in_order_yields_in_input_order_while_stale_wakes_race_slot_reuse() {
    let plan = Plan {
        order: Order::Input,
        limit: 3,
        stale: 3,
        ..BASE_PLAN
    };
    run_rounds(plan, false);
}

#[test]
fn hand_driven_in_order_never_loses_a_wake_with_slot_reuse() {
    let plan = Plan {
        order: Order::Input,
        driver: Driver::ByHand,
        limit: 2,
        double: false,
        stale: 1,
        ..BASE_PLAN
    };
    run_rounds(plan, false);
}

/// The same stress with the strict per-future check: a wake that lands on a
/// finished future's waker after its slot was refilled must not poll the new
/// occupant, which was never woken (see the deterministic tests below).
#[test]
fn reused_slots_poll_only_woken_futures_under_stale_cross_thread_wakes() {
    let plan = Plan {
        limit: 3,
        stale: 3,
        ..BASE_PLAN
    };
    run_rounds(plan, true);
}

// ---------------------------------------------------------------------------
// Deterministic cross-thread races, driven by hand.

fn tickers(probes: &[Arc<Probe>], live: &Arc<Live>) -> Vec<Ticker> {
    probes
        .iter()
        .map(|p| Ticker::new(Arc::clone(p), Arc::clone(live)))
        .collect()
}

/// Tickers for `probes`, each made only when the stream pulls it.
fn lazy_tickers(probes: Vec<Arc<Probe>>, live: &Arc<Live>) -> impl Iterator<Item = Ticker> {
    let live = Arc::clone(live);
    probes
        .into_iter()
        .map(move |p| Ticker::new(p, Arc::clone(&live)))
}

/// Runs `f` on another OS thread and waits for it.
fn on_other_thread(f: impl FnOnce() + Send + 'static) {
    thread::spawn(f).join().expect("helper thread panicked");
}

#[test]
fn parked_stream_is_woken_once_by_wakes_from_other_threads_and_polls_in_wake_order() {
    within_60s(|| {
        let live = Arc::new(Live::default());
        let probes: Vec<_> = (0..3).map(|i| Probe::new(i, 1, 0)).collect();
        let mut stream = tickers(&probes, &live).limited_as_completed(3);
        let (parent, waker) = Parent::new();
        let mut cx = Context::from_waker(&waker);

        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(parent.count(), 0, "nothing woken: no self-wake");

        // Three threads, one after the other: 2, then 0, then 2 again.
        for (index, by_value) in [(2, false), (0, true), (2, true)] {
            let probe = Arc::clone(&probes[index]);
            on_other_thread(move || assert!(probe.tick_and_wake(by_value)));
        }
        // Only the push onto the empty queue wakes the parent.
        assert_eq!(parent.count(), 1);

        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(2)));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(0)));
        assert_eq!(
            probes.iter().map(|p| p.polls()).collect::<Vec<_>>(),
            [2, 1, 2],
            "woken twice, polled once; not woken, not polled"
        );
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(parent.count(), 1);

        let probe = Arc::clone(&probes[1]);
        on_other_thread(move || assert!(probe.tick_and_wake(false)));
        assert_eq!(parent.count(), 2);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(1)));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(None));
        assert!(probes.iter().all(|p| p.violations() == 0));
    });
}

/// A future that, on each of its first `wakes` polls, has another thread
/// wake it (joined before the poll returns `Pending`), then finishes.
struct WokenDuringPoll {
    polls: Arc<AtomicUsize>,
    wakes: usize,
}

impl Future for WokenDuringPoll {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let polls = self.polls.fetch_add(1, SeqCst) + 1;
        if polls > self.wakes {
            return Poll::Ready(polls);
        }
        let waker = cx.waker().clone();
        on_other_thread(move || waker.wake());
        Poll::Pending
    }
}

#[test]
fn wake_from_another_thread_during_a_poll_is_not_lost_and_not_spun_on() {
    for in_order in [false, true] {
        within_60s(move || {
            let polls = Arc::new(AtomicUsize::new(0));
            let item = WokenDuringPoll {
                polls: Arc::clone(&polls),
                wakes: 3,
            };
            let mut stream: Pin<Box<dyn Stream<Item = usize> + Send>> = if in_order {
                Box::pin(vec![item].limited_in_order(1))
            } else {
                Box::pin(vec![item].limited_as_completed(1))
            };
            let (parent, waker) = Parent::new();
            let mut cx = Context::from_waker(&waker);
            // Each call polls the future once (its first poll included), sees
            // the wake that landed during that poll, and wakes the parent
            // instead of polling again.
            // (The wake may also reach the parent directly if it is still
            // registered from an earlier `Pending`: more wakes, never fewer.)
            for call in 1..=3 {
                let before = parent.count();
                assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
                assert_eq!(polls.load(SeqCst), call);
                assert!(parent.count() > before, "wake during poll {call} lost");
            }
            let before = parent.count();
            assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(4)));
            assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(None));
            assert_eq!(parent.count(), before, "finished: no wake left");
        });
    }
}

#[test]
fn double_wake_from_another_thread_wakes_the_parent_once_and_polls_once() {
    within_60s(|| {
        let live = Arc::new(Live::default());
        let probe = Probe::new(0, 1, 0);
        let ticker = Ticker::new(Arc::clone(&probe), Arc::clone(&live));
        let mut stream = vec![ticker].limited_as_completed(1);
        let (parent, waker) = Parent::new();
        let mut cx = Context::from_waker(&waker);

        // Hand the slot waker to another thread, which wakes it while the
        // stream is between polls, then again while it is parked.
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(parent.count(), 0);
        let p = Arc::clone(&probe);
        on_other_thread(move || {
            assert!(p.wake(false));
            assert!(p.wake(true));
        });
        assert_eq!(parent.count(), 1);
        // Polled once for both wakes, still short of its tick.
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(probe.polls(), 2);
        assert_eq!(parent.count(), 1, "nothing left queued: no self-wake");
        let p = Arc::clone(&probe);
        on_other_thread(move || assert!(p.tick_and_wake(false)));
        assert_eq!(parent.count(), 2);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(0)));
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(None));
        assert_eq!(probe.violations(), 0);
    });
}

/// What the stale-wake scenario saw.
struct StaleWake {
    first: Arc<Probe>,
    second: Arc<Probe>,
    /// Every `poll_next` result, in order.
    seen: Vec<Poll<Option<usize>>>,
    /// Polls of item 1 before anything woke it.
    second_polls_unwoken: usize,
    dropped: usize,
}

/// Limit 1: item 0 finishes on its second poll and item 1 takes its slot.
/// Item 0's waker is then woken once more from another thread: after its
/// output came out (`during_last_poll == false`), or while it was polled for
/// the last time, as when two events complete it at once.
fn stale_wake_scenario(during_last_poll: bool) -> StaleWake {
    within_60s(move || {
        let live = Arc::new(Live::default());
        let first = Probe::new(0, 1, 0);
        let second = Probe::new(1, 1, 0);
        let mut ticker = Ticker::new(Arc::clone(&first), Arc::clone(&live));
        if during_last_poll {
            ticker.on_finish = Some(Box::new(|waker: &Waker| {
                let waker = waker.clone();
                on_other_thread(move || waker.wake());
            }));
        }
        let items = vec![ticker, Ticker::new(Arc::clone(&second), Arc::clone(&live))];
        let mut stream = items.limited_as_completed(1);
        let (_parent, waker) = Parent::new();
        let mut cx = Context::from_waker(&waker);
        let mut seen = Vec::new();

        seen.push(stream.poll_next_unpin(&mut cx));
        let p = Arc::clone(&first);
        on_other_thread(move || assert!(p.tick_and_wake(false)));
        // Item 0 finishes; its slot is refilled with item 1, polled once.
        seen.push(stream.poll_next_unpin(&mut cx));
        if !during_last_poll {
            let p = Arc::clone(&first);
            on_other_thread(move || assert!(p.wake(true)));
        }
        seen.push(stream.poll_next_unpin(&mut cx));
        let second_polls_unwoken = second.polls();
        let p = Arc::clone(&second);
        on_other_thread(move || assert!(p.tick_and_wake(false)));
        seen.push(stream.poll_next_unpin(&mut cx));
        seen.push(stream.poll_next_unpin(&mut cx));
        StaleWake {
            first,
            second,
            seen,
            second_polls_unwoken,
            dropped: live.dropped.load(SeqCst),
        }
    })
}

#[test]
fn stale_wake_after_slot_reuse_loses_and_duplicates_nothing() {
    for during_last_poll in [false, true] {
        let run = stale_wake_scenario(during_last_poll);
        assert_eq!(
            run.seen,
            [
                Poll::Pending,
                Poll::Ready(Some(0)),
                Poll::Pending,
                Poll::Ready(Some(1)),
                Poll::Ready(None),
            ]
        );
        assert_eq!(run.first.polls(), 2);
        assert_eq!(run.first.violations(), 0);
        assert_eq!(run.dropped, 2);
    }
}

#[test]
fn stale_wake_after_completion_does_not_poll_the_slot_successor() {
    let run = stale_wake_scenario(false);
    assert_eq!(run.second_polls_unwoken, 1, "item 1 polled without a wake");
    assert_eq!(run.second.violations(), 0);
}

#[test]
fn wake_during_last_poll_does_not_poll_the_slot_successor() {
    let run = stale_wake_scenario(true);
    assert_eq!(run.second_polls_unwoken, 1, "item 1 polled without a wake");
    assert_eq!(run.second.violations(), 0);
}

// ---------------------------------------------------------------------------
// Wakers that outlive the stream.

#[test]
fn slot_wakers_woken_from_many_threads_after_the_stream_is_dropped_are_harmless() {
    within_60s(|| {
        let live = Arc::new(Live::default());
        let probes: Vec<_> = (0..4).map(|i| Probe::new(i, 1, 0)).collect();
        let mut stream = tickers(&probes, &live).limited_as_completed(4);
        let (parent, waker) = Parent::new();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        let slot_wakers: Vec<Waker> = probes
            .iter()
            .map(|p| lock(&p.waker).clone().expect("polled once"))
            .collect();
        assert!(
            Arc::strong_count(&parent) > 2,
            "the stream holds the parent"
        );

        drop(stream);
        drop(waker);
        assert_eq!(live.dropped.load(SeqCst), 4);
        assert_eq!(
            Arc::strong_count(&parent),
            1,
            "live slot wakers must not keep the parent waker alive"
        );

        let wakes = scale(200, 3);
        let slot_wakers = Arc::new(slot_wakers);
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let slot_wakers = Arc::clone(&slot_wakers);
                thread::spawn(move || {
                    for k in 0..wakes {
                        let w = &slot_wakers[(t + k) % slot_wakers.len()];
                        w.wake_by_ref();
                        // A clone woken by value, and a clone just dropped.
                        let owned = w.clone();
                        owned.wake();
                        drop(w.clone());
                    }
                })
            })
            .collect();
        for handle in threads {
            handle.join().expect("waking thread panicked");
        }
        assert_eq!(parent.count(), 0, "no wake reaches a dropped stream's task");
        // The probes hold clones too; dropping everything frees it all (Miri
        // checks for leaks).
        drop(slot_wakers);
        drop(probes);
    });
}

#[test]
fn stream_dropped_while_other_threads_wake_its_slots_frees_everything() {
    for round in 0..ROUNDS {
        within_60s(move || {
            let live = Arc::new(Live::default());
            let probes: Vec<_> = (0..4).map(|i| Probe::new(i, usize::MAX, 0)).collect();
            // In-order this time, limit 3 of 4 items: item 1 finishes on its
            // first poll and waits behind item 0, items 0 and 2 keep running.
            probes[1].ticks.store(usize::MAX, SeqCst);
            let items = lazy_tickers(probes.clone(), &live);
            let mut stream = items.limited_in_order(3);
            let (parent, waker) = Parent::new();
            let mut cx = Context::from_waker(&waker);
            assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
            assert_eq!(live.created.load(SeqCst), 3);

            let start = Arc::new(Barrier::new(THREADS + 1));
            let wakes = scale(100, 2);
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let probes = probes.clone();
                    let start = Arc::clone(&start);
                    thread::spawn(move || {
                        start.wait();
                        for k in 0..wakes {
                            probes[(t + k) % 3].wake(k % 2 == 0);
                        }
                    })
                })
                .collect();
            start.wait();
            if round % 2 == 0 {
                thread::yield_now();
            }
            drop(stream);
            drop(waker);
            for handle in threads {
                handle.join().expect("waking thread panicked");
            }
            assert_eq!(live.dropped.load(SeqCst), 3);
            assert_eq!(live.now.load(SeqCst), 0);
            assert_eq!(probes[3].polls(), 0, "item 3 was never pulled");
            assert_eq!(
                Arc::strong_count(&parent),
                1,
                "the parent waker is released once the wakes are over"
            );
        });
    }
}

/// A stale wake queued for a freed slot, ahead of a real wake, when the slot
/// is refilled at the start of the next poll (here after `set_limit` raised
/// the bound): the stale entry must neither poll the refill a second time nor
/// hold back the really woken future behind it.
#[test]
fn stale_wake_ahead_of_a_real_wake_does_not_delay_it() {
    within_60s(|| {
        let live = Arc::new(Live::default());
        let probes: Vec<_> = (0..3).map(|i| Probe::new(i, 1, 0)).collect();
        let items = lazy_tickers(probes.clone(), &live);
        let mut stream = items.limited_as_completed(2);
        let (_parent, waker) = Parent::new();
        let mut cx = Context::from_waker(&waker);

        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Pending);
        stream.set_limit(1);
        let p = Arc::clone(&probes[0]);
        on_other_thread(move || assert!(p.tick_and_wake(false)));
        // Item 0 finishes; with the lower bound its slot is not refilled.
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(0)));
        // A stale wake of item 0's slot, then a real one of item 1.
        let (p0, p1) = (Arc::clone(&probes[0]), Arc::clone(&probes[1]));
        on_other_thread(move || {
            assert!(p0.wake(true));
            assert!(p1.tick_and_wake(true));
        });
        stream.set_limit(2);
        // Item 2 takes item 0's slot; item 1 was woken and is done.
        assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(1)));
    });
}
