//! The kit of the tests that attack wakes across threads
//! (`tests/consumer_wakes.rs`, `tests/holder_attack.rs`): a consumer [`Task`]
//! whose wakers count their wakes, clones and drops (and can panic in each,
//! run a hook, or block at a gate), [`Remote`] futures completed by hand from
//! any thread with their [`Ledger`]s, and the helpers over them.
//!
//! A task's waker data is an `Arc<TaskState>` that the test holds too, and a
//! drop with no waker alive is counted, not passed on, so a double drop by
//! the stream shows up as [`TaskState::misuse`] instead of as a
//! use-after-free.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread;
use std::time::{Duration, Instant};

use futures::Stream;
use limited_as_completed::LimitedStream;

use super::{lock, CountingIter, IterCounts};

/// How long a liveness check waits before it calls a wake lost.
/// (Miri runs far slower: there the bound is only a hang guard.)
pub const LIVENESS: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 10 });

/// Runs `scenario` on its own thread and returns what it returns; fails if
/// it does not finish within `limit` (a lost wake or a deadlock shows up as a
/// hang). Panics inside are passed on.
pub fn within<T: Send + 'static>(
    limit: Duration,
    scenario: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        // A send error means the caller already timed out; nothing to do.
        let _ = tx.send(scenario());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            handle
                .join()
                .expect("scenario thread panicked after sending");
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("scenario ended without a result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("scenario hung: not finished in {limit:?}"),
    }
}

/// [`within`] twice [`LIVENESS`] (an hour under Miri).
pub fn within_limit(scenario: impl FnOnce() + Send + 'static) {
    let limit = if cfg!(miri) {
        Duration::from_secs(3600)
    } else {
        2 * LIVENESS
    };
    within(limit, scenario);
}

/// Spins (yielding) until `cond` holds; fails after [`LIVENESS`].
#[track_caller]
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < LIVENESS,
            "not within {LIVENESS:?}: {what}"
        );
        thread::yield_now();
    }
}

// ---------------------------------------------------------------------------
// Task: a consumer task's waker that counts everything and can block.

pub const WAKE_PANIC: &str = "consumer waker panics in wake on purpose";
pub const CLONE_PANIC: &str = "consumer waker panics in clone on purpose";
pub const DROP_PANIC: &str = "consumer waker panics in drop on purpose";

pub type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
pub struct TaskState {
    pub wakes: AtomicUsize,
    pub woken: AtomicBool,
    pub made: AtomicUsize,
    pub clones: AtomicUsize,
    pub drops: AtomicUsize,
    pub live: AtomicIsize,
    /// Wakes or drops with no waker alive (use after drop, double drop).
    pub misuse: AtomicUsize,
    /// Wakes currently inside `wake` (blocked at the gate or running).
    pub inside: AtomicUsize,
    /// Next ticket: each wake takes one as it enters.
    pub tickets: AtomicUsize,
    /// While set, a wake with ticket `t` blocks until bit `t` of
    /// `released` is set (tickets from 64 wait for all bits).
    pub gated: AtomicBool,
    pub released: Mutex<u64>,
    pub opened: Condvar,
    /// Tickets (below 64) whose wake panics after the gate.
    pub panic_tickets: AtomicU64,
    /// Every wake panics.
    pub panics: AtomicBool,
    pub clone_panics: AtomicBool,
    /// Drops panic (after letting go), unless already unwinding.
    pub drop_panics: AtomicBool,
    /// Wakes yield the thread a few times (to widen races).
    pub slow: AtomicBool,
    pub hook: Mutex<Option<Hook>>,
}

#[derive(Clone, Default)]
pub struct Task(pub Arc<TaskState>);

impl Task {
    pub fn new() -> Self {
        Self::default()
    }

    /// A task whose wakes panic with [`WAKE_PANIC`] (after counting).
    pub fn panicking() -> Self {
        let task = Self::new();
        task.0.panics.store(true, SeqCst);
        task
    }

    /// A task whose wakers panic with [`CLONE_PANIC`] when cloned.
    pub fn clone_panicking() -> Self {
        let task = Self::new();
        task.0.clone_panics.store(true, SeqCst);
        task
    }

    /// A task whose wakes block at a gate until [`release`](Self::release)d
    /// or [`open`](Self::open)ed.
    pub fn gated() -> Self {
        let c = Self::new();
        c.0.gated.store(true, SeqCst);
        c
    }

    pub fn with_hook(hook: impl FnOnce() + Send + 'static) -> Self {
        let c = Self::new();
        *lock(&c.0.hook) = Some(Box::new(hook));
        c
    }

    pub fn waker(&self) -> Waker {
        self.0.made.fetch_add(1, SeqCst);
        self.0.live.fetch_add(1, SeqCst);
        let data = Arc::into_raw(Arc::clone(&self.0)).cast::<()>();
        // SAFETY: `data` is an `Arc<TaskState>` as raw pointer, what `VTABLE`
        // expects; it owns one strong count, given back by `drop_waker`.
        unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
    }

    pub fn wakes(&self) -> usize {
        self.0.wakes.load(SeqCst)
    }

    pub fn take_woken(&self) -> bool {
        self.0.woken.swap(false, SeqCst)
    }

    #[track_caller]
    pub fn wait_woken(&self, what: &str) {
        wait_until(&format!("lost wake: consumer not woken ({what})"), || {
            self.take_woken()
        });
    }

    pub fn inside(&self) -> usize {
        self.0.inside.load(SeqCst)
    }

    #[track_caller]
    pub fn wait_inside(&self, n: usize) {
        wait_until(&format!("{n} wakes inside the consumer's waker"), || {
            self.inside() == n
        });
    }

    /// Lets the wake with ticket `t` pass the gate.
    pub fn release(&self, t: usize) {
        *lock(&self.0.released) |= 1 << t;
        self.0.opened.notify_all();
    }

    pub fn open(&self) {
        self.0.gated.store(false, SeqCst);
        *lock(&self.0.released) = u64::MAX;
        self.0.opened.notify_all();
    }

    pub fn live(&self) -> isize {
        self.0.live.load(SeqCst)
    }

    #[track_caller]
    pub fn assert_released(&self, name: &str) {
        let s = &self.0;
        let (made, clones, drops) = (
            s.made.load(SeqCst),
            s.clones.load(SeqCst),
            s.drops.load(SeqCst),
        );
        assert_eq!(
            s.misuse.load(SeqCst),
            0,
            "{name}: waker used or dropped with none alive"
        );
        assert_eq!(
            made + clones,
            drops,
            "{name}: made {made} + cloned {clones} != dropped {drops}"
        );
        assert_eq!(s.live.load(SeqCst), 0, "{name}: wakers alive");
        assert_eq!(s.inside.load(SeqCst), 0, "{name}: a wake still inside");
        assert_eq!(Arc::strong_count(&self.0), 1, "{name}: state leaked");
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_waker, wake, wake_by_ref, drop_waker);

/// # Safety
///
/// `data` comes from [`Task::waker`] or [`clone_waker`], and the test
/// still holds its [`Task`].
unsafe fn state<'a>(data: *const ()) -> &'a TaskState {
    // SAFETY: by the contract above.
    unsafe { &*data.cast::<TaskState>() }
}

unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: called on one of our wakers.
    let s = unsafe { state(data) };
    if s.clone_panics.load(SeqCst) {
        panic!("{CLONE_PANIC}");
    }
    if s.live.load(SeqCst) <= 0 {
        s.misuse.fetch_add(1, SeqCst);
    }
    s.clones.fetch_add(1, SeqCst);
    s.live.fetch_add(1, SeqCst);
    // SAFETY: a live `Arc<TaskState>` (the test holds one).
    unsafe { Arc::increment_strong_count(data.cast::<TaskState>()) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    struct DropOnExit(*const ());
    impl Drop for DropOnExit {
        fn drop(&mut self) {
            // SAFETY: a wake by value consumes its waker.
            unsafe { drop_waker(self.0) }
        }
    }
    let _consumed = DropOnExit(data);
    // SAFETY: called on one of our wakers.
    on_wake(unsafe { state(data) });
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: called on one of our wakers.
    on_wake(unsafe { state(data) });
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: called on one of our wakers.
    let s = unsafe { state(data) };
    s.drops.fetch_add(1, SeqCst);
    if s.live.fetch_sub(1, SeqCst) <= 0 {
        s.live.fetch_add(1, SeqCst);
        s.misuse.fetch_add(1, SeqCst);
        return;
    }
    let panics = s.drop_panics.load(SeqCst) && !thread::panicking();
    // SAFETY: gives back the count this waker owned.
    unsafe { Arc::decrement_strong_count(data.cast::<TaskState>()) };
    if panics {
        panic!("{DROP_PANIC}");
    }
}

fn on_wake(s: &TaskState) {
    /// Leaves `inside` also when the wake panics.
    struct Inside<'a>(&'a AtomicUsize);
    impl Drop for Inside<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, SeqCst);
        }
    }
    if s.live.load(SeqCst) <= 0 {
        s.misuse.fetch_add(1, SeqCst);
    }
    // Counted before `inside`: a test that sees a wake inside sees it counted.
    s.wakes.fetch_add(1, SeqCst);
    s.woken.store(true, SeqCst);
    let ticket = s.tickets.fetch_add(1, SeqCst);
    s.inside.fetch_add(1, SeqCst);
    let _inside = Inside(&s.inside);
    let hook = lock(&s.hook).take();
    if let Some(hook) = hook {
        hook();
    }
    if s.gated.load(SeqCst) {
        let bit = if ticket < 64 {
            1u64 << ticket
        } else {
            u64::MAX
        };
        let mut released = lock(&s.released);
        while *released & bit != bit {
            released = s
                .opened
                .wait(released)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
    if s.slow.load(SeqCst) {
        for _ in 0..3 {
            thread::yield_now();
        }
    }
    let bit = if ticket < 64 { 1u64 << ticket } else { 0 };
    if s.panics.load(SeqCst) || s.panic_tickets.load(SeqCst) & bit != 0 {
        panic!("{WAKE_PANIC}");
    }
}

// ---------------------------------------------------------------------------
// Remote: a future completed by hand from any thread.

pub type OnPoll = Box<dyn FnOnce() + Send>;

#[derive(Default)]
pub struct Ledger {
    pub id: usize,
    pub value: Mutex<Option<usize>>,
    pub waker: Mutex<Option<Waker>>,
    pub created: AtomicBool,
    pub polls: AtomicUsize,
    pub drops: AtomicUsize,
    /// Run once, inline, by the next poll (before it looks at the value).
    pub on_poll: Mutex<Option<OnPoll>>,
}

impl Ledger {
    /// Gives the output and wakes a clone of the latest waker by value.
    pub fn complete(&self) {
        *lock(&self.value) = Some(self.id);
        let waker = lock(&self.waker).clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Gives the future its output and wakes it by reference.
    pub fn complete_by_ref(&self) {
        *lock(&self.value) = Some(self.id);
        let waker = lock(&self.waker).clone();
        if let Some(waker) = waker {
            waker.wake_by_ref();
        }
    }

    /// A clone of the waker of its latest poll.
    #[track_caller]
    pub fn waker(&self) -> Waker {
        lock(&self.waker)
            .clone()
            .unwrap_or_else(|| panic!("future {} was never polled", self.id))
    }

    pub fn polls(&self) -> usize {
        self.polls.load(SeqCst)
    }

    /// Wakes the latest waker by reference without completing.
    pub fn nudge(&self) {
        let waker = lock(&self.waker).clone();
        waker.expect("never polled").wake_by_ref();
    }

    pub fn take_waker(&self) -> Option<Waker> {
        lock(&self.waker).take()
    }
}

pub struct Remote(pub Arc<Ledger>);

impl Future for Remote {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let ledger = &self.0;
        // The waker first: a thread that sees the poll counted finds it.
        *lock(&ledger.waker) = Some(cx.waker().clone());
        ledger.polls.fetch_add(1, SeqCst);
        let hook = lock(&ledger.on_poll).take();
        if let Some(hook) = hook {
            hook();
        }
        match lock(&ledger.value).take() {
            Some(value) => Poll::Ready(value),
            None => Poll::Pending,
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, SeqCst);
    }
}

pub type Source =
    std::iter::Map<CountingIter<std::vec::IntoIter<Arc<Ledger>>>, fn(Arc<Ledger>) -> Remote>;

pub fn remotes(n: usize) -> (Vec<Arc<Ledger>>, Source, Arc<IterCounts>) {
    let ledgers: Vec<Arc<Ledger>> = (0..n)
        .map(|id| {
            Arc::new(Ledger {
                id,
                ..Ledger::default()
            })
        })
        .collect();
    let (source, counts) = remotes_of(ledgers.clone());
    (ledgers, source, counts)
}

/// A counted source that makes [`Remote`] futures of `ledgers`, in order,
/// as it is pulled.
pub fn remotes_of(ledgers: Vec<Arc<Ledger>>) -> (Source, Arc<IterCounts>) {
    let (iter, counts) = CountingIter::new(ledgers.into_iter());
    let make: fn(Arc<Ledger>) -> Remote = |l| {
        l.created.store(true, SeqCst);
        Remote(l)
    };
    (iter.map(make), counts)
}

/// After the stream is gone: every future made dropped once, the source once.
#[track_caller]
pub fn assert_dropped_once(ledgers: &[Arc<Ledger>], counts: &IterCounts) {
    for l in ledgers {
        let made = usize::from(l.created.load(SeqCst));
        assert_eq!(l.drops.load(SeqCst), made, "future {} drops", l.id);
    }
    assert_eq!(counts.drops(), 1, "source drops");
}

/// Drops the futures' stored wakers (they outlive the stream).
pub fn drop_future_wakers(ledgers: &[Arc<Ledger>]) {
    for l in ledgers {
        drop(l.take_waker());
    }
}

/// After the stream is gone (Guarantee 7): every waker of `tasks` the
/// stream took was let go although the futures' wakers, which outlive the
/// stream here, are still alive; then those are dropped too.
#[track_caller]
pub fn assert_let_go<'a>(
    shared: &[Arc<Ledger>],
    tasks: impl IntoIterator<Item = &'a Task>,
    what: &str,
) {
    for (k, task) in tasks.into_iter().enumerate() {
        task.assert_released(&format!("{what}, task {k}"));
    }
    drop_future_wakers(shared);
}

pub fn poll_with<S: Stream + Unpin>(stream: &mut S, task: &Task) -> Poll<Option<S::Item>> {
    let waker = task.waker();
    Pin::new(stream).poll_next(&mut Context::from_waker(&waker))
}

/// `poll_progress` once with a waker of `task`.
pub fn progress_with<S: LimitedStream>(stream: &mut S, task: &Task) -> Poll<()> {
    let waker = task.waker();
    stream.poll_progress(&mut Context::from_waker(&waker))
}
