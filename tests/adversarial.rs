//! Guarantees 2 to 8 and 10 (crate docs), attacked from outside: an outside
//! reviewer wrote these tests from the Guarantees list alone, not from the
//! engine's source, aiming where an engine is easiest to get wrong (limits
//! and in-flight counts at powers of two, where slot blocks fill exactly;
//! endless sources; stale wakers and wakes from other threads; panics in
//! `poll` and in `Drop`). Every test asserts the exact values the
//! Guarantees give (the bound, where they give a bound).
//!
//! * Guarantee 6, with 2, 4 and 10: a woken future behind an endless source
//!   of ready ones is polled by the next call, through `poll_next` and
//!   `poll_progress`; futures waking themselves, or each other, during their
//!   poll are polled once per call.
//! * Guarantee 5: live memory flat over an endless source at limits at and
//!   around powers of two (futures waking themselves as they finish, wakers
//!   kept by a registry, panics beside a stuck future (8)), and all of it
//!   freed when wakers outlive the stream (7); stale wakers of finished
//!   futures, fired by hand or hammered from another thread, never poll the
//!   future now in their slot (with 4: the new futures come out in wake
//!   order).
//! * Guarantees 4 and 6 with wakes from other OS threads: every output once.
//! * Guarantees 7 and 8: panics in `poll`, in the `Drop` of a finished
//!   future and in the `Drop` of a future dropped with the stream; the
//!   stream goes on, `into_inner` hands back the rest, each future is
//!   dropped once.
//! * Guarantees 2, 3 and 4 at powers of two: `set_limit` up and down across
//!   them, in-order rounds that fill and empty them exactly, a stream source
//!   with pending gaps.
//!
//! Under Miri, which runs this about a million times slower, the large cases
//! keep their shape at a smaller scale (`cfg!(miri)`): the powers of two
//! 1024 and 4096 become small ones (4 to 32, with their neighbours where the
//! test has them), over fewer items, limits, rounds and threads, so that the
//! file runs there in well under a minute.

mod common;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};

use futures::future::{poll_fn, FutureExt};
use futures::stream::{Stream, StreamExt};
use futures_test::future::FutureTestExt;
use futures_test::task::{new_count_waker, noop_context};
use limited_as_completed::{LimitedAsCompletedExt, LimitedAsCompletedStreamExt};

use common::{
    catch, drive_expecting, live_bytes, poll_noop, CountingAlloc, CountingIter, Job, Jobs, Rng,
    DROP_PANIC, FUTURE_PANIC,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// An endless source of jobs made as they are pulled, so that a job's id is
/// its index and `jobs.created()` counts the items pulled: `make` gets the
/// ledger and the index.
fn source(
    jobs: &Rc<Jobs<usize>>,
    make: impl Fn(&Rc<Jobs<usize>>, usize) -> Job<usize>,
) -> impl Iterator<Item = Job<usize>> {
    let jobs = Rc::clone(jobs);
    (0..).map(move |id| {
        let job = make(&jobs, id);
        assert_eq!(job.id(), id, "jobs are made by the source only");
        job
    })
}

/// Pending until completed.
fn pending(jobs: &Rc<Jobs<usize>>, _: usize) -> Job<usize> {
    jobs.job()
}

/// Items `0..n` pending until completed; the others finish on their first
/// poll with their index.
fn first_pending(n: usize) -> impl Fn(&Rc<Jobs<usize>>, usize) -> Job<usize> {
    move |jobs, id| if id < n { jobs.job() } else { jobs.ready(id) }
}

/// The next output, which must be there.
#[track_caller]
fn next_output<S: Stream + Unpin>(stream: &mut S) -> S::Item
where
    S::Item: std::fmt::Debug,
{
    match poll_noop(stream) {
        Poll::Ready(Some(output)) => output,
        other => panic!("expected an output, got {other:?}"),
    }
}

/// The next `n` outputs, which must be there.
#[track_caller]
fn next_outputs<S: Stream + Unpin>(stream: &mut S, n: usize) -> Vec<S::Item>
where
    S::Item: std::fmt::Debug,
{
    (0..n).map(|_| next_output(stream)).collect()
}

// ---------------------------------------------------------------------------
// Starvation (Guarantee 6)
// ---------------------------------------------------------------------------

/// Guarantees 6, 2 and 4: an endless source of ready futures cannot hold back
/// a future woken from elsewhere: the next call polls it, and its output
/// comes out of the `limit`-th call, after the `limit - 1` outputs already
/// waiting.
#[test]
fn woken_future_not_starved_by_endless_ready_source() {
    let (limits, ready_first): (&[usize], usize) = if cfg!(miri) {
        (&[3, 16], 12)
    } else {
        (&[2, 3, 4, 16], 50)
    };
    for &limit in limits {
        let jobs = Jobs::new();
        let mut s = source(&jobs, first_pending(1)).limited_as_completed(limit);
        // Ready on their first poll: they come out in input order.
        let outs = next_outputs(&mut s, ready_first);
        assert_eq!(outs, (1..=ready_first).collect::<Vec<_>>());
        assert_eq!(jobs.polls(0), 1, "limit {limit}: 0 polled without a wake");
        jobs.complete(0, 0);
        // The next call polls 0 before handing anything out.
        let first = next_output(&mut s);
        assert_eq!(jobs.polls(0), 2, "limit {limit}: woken future not polled");
        let mut next = vec![first];
        next.extend(next_outputs(&mut s, limit - 1));
        let expected: Vec<usize> = (ready_first + 1..ready_first + limit).chain([0]).collect();
        assert_eq!(next, expected, "limit {limit}");
        assert_eq!(s.in_flight(), limit);
        assert_eq!(jobs.created(), ready_first + limit + limit);
    }
}

/// Guarantees 10 and 6: `poll_progress` polls the woken future, pulls
/// nothing, and holds its output for `poll_next`, after the ones already
/// waiting (4).
#[test]
fn poll_progress_polls_woken_and_pulls_nothing() {
    let jobs = Jobs::new();
    let mut s = source(&jobs, first_pending(2)).limited_as_completed(4);
    assert_eq!(poll_noop(&mut s), Poll::Ready(Some(2)));
    assert_eq!(jobs.created(), 5);
    jobs.complete(1, 1);
    assert_eq!(s.poll_progress(&mut noop_context()), Poll::Pending);
    assert_eq!(jobs.polls(1), 2);
    assert_eq!(jobs.created(), 5);
    assert_eq!(s.in_flight(), 4);
    // Held: 3 and 4 (finished on their first poll), then 1 (in progress).
    assert_eq!(next_outputs(&mut s, 3), vec![3, 4, 1]);
    assert_eq!(jobs.polls(0), 1);
}

/// Guarantee 6: a future that wakes itself (twice: by reference and through
/// a clone) during every poll is polled once per call, and the stream wakes
/// its own task at each call instead of spinning.
#[test]
fn wake_during_poll_is_one_poll_per_call() {
    let polls = Cell::new(0);
    let spinner = poll_fn(|cx| {
        polls.set(polls.get() + 1);
        if polls.get() > 5 {
            return Poll::Ready(7);
        }
        cx.waker().wake_by_ref();
        // On purpose: a clone, woken by value, is a second wake by another
        // path (the engine's clone and owned wake).
        #[allow(clippy::waker_clone_wake)]
        cx.waker().clone().wake();
        Poll::Pending
    });
    let mut s = std::iter::once(spinner).limited_as_completed(4);
    let (waker, wakes) = new_count_waker();
    let mut cx = Context::from_waker(&waker);
    for k in 1..=5 {
        assert_eq!(Pin::new(&mut s).poll_next(&mut cx), Poll::Pending);
        assert_eq!(polls.get(), k);
        // It returns `Pending` after waking its own task (a slot's wake may
        // wake the task too: how often is not promised).
        assert!(wakes.get() >= k, "the stream must wake its own task");
    }
    assert_eq!(Pin::new(&mut s).poll_next(&mut cx), Poll::Ready(Some(7)));
    assert_eq!(Pin::new(&mut s).poll_next(&mut cx), Poll::Ready(None));
    assert_eq!(polls.get(), 6);
}

/// Guarantee 6: a future that wakes another (pending) one and itself during
/// its poll: one call polls each future at most once.
#[test]
fn cross_wake_during_poll_polls_each_at_most_once_per_call() {
    let counts: Rc<RefCell<[usize; 2]>> = Rc::new(RefCell::new([0; 2]));
    let other: Rc<RefCell<Option<Waker>>> = Rc::new(RefCell::new(None));
    let make = |idx: usize| {
        let counts = counts.clone();
        let other = other.clone();
        poll_fn(move |cx| {
            counts.borrow_mut()[idx] += 1;
            if idx == 0 {
                if let Some(w) = other.borrow().as_ref() {
                    w.wake_by_ref();
                }
                cx.waker().wake_by_ref();
            } else {
                *other.borrow_mut() = Some(cx.waker().clone());
            }
            if counts.borrow()[idx] >= 10 {
                Poll::Ready(idx)
            } else {
                Poll::Pending
            }
        })
        .boxed_local()
    };
    let mut s = vec![make(1), make(0)].into_iter().limited_as_completed(2);
    let mut outs = vec![];
    let mut calls = 0;
    loop {
        let before = *counts.borrow();
        let r = poll_noop(&mut s);
        calls += 1;
        let after = *counts.borrow();
        assert!(
            after[0] - before[0] <= 1 && after[1] - before[1] <= 1,
            "call {calls}: {before:?} -> {after:?}"
        );
        match r {
            Poll::Ready(Some(i)) => outs.push(i),
            Poll::Ready(None) => break,
            Poll::Pending => assert!(calls < 100, "stalled"),
        }
    }
    assert_eq!(*counts.borrow(), [10, 10]);
    outs.sort_unstable();
    assert_eq!(outs, vec![0, 1]);
}

// ---------------------------------------------------------------------------
// Memory over an endless source (Guarantee 5)
// ---------------------------------------------------------------------------

/// Guarantee 5: futures that are pending once (waking themselves) and wake
/// themselves again as they finish cost nothing extra: live memory is flat
/// after a warm-up, at limits at, below and above powers of two, in
/// completion and in input order (where the outputs come in input order).
#[test]
fn memory_flat_self_waking_powers_of_two() {
    let limits: &[usize] = if cfg!(miri) {
        &[1, 4, 5]
    } else {
        &[1, 2, 4, 1024, 4096, 1000, 1025]
    };
    let item = |i: usize| {
        poll_fn(move |cx: &mut Context<'_>| {
            cx.waker().wake_by_ref();
            Poll::Ready(i)
        })
        .pending_once()
    };
    for &limit in limits {
        let (warm_up, measured) = if cfg!(miri) {
            (2 * limit + 4, 3 * limit + 8)
        } else {
            (3 * limit + 10, 10 * limit + 100)
        };
        let mut next = 0;
        let mut s = (0..).map(item).limited_as_completed(limit);
        drive_expecting(&mut s, &mut next, warm_up);
        let before = live_bytes();
        drive_expecting(&mut s, &mut next, warm_up + measured);
        assert_eq!(live_bytes() - before, 0, "limit {limit}: live bytes grew");
        let mut next = 0;
        let mut s = (0..).map(item).limited_in_order(limit);
        drive_expecting(&mut s, &mut next, warm_up);
        let before = live_bytes();
        drive_expecting(&mut s, &mut next, warm_up + measured);
        assert_eq!(
            live_bytes() - before,
            0,
            "in order, limit {limit}: live bytes grew"
        );
    }
}

/// Pending once (waking itself), then ready. Every poll puts a clone of its
/// waker in a registry's ring of wakers (slot `i % ring.len()`), keeping it
/// until a later future's replaces it; item 0 also keeps one in `forever`
/// for each poll, while that has room. Allocates nothing itself.
struct Registered {
    i: usize,
    polled: bool,
    ring: Rc<RefCell<Vec<Option<Waker>>>>,
    forever: Rc<RefCell<Vec<Waker>>>,
}

impl Future for Registered {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if self.i == 0 {
            let mut forever = self.forever.borrow_mut();
            if forever.len() < forever.capacity() {
                forever.push(cx.waker().clone());
            }
        }
        {
            let mut ring = self.ring.borrow_mut();
            let n = ring.len();
            ring[self.i % n] = Some(cx.waker().clone());
        }
        if self.polled {
            Poll::Ready(self.i)
        } else {
            self.polled = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The items `0..` as [`Registered`] futures sharing `ring` and `forever`.
fn registered(
    ring: &Rc<RefCell<Vec<Option<Waker>>>>,
    forever: &Rc<RefCell<Vec<Waker>>>,
) -> impl Iterator<Item = Registered> {
    let (ring, forever) = (Rc::clone(ring), Rc::clone(forever));
    (0..).map(move |i| Registered {
        i,
        polled: false,
        ring: Rc::clone(&ring),
        forever: Rc::clone(&forever),
    })
}

/// Guarantee 5: wakers that outlive their futures (the first future's kept
/// forever, and a ring of the last `ring` wakers seen) do not make memory
/// grow with the items that pass through, nor hold back the reuse of the
/// others; the outputs come in input order.
#[test]
fn memory_flat_with_wakers_kept_by_registry() {
    let cases: &[(usize, usize)] = if cfg!(miri) {
        &[(1, 1), (2, 3), (4, 8)]
    } else {
        &[
            (1, 1),
            (2, 3),
            (4, 64),
            (1024, 100),
            (1024, 2048),
            (4096, 5000),
        ]
    };
    for &(limit, ring) in cases {
        let ring_of_wakers = Rc::new(RefCell::new(vec![None; ring]));
        let forever = Rc::new(RefCell::new(Vec::with_capacity(4)));
        let mut s = registered(&ring_of_wakers, &forever).limited_as_completed(limit);
        let (warm_up, measured) = if cfg!(miri) {
            (3 * (limit + ring) + 10, 3 * (limit + ring) + 8)
        } else {
            (3 * (limit + ring) + 10, 10 * (limit + ring) + 100)
        };
        let mut next = 0;
        drive_expecting(&mut s, &mut next, warm_up);
        let before = live_bytes();
        drive_expecting(&mut s, &mut next, warm_up + measured);
        assert_eq!(
            live_bytes() - before,
            0,
            "limit {limit} ring {ring}: live bytes grew"
        );
        assert_eq!(forever.borrow().len(), 2, "item 0 was polled twice");
    }
}

/// The message of [`Churn`]'s panic.
const CHURN_PANIC: &str = "adversarial: every third item panics on its first poll";

/// Item 0 is stuck (never woken, counting its polls in `stuck_polls`); of
/// the others, `i % 3 == 1` panics on its first poll and the rest finish on
/// theirs with `i`. Allocates nothing.
enum Churn<'a> {
    Stuck(&'a Cell<usize>),
    Panics,
    Ready(usize),
}

impl Future for Churn<'_> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<usize> {
        match *self {
            Churn::Stuck(polls) => {
                polls.set(polls.get() + 1);
                Poll::Pending
            }
            Churn::Panics => panic!("{CHURN_PANIC}"),
            Churn::Ready(i) => Poll::Ready(i),
        }
    }
}

/// Guarantees 5 and 8: many items panicking beside a stuck one leave live
/// memory flat; each panic comes out of the call that polled the panicking
/// item; outputs come in input order (4), the books balance (2) and the
/// stuck item is never polled again.
#[test]
fn memory_flat_with_many_panics_behind_a_slow_one() {
    let (limits, warm_up, rounds): (&[usize], usize, usize) = if cfg!(miri) {
        (&[2, 16], 10, 1)
    } else {
        (&[2, 4, 16, 1024], 30, 20)
    };
    for &limit in limits {
        let stuck_polls = Cell::new(0);
        let items = (0..).map(|i| match i {
            0 => Churn::Stuck(&stuck_polls),
            i if i % 3 == 1 => Churn::Panics,
            i => Churn::Ready(i),
        });
        let (items, pulled) = CountingIter::new(items);
        let mut s = items.limited_as_completed(limit);
        let (mut outputs, mut panics, mut next) = (0, 0, 2);
        let mut before = 0;
        // A warm-up, then `rounds` measured rounds.
        for round in 0..=rounds {
            if round == 1 {
                before = live_bytes();
            }
            let calls = if round == 0 {
                3 * limit + warm_up
            } else {
                limit + 10
            };
            for _ in 0..calls {
                let returned = match catch(|| poll_noop(&mut s)) {
                    Ok(Poll::Ready(Some(i))) => {
                        assert_eq!(i, next, "limit {limit}: outputs in input order");
                        next += if next % 3 == 0 { 2 } else { 1 };
                        outputs += 1;
                        true
                    }
                    Ok(other) => panic!("limit {limit}: {other:?}"),
                    Err(caught) => {
                        assert_eq!(caught.message, CHURN_PANIC);
                        panics += 1;
                        false
                    }
                };
                // Every item pulled was polled in the call that pulled it.
                let pulled = pulled.items();
                assert_eq!(panics, (pulled + 1) / 3, "limit {limit}");
                assert_eq!(pulled, outputs + s.in_flight() + panics, "limit {limit}");
                if returned {
                    assert_eq!(s.in_flight(), limit, "limit {limit}");
                }
            }
        }
        let grew = live_bytes() - before;
        assert_eq!(grew, 0, "limit {limit}: live bytes grew by {grew}");
        assert_eq!(
            stuck_polls.get(),
            1,
            "limit {limit}: stuck item polled again"
        );
    }
}

/// Guarantees 5 and 7: wakers kept past the stream's drop, then woken and
/// dropped: live memory returns exactly to where it was before the stream
/// existed.
#[test]
fn wakers_outliving_stream_free_everything() {
    let limits: &[usize] = if cfg!(miri) {
        &[2, 16]
    } else {
        &[2, 4, 16, 1024]
    };
    for &limit in limits {
        // The first pass warms up what the process allocates once.
        for pass in 0..2 {
            let before = live_bytes();
            let forever = Rc::new(RefCell::new(Vec::with_capacity(4 * limit)));
            let ring = Rc::new(RefCell::new(vec![None; 1]));
            {
                let mut s = registered(&ring, &forever)
                    .take(3 * limit)
                    .limited_as_completed(limit);
                let mut next = 0;
                drive_expecting(&mut s, &mut next, 2 * limit);
            }
            drop(ring);
            let kept: Vec<Waker> = forever.borrow_mut().drain(..).collect();
            assert_eq!(kept.len(), 2, "item 0 was polled twice");
            for w in &kept {
                w.wake_by_ref();
            }
            for w in kept {
                w.wake();
            }
            drop(forever);
            if pass == 1 {
                assert_eq!(live_bytes() - before, 0, "limit {limit}: leaked after drop");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Stale wakers and wakes from other threads (Guarantees 4 to 6)
// ---------------------------------------------------------------------------

/// Guarantee 5: stale wakers (of finished futures whose slots were reused)
/// fired many times do not poll the new futures in those slots; the new
/// futures, completed in a shuffled order, come out in that order (4), each
/// polled exactly twice.
#[test]
fn stale_waker_does_not_poll_reused_slot() {
    let limits: &[usize] = if cfg!(miri) {
        &[1, 2, 16]
    } else {
        &[1, 2, 4, 16, 1024]
    };
    let mut rng = Rng::new(0xad5e_75a1);
    for &limit in limits {
        let jobs = Jobs::new();
        let mut s = source(&jobs, pending).limited_as_completed(limit);
        assert_eq!(poll_noop(&mut s), Poll::Pending);
        assert_eq!(jobs.created(), limit);
        // The wakers of their pending polls, to fire once they are stale.
        let mut stale: Vec<Waker> = (0..limit).map(|id| jobs.waker(id)).collect();
        // Finish all the first ones, in reverse order.
        for id in (0..limit).rev() {
            jobs.complete(id, id);
        }
        for k in 0..limit {
            assert_eq!(next_output(&mut s), limit - 1 - k);
            assert_eq!(jobs.created(), limit + k + 1);
            assert_eq!(s.in_flight(), limit);
        }
        // And the wakers of their finishing polls.
        stale.extend((0..limit).map(|id| jobs.waker(id)));
        for _ in 0..3 {
            for w in &stale {
                w.wake_by_ref();
            }
        }
        for w in stale {
            w.wake();
        }
        assert_eq!(poll_noop(&mut s), Poll::Pending);
        for id in limit..2 * limit {
            assert_eq!(
                jobs.polls(id),
                1,
                "limit {limit}: reused slot {id} polled by a stale wake"
            );
        }
        // Complete the new ones in a shuffled order; they come out in it.
        let order: Vec<usize> = rng.shuffled(limit).into_iter().map(|i| limit + i).collect();
        for &id in &order {
            jobs.complete(id, id);
        }
        assert_eq!(next_outputs(&mut s, limit), order, "limit {limit}");
        for &id in &order {
            assert_eq!(jobs.polls(id), 2);
        }
    }
}

/// Completed by a thread it spawns on its first poll, which then wakes it
/// three times (by reference, by value, and through a clone).
struct ThreadWoken {
    i: usize,
    done: Option<Arc<AtomicBool>>,
}

impl Future for ThreadWoken {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if let Some(done) = &self.done {
            return if done.load(Ordering::Acquire) {
                Poll::Ready(self.i)
            } else {
                Poll::Pending
            };
        }
        let done = Arc::new(AtomicBool::new(false));
        self.done = Some(Arc::clone(&done));
        let waker = cx.waker().clone();
        let i = self.i;
        std::thread::spawn(move || {
            if i % 2 == 0 {
                std::thread::sleep(std::time::Duration::from_micros((i % 7) as u64 * 50));
            }
            done.store(true, Ordering::Release);
            waker.wake_by_ref();
            let clone = waker.clone();
            waker.wake();
            clone.wake();
        });
        Poll::Pending
    }
}

/// Guarantees 4 and 6: futures woken (several times each) from other OS
/// threads all come out, each once.
#[test]
fn wakes_from_other_threads() {
    let (limits, n): (&[usize], usize) = if cfg!(miri) {
        (&[1, 4], 10)
    } else {
        (&[1, 2, 4, 16, 64], 300)
    };
    for &limit in limits {
        let s = (0..n)
            .map(|i| ThreadWoken { i, done: None })
            .limited_as_completed(limit);
        assert_each_out_once(s, n, limit);
    }
}

/// Runs `stream` to its end on `futures::executor` and asserts that its
/// outputs are `0..n`, each once, in any order.
#[track_caller]
fn assert_each_out_once(stream: impl Stream<Item = usize>, n: usize, limit: usize) {
    let mut out: Vec<usize> = futures::executor::block_on(stream.collect());
    out.sort_unstable();
    assert_eq!(out, (0..n).collect::<Vec<_>>(), "limit {limit}");
}

/// Sends a clone of its waker to a hammer thread at every poll; pending
/// until its `2 + i % 3`-th poll, in which it wakes itself once more and
/// finishes.
struct Hammered {
    i: usize,
    polls: usize,
    tx: mpsc::Sender<Waker>,
    total_polls: Arc<AtomicUsize>,
}

impl Future for Hammered {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.total_polls.fetch_add(1, Ordering::Relaxed);
        self.polls += 1;
        let _ = self.tx.send(cx.waker().clone());
        if self.polls > 1 + self.i % 3 {
            cx.waker().wake_by_ref();
            Poll::Ready(self.i)
        } else {
            Poll::Pending
        }
    }
}

/// Guarantees 5 and 6: a thread keeps waking every waker the futures were
/// ever polled with (the stale ones too) while the stream runs: every
/// output comes out once, and each future is polled exactly until it
/// finishes, never after.
#[test]
fn stale_wakers_hammered_from_another_thread() {
    let (limits, n): (&[usize], usize) = if cfg!(miri) {
        (&[2, 16], 6)
    } else {
        (&[2, 4, 16, 1024], 5000)
    };
    for &limit in limits {
        let (tx, rx) = mpsc::channel::<Waker>();
        let stop = Arc::new(AtomicBool::new(false));
        let hammer = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut all: Vec<Waker> = vec![];
                while !stop.load(Ordering::Relaxed) {
                    all.extend(rx.try_iter());
                    for w in &all {
                        w.wake_by_ref();
                    }
                    if all.len() > 20_000 {
                        all.drain(..10_000);
                    }
                    std::thread::yield_now();
                }
            })
        };
        let total = Arc::new(AtomicUsize::new(0));
        let t2 = Arc::clone(&total);
        let s = (0..n)
            .map(move |i| Hammered {
                i,
                polls: 0,
                tx: tx.clone(),
                total_polls: Arc::clone(&t2),
            })
            .limited_as_completed(limit);
        assert_each_out_once(s, n, limit);
        stop.store(true, Ordering::Relaxed);
        hammer.join().unwrap();
        let expected: usize = (0..n).map(|i| 2 + i % 3).sum();
        assert_eq!(total.load(Ordering::Relaxed), expected, "limit {limit}");
    }
}

// ---------------------------------------------------------------------------
// Panics in poll and Drop (Guarantees 7 and 8)
// ---------------------------------------------------------------------------

/// Guarantees 8 and 7: items 1, 2 and 5 panic on their first poll; each
/// panic comes out of its own call, the stream goes on with the others in
/// input order (4), and `into_inner` drops what is in flight and hands back
/// the source just after the last item pulled.
#[test]
fn panic_in_poll_then_continue_and_into_inner() {
    let limits: &[usize] = if cfg!(miri) { &[1, 16] } else { &[1, 2, 4, 16] };
    for &limit in limits {
        let jobs = Jobs::new();
        let src = source(&jobs, |jobs, id| match id {
            1 | 2 | 5 => jobs.job().panic_on_poll(1),
            _ => jobs.ready(id),
        })
        .take(20);
        let mut s = src.limited_as_completed(limit);
        let mut outs = vec![];
        let mut panics = 0;
        while outs.len() < 8 {
            match catch(|| poll_noop(&mut s)) {
                Ok(Poll::Ready(Some(i))) => outs.push(i),
                Ok(other) => panic!("limit {limit}: {other:?}"),
                Err(caught) => {
                    assert_eq!(caught.message, FUTURE_PANIC);
                    panics += 1;
                }
            }
        }
        assert_eq!(panics, 3, "limit {limit}");
        assert_eq!(outs, vec![0, 3, 4, 6, 7, 8, 9, 10], "limit {limit}");
        let pulled = jobs.created();
        assert_eq!(pulled, 8 + 3 + s.in_flight(), "limit {limit}");
        assert_eq!(s.in_flight(), limit.min(20 - 11), "limit {limit}");
        let mut rest = s.into_inner();
        assert_eq!(
            jobs.future_drops(),
            vec![1; pulled],
            "limit {limit}: each pulled future dropped once"
        );
        let next = (pulled < 20).then_some(pulled);
        assert_eq!(rest.next().map(|job| job.id()), next, "limit {limit}");
    }
}

/// Guarantees 8 and 7: the `Drop` of finished futures 3, 4 and 9 panics;
/// each panic comes out of one call, the stream goes on to the end, every
/// other output comes out once, and every future is dropped once.
#[test]
fn panic_in_drop_of_finished_future_then_continue() {
    let limits: &[usize] = if cfg!(miri) { &[1, 16] } else { &[1, 2, 4, 16] };
    for &limit in limits {
        let jobs = Jobs::new();
        let src = source(&jobs, |jobs, id| match id {
            3 | 4 | 9 => jobs.ready(id).panic_in_drop(),
            _ => jobs.ready(id),
        })
        .take(20);
        let mut s = src.limited_as_completed(limit);
        let mut outs = vec![];
        let mut panics = 0;
        loop {
            match catch(|| poll_noop(&mut s)) {
                Ok(Poll::Ready(Some(i))) => outs.push(i),
                Ok(Poll::Ready(None)) => break,
                Ok(Poll::Pending) => panic!("limit {limit}: pending"),
                Err(caught) => {
                    assert_eq!(caught.message, DROP_PANIC);
                    panics += 1;
                    assert!(panics <= 3, "limit {limit}: endless panics");
                }
            }
        }
        assert_eq!(panics, 3, "limit {limit}");
        let mut sorted = outs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            outs.len(),
            "limit {limit}: duplicate outputs {outs:?}"
        );
        let others: Vec<usize> = outs
            .iter()
            .copied()
            .filter(|i| ![3, 4, 9].contains(i))
            .collect();
        let expected: Vec<usize> = (0..20).filter(|i| ![3, 4, 9].contains(i)).collect();
        assert_eq!(others, expected, "limit {limit}");
        assert_eq!(
            jobs.future_drops(),
            vec![1; 20],
            "limit {limit}: each dropped once"
        );
    }
}

/// Guarantee 7: when the `Drop` of a future in flight panics as the stream is
/// dropped, every future in flight and the source are still dropped, once.
#[test]
fn panic_in_drop_during_stream_drop_drops_everything_once() {
    for limit in [2usize, 4, 16] {
        let jobs = Jobs::new();
        let mut s = source(&jobs, |jobs, id| match id {
            1 => jobs.job().panic_in_drop(),
            _ => jobs.job(),
        })
        .limited_as_completed(limit);
        assert_eq!(poll_noop(&mut s), Poll::Pending);
        let caught = catch(|| drop(s)).unwrap_err();
        assert_eq!(caught.message, DROP_PANIC);
        assert_eq!(jobs.future_drops(), vec![1; limit], "limit {limit}");
        // The source (holding an `Rc` of the ledger) was dropped too.
        assert_eq!(Rc::strong_count(&jobs), 1, "limit {limit}: source leaked");
    }
}

// ---------------------------------------------------------------------------
// Powers of two (Guarantees 2 to 4)
// ---------------------------------------------------------------------------

/// Guarantees 3, 2 and 4: `set_limit` up across 4, 16 and 1024 (64 under
/// Miri) and down to 2 and 1: each raise pulls exactly up to the new limit,
/// each cut pulls nothing until fewer than the new limit are in flight, and
/// outputs come out in completion order.
#[test]
fn set_limit_across_power_of_two_boundaries() {
    let big = if cfg!(miri) { 32 } else { 1024 };
    let jobs = Jobs::new();
    let mut s = source(&jobs, pending).limited_as_completed(4);
    assert_eq!(poll_noop(&mut s), Poll::Pending);
    assert_eq!(jobs.created(), 4);
    s.set_limit(5);
    assert_eq!(poll_noop(&mut s), Poll::Pending);
    assert_eq!(jobs.created(), 5);
    s.set_limit(16);
    assert_eq!(poll_noop(&mut s), Poll::Pending);
    assert_eq!(jobs.created(), 16);
    assert_eq!(s.in_flight(), 16);
    s.set_limit(17);
    assert_eq!(poll_noop(&mut s), Poll::Pending);
    assert_eq!(jobs.created(), 17);
    // Down to 2: nothing pulled until fewer than 2 are in flight.
    s.set_limit(2);
    let order = [16, 0, 8, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14];
    for (k, id) in order.into_iter().enumerate() {
        jobs.complete(id, id);
        assert_eq!(next_output(&mut s), id);
        // 17 - (k + 1) left in flight after the output handed out; an item
        // is pulled only once fewer than 2 remain.
        let expected = if 17 - (k + 1) < 2 { 18 } else { 17 };
        assert_eq!(jobs.created(), expected, "pulled after completing {id}");
    }
    assert_eq!(s.in_flight(), 2);
    assert_eq!(poll_noop(&mut s), Poll::Pending);
    assert_eq!(jobs.created(), 18);
    // Up to `big`, then `big + 1`. In flight now: 15 and 17.
    s.set_limit(big);
    assert_eq!(poll_noop(&mut s), Poll::Pending);
    let pulled = 18 + big - 2;
    assert_eq!(jobs.created(), pulled);
    assert_eq!(s.in_flight(), big);
    let order: Vec<usize> = [15, 17].into_iter().chain(18..pulled).collect();
    for &id in &order {
        jobs.complete(id, id);
    }
    assert_eq!(next_outputs(&mut s, big), order);
    assert_eq!(s.in_flight(), big);
    assert_eq!(jobs.created(), pulled + big);
    s.set_limit(big + 1);
    assert_eq!(poll_noop(&mut s), Poll::Pending);
    assert_eq!(jobs.created(), pulled + big + 1);
    // Down to 1: the `big + 1` in flight finish, in reverse; one item is
    // pulled after the last of them.
    s.set_limit(1);
    let last = pulled + big + 1;
    for id in (pulled..last).rev() {
        jobs.complete(id, id);
    }
    for k in 1..=big + 1 {
        assert_eq!(next_output(&mut s), last - k);
        let expected = if k == big + 1 { last + 1 } else { last };
        assert_eq!(jobs.created(), expected, "call {k}");
    }
    assert_eq!(poll_noop(&mut s), Poll::Pending);
    assert_eq!(jobs.created(), last + 1);
    assert_eq!(s.in_flight(), 1);
}

/// Guarantees 4, 2 and 3: in input order, exactly a power of two in flight,
/// emptied and refilled four times: nothing comes out until the head
/// finishes, then all of them in order, each refilled as it goes.
#[test]
fn power_of_two_in_flight_cycles_in_order() {
    let limits: &[usize] = if cfg!(miri) {
        &[2, 8]
    } else {
        &[2, 4, 16, 1024]
    };
    for &limit in limits {
        let jobs = Jobs::new();
        let mut s = source(&jobs, pending).limited_in_order(limit);
        assert_eq!(poll_noop(&mut s), Poll::Pending);
        let mut next = 0;
        for round in 0..4 {
            let lo = round * limit;
            // Completed in reverse: nothing comes out until `lo` is.
            for id in (lo + 1..lo + limit).rev() {
                jobs.complete(id, id);
            }
            assert_eq!(poll_noop(&mut s), Poll::Pending);
            assert_eq!(jobs.created(), lo + limit);
            jobs.complete(lo, lo);
            for _ in 0..limit {
                assert_eq!(poll_noop(&mut s), Poll::Ready(Some(next)));
                next += 1;
            }
            assert_eq!(s.in_flight(), limit);
            assert_eq!(jobs.created(), lo + 2 * limit);
        }
    }
}

/// Guarantees 2 and 4 over a stream source that is `Pending` between items:
/// each item sent is pulled and its output handed out by the next call, and
/// the stream ends when the source does.
#[test]
fn stream_source_with_pending_gaps_power_of_two() {
    let n = if cfg!(miri) { 12 } else { 100 };
    for limit in [2usize, 4, 16] {
        let (tx, rx) = futures::channel::mpsc::unbounded::<std::future::Ready<usize>>();
        let mut s = rx.limited_as_completed(limit);
        assert_eq!(poll_noop(&mut s), Poll::Pending);
        for i in 0..n {
            tx.unbounded_send(std::future::ready(i)).unwrap();
            assert_eq!(poll_noop(&mut s), Poll::Ready(Some(i)), "limit {limit}");
        }
        drop(tx);
        assert_eq!(poll_noop(&mut s), Poll::Ready(None));
    }
}
