//! [`ParentWaker`]: the cell that holds the parent task's waker, written by
//! the stream and called by any thread whose push finds the ready stack empty.
//!
//! # Why not futures' `AtomicWaker`
//!
//! `futures::task::AtomicWaker` (which this cell replaced) takes the waker out
//! on every wake and wakes it by value, so every `Pending` of the stream
//! cloned the parent's waker back in and every wake dropped it: for
//! `block_on`'s waker, an `Arc` increment and decrement per completion on top
//! of four read-modify-writes of the cell's state. Here the waker stays in the
//! cell, is woken by reference, and is replaced only when the stream is polled
//! with a waker that does not [`will_wake`](Waker::will_wake) the same task: a
//! `Pending` costs one read-modify-write, a wake two.
//!
//! # Protocol
//!
//! `state` holds three bits and a count. Only the stream (one thread at a
//! time, through `&mut` to its arena) calls
//! [`register`](ParentWaker::register) and [`forget`](ParentWaker::forget);
//! any thread calls [`wake`](ParentWaker::wake).
//!
//! * `REGISTERED`: the stream waits; the next wake is for the stored waker.
//!   Set by the stream as it parks, cleared by the wake that takes it.
//! * The holders (the bits from `HOLDER` up): the wakes calling the stored
//!   waker by reference. A wake becomes a holder only together with taking
//!   `REGISTERED`, and only while `WRITING` is clear; other holders may be
//!   calling the waker at the same time (the stream parked again meanwhile,
//!   and each holder calls it for the registration it took).
//! * `WRITING`: the stream replaces the stored waker. It takes `WRITING` only
//!   while no wake holds the cell; if one does, it wakes the new waker
//!   itself instead (the task is polled again and registers again).
//! * `FORGOTTEN`: the stream is gone. The stored waker is dropped by the
//!   stream, or by the last holder as it lets go.
//!
//! So the cell is written only under `WRITING` (or by the last holder after
//! `FORGOTTEN`), read by wakes only as holders, and read by the stream, its
//! only other writer, at any time: no write ever overlaps another access.
//!
//! No wake is lost: every wake and every registration is a read-modify-write
//! of `state` (a wake that finds nobody waiting still writes the value it
//! read), so they are totally ordered, and each is acquire-release. The
//! stream registers and then looks at the ready stack. If a wake's
//! read-modify-write comes first, the stream's reads from it, so the push
//! before that wake happened-before the stream's look, which sees it; if the
//! registration comes first, the wake sees `REGISTERED`, takes it and calls
//! the waker itself, whoever else is calling it.
//!
//! A waker that panics in `wake_by_ref` or `clone` lets go of the cell as
//! the panic unwinds (the last holder dropping the waker if the stream is
//! gone), so the cell is never left held; and no holder owes a call to
//! anyone, so such a panic loses no wake but its own. The waker a
//! registration replaces is handed back to the stream, which drops it after
//! its look at the ready stack, so a `drop` that panics skips nothing.
//!
//! While a wake holds the cell (it may be blocked inside the old task's
//! `wake_by_ref` for as long as that takes), a registration by another task
//! cannot store its waker, and wakes that task instead: each call from it
//! wakes it again until the holders are gone, as futures' `AtomicWaker`
//! does when a wake is in progress. Guarantee 6 says so.

use core::task::Waker;

use super::sync::{AtomicUsize, Ordering, UnsafeCell};

const REGISTERED: usize = 0b001;
const WRITING: usize = 0b010;
const FORGOTTEN: usize = 0b100;
/// The rest of the state counts the wakes calling the stored waker: one
/// holder is this much.
const HOLDER: usize = 0b1000;
/// The holders' count.
const HOLDERS: usize = !(HOLDER - 1);

/// The parent task's waker, kept across wakes (see the module docs).
pub(super) struct ParentWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the `Option<Waker>` inside is written only under the `WRITING` bit
// of `state`, taken only while no wake holds the cell, or by the last holder
// after `FORGOTTEN`; other threads only read it, as holders (module docs); so
// no write overlaps another access. `Waker` is `Send + Sync`. (`Send` is
// automatic.)
unsafe impl Sync for ParentWaker {}

impl ParentWaker {
    pub(super) fn new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` as the one to wake, and asks to be woken. Only the
    /// stream calls this, then looks at the ready stack, then drops the
    /// waker handed back (the one `waker` replaced): its `drop` may panic,
    /// which must not skip that look (a push made during the call would
    /// then never be announced).
    #[inline]
    #[must_use]
    pub(super) fn register(&self, waker: &Waker) -> Option<Waker> {
        let same = self.waker.with(|cell| {
            // SAFETY: only the stream writes the cell (anyone else only after
            // `FORGOTTEN`, when the stream is gone), so this read overlaps no
            // write.
            let stored = unsafe { &*cell };
            stored.as_ref().is_some_and(|old| old.will_wake(waker))
        });
        if same {
            self.state.fetch_or(REGISTERED, Ordering::AcqRel);
            None
        } else {
            self.replace(waker)
        }
    }

    /// [`register`](Self::register) with a waker of another task (or the first).
    #[cold]
    fn replace(&self, waker: &Waker) -> Option<Waker> {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & HOLDERS != 0 {
                // Wakes are calling the old waker: the cell cannot be written
                // now. The task is polled again and registers again.
                waker.wake_by_ref();
                return None;
            }
            match self.state.compare_exchange_weak(
                state,
                (state | WRITING) & !REGISTERED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        // Lets go of `WRITING` if `clone` panics.
        let unwind = LetGo(self, WRITING);
        let new = waker.clone();
        // SAFETY: this thread holds `WRITING`, taken while no wake held the
        // cell; no wake takes the cell while `WRITING` is set, and only the
        // stream (this thread) writes the cell.
        let old = self.waker.with_mut(|cell| unsafe { (*cell).replace(new) });
        core::mem::forget(unwind);
        // WRITING set and REGISTERED clear (only this thread sets either):
        // one flip sets REGISTERED and lets go. Release publishes the new
        // waker to the next holder.
        let before = self.state.fetch_xor(WRITING | REGISTERED, Ordering::AcqRel);
        debug_assert_eq!(before & (WRITING | REGISTERED), WRITING);
        old
    }

    /// Wakes the stored waker if the stream is registered. Called by the push
    /// that finds the ready stack empty, from any thread.
    #[inline]
    pub(super) fn wake(&self) {
        // A guess, not a load: a push that finds the stack empty usually finds
        // the stream parked. A wrong guess costs a failed compare-exchange,
        // which reads the state as a load would; a right one spares a load
        // that, from another thread, would fetch the line only to fetch it
        // again for the write.
        let mut state = REGISTERED;
        loop {
            // Registered and not being written: take the registration and
            // become a holder, also while other wakes hold the cell (each
            // calls the waker for the registration it took). Else nobody
            // waits, or the stream is writing and looks at the stack next:
            // written back unchanged, for the ordering.
            let take = state & (REGISTERED | WRITING) == REGISTERED;
            let next = if take {
                (state & !REGISTERED) + HOLDER
            } else {
                state
            };
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) if take => break,
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        self.wake_held();
    }

    /// Calls the stored waker as one of its holders, then lets go.
    fn wake_held(&self) {
        // Lets go if the waker panics, as below.
        let unwind = LetGo(self, HOLDER);
        self.waker.with(|cell| {
            // SAFETY: this thread holds the cell: the stream does not write it
            // (it takes `WRITING` only while no wake holds it), and a holder
            // writes it only as the last one out, after `FORGOTTEN`.
            let waker = unsafe { &*cell };
            if let Some(waker) = waker {
                waker.wake_by_ref();
            }
        });
        drop(unwind);
    }

    /// Takes the stored waker out, so that slot wakers outliving the stream
    /// do not keep the parent task alive; `None` if wakes hold the cell
    /// (the last of them drops it as it lets go). Called by the stream as it
    /// drops; no `register` follows. The caller drops the waker, last (its
    /// `drop` may panic).
    #[must_use]
    pub(super) fn forget(&self) -> Option<Waker> {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            // While wakes hold the cell, the last of them drops the waker as
            // it lets go; else the stream takes WRITING for good and takes the
            // waker out here.
            let held = state & HOLDERS != 0;
            let next = if held {
                (state | FORGOTTEN) & !REGISTERED
            } else {
                (state | FORGOTTEN | WRITING) & !REGISTERED
            };
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) if held => return None,
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        // SAFETY: this thread holds WRITING, taken while no wake held the
        // cell, and keeps it: no wake takes the cell again.
        self.waker.with_mut(|cell| unsafe { (*cell).take() })
    }
}

/// Lets go of the cell when dropped: on the normal path of a wake, and as a
/// panic unwinds (a waker that panics in `wake_by_ref`, or in `clone` while
/// the stream replaces it). Takes its share off the state
/// (`HOLDER` for a wake, `WRITING` for a replace); the last holder out after
/// `FORGOTTEN` drops the waker (after `FORGOTTEN` no wake takes the cell
/// again, so it is that thread's alone). A holder that panics owes nothing
/// to anyone: a wake that found the cell held called the waker itself.
struct LetGo<'a>(&'a ParentWaker, usize);

impl Drop for LetGo<'_> {
    #[inline]
    fn drop(&mut self) {
        let cell = self.0;
        // Acquire: a FORGOTTEN seen here leads to writing the cell, which
        // must follow the stream's last read of it, ordered by the release
        // of `forget`.
        let before = cell.state.fetch_sub(self.1, Ordering::AcqRel);
        if self.1 == HOLDER && before & FORGOTTEN != 0 && before & HOLDERS == HOLDER {
            // SAFETY: the last holder after FORGOTTEN: the stream left the
            // waker to the holders and no longer reads the cell (its last read
            // happened-before `forget`, acquired above), no other holder is
            // left, and no wake takes the cell after FORGOTTEN.
            let waker = cell.waker.with_mut(|cell| unsafe { (*cell).take() });
            drop(waker);
        }
    }
}
