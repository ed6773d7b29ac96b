//! Test kit shared by the integration tests: controllable futures, probes,
//! a counting iterator and a counting waker.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures::Stream;

/// Locks a mutex, ignoring poisoning (a test that panicked on purpose may
/// have poisoned it).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Gate: a future completed by hand.

struct GateState<T> {
    value: Option<T>,
    /// The waker of the latest poll; kept after completion so a test can fire
    /// it again as a stale wake.
    waker: Option<Waker>,
    polls: usize,
}

/// A future that stays `Pending` until its [`GateHandle`] completes it, and
/// counts its polls.
pub struct Gate<T> {
    shared: Arc<Mutex<GateState<T>>>,
}

/// Completes, wakes and inspects a [`Gate`].
pub struct GateHandle<T> {
    shared: Arc<Mutex<GateState<T>>>,
}

/// A new [`Gate`] and the handle that controls it.
pub fn gate<T>() -> (Gate<T>, GateHandle<T>) {
    let shared = Arc::new(Mutex::new(GateState {
        value: None,
        waker: None,
        polls: 0,
    }));
    (
        Gate {
            shared: Arc::clone(&shared),
        },
        GateHandle { shared },
    )
}

impl<T> Future for Gate<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = lock(&self.shared);
        state.polls += 1;
        state.waker = Some(cx.waker().clone());
        match state.value.take() {
            Some(value) => Poll::Ready(value),
            None => Poll::Pending,
        }
    }
}

impl<T> GateHandle<T> {
    /// Gives the gate its output and wakes the waker of its latest poll.
    pub fn complete(&self, value: T) {
        let waker = {
            let mut state = lock(&self.shared);
            assert!(state.value.is_none(), "gate completed twice");
            state.value = Some(value);
            state.waker.clone()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the waker of the gate's latest poll without completing it (also
    /// after completion: a stale wake).
    pub fn wake(&self) {
        let waker = lock(&self.shared).waker.clone();
        waker.expect("gate was never polled").wake();
    }

    /// How many times the gate was polled.
    pub fn polls(&self) -> usize {
        lock(&self.shared).polls
    }

    /// Whether the gate holds a value not yet taken by a poll.
    pub fn is_completed_unpolled(&self) -> bool {
        lock(&self.shared).value.is_some()
    }
}

// ---------------------------------------------------------------------------
// Probe: poll, drop and liveness counting around any future.

/// Counters shared by every [`Probe`] of a test.
#[derive(Default)]
pub struct Counters {
    created: AtomicUsize,
    polls: AtomicUsize,
    drops: AtomicUsize,
    live: AtomicUsize,
    peak: AtomicUsize,
    poll_log: Mutex<Vec<usize>>,
}

impl Counters {
    /// New shared counters, all zero.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Probes created so far.
    pub fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    /// Polls of all probes so far.
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// Probes dropped so far.
    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }

    /// Probes created and not yet dropped.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// The highest [`live`](Self::live) count seen.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Ids of the probes polled since the last call, in poll order.
    pub fn take_poll_log(&self) -> Vec<usize> {
        std::mem::take(&mut *lock(&self.poll_log))
    }
}

/// Wraps a future; counts its polls and its drop, and tracks how many probes
/// are alive at once, in shared [`Counters`].
pub struct Probe<F> {
    id: usize,
    inner: Pin<Box<F>>,
    counters: Arc<Counters>,
}

impl<F> Probe<F> {
    /// Wraps `inner` as probe `id` (the id goes into the poll log).
    pub fn new(id: usize, inner: F, counters: &Arc<Counters>) -> Self {
        counters.created.fetch_add(1, Ordering::SeqCst);
        let live = counters.live.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak.fetch_max(live, Ordering::SeqCst);
        Self {
            id,
            inner: Box::pin(inner),
            counters: Arc::clone(counters),
        }
    }

    /// The id given to [`new`](Self::new).
    pub fn id(&self) -> usize {
        self.id
    }
}

impl<F: Future> Future for Probe<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.counters.polls.fetch_add(1, Ordering::SeqCst);
        lock(&self.counters.poll_log).push(self.id);
        self.inner.as_mut().poll(cx)
    }
}

impl<F> Drop for Probe<F> {
    fn drop(&mut self) {
        self.counters.drops.fetch_add(1, Ordering::SeqCst);
        self.counters.live.fetch_sub(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------
// Self-waking and panicking futures.

/// Returns `Pending` `k` times, waking itself each time, then `Ready(value)`;
/// counts its polls.
pub struct SelfWaking<T> {
    remaining: usize,
    value: Option<T>,
    polls: Arc<AtomicUsize>,
}

impl<T> SelfWaking<T> {
    /// A future that is `Pending` (self-woken) `k` times before giving `value`.
    pub fn new(k: usize, value: T) -> Self {
        Self {
            remaining: k,
            value: Some(value),
            polls: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A shared counter of this future's polls.
    pub fn polls(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.polls)
    }
}

impl<T> Unpin for SelfWaking<T> {}

impl<T> Future for SelfWaking<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.remaining == 0 {
            return Poll::Ready(self.value.take().expect("polled after Ready"));
        }
        self.remaining -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The message of every [`PanicOn`] panic.
pub const FUTURE_PANIC: &str = "test future panics on purpose";

/// Delegates to `inner` but panics (with [`FUTURE_PANIC`]) on poll number `k`
/// (1-based).
pub struct PanicOn<F> {
    k: usize,
    polls: usize,
    inner: Pin<Box<F>>,
}

impl<F> PanicOn<F> {
    /// Wraps `inner`; poll number `k` panics instead of polling it.
    pub fn new(k: usize, inner: F) -> Self {
        assert!(k >= 1, "polls are numbered from 1");
        Self {
            k,
            polls: 0,
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for PanicOn<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls += 1;
        if self.polls == self.k {
            panic!("{FUTURE_PANIC}");
        }
        self.inner.as_mut().poll(cx)
    }
}

// ---------------------------------------------------------------------------
// Counting iterator.

/// The message of a [`CountingIter`] panic on purpose.
pub const ITER_PANIC: &str = "test iterator panics on purpose";

/// Counters of a [`CountingIter`], shared with the test.
#[derive(Default)]
pub struct IterCounts {
    calls: AtomicUsize,
    items: AtomicUsize,
    dropped: AtomicBool,
}

impl IterCounts {
    /// Calls of `next`, including the one that returned `None` and any that
    /// panicked.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Items handed out (calls that returned `Some`): the stream's "pulled".
    pub fn items(&self) -> usize {
        self.items.load(Ordering::SeqCst)
    }

    /// Whether the iterator was dropped.
    pub fn dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// Wraps an iterator: counts pulls, panics if called after it returned `None`,
/// and optionally panics (once, with [`ITER_PANIC`]) on call number `k`
/// without advancing the inner iterator.
pub struct CountingIter<I> {
    inner: I,
    counts: Arc<IterCounts>,
    ended: bool,
    panic_on: Option<usize>,
}

impl<I> CountingIter<I> {
    /// Wraps `inner`; returns the iterator and its shared counters.
    pub fn new(inner: I) -> (Self, Arc<IterCounts>) {
        let counts = Arc::new(IterCounts::default());
        (
            Self {
                inner,
                counts: Arc::clone(&counts),
                ended: false,
                panic_on: None,
            },
            counts,
        )
    }

    /// Panics once, on call number `k` (1-based) of `next`.
    pub fn panic_on(mut self, k: usize) -> Self {
        self.panic_on = Some(k);
        self
    }
}

impl<I: Iterator> Iterator for CountingIter<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let call = self.counts.calls.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(!self.ended, "iterator called again after it returned None");
        if self.panic_on == Some(call) {
            self.panic_on = None;
            panic!("{ITER_PANIC}");
        }
        let item = self.inner.next();
        match item {
            Some(_) => {
                self.counts.items.fetch_add(1, Ordering::SeqCst);
            }
            None => self.ended = true,
        }
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<I> Drop for CountingIter<I> {
    fn drop(&mut self) {
        self.counts.dropped.store(true, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------
// Counting waker and polling helpers.

/// A waker that counts its wakes.
#[derive(Default)]
pub struct CountingWaker {
    wakes: AtomicUsize,
}

impl CountingWaker {
    /// A new counting waker with no wakes.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A [`Waker`] that counts into this.
    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }

    /// Wakes so far.
    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `stream` once with `waker`.
pub fn poll_once<S: Stream + Unpin>(stream: &mut S, waker: &Waker) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(&mut Context::from_waker(waker))
}

/// Polls `stream` once with a no-op waker.
pub fn poll_noop<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    poll_once(stream, futures::task::noop_waker_ref())
}

/// Asserts the exact bookkeeping after a `poll_next` return: `pulled` items
/// taken from the iterator and `in_flight` in the stream are as `expected`
/// (`(pulled, in_flight)`), and `pulled == yielded + in_flight`.
#[track_caller]
pub fn assert_books(pulled: usize, yielded: usize, in_flight: usize, expected: (usize, usize)) {
    assert_eq!(
        (pulled, in_flight),
        expected,
        "(pulled, in_flight) after {yielded} yielded"
    );
    assert_eq!(pulled, yielded + in_flight, "pulled == yielded + in_flight");
}

/// A deterministic pseudo-random number generator (64-bit LCG, high bits).
pub struct Lcg(u64);

impl Lcg {
    /// A generator from a fixed seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}
