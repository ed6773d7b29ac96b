//! loom models of the wake protocol (`waker.rs`) driven through the real
//! engine (`Slots`). Run them with `bash .ci/loom.sh`; see there for why they
//! need a rustc wrapper rather than `RUSTFLAGS`.
//!
//! Each model runs the stream on the model's main thread (as a task would)
//! and wakes from loom threads. Every atomic, the parent-waker cell and the
//! `Arc` of the shared state are loom's (`sync.rs`), so loom explores every
//! interleaving (and every value a load may read) and fails a model on an
//! assertion, a data race in the cell, or an `Arc` alive at its end.
//!
//! A model prints the interleavings loom explored and the time it took.

extern crate std;

use core::cell::Cell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::rc::Rc;
use std::vec::Vec;

use loom::thread;

use super::{from_u32, shared_of, to_u32, Node, Shared, NIL, QUEUED};
use crate::slots::sync::{Arc, AtomicUsize, Ordering};
use crate::slots::{SlotId, Slots};

/// Runs `model` under loom, counting its interleavings, and prints the count.
/// Exhaustive unless `LOOM_MAX_PREEMPTIONS` is set.
fn check(name: &str, model: impl Fn() + Send + Sync + 'static) {
    check_bounded(name, None, model);
}

/// [`check`] with at most `bound` preemptions per interleaving unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise: for a model that loom cannot
/// finish exhaustively in about a minute.
fn check_bounded(name: &str, bound: Option<usize>, model: impl Fn() + Send + Sync + 'static) {
    use std::sync::atomic::{AtomicUsize as Count, Ordering::Relaxed};
    let runs = std::sync::Arc::new(Count::new(0));
    let counter = std::sync::Arc::clone(&runs);
    /// Names the interleaving a failing model stopped at.
    struct Report<'a>(&'a str, &'a Count);
    impl Drop for Report<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                std::eprintln!(
                    "loom model {}: failed in interleaving {}",
                    self.0,
                    self.1.load(Relaxed)
                );
            }
        }
    }
    let report = Report(name, &runs);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(bound);
    let preemptions = builder.preemption_bound;
    let start = std::time::Instant::now();
    builder.check(move || {
        counter.fetch_add(1, Relaxed);
        model();
    });
    std::println!(
        "loom model {name}: {} interleavings in {:.2?} ({})",
        runs.load(Relaxed),
        start.elapsed(),
        match preemptions {
            Some(bound) => std::format!("at most {bound} preemptions"),
            None => "exhaustive".into(),
        },
    );
    drop(report);
}

// ---------------------------------------------------------------------------
// Test kit: a probe future, a counting parent waker, stack inspection.

/// What a [`Probe`] saw; read by the model on the main thread.
#[derive(Default)]
struct ProbeLog {
    polls: Cell<usize>,
    /// `signal` as read by the latest poll.
    seen: Cell<usize>,
    drops: Cell<usize>,
    /// Makes the next poll return `Ready`.
    finish: Cell<bool>,
    /// The waker of the latest poll, if [`keep_waker`](Self::keep_waker) is
    /// set (as a future that registers with an event source keeps it).
    waker: core::cell::RefCell<Option<Waker>>,
    keep_waker: Cell<bool>,
}

/// A future that counts its polls and, at each, reads the signal the wakers
/// raise before they wake it: a poll that follows a wake must see it.
struct Probe {
    log: Rc<ProbeLog>,
    signal: Arc<AtomicUsize>,
}

impl Probe {
    fn new(signal: &Arc<AtomicUsize>) -> (Self, Rc<ProbeLog>) {
        let log = Rc::new(ProbeLog::default());
        let probe = Self {
            log: Rc::clone(&log),
            signal: Arc::clone(signal),
        };
        (probe, log)
    }
}

impl Future for Probe {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let log = &self.log;
        log.polls.set(log.polls.get() + 1);
        if log.keep_waker.get() {
            *log.waker.borrow_mut() = Some(cx.waker().clone());
        }
        log.seen.set(self.signal.load(Ordering::Relaxed));
        if log.finish.get() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.log.drops.set(self.log.drops.get() + 1);
    }
}

/// The parent task: a waker that counts its wakes, held through loom's `Arc`
/// (so a parent waker kept alive too long fails the model as a leak); or,
/// made by [`Parent::with_generations`], one that records instead which
/// park it was woken after.
struct Parent {
    wakes: AtomicUsize,
    generations: Option<Generations>,
}

impl Parent {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            wakes: AtomicUsize::new(0),
            generations: None,
        })
    }

    /// A parent whose wakes record the latest park they follow (see
    /// [`Generations`]) instead of being counted.
    fn with_generations() -> Arc<Self> {
        Arc::new(Self {
            wakes: AtomicUsize::new(0),
            generations: Some(Generations {
                parks: AtomicUsize::new(0),
                woken_after: AtomicUsize::new(0),
            }),
        })
    }

    fn waker(this: &Arc<Self>) -> Waker {
        let data = Arc::into_raw(Arc::clone(this)).cast::<()>();
        // SAFETY: `data` is an `Arc<Parent>` given up to the waker; the vtable
        // below keeps its count (thread safe: loom's `Arc` and atomics).
        unsafe { Waker::from_raw(RawWaker::new(data, &PARENT)) }
    }

    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::Acquire)
    }
}

static PARENT: RawWakerVTable =
    RawWakerVTable::new(parent_clone, parent_wake, parent_wake_by_ref, parent_drop);

/// # Safety
///
/// `data` is a live `Arc<Parent>` made by [`Parent::waker`], as for all four.
unsafe fn parent_clone(data: *const ()) -> RawWaker {
    // SAFETY: by the contract above.
    unsafe { Arc::increment_strong_count(data.cast::<Parent>()) };
    RawWaker::new(data, &PARENT)
}

unsafe fn parent_wake(data: *const ()) {
    // SAFETY: by the contract of `parent_clone`; the waker's count goes here.
    unsafe {
        parent_wake_by_ref(data);
        parent_drop(data);
    }
}

unsafe fn parent_wake_by_ref(data: *const ()) {
    // SAFETY: by the contract of `parent_clone`.
    let parent = unsafe { &*data.cast::<Parent>() };
    match &parent.generations {
        Some(generations) => {
            let parks = generations.parks.load(Ordering::Acquire);
            generations.woken_after.fetch_max(parks, Ordering::AcqRel);
        }
        None => {
            parent.wakes.fetch_add(1, Ordering::Release);
        }
    }
}

unsafe fn parent_drop(data: *const ()) {
    // SAFETY: by the contract of `parent_clone`; the waker owned this count.
    unsafe { Arc::decrement_strong_count(data.cast::<Parent>()) };
}

/// The id of the node serving slot `id`.
fn node_of(slots: &mut Slots<Probe>, id: SlotId) -> usize {
    slots.slot_mut(id.0).node_id().expect("slot without a node")
}

/// An owned waker of slot `id`, as a future would store it.
fn owned_waker(slots: &mut Slots<Probe>, id: SlotId) -> Waker {
    let node = node_of(slots, id);
    Waker::clone(&slots.shared.waker_ref(node))
}

/// Node ids on the shared ready stack, newest first, up to the first repeat:
/// a node pushed twice links into a cycle, which shows up as an id listed
/// twice instead of a hang. Only for when no waker is running.
fn stacked(shared: &Shared) -> Vec<usize> {
    let mut ids = Vec::new();
    let mut node = shared.head.load(Ordering::Acquire);
    while node != NIL {
        let repeat = ids.contains(&node);
        ids.push(node);
        if repeat {
            break;
        }
        node = from_u32(shared.node(node).next.load(Ordering::Acquire));
    }
    ids
}

/// How often `node` is on the ready stack; at most once, or its slot would
/// be polled twice for one wake and its `next` link corrupted.
fn entries(shared: &Shared, node: usize) -> usize {
    let count = stacked(shared).iter().filter(|&&id| id == node).count();
    assert!(
        count <= 1,
        "node {node} is on the ready stack {count} times: queued twice"
    );
    count
}

/// One call of `poll_next` as far as waking goes: a round that polls every
/// woken slot (a finished probe's slot is freed), then parking with `parent`
/// as the stream does before it returns `Pending`. Returns the slots polled.
fn poll_next(slots: &mut Slots<Probe>, parent: &Waker) -> Vec<SlotId> {
    slots.begin_round();
    let mut polled = Vec::new();
    while let Some(id) = slots.next_woken() {
        assert!(!polled.contains(&id), "slot polled twice in one round");
        polled.push(id);
        let _ = slots.poll_and_release(id);
    }
    slots.park(parent);
    polled
}

/// Calls [`poll_next`] until a call polls nothing; returns how many polls
/// that took. Only for when no waker is running.
fn settle(slots: &mut Slots<Probe>, parent: &Waker) -> usize {
    let mut polls = 0;
    for _ in 0..4 {
        let polled = poll_next(slots, parent).len();
        if polled == 0 {
            assert_eq!(slots.deferred.head, NIL);
            return polls;
        }
        polls += polled;
    }
    panic!("the stream kept polling: a slot queued itself again and again");
}

/// A stream with `n` slots, each holding a pending probe (tagged with its
/// index) polled once on insert.
fn pending_slots(
    signal: &Arc<AtomicUsize>,
    n: usize,
) -> (Slots<Probe>, Vec<SlotId>, Vec<Rc<ProbeLog>>) {
    let mut slots = Slots::new();
    slots.begin_round();
    let (mut ids, mut logs) = (Vec::new(), Vec::new());
    for tag in 0..n {
        let (probe, log) = Probe::new(signal);
        let (id, poll) = slots.insert_and_poll(probe, tag);
        assert!(poll.is_pending());
        assert_eq!(log.polls.get(), 1);
        ids.push(id);
        logs.push(log);
    }
    (slots, ids, logs)
}

/// A stream with one slot holding a pending probe, polled once on insert.
fn one_slot(signal: &Arc<AtomicUsize>) -> (Slots<Probe>, SlotId, Rc<ProbeLog>) {
    let (slots, mut ids, mut logs) = pending_slots(signal, 1);
    (slots, ids.remove(0), logs.remove(0))
}

/// One thread per entry of `ids` (a slot may be listed more than once), each waking an owned waker of its slot by
/// value, after raising `signal` if given (the event a probe polls for).
fn wake_on_threads(
    slots: &mut Slots<Probe>,
    ids: &[SlotId],
    signal: Option<&Arc<AtomicUsize>>,
) -> Vec<thread::JoinHandle<()>> {
    ids.iter()
        .map(|&id| {
            let waker = owned_waker(slots, id);
            let signal = signal.map(Arc::clone);
            thread::spawn(move || {
                if let Some(signal) = &signal {
                    signal.fetch_add(1, Ordering::Relaxed);
                }
                // `signal` is dropped after the wake, as the models did
                // before this helper (loom counts the drop as an access).
                waker.wake();
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// (a) Two wakers and a poll on one slot.

/// Two threads raise the signal and wake the same slot while the stream
/// polls it: the slot is never queued twice, never polled twice for one
/// wake, and a poll that sees both signals always comes (no lost wake).
#[test]
fn two_wakers_and_a_poll_queue_the_slot_once_and_lose_no_wake() {
    // Exhaustive takes over ten minutes; 6 preemptions take about 20 s.
    check_bounded("a: two wakers and a poll on one slot", Some(6), || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (mut slots, id, log) = one_slot(&signal);
        let node = node_of(&mut slots, id);
        let threads = wake_on_threads(&mut slots, &[id; 2], Some(&signal));
        let parent = Parent::new();
        let parent_waker = Parent::waker(&parent);
        let during = poll_next(&mut slots, &parent_waker).len();
        for thread in threads {
            thread.join().unwrap();
        }
        let queued = entries(&slots.shared, node);
        let after = settle(&mut slots, &parent_waker);
        assert_eq!(after, queued, "one poll per queue entry");
        assert_eq!(
            log.seen.get(),
            2,
            "lost wake: no poll after the last wake (polls during: {during}, after: {after})"
        );
        assert!(during + after <= 2, "more polls than wakes");
        if queued == 1 {
            assert!(parent.wakes() >= 1, "a slot is queued, the parent asleep");
        }
        drop(parent_waker);
        drop(slots);
        assert_eq!(log.drops.get(), 1);
    });
}

// ---------------------------------------------------------------------------
// (b) Three wakers on one slot.

/// Three threads wake one slot at once: it is on the ready stack exactly
/// once, the parent is woken exactly once, and the slot is polled once.
#[test]
fn three_wakers_on_one_slot_queue_it_exactly_once() {
    check("b: three wakers on one slot", || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (mut slots, id, log) = one_slot(&signal);
        let node = node_of(&mut slots, id);
        let parent = Parent::new();
        let parent_waker = Parent::waker(&parent);
        slots.park(&parent_waker);
        let threads = wake_on_threads(&mut slots, &[id; 3], None);
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(entries(&slots.shared, node), 1);
        assert_eq!(stacked(&slots.shared), [node]);
        assert_eq!(parent.wakes(), 1, "the first push alone wakes the parent");
        assert_eq!(settle(&mut slots, &parent_waker), 1);
        assert_eq!(log.polls.get(), 2);
        drop(parent_waker);
    });
}

// ---------------------------------------------------------------------------
// (c) A stale waker of a finished future racing slot reuse.

/// Future A keeps a waker out (say in a timer) and finishes when its own
/// event wakes it; the stream refills its slot with B at once. The stale
/// waker fires and drops at any point meanwhile: no poll of an empty slot
/// (that panics in `poll_in_place`), no poll of B caused by A's waker, and
/// once it is gone A's node is idle again.
#[test]
fn stale_waker_racing_slot_reuse_never_polls_the_new_occupant() {
    use std::sync::atomic::{AtomicUsize as Count, Ordering::Relaxed};
    let kept = std::sync::Arc::new(Count::new(0));
    let replaced = std::sync::Arc::new(Count::new(0));
    let delayed = std::sync::Arc::new(Count::new(0));
    let (kept2, replaced2, delayed2) = (kept.clone(), replaced.clone(), delayed.clone());
    check("c: stale waker racing slot reuse", move || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (mut slots, a, log_a) = one_slot(&signal);
        let node_a = node_of(&mut slots, a);
        let stale = owned_waker(&mut slots, a);
        let mut thread = Some(thread::spawn(move || stale.wake()));
        let parent = Parent::new();
        let parent_waker = Parent::waker(&parent);
        // A's own event: it is ready now, and wakes it.
        log_a.finish.set(true);
        slots.shared.waker_ref(node_a).wake_by_ref();
        // poll_next: A completes, its slot is refilled with B, which is
        // polled once, as the stream does before it yields A's output.
        slots.begin_round();
        let mut woken = slots.next_woken();
        if woken.is_none() {
            // The stale waker claimed A's node (`queued`) just before A's
            // own wake, which therefore pushed nothing, and has not pushed
            // it yet: the wake is delivered by that push, which wakes the
            // parent. Nothing is lost; the next poll_next polls A.
            slots.park(&parent_waker);
            thread.take().unwrap().join().unwrap();
            assert!(parent.wakes() >= 1, "the delayed push woke no parent");
            slots.begin_round();
            woken = slots.next_woken();
            delayed2.fetch_add(1, Relaxed);
        }
        assert_eq!(woken, Some(a));
        assert_eq!(slots.poll_and_release(a), Poll::Ready((0, ())));
        assert_eq!(log_a.drops.get(), 1);
        let (probe, log_b) = Probe::new(&signal);
        let (b, poll) = slots.insert_and_poll(probe, 1);
        assert!(poll.is_pending());
        assert_eq!(b, a, "the slot is reused");
        assert_eq!((slots.tag(b), slots.capacity()), (1, 1));
        let node_b = node_of(&mut slots, b);
        if node_b == node_a {
            kept2.fetch_add(1, Relaxed);
        } else {
            replaced2.fetch_add(1, Relaxed);
        }
        assert_eq!(slots.next_woken(), None, "B polled in A's round");
        slots.park(&parent_waker);
        if let Some(thread) = thread {
            thread.join().unwrap();
        }
        assert_eq!(
            settle(&mut slots, &parent_waker),
            0,
            "a stale wake polled B"
        );
        assert_eq!(log_b.polls.get(), 1, "B polled by A's waker");
        assert_eq!(log_a.polls.get(), 2);
        assert!(
            slots.shared.node(node_a).is_idle(),
            "A's node still looks wakeable after its waker is gone"
        );
        drop(parent_waker);
    });
    let (kept, replaced) = (kept.load(Relaxed), replaced.load(Relaxed));
    std::println!(
        "    B kept A's node in {kept} interleavings, got a fresh one in {replaced}; \
         A's own wake waited for the stale waker's push in {}",
        delayed.load(Relaxed)
    );
    assert!(kept > 0 && replaced > 0, "both refill paths explored");
}

// ---------------------------------------------------------------------------
// (d) A waker outliving the dropped stream.

/// A waker is cloned, woken and dropped on another thread while the stream
/// is dropped: the future is dropped once, the parent waker is released,
/// and the shared state is freed exactly when the last waker goes (loom fails
/// the model if any `Arc` is alive at its end, and a count touched after the
/// free finds no loom `Arc` to touch).
#[test]
fn waker_outliving_the_stream_frees_everything_once() {
    check("d: waker outliving the dropped stream", || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (mut slots, id, log) = one_slot(&signal);
        let parent = Parent::new();
        slots.park(&Parent::waker(&parent));
        let waker = owned_waker(&mut slots, id);
        let thread = thread::spawn(move || {
            let clone = waker.clone();
            drop(waker);
            clone.wake_by_ref();
            clone.wake();
        });
        drop(slots);
        assert_eq!(log.drops.get(), 1, "the future dropped with the stream");
        thread.join().unwrap();
        assert_eq!(
            Arc::strong_count(&parent),
            1,
            "the parent waker outlives the stream"
        );
        assert!(parent.wakes() <= 1);
        drop(signal);
    });
}

// ---------------------------------------------------------------------------
// (e) Parent-waker registration racing a slot wake.

/// The stream last returned `Pending` under task P1; now a different task P2
/// polls it (a round, then `park`: register P2, then look at the stack) while
/// `wakers` threads each wake a slot of their own. Whenever a wake is left
/// for a later `poll_next`, P2 has been woken.
fn park_racing_slot_wakes(name: &'static str, wakers: usize, bound: Option<usize>) {
    use std::sync::atomic::{AtomicUsize as Count, Ordering::Relaxed};
    // Interleavings by how many wakes the round took.
    let outcomes: std::sync::Arc<[Count; 3]> = std::sync::Arc::new(Default::default());
    let counts = std::sync::Arc::clone(&outcomes);
    check_bounded(name, bound, move || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (mut slots, ids, logs) = pending_slots(&signal, wakers);
        let p1 = Parent::new();
        let p1_waker = Parent::waker(&p1);
        slots.park(&p1_waker);
        assert_eq!(p1.wakes(), 0);
        let threads = wake_on_threads(&mut slots, &ids, Some(&signal));
        let p2 = Parent::new();
        let p2_waker = Parent::waker(&p2);
        let polled = poll_next(&mut slots, &p2_waker);
        for thread in threads {
            thread.join().unwrap();
        }
        counts[polled.len()].fetch_add(1, Relaxed);
        let left = stacked(&slots.shared).len();
        assert_eq!(polled.len() + left, wakers, "every wake taken once");
        if left > 0 {
            // Not taken in this call, so to be taken in the next, which P2
            // has to be woken for.
            assert!(
                p2.wakes() >= 1,
                "lost wake: {left} slot(s) queued, stream returned Pending, P2 never woken"
            );
        }
        assert_eq!(settle(&mut slots, &p2_waker), left);
        for (i, log) in logs.iter().enumerate() {
            assert_eq!(log.polls.get(), 2, "slot {i}: polled once per wake");
        }
        // The last poll of every slot came after its own waker's signal.
        assert!(logs.iter().all(|log| log.seen.get() >= 1));
        assert!(p1.wakes() <= 1 && p2.wakes() <= wakers + 1);
        drop((p1_waker, p2_waker));
    });
    std::println!(
        "    wakes taken by the racing round: none in {}, one in {}, two in {} interleavings",
        outcomes[0].load(Relaxed),
        outcomes[1].load(Relaxed),
        outcomes[2].load(Relaxed),
    );
    assert!(outcomes[0].load(Relaxed) > 0 && outcomes[wakers].load(Relaxed) > 0);
}

/// [`park_racing_slot_wakes`] with one waker.
#[test]
fn park_racing_a_slot_wake_always_wakes_the_parent() {
    park_racing_slot_wakes("e: park racing a slot wake", 1, None);
}

/// [`park_racing_slot_wakes`] with two wakers of two slots: the second push
/// may find the stack non-empty and leave the parent to the first. Not
/// exhaustive (over ten minutes): at most 5 preemptions, about 30 s.
#[test]
fn park_racing_two_slot_wakes_always_wakes_the_parent() {
    park_racing_slot_wakes("e2: park racing two slot wakes", 2, Some(5));
}

// ---------------------------------------------------------------------------
// (f) Reusing retired nodes behind one whose waker is kept forever.

/// Completes the probe in `id` by its own wake, polls it in a round and frees
/// its slot. `stale` is the thread that may hold a stale wake of the same
/// node: if that wake claimed the node just before the own wake (which then
/// pushed nothing) and has not pushed yet, the round finds nothing, and the
/// thread's push delivers the wake (as in model c); it is joined then.
fn finish_by_own_wake(
    slots: &mut Slots<Probe>,
    id: SlotId,
    log: &ProbeLog,
    parent: &Waker,
    stale: &mut Option<thread::JoinHandle<()>>,
) {
    log.finish.set(true);
    let node = node_of(slots, id);
    slots.shared.waker_ref(node).wake_by_ref();
    if poll_next(slots, parent).contains(&id) {
        return;
    }
    stale
        .take()
        .expect("no other waker could have claimed the node")
        .join()
        .unwrap();
    assert!(
        poll_next(slots, parent).contains(&id),
        "the own wake was lost"
    );
}

/// Puts a new pending probe tagged `tag` into the arena (a refill).
fn refill(
    slots: &mut Slots<Probe>,
    signal: &Arc<AtomicUsize>,
    tag: usize,
) -> (SlotId, Rc<ProbeLog>) {
    let (probe, log) = Probe::new(signal);
    let (id, poll) = slots.insert_and_poll(probe, tag);
    assert!(poll.is_pending());
    (id, log)
}

/// A's waker is kept for the whole model, so A's node, retired at the first
/// refill, is never idle. B's waker is woken and dropped on another thread
/// at any point. Then C and D pass through the slot, each keeping a waker
/// until its slot is refilled, so that every refill looks for a retired node
/// to reuse: the oldest first (A's, held: it goes to the back), then, with
/// the loom threshold of 2, a sweep. B's node may be reused once its waker
/// is gone and its wake taken, and never before: no occupant is ever polled
/// by B's waker, and A's node is never handed out while its waker lives.
#[test]
fn retired_node_is_reused_only_once_no_waker_of_it_can_push() {
    use std::sync::atomic::{AtomicUsize as Count, Ordering::Relaxed};
    let reused = std::sync::Arc::new(Count::new(0));
    let fresh = std::sync::Arc::new(Count::new(0));
    let (reused2, fresh2) = (reused.clone(), fresh.clone());
    // Exhaustive took over five minutes once a node's count of wakers and
    // its queued mark shared one word (every clone and drop of B's wakers
    // now depends on every wake of it); 8 preemptions take about a minute.
    check_bounded(
        "f: node reuse behind a waker kept forever",
        Some(8),
        move || {
            let signal = Arc::new(AtomicUsize::new(0));
            let parent = Parent::new();
            let parent_waker = Parent::waker(&parent);
            let (mut slots, a, log_a) = one_slot(&signal);
            let node_a = node_of(&mut slots, a);
            let forever = owned_waker(&mut slots, a);
            let mut none = None;
            finish_by_own_wake(&mut slots, a, &log_a, &parent_waker, &mut none);
            let (b, log_b) = refill(&mut slots, &signal, 1);
            let node_b = node_of(&mut slots, b);
            assert_ne!(node_b, node_a, "A's node handed out while its waker lives");
            let stale = owned_waker(&mut slots, b);
            let mut thread = Some(thread::spawn(move || stale.wake()));

            // B finishes; C takes the slot and keeps a waker until D replaces it.
            finish_by_own_wake(&mut slots, b, &log_b, &parent_waker, &mut thread);
            let (c, log_c) = refill(&mut slots, &signal, 2);
            let node_c = node_of(&mut slots, c);
            assert_ne!(node_c, node_a, "A's node handed out while its waker lives");
            let keep_c = owned_waker(&mut slots, c);
            let mut none = None;
            finish_by_own_wake(&mut slots, c, &log_c, &parent_waker, &mut none);
            let (d, log_d) = refill(&mut slots, &signal, 3);
            let node_d = node_of(&mut slots, d);
            assert_ne!(node_d, node_a, "A's node handed out while its waker lives");
            drop(keep_c);
            if node_d == node_b || node_c == node_b {
                reused2.fetch_add(1, Relaxed);
            } else {
                fresh2.fetch_add(1, Relaxed);
            }

            // Whenever B's stale wake lands, it polls nothing: not C, not D.
            if let Some(thread) = thread {
                thread.join().unwrap();
            }
            assert_eq!(
                settle(&mut slots, &parent_waker),
                0,
                "a stale wake polled an occupant"
            );
            assert_eq!(log_c.polls.get(), 2, "C polled by another's waker");
            assert_eq!(log_d.polls.get(), 1, "D polled by another's waker");
            assert!(
                slots.shared.node(node_b).is_idle(),
                "B's node still looks wakeable after its waker is gone"
            );
            assert!(slots.nodes() <= 4, "{} nodes for one slot", slots.nodes());
            drop(forever);
            drop(parent_waker);
        },
    );
    let (reused, fresh) = (reused.load(Relaxed), fresh.load(Relaxed));
    std::println!(
        "    B's node served C or D in {reused} interleavings; both got other nodes in {fresh}"
    );
    assert!(reused > 0 && fresh > 0, "both reuse outcomes explored");
}

// ---------------------------------------------------------------------------
// (g) A wake racing `poll_progress`, through the real completion-order core.

/// Two futures in flight; another thread finishes B's event and wakes B
/// while the stream's `poll_progress` runs. Whatever the interleaving, the
/// wake is not lost: either that call polled B after the event, or it
/// returned `Pending` with the parent woken (or to be woken), and the next
/// call polls B. B is polled at most once per call, nothing is pulled, and
/// B's output is held and comes out of the next `poll_next`.
#[test]
fn a_wake_racing_poll_progress_is_never_lost() {
    use crate::cores::{AsCompletedCore, Core};
    use std::sync::atomic::{AtomicUsize as Count, Ordering::Relaxed};
    let in_race = std::sync::Arc::new(Count::new(0));
    let after = std::sync::Arc::new(Count::new(0));
    let (in_race2, after2) = (in_race.clone(), after.clone());
    check("g: a wake racing poll_progress", move || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (a, log_a) = Probe::new(&signal);
        let (b, log_b) = Probe::new(&signal);
        log_b.keep_waker.set(true);
        let mut core: AsCompletedCore<std::vec::IntoIter<Probe>> =
            AsCompletedCore::new(std::vec![a, b].into_iter(), 2);
        let parent = Parent::new();
        let parent_waker = Parent::waker(&parent);
        let mut cx = Context::from_waker(&parent_waker);
        assert!(core.poll_tagged(&mut cx).is_pending());
        assert_eq!((log_a.polls.get(), log_b.polls.get()), (1, 1));

        log_b.finish.set(true);
        let waker_b = log_b.waker.borrow_mut().take().expect("B kept its waker");
        let signal2 = Arc::clone(&signal);
        let thread = thread::spawn(move || {
            signal2.store(1, Ordering::Release);
            waker_b.wake();
        });
        let first = core.poll_progress(&mut cx);
        assert!(first.is_pending(), "A still runs");
        let polled_in_race = log_b.polls.get() - 1;
        assert!(polled_in_race <= 1, "B polled twice in one call");
        thread.join().unwrap();
        if polled_in_race == 1 && log_b.seen.get() == 1 {
            // B saw its event in the racing call and finished there.
            in_race2.fetch_add(1, Relaxed);
        } else {
            after2.fetch_add(1, Relaxed);
            // Not yet seen: the parent is woken (or was, by the push), and
            // the next call polls B.
            assert!(parent.wakes() >= 1, "a wake racing poll_progress was lost");
            assert!(core.poll_progress(&mut cx).is_pending());
            assert_eq!(log_b.seen.get(), 1, "B polled without its event");
        }
        assert_eq!(log_b.drops.get(), 1, "B finished and was dropped");
        assert_eq!(core.in_flight(), 2, "B's output held, A running");
        assert_eq!(log_a.polls.get(), 1, "A polled without a wake");
        match core.poll_tagged(&mut cx) {
            Poll::Ready(Some((1, ()))) => {}
            other => panic!("expected B's output, got {other:?}"),
        }
        drop(core);
        drop(parent_waker);
    });
    let (in_race, after) = (in_race.load(Relaxed), after.load(Relaxed));
    std::println!(
        "    B finished in the racing call in {in_race} interleavings, in the next in {after}"
    );
    assert!(in_race > 0 && after > 0, "both outcomes explored");
}

// ---------------------------------------------------------------------------
// (h) The parent waker kept across wakes; (i) forgotten during a wake.

/// What the parent waker of (h) records: the latest park it was woken after.
/// The stream bumps `parks` just before each park; a wake reads it as the
/// waker is called.
struct Generations {
    parks: AtomicUsize,
    woken_after: AtomicUsize,
}

/// The stream parks with one parent waker again and again (the waker stays
/// in the cell, and is woken by reference) while two threads each wake a
/// slot: one wake can hold the cell while the stream takes the stack and
/// parks again, and the other then finds the cell held. Whenever a wake is
/// left on the stack after the stream's last park, the parent was woken after
/// that park; and every wake is taken exactly once.
#[test]
fn a_kept_parent_waker_is_woken_after_the_last_park() {
    check_bounded("h: the parent waker kept across wakes", Some(4), || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (mut slots, ids, _logs) = pending_slots(&signal, 2);
        let parent = Parent::with_generations();
        let parent_waker = Parent::waker(&parent);
        let generations = parent.generations.as_ref().expect("made with generations");
        let park = |slots: &mut Slots<Probe>| {
            generations.parks.fetch_add(1, Ordering::Release);
            slots.park(&parent_waker);
        };
        park(&mut slots);
        let threads = wake_on_threads(&mut slots, &ids, Some(&signal));
        // One call of poll_next: a round, then the park.
        slots.begin_round();
        let mut taken = 0;
        while let Some(id) = slots.next_woken() {
            taken += 1;
            let _ = slots.poll_and_release(id);
        }
        park(&mut slots);
        let last = generations.parks.load(Ordering::Relaxed);
        for thread in threads {
            thread.join().unwrap();
        }
        let left = stacked(&slots.shared).len();
        assert_eq!(taken + left, 2, "every wake taken once");
        if left > 0 {
            assert_eq!(
                generations.woken_after.load(Ordering::Acquire),
                last,
                "lost wake: {left} slot(s) queued, the parent not woken after the last park"
            );
        }
        drop(slots);
        drop(parent_waker);
        assert_eq!(
            Arc::strong_count(&parent),
            1,
            "the cell let go of the parent"
        );
    });
}

/// The stream parks, takes the stack and parks again while two threads each
/// wake a slot, so both wakes can be calling the parent waker at once (each
/// for the registration it took), and the stream is dropped while they may
/// be: the parent waker is dropped exactly once, by the stream or by the
/// last wake to let go of it, and no wake reads the cell after that drop.
#[test]
fn a_stream_dropped_while_two_wakes_call_the_parent_lets_go_once() {
    check_bounded(
        "j: two wakes calling the parent, the stream dropped",
        Some(4),
        || {
            let signal = Arc::new(AtomicUsize::new(0));
            let (mut slots, ids, _logs) = pending_slots(&signal, 2);
            let parent = Parent::new();
            let parent_waker = Parent::waker(&parent);
            slots.park(&parent_waker);
            let threads = wake_on_threads(&mut slots, &ids, None);
            // One call of poll_next (a round, then the park), then the drop.
            poll_next(&mut slots, &parent_waker);
            drop(slots);
            drop(parent_waker);
            for thread in threads {
                thread.join().unwrap();
            }
            assert_eq!(
                Arc::strong_count(&parent),
                1,
                "the parent waker dropped once, by the stream or the last wake"
            );
        },
    );
}

/// The stream is dropped while a slot's wake may be calling the parent
/// waker, just after parking again (which reads the cell): the parent waker
/// is dropped exactly once, by the stream or by that wake, before the slot's
/// waker (which keeps the shared state) is gone; the cell is never written
/// unordered with a read of it (the wake's, or the stream's last park).
#[test]
fn a_stream_dropped_during_a_parent_wake_lets_go_of_the_parent() {
    check("i: the stream dropped during a parent wake", || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (mut slots, id, _log) = one_slot(&signal);
        let parent = Parent::new();
        let parent_waker = Parent::waker(&parent);
        slots.park(&parent_waker);
        let waker = owned_waker(&mut slots, id);
        let kept = waker.clone();
        let thread = thread::spawn(move || waker.wake());
        // The stream is polled again (the wake's push may or may not be
        // seen) and parks with the same waker, then it is dropped.
        poll_next(&mut slots, &parent_waker);
        drop(parent_waker);
        drop(slots);
        thread.join().unwrap();
        // `kept` holds the shared state (and so the cell) alive.
        assert_eq!(
            Arc::strong_count(&parent),
            1,
            "a slot waker keeps the parent alive"
        );
        // The slot wake's, and the second park's own if it saw the push.
        assert!(parent.wakes() <= 2);
        drop(kept);
    });
}

// ---------------------------------------------------------------------------
// Must fail: a planted check-then-set bug.

/// `Node::schedule` with its `swap` of `queued` split into a load and a
/// store: two wakers can both see `false` and both push the node.
fn schedule_check_then_set(node: &Node, shared: &Shared) {
    if node.state.load(Ordering::Acquire) & QUEUED != 0 {
        return;
    }
    node.state.fetch_or(QUEUED, Ordering::Release);
    let mut head = shared.head.load(Ordering::Relaxed);
    loop {
        node.next.store(to_u32(head), Ordering::Relaxed);
        match shared.head.compare_exchange_weak(
            head,
            node.id as usize,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => break,
            Err(actual) => head = actual,
        }
    }
    if head == NIL {
        shared.parent.wake();
    }
}

/// Model (b) with two wakers running [`schedule_check_then_set`]: loom must
/// find the interleaving that queues the slot twice, or the models above
/// prove less than they claim.
#[test]
#[should_panic(expected = "is on the ready stack 2 times: queued twice")]
fn planted_check_then_set_bug_is_caught() {
    check("must fail: check-then-set in schedule", || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (mut slots, id, _log) = one_slot(&signal);
        let node = node_of(&mut slots, id);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let waker = owned_waker(&mut slots, id);
                thread::spawn(move || {
                    // SAFETY: the waker holds a count of the `Shared`, and
                    // its data pointer has its block's provenance.
                    let node = unsafe { &*waker.data().cast::<Node>() };
                    // SAFETY: as above.
                    let shared = unsafe { &*shared_of(waker.data().cast()) };
                    schedule_check_then_set(node, shared);
                    drop(waker);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        entries(&slots.shared, node);
    });
}

// ---------------------------------------------------------------------------
// Attack models (outside review of the parent-waker cell).

/// The stream parked with P1; a thread's wake of slot 0 may hold the cell
/// (calling P1) while the stream takes it and parks with P1 again (so a
/// second registration of P1 is left in the cell), and a second thread's
/// wake of slot 1 may take that stale registration and call P1 too. Task P2
/// then polls (a round, then `park`: `replace` may find holders, and then
/// wakes P2 instead of registering, leaving P1's registration set), and,
/// if P2 was woken, polls once more while the threads may still be in. Once
/// both threads are done: whenever a wake is left on the stack, P2 was
/// woken after its last park; settling with P2 takes every wake once; both
/// parent wakers are let go.
#[test]
fn model_attack_stale_registration_and_replace_finding_holders() {
    use std::sync::atomic::{AtomicUsize as Count, Ordering::Relaxed};
    // Interleavings in which: P1 was called by both wakes; P2's first call
    // woke P2 (its `replace` found holders, or its look found a push); P2
    // polled again before the threads were joined.
    let outcomes: std::sync::Arc<[Count; 3]> = std::sync::Arc::new(Default::default());
    let counts = std::sync::Arc::clone(&outcomes);
    check_bounded(
        "attack: stale registration, replace finding holders",
        Some(3),
        move || {
            // One signal per slot, raised by its own waker before it wakes.
            let signals = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
            let mut slots = Slots::new();
            slots.begin_round();
            let mut logs = Vec::new();
            let mut ids = Vec::new();
            for (tag, signal) in signals.iter().enumerate() {
                let (probe, log) = Probe::new(signal);
                let (id, poll) = slots.insert_and_poll(probe, tag);
                assert!(poll.is_pending());
                logs.push(log);
                ids.push(id);
            }
            let p1 = Parent::new();
            let p1_waker = Parent::waker(&p1);
            slots.park(&p1_waker);
            // Threads finished, outside loom's view (loom runs one thread
            // at a time, so this reads the state of this interleaving).
            let done = std::sync::Arc::new(Count::new(0));
            let w0 = owned_waker(&mut slots, ids[0]);
            let w1 = owned_waker(&mut slots, ids[1]);
            let x = {
                let done = std::sync::Arc::clone(&done);
                let signal = Arc::clone(&signals[0]);
                thread::spawn(move || {
                    signal.fetch_add(1, Ordering::Relaxed);
                    w0.wake();
                    done.fetch_add(1, Relaxed);
                })
            };
            // A call by P1: takes what is there, parks with P1 again.
            let _ = poll_next(&mut slots, &p1_waker);
            let y = {
                let done = std::sync::Arc::clone(&done);
                let signal = Arc::clone(&signals[1]);
                thread::spawn(move || {
                    signal.fetch_add(1, Ordering::Relaxed);
                    w1.wake();
                    done.fetch_add(1, Relaxed);
                })
            };
            let p2 = Parent::with_generations();
            let p2_waker = Parent::waker(&p2);
            let generations = p2.generations.as_ref().expect("made with generations");
            let call = |slots: &mut Slots<Probe>| {
                generations.parks.fetch_add(1, Ordering::Release);
                poll_next(slots, &p2_waker)
            };
            let _ = call(&mut slots);
            // The executor polls P2 again if it was woken (once, here,
            // while the threads may still be in).
            if generations.woken_after.load(Ordering::Acquire)
                == generations.parks.load(Ordering::Relaxed)
            {
                counts[1].fetch_add(1, Relaxed);
                let _ = call(&mut slots);
                if done.load(Relaxed) < 2 {
                    counts[2].fetch_add(1, Relaxed);
                }
            }
            let last = generations.parks.load(Ordering::Relaxed);
            x.join().unwrap();
            y.join().unwrap();
            let left = stacked(&slots.shared).len();
            if left > 0 {
                assert_eq!(
                    generations.woken_after.load(Ordering::Acquire),
                    last,
                    "lost wake: {left} slot(s) queued, P2 not woken after its last park"
                );
            }
            // The executor keeps polling P2 while it is woken.
            for _ in 0..4 {
                if generations.woken_after.load(Ordering::Acquire)
                    != generations.parks.load(Ordering::Relaxed)
                {
                    break;
                }
                let _ = call(&mut slots);
            }
            assert!(
                stacked(&slots.shared).is_empty() && slots.deferred.head == NIL,
                "P2 stopped being woken with wakes left"
            );
            for (i, log) in logs.iter().enumerate() {
                assert_eq!(log.polls.get(), 2, "slot {i}: polled once per wake");
                assert_eq!(
                    log.seen.get(),
                    1,
                    "slot {i}: its last poll saw its wake's signal"
                );
            }
            if p1.wakes() == 2 {
                counts[0].fetch_add(1, Relaxed);
            }
            drop(slots);
            drop((p1_waker, p2_waker));
            assert_eq!(Arc::strong_count(&p1), 1, "P1 let go");
            assert_eq!(Arc::strong_count(&p2), 1, "P2 let go");
        },
    );
    std::println!(
        "    P1 called by both wakes in {}, P2 woken by its first call in {}, of which polled again with a thread still running in {} interleavings",
        outcomes[0].load(Relaxed),
        outcomes[1].load(Relaxed),
        outcomes[2].load(Relaxed),
    );
    assert!(outcomes.iter().all(|count| count.load(Relaxed) > 0));
}

/// The stream parked with P1; a thread's wake of a slot may hold the cell
/// (calling P1) while task P2 polls (a round, then `park`: `replace` either
/// finds the holder and wakes P2, or stores P2 and drops P1 on this thread)
/// and the stream is then dropped (`forget` may find the holder, which then
/// drops whatever waker is stored as it lets go). Each parent waker is
/// dropped exactly once and never read after (loom checks the cell's
/// accesses); P1 is called only by the wake that took its registration.
#[test]
fn model_attack_replace_then_forget_racing_a_holder() {
    check("attack: replace then forget racing a holder", || {
        let signal = Arc::new(AtomicUsize::new(0));
        let (mut slots, id, _log) = one_slot(&signal);
        let p1 = Parent::new();
        let p1_waker = Parent::waker(&p1);
        slots.park(&p1_waker);
        drop(p1_waker);
        let waker = owned_waker(&mut slots, id);
        let kept = waker.clone();
        let thread = thread::spawn(move || waker.wake());
        let p2 = Parent::new();
        let p2_waker = Parent::waker(&p2);
        let _ = poll_next(&mut slots, &p2_waker);
        drop(p2_waker);
        drop(slots);
        thread.join().unwrap();
        assert!(p1.wakes() <= 1, "P1 woken for one registration at most");
        // `kept` keeps the shared state (and the cell) alive: the parent
        // wakers must be gone anyway.
        assert_eq!(Arc::strong_count(&p1), 1, "P1 let go once");
        assert_eq!(Arc::strong_count(&p2), 1, "P2 let go once");
        drop(kept);
    });
}
