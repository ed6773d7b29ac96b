//! Test kit shared by the integration tests: the one controllable test
//! future ([`Job`], with its ledger [`Jobs`]), a counting iterator, polling
//! helpers, one seeded generator, panic helpers, a counting allocator and
//! auto-trait assertions.
//!
//! What `futures-test` already has is taken from it, not written here: the
//! no-op and counting wakers (`futures_test::task::{noop_context,
//! new_count_waker}`), `assert_unmoved` and `pending_once`
//! (`futures_test::future::FutureTestExt`, `futures_test::stream::StreamTestExt`).

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomPinned;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};
use std::task::{Context, Poll, Waker};

use futures::Stream;
use futures_test::task::{new_count_waker, noop_context, AwokenCount};

pub mod wakes;

/// Locks a mutex, ignoring poisoning (a test that panicked on purpose may
/// have poisoned it).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Picks an iteration count: `native` normally, the small `miri` under Miri,
/// which runs about a thousand times slower.
pub const fn scale(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}

// ---------------------------------------------------------------------------
// Jobs: futures completed by hand, and the ledger of what happened to them.

/// The message of a [`Job`] that panics in `poll` on purpose.
pub const FUTURE_PANIC: &str = "test future panics on purpose";
/// The message of a [`Job`] that panics in `Drop` on purpose.
pub const DROP_PANIC: &str = "test future panics in drop on purpose";

/// What the ledger knows about one job.
struct Entry<T> {
    /// The job exists (it was created and may since have been dropped).
    created: bool,
    completed: bool,
    /// The output given by [`Jobs::complete`], until a poll takes it or the
    /// job is dropped with it.
    value: Option<T>,
    /// The waker of the latest poll; kept after the job finished or was
    /// dropped, so a test can fire it as a stale wake.
    waker: Option<Waker>,
    polls: usize,
    drops: usize,
    output_drops: usize,
}

impl<T> Entry<T> {
    fn new() -> Self {
        Self {
            created: false,
            completed: false,
            value: None,
            waker: None,
            polls: 0,
            drops: 0,
            output_drops: 0,
        }
    }
}

/// The ledger of a test's [`Job`]s. It completes and wakes them by id, and
/// records per job its polls and the drops of the future and of its
/// [`Output`]s, and over all jobs the order of polls and how many are alive.
///
/// Job ids count up from 0 in the order the jobs are created; make them in
/// input order (or lazily, in the iterator) and the id is the item's index.
pub struct Jobs<T> {
    entries: RefCell<Vec<Entry<T>>>,
    created: Cell<usize>,
    live: Cell<usize>,
    peak: Cell<usize>,
    poll_log: RefCell<Vec<usize>>,
    outputs: Cell<usize>,
}

impl<T: 'static> Jobs<T> {
    /// An empty ledger.
    pub fn new() -> Rc<Self> {
        Self::for_items(0)
    }

    /// A ledger that already lists `n` jobs not created yet, so per-job
    /// counts ([`poll_counts`](Self::poll_counts)) cover every item even
    /// before the stream pulls it.
    pub fn for_items(n: usize) -> Rc<Self> {
        Rc::new(Self {
            entries: RefCell::new((0..n).map(|_| Entry::new()).collect()),
            created: Cell::new(0),
            live: Cell::new(0),
            peak: Cell::new(0),
            poll_log: RefCell::new(Vec::new()),
            outputs: Cell::new(0),
        })
    }

    /// A new job with the next id: `Pending` until [`complete`](Self::complete)d.
    pub fn job(self: &Rc<Self>) -> Job<T> {
        let id = self.created.get();
        self.created.set(id + 1);
        {
            let mut entries = self.entries.borrow_mut();
            if entries.len() == id {
                entries.push(Entry::new());
            }
            entries[id].created = true;
        }
        self.live.set(self.live.get() + 1);
        self.peak.set(self.peak.get().max(self.live.get()));
        Job {
            id,
            jobs: Rc::clone(self),
            panic_on_poll: None,
            self_wakes: 0,
            panic_in_drop: false,
            _pinned: PhantomPinned,
        }
    }

    /// `n` new jobs, ids in order.
    pub fn jobs(self: &Rc<Self>, n: usize) -> Vec<Job<T>> {
        (0..n).map(|_| self.job()).collect()
    }

    /// `n` new jobs, ids in order, behind a [`CountingIter`].
    pub fn counted(self: &Rc<Self>, n: usize) -> (JobIter<T>, Arc<IterCounts>) {
        CountingIter::new(self.jobs(n).into_iter())
    }

    /// A new job completed already: it finishes with `value` on its first
    /// poll (after its self-wakes, if any are set).
    pub fn ready(self: &Rc<Self>, value: T) -> Job<T> {
        let job = self.job();
        self.complete(job.id, value);
        job
    }

    /// Gives job `id` its output and wakes the waker of its latest poll, if
    /// it was polled. The job must not be completed or dropped; a job listed
    /// by [`for_items`](Self::for_items) may be completed before it is made,
    /// and then finishes on its first poll.
    pub fn complete(&self, id: usize, value: T) {
        let waker = {
            let mut entries = self.entries.borrow_mut();
            let entry = &mut entries[id];
            assert!(!entry.completed, "job {id} completed twice");
            assert_eq!(entry.drops, 0, "job {id} dropped before completion");
            entry.completed = true;
            entry.value = Some(value);
            entry.waker.clone()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the waker of job `id`'s latest poll without completing it (also
    /// after the job finished or was dropped: a stale wake).
    pub fn wake(&self, id: usize) {
        let waker = self.entries.borrow()[id].waker.clone();
        waker
            .unwrap_or_else(|| panic!("job {id} was never polled"))
            .wake();
    }

    /// A clone of the waker of job `id`'s latest poll (kept after the job
    /// finished or was dropped), to fire later as a stale wake.
    pub fn waker(&self, id: usize) -> Waker {
        self.entries.borrow()[id]
            .waker
            .clone()
            .unwrap_or_else(|| panic!("job {id} was never polled"))
    }

    /// Whether job `id` was completed.
    pub fn is_completed(&self, id: usize) -> bool {
        self.entries.borrow()[id].completed
    }

    /// Whether job `id` was created and not dropped.
    pub fn is_alive(&self, id: usize) -> bool {
        let entries = self.entries.borrow();
        entries[id].created && entries[id].drops == 0
    }

    /// How many times job `id` was polled.
    pub fn polls(&self, id: usize) -> usize {
        self.entries.borrow()[id].polls
    }

    /// Polls per job, by id.
    pub fn poll_counts(&self) -> Vec<usize> {
        self.entries.borrow().iter().map(|e| e.polls).collect()
    }

    /// Polls of all jobs.
    pub fn total_polls(&self) -> usize {
        self.entries.borrow().iter().map(|e| e.polls).sum()
    }

    /// Ids of the jobs polled since the last call, in poll order.
    pub fn take_poll_log(&self) -> Vec<usize> {
        std::mem::take(&mut *self.poll_log.borrow_mut())
    }

    /// Jobs created so far.
    pub fn created(&self) -> usize {
        self.created.get()
    }

    /// Jobs created and not dropped.
    pub fn live(&self) -> usize {
        self.live.get()
    }

    /// The highest [`live`](Self::live) count seen.
    pub fn peak(&self) -> usize {
        self.peak.get()
    }

    /// Jobs dropped so far (each counted once per drop).
    pub fn drops(&self) -> usize {
        self.entries.borrow().iter().map(|e| e.drops).sum()
    }

    /// Drops per job, by id.
    pub fn future_drops(&self) -> Vec<usize> {
        self.entries.borrow().iter().map(|e| e.drops).collect()
    }

    /// Ids of the jobs dropped so far.
    pub fn dropped_ids(&self) -> Vec<usize> {
        let entries = self.entries.borrow();
        (0..entries.len())
            .filter(|&id| entries[id].drops > 0)
            .collect()
    }

    /// A new [`Output`] of job `id`: a value that records its drop here.
    pub fn output(self: &Rc<Self>, id: usize) -> Output {
        self.outputs.set(self.outputs.get() + 1);
        Output {
            id,
            ledger: Rc::clone(self) as Rc<dyn OutputLedger>,
        }
    }

    /// Outputs made and not yet dropped.
    pub fn outputs_live(&self) -> usize {
        self.outputs.get() - self.outputs_dropped()
    }

    /// Outputs dropped so far.
    pub fn outputs_dropped(&self) -> usize {
        self.entries.borrow().iter().map(|e| e.output_drops).sum()
    }

    /// Output drops per job, by id.
    pub fn output_drops(&self) -> Vec<usize> {
        self.entries
            .borrow()
            .iter()
            .map(|e| e.output_drops)
            .collect()
    }
}

/// Where an [`Output`] records its drop, whatever the output type of the
/// ledger.
trait OutputLedger {
    fn output_dropped(&self, id: usize);
}

impl<T> OutputLedger for Jobs<T> {
    fn output_dropped(&self, id: usize) {
        self.entries.borrow_mut()[id].output_drops += 1;
    }
}

/// A value that records its drop in the [`Jobs`] ledger that made it: the
/// output of a job, to count the outputs a stream holds and drops.
pub struct Output {
    id: usize,
    ledger: Rc<dyn OutputLedger>,
}

impl Output {
    /// The id of the job it belongs to.
    pub fn id(&self) -> usize {
        self.id
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Output").field(&self.id).finish()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.ledger.output_dropped(self.id);
    }
}

/// Jobs made up front, handed out by a [`CountingIter`].
pub type JobIter<T> = CountingIter<std::vec::IntoIter<Job<T>>>;

/// The kit's test future: `!Unpin` (so a stream must keep it pinned in
/// place), completed by hand through its [`Jobs`] ledger, which counts its
/// polls and drops. It can also wake itself, panic in `poll` and panic in
/// `Drop`, as set when it is made.
pub struct Job<T> {
    id: usize,
    jobs: Rc<Jobs<T>>,
    panic_on_poll: Option<usize>,
    self_wakes: usize,
    panic_in_drop: bool,
    _pinned: PhantomPinned,
}

impl<T> Job<T> {
    /// Its id in the ledger.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Poll number `k` (1-based) panics with [`FUTURE_PANIC`] instead.
    pub fn panic_on_poll(mut self, k: usize) -> Self {
        assert!(k >= 1, "polls are numbered from 1");
        self.panic_on_poll = Some(k);
        self
    }

    /// The first `k` polls wake the job's own waker and return `Pending`
    /// (`usize::MAX`: it never stops waking itself).
    pub fn self_waking(mut self, k: usize) -> Self {
        self.self_wakes = k;
        self
    }

    /// Its `Drop` panics with [`DROP_PANIC`] (unless the thread is already
    /// unwinding: a second panic would abort).
    pub fn panic_in_drop(mut self) -> Self {
        self.panic_in_drop = true;
        self
    }
}

impl<T> Future for Job<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.into_ref().get_ref();
        this.jobs.poll_log.borrow_mut().push(this.id);
        let mut entries = this.jobs.entries.borrow_mut();
        let entry = &mut entries[this.id];
        entry.polls += 1;
        let polls = entry.polls;
        entry.waker = Some(cx.waker().clone());
        if this.panic_on_poll == Some(polls) {
            drop(entries);
            panic!("{FUTURE_PANIC}");
        }
        if polls <= this.self_wakes {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match entry.value.take() {
            Some(value) => Poll::Ready(value),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        let value = {
            let mut entries = self.jobs.entries.borrow_mut();
            let entry = &mut entries[self.id];
            entry.drops += 1;
            entry.value.take()
        };
        self.jobs.live.set(self.jobs.live.get() - 1);
        // A completed output that was never polled goes with its job.
        drop(value);
        if self.panic_in_drop && !std::thread::panicking() {
            panic!("{DROP_PANIC}");
        }
    }
}

// ---------------------------------------------------------------------------
// Counting iterator.

/// The message of a [`CountingIter`] that panics in `next` on purpose.
pub const ITER_PANIC: &str = "test iterator panics on purpose";
/// The message of a [`CountingIter`] that panics in `Drop` on purpose.
pub const ITER_DROP_PANIC: &str = "test iterator panics in drop on purpose";

/// Counters of a [`CountingIter`], shared with the test.
#[derive(Default)]
pub struct IterCounts {
    calls: AtomicUsize,
    items: AtomicUsize,
    drops: AtomicUsize,
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

    /// How many times the iterator was dropped (once, or a bug).
    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }

    /// Whether the iterator was dropped.
    pub fn dropped(&self) -> bool {
        self.drops() > 0
    }
}

/// Wraps an iterator: counts pulls, panics if called after it returned `None`,
/// and optionally panics (once, with [`ITER_PANIC`]) on call number `k`
/// without advancing the inner iterator, or in `Drop`.
pub struct CountingIter<I> {
    inner: I,
    counts: Arc<IterCounts>,
    ended: bool,
    panic_on: Option<usize>,
    panic_in_drop: bool,
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
                panic_in_drop: false,
            },
            counts,
        )
    }

    /// Panics once, on call number `k` (1-based) of `next`.
    pub fn panic_on(mut self, k: usize) -> Self {
        self.panic_on = Some(k);
        self
    }

    /// Panics in `Drop` with [`ITER_DROP_PANIC`] (unless the thread is
    /// already unwinding).
    pub fn panic_in_drop(mut self) -> Self {
        self.panic_in_drop = true;
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
        self.counts.drops.fetch_add(1, Ordering::SeqCst);
        if self.panic_in_drop && !std::thread::panicking() {
            panic!("{ITER_DROP_PANIC}");
        }
    }
}

// ---------------------------------------------------------------------------
// Polling.

/// A waker that counts its wakes: `futures-test`'s counting waker, kept
/// behind an `Arc` for the schedules driver, which holds it that way. Other
/// tests call `futures_test::task::new_count_waker` directly.
pub struct CountingWaker {
    waker: Waker,
    count: AwokenCount,
}

impl CountingWaker {
    /// A new counting waker with no wakes.
    pub fn new() -> Arc<Self> {
        let (waker, count) = new_count_waker();
        Arc::new(Self { waker, count })
    }

    /// A [`Waker`] that counts into this.
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Wakes so far.
    pub fn wakes(&self) -> usize {
        self.count.get()
    }
}

/// Polls `stream` once with `waker`.
pub fn poll_once<S: Stream + Unpin>(stream: &mut S, waker: &Waker) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(&mut Context::from_waker(waker))
}

/// Polls `stream` once with a no-op waker.
pub fn poll_noop<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(&mut noop_context())
}

/// Polls `stream` (no-op waker) until `*expected` reaches `until`, asserting
/// each output is `*expected` and counting it up; for futures that wake
/// themselves, so a `Pending` must be followed by an output within two more
/// polls. Allocates nothing itself.
#[track_caller]
pub fn drive_expecting<S>(stream: &mut S, expected: &mut usize, until: usize)
where
    S: Stream<Item = usize> + Unpin,
{
    let mut cx = noop_context();
    let mut idle = 0;
    while *expected < until {
        match Pin::new(&mut *stream).poll_next(&mut cx) {
            Poll::Ready(Some(i)) => {
                assert_eq!(i, *expected, "output out of order");
                *expected += 1;
                idle = 0;
            }
            Poll::Ready(None) => panic!("stream ended at {expected}"),
            Poll::Pending => {
                idle += 1;
                assert!(idle < 3, "stream stalled");
            }
        }
    }
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

// ---------------------------------------------------------------------------
// The seeded generator.

/// splitmix64: small, seedable, good enough to pick steps and shuffle; the
/// one generator of the tests, so a seed means the same thing everywhere.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a fixed seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `true` with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A permutation of `0..n` (Fisher–Yates).
    pub fn shuffled(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            v.swap(i, self.below(i + 1));
        }
        v
    }
}

/// Parses a decimal or `0x` hexadecimal `u64` (underscores allowed), as
/// given in an environment variable; panics on anything else.
pub fn parse_u64(text: &str) -> u64 {
    let text = text.trim().replace('_', "");
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .unwrap_or_else(|_| panic!("not a number: {text}"))
}

// ---------------------------------------------------------------------------
// Panics on purpose.

/// The message of a panic payload (`&str` or `String`).
pub fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Messages [`quiet_panics_on_purpose`] keeps out of the test output.
static QUIET: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

thread_local! {
    /// Whether this thread is inside [`catch`].
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic on this thread was raised, while catching.
    static LOCATION: RefCell<Option<(String, u32)>> = const { RefCell::new(None) };
}

/// Installs, once for the whole test binary, a panic hook that records the
/// location of panics raised inside [`catch`] (on that thread, silently),
/// keeps the messages given to [`quiet_panics_on_purpose`] quiet, and hands
/// every other panic to the default hook. Installing it once, and recording
/// per thread, keeps tests running in parallel from seeing each other's
/// panics or racing on `set_hook`.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let location = info.location().map(|l| (l.file().to_owned(), l.line()));
                LOCATION.with(|cell| *cell.borrow_mut() = location);
            } else if !lock(&QUIET).contains(&payload_message(info.payload()).as_str()) {
                default(info);
            }
        }));
    });
}

/// Keeps panics with these messages out of the test output, wherever they
/// are caught (for panics caught with [`catch`], nothing is needed).
pub fn quiet_panics_on_purpose(messages: &[&'static str]) {
    install_hook();
    let mut quiet = lock(&QUIET);
    for message in messages {
        if !quiet.contains(message) {
            quiet.push(message);
        }
    }
}

/// A panic caught by [`catch`]: its message and where it was raised.
#[derive(Debug)]
pub struct Caught {
    pub message: String,
    pub file: String,
    pub line: u32,
}

/// Runs `f`; returns its value, or the panic it raised with the panic's
/// message and location. The panic is not printed.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Caught> {
    install_hook();
    CATCHING.with(|c| c.set(true));
    LOCATION.with(|cell| cell.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(false));
    result.map_err(|payload| {
        let message = payload_message(&*payload);
        let (file, line) = LOCATION
            .with(|cell| cell.borrow_mut().take())
            .expect("the hook recorded no location");
        Caught {
            message,
            file,
            line,
        }
    })
}

// ---------------------------------------------------------------------------
// Counting allocator.

/// A global allocator that counts allocations (`alloc`, `alloc_zeroed` and
/// `realloc` each count one), bytes requested and bytes live, per thread, so
/// tests running in parallel on other threads do not disturb each other's
/// counts. The kit only defines it: a test binary that counts declares it,
/// `#[global_allocator] static GLOBAL: CountingAlloc = CountingAlloc;`, and
/// the others keep the system allocator.
pub struct CountingAlloc;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated and not yet freed by this thread (frees of memory
    /// allocated elsewhere count too; the tests that read it use one thread).
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn record(bytes: usize) {
    // `try_with`: the allocator may run while this thread's locals are being
    // torn down. Const-initialised `Cell`s need no allocation to access.
    let _ = ALLOCS.try_with(|count| count.set(count.get() + 1));
    let _ = BYTES.try_with(|total| total.set(total.get() + bytes));
    live(bytes as isize);
}

fn live(change: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get() + change));
}

// SAFETY: every method forwards to `System` unchanged; counting touches only
// thread-local `Cell`s and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        live(-(layout.size() as isize));
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations and bytes requested on this thread so far ([`CountingAlloc`]).
pub fn allocated() -> (usize, usize) {
    (ALLOCS.with(Cell::get), BYTES.with(Cell::get))
}

/// Live heap bytes of this thread ([`CountingAlloc`]).
pub fn live_bytes() -> isize {
    LIVE.with(Cell::get)
}

// ---------------------------------------------------------------------------
// Auto traits that must not be implemented.

/// Compiles only if the type does not implement the trait:
/// `assert_not_impl!(Rc<u32>: Send)`. "Assert not implemented" on stable, by
/// ambiguity (the trick of the `static_assertions` crate):
/// `<T as AmbiguousIfImpl<_>>::some_item` names one impl when `T` lacks the
/// trait (the blanket one, `A = ()`), and two when it has it (`A = ()` and
/// `A = Marker`), which is a type-inference error.
#[allow(unused_macros)]
macro_rules! assert_not_impl {
    ($t:ty: $trait:path) => {
        const _: fn() = || {
            trait AmbiguousIfImpl<A> {
                fn some_item() {}
            }
            impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
            struct Marker;
            impl<T: ?Sized + $trait> AmbiguousIfImpl<Marker> for T {}
            let _ = <$t as AmbiguousIfImpl<_>>::some_item;
        };
    };
}

#[allow(unused_imports)]
pub(crate) use assert_not_impl;

// ---------------------------------------------------------------------------
// The "waker kept forever" items (Guarantee 5).

/// Items of the "waker kept forever" case: item 0 keeps a clone of its waker
/// in `kept_forever` and finishes; every later item keeps a clone of its
/// waker in `registry` (replacing the one before, as a registry of interest
/// does), wakes itself, is pending once, then finishes with its index.
/// Allocates nothing.
pub fn kept_waker_items<'a>(
    n: usize,
    kept_forever: &'a RefCell<Option<Waker>>,
    registry: &'a RefCell<Option<Waker>>,
) -> impl Iterator<Item = impl Future<Output = usize> + Unpin + 'a> + 'a {
    (0..n).map(move |i| {
        let mut pending_once = i > 0;
        futures::future::poll_fn(move |cx: &mut Context<'_>| {
            if i == 0 {
                *kept_forever.borrow_mut() = Some(cx.waker().clone());
                return Poll::Ready(i);
            }
            *registry.borrow_mut() = Some(cx.waker().clone());
            if pending_once {
                pending_once = false;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(i)
        })
    })
}
