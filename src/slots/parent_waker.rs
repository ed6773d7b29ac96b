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
//! `state` holds five bits. Only the stream (one thread at a time, through
//! `&mut` to its arena) calls [`register`](ParentWaker::register) and
//! [`forget`](ParentWaker::forget); any thread calls
//! [`wake`](ParentWaker::wake).
//!
//! * `REGISTERED`: the stream waits; the next wake is for the stored waker.
//!   Set by the stream as it parks, cleared by the wake that takes it.
//! * `WAKING`: a waking thread holds the cell and calls the stored waker by
//!   reference. It takes `WAKING` only together with `REGISTERED` (clearing
//!   it) and only while `WRITING` is clear.
//! * `WRITING`: the stream replaces the stored waker. It takes `WRITING` only
//!   while `WAKING` is clear; if a wake holds the cell, it wakes the new waker
//!   itself instead (the task is polled again and registers again).
//! * `AGAIN`: a wake found the cell held while `REGISTERED` was set again (the
//!   stream parked again while the holder was still calling the waker): the
//!   holder wakes once more before it lets go.
//! * `FORGOTTEN`: the stream is gone. The stored waker is dropped by the
//!   stream, or by the holder of `WAKING` as it lets go.
//!
//! So the cell is written only under `WRITING` (or by the last holder after
//! `FORGOTTEN`), read by wakes only under `WAKING`, and read by the stream,
//! its only other writer, at any time: no write ever overlaps another access.
//!
//! No wake is lost: every wake and every registration is a read-modify-write
//! of `state` (a wake that finds nobody waiting still writes the value it
//! read), so they are totally ordered, and each is acquire-release. The
//! stream registers and then looks at the ready stack. If a wake's
//! read-modify-write comes first, the stream's reads from it, so the push
//! before that wake happened-before the stream's look, which sees it; if the
//! registration comes first, the wake sees `REGISTERED` (or leaves `AGAIN`
//! for the holder) and the task is woken.
//!
//! A waker that panics in `wake_by_ref`, `clone` or `drop` lets go of the
//! cell as the panic unwinds (dropping the waker if the stream is gone), so
//! the cell is never left held. One wake can be lost with such a panic: a
//! wake left for the holder (`AGAIN`) while it was calling the waker that
//! panicked; calling that waker again during the unwind would risk an abort.

use core::task::Waker;

use super::sync::{AtomicUsize, Ordering, UnsafeCell};

const REGISTERED: usize = 0b0_0001;
const WAKING: usize = 0b0_0010;
const WRITING: usize = 0b0_0100;
const AGAIN: usize = 0b0_1000;
const FORGOTTEN: usize = 0b1_0000;

/// The parent task's waker, kept across wakes (see the module docs).
pub(super) struct ParentWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the `Option<Waker>` inside is written only under the `WRITING` bit
// of `state` or by the one holder of `WAKING` after `FORGOTTEN`, and read by
// other threads only under `WAKING`, which excludes both (module docs); so no
// write overlaps another access. `Waker` is `Send + Sync`. (`Send` is
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
    /// stream calls this, then looks at the ready stack.
    #[inline]
    pub(super) fn register(&self, waker: &Waker) {
        let same = self.waker.with(|cell| {
            // SAFETY: only the stream writes the cell (anyone else only after
            // `FORGOTTEN`, when the stream is gone), so this read overlaps no
            // write.
            let stored = unsafe { &*cell };
            stored.as_ref().is_some_and(|old| old.will_wake(waker))
        });
        if same {
            self.state.fetch_or(REGISTERED, Ordering::AcqRel);
        } else {
            self.replace(waker);
        }
    }

    /// [`register`](Self::register) with a waker of another task (or the first).
    #[cold]
    fn replace(&self, waker: &Waker) {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & WAKING != 0 {
                // A wake is calling the old waker: the cell cannot be written
                // now. The task is polled again and registers again.
                waker.wake_by_ref();
                return;
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
        // Lets go of `WRITING` if `clone` or the old waker's `drop` panics.
        let unwind = ClearOnUnwind(self, WRITING);
        let new = waker.clone();
        // SAFETY: this thread holds `WRITING`, taken while `WAKING` was clear;
        // no wake takes `WAKING` while `WRITING` is set, and only the stream
        // (this thread) writes the cell.
        let old = self.waker.with_mut(|cell| unsafe { (*cell).replace(new) });
        core::mem::forget(unwind);
        // WRITING set and REGISTERED clear (only this thread sets either):
        // one flip sets REGISTERED and lets go. Release publishes the new
        // waker to the next holder of WAKING.
        let before = self.state.fetch_xor(WRITING | REGISTERED, Ordering::AcqRel);
        debug_assert_eq!(before & (WRITING | REGISTERED), WRITING);
        drop(old);
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
            let (next, take) = if state & (REGISTERED | WAKING | WRITING) == REGISTERED {
                ((state | WAKING) & !REGISTERED, true)
            } else if state & (REGISTERED | WAKING) == (REGISTERED | WAKING) {
                (state | AGAIN, false)
            } else {
                // Nobody waits, or the stream is writing and looks at the
                // stack next: written back unchanged, for the ordering.
                (state, false)
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

    /// Calls the stored waker while holding `WAKING`, again while `AGAIN` is
    /// set, then lets go (dropping the waker if the stream is gone).
    fn wake_held(&self) {
        // Lets go of `WAKING` if the waker panics.
        let unwind = ClearOnUnwind(self, WAKING | AGAIN);
        loop {
            self.waker.with(|cell| {
                // SAFETY: this thread holds `WAKING`: the stream does not write
                // the cell (it takes `WRITING` only while `WAKING` is clear),
                // and no other wake holds it.
                let waker = unsafe { &*cell };
                if let Some(waker) = waker {
                    waker.wake_by_ref();
                }
            });
            match self.let_go() {
                LetGo::Done => {
                    core::mem::forget(unwind);
                    return;
                }
                LetGo::Again => {}
                LetGo::Forgotten => break,
            }
        }
        core::mem::forget(unwind);
        // The stream is gone: nobody else reads or writes the cell now (other
        // wakes wait for WAKING), so this holder drops the waker.
        // SAFETY: as above, and the stream no longer reads the cell: its
        // last read happened-before `forget`, whose FORGOTTEN this thread
        // acquired (in `let_go`).
        let waker = self.waker.with_mut(|cell| unsafe { (*cell).take() });
        self.state.fetch_and(!(WAKING | AGAIN), Ordering::AcqRel);
        drop(waker);
    }

    /// After a call of the stored waker, by the holder of `WAKING`: lets go,
    /// or keeps the cell to call it again (`AGAIN`), or keeps it to drop the
    /// waker (`FORGOTTEN`).
    #[inline]
    fn let_go(&self) -> LetGo {
        // The usual state while the cell is held; a guess, as in `wake`.
        let mut state = WAKING;
        loop {
            if state & FORGOTTEN != 0 {
                return LetGo::Forgotten;
            }
            let again = state & AGAIN != 0;
            let next = if again {
                state & !(AGAIN | REGISTERED)
            } else {
                state & !WAKING
            };
            // Acquire on failure too: a state that shows FORGOTTEN leads to
            // writing the cell, which must follow the stream's last read of
            // it (a park while this wake held the cell), ordered by the
            // release of `forget`. (Found by ThreadSanitizer in CI; loom's
            // model i reproduces it with a Relaxed failure.)
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if again => return LetGo::Again,
                Ok(_) => return LetGo::Done,
                Err(actual) => state = actual,
            }
        }
    }

    /// Takes the stored waker out, so that slot wakers outliving the stream
    /// do not keep the parent task alive; `None` if a wake holds the cell
    /// (that wake drops it as it lets go). Called by the stream as it drops;
    /// no `register` follows. The caller drops the waker, last (its `drop`
    /// may panic).
    #[must_use]
    pub(super) fn forget(&self) -> Option<Waker> {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            // While a wake holds the cell, it drops the waker as it lets go;
            // else the stream takes WRITING for good and drops it here.
            let next = if state & WAKING != 0 {
                (state | FORGOTTEN) & !REGISTERED
            } else {
                (state | FORGOTTEN | WRITING) & !REGISTERED
            };
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) if state & WAKING != 0 => return None,
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        // SAFETY: this thread holds WRITING, taken while WAKING was clear, and
        // keeps it: no wake takes WAKING again.
        self.waker.with_mut(|cell| unsafe { (*cell).take() })
    }
}

/// What the holder of `WAKING` does after calling the waker.
enum LetGo {
    /// It let go of the cell.
    Done,
    /// The stream parked again meanwhile: call the waker again.
    Again,
    /// The stream is gone: drop the waker, then let go.
    Forgotten,
}

/// Lets go of the cell if dropped, which only a panic does (it is forgotten
/// otherwise): clears its bits of the state (`WRITING` for a waker that
/// panics in `clone` or `drop` while the stream replaces it; `WAKING` and
/// `AGAIN` for one that panics in `wake_by_ref`), and if the stream was
/// dropped meanwhile, drops the waker, as [`ParentWaker::wake_held`] would
/// have (after `FORGOTTEN` nobody takes `WAKING` again, so the cell is still
/// this thread's alone). A wake left for the holder (`AGAIN`) is not made:
/// that would call the waker that just panicked during the unwind, where a
/// second panic aborts. So a task whose waker panics may miss that one wake
/// (Guarantee 8 in the crate docs says so).
struct ClearOnUnwind<'a>(&'a ParentWaker, usize);

impl Drop for ClearOnUnwind<'_> {
    fn drop(&mut self) {
        let cell = self.0;
        // Acquire: a FORGOTTEN seen here leads to writing the cell (see
        // `let_go`).
        let before = cell.state.fetch_and(!self.1, Ordering::AcqRel);
        if before & FORGOTTEN != 0 && self.1 & WAKING != 0 {
            // SAFETY: this thread held WAKING when FORGOTTEN was set, so the
            // stream left the waker to it and no longer reads the cell (its
            // last read happened-before `forget`, acquired above), and no
            // wake takes WAKING after FORGOTTEN.
            let waker = cell.waker.with_mut(|cell| unsafe { (*cell).take() });
            drop(waker);
        }
    }
}
