//! Per-slot wakers and the ready queue they push onto.
//!
//! Every slot owns one [`SlotWaker`] for its whole life: the same `Arc` wakes
//! whichever future occupies the slot, so a refill allocates nothing. Waking a
//! slot pushes its id onto a lock-free stack shared by all slots
//! ([`ReadyQueue`]); the stream takes the whole stack at once and reverses it,
//! which yields the woken ids in the order they were woken.
//!
//! # Protocol
//!
//! * `queued` is `true` from the moment a waker claims the slot until the
//!   stream pops the id from its local ready list. Only the waker that flips it
//!   from `false` to `true` pushes, so an id is on the stack (or the local list)
//!   at most once, and a slot's `next` field is written only by that one waker.
//! * The stream clears `queued` (with an acquire swap) *before* it polls the
//!   future, so a wake that lands during or after the poll queues the slot again
//!   and is never lost.
//! * A push that finds the stack empty wakes the parent task through
//!   [`AtomicWaker`]; a push onto a non-empty stack need not, because whoever
//!   made it non-empty already did. Before the stream returns `Pending` it
//!   registers the parent waker and then looks at the stack: a push that the
//!   registration missed is seen by that look (see [`ReadyQueue::is_empty`]).
//!
//! The only `unsafe` in the crate is the waker cell of [`AtomicWaker`].

use alloc::sync::Arc;
use alloc::task::Wake;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::task::Waker;

/// Marks the end of a list of slot ids (and the empty stack).
pub(super) const NIL: usize = usize::MAX;

/// The stack of woken slot ids, shared by the stream and every slot waker.
#[derive(Debug)]
pub(super) struct ReadyQueue {
    /// Id of the most recently woken slot, [`NIL`] when empty. Each pushed slot
    /// links to the one below it through its own [`SlotWaker::next`].
    head: AtomicUsize,
    /// The task that polls the stream.
    parent: AtomicWaker,
}

impl ReadyQueue {
    pub(super) fn new() -> Self {
        Self {
            head: AtomicUsize::new(NIL),
            parent: AtomicWaker::new(),
        }
    }

    /// Takes every queued id at once, newest first, linked through
    /// [`SlotWaker::next`].
    pub(super) fn take_all(&self) -> usize {
        if self.head.load(Ordering::Relaxed) == NIL {
            return NIL;
        }
        // Acquire pairs with the release CAS of each push (a chain of RMWs is
        // one release sequence), so every `next` on the taken chain is visible.
        self.head.swap(NIL, Ordering::Acquire)
    }

    /// Whether no id has been pushed since the last [`take_all`](Self::take_all).
    ///
    /// Called after [`register`](Self::register): a push whose parent wake came
    /// before the registration happened-before it (both touch the waker's
    /// state with RMWs), so this load sees that push.
    pub(super) fn is_empty(&self) -> bool {
        self.head.load(Ordering::Acquire) == NIL
    }

    /// Records the task to wake when a slot is woken.
    pub(super) fn register(&self, waker: &Waker) {
        self.parent.register(waker);
    }

    /// Drops the stored parent waker, so a slot waker that outlives the stream
    /// does not keep the parent task alive.
    pub(super) fn forget_parent(&self) {
        drop(self.parent.take());
    }
}

/// The waker of one slot. Reused by every future that occupies the slot.
#[derive(Debug)]
pub(super) struct SlotWaker {
    id: usize,
    /// `true` while the id is on the stack or in the stream's local list.
    queued: AtomicBool,
    /// The id below this one on the stack; written only by the waker that
    /// set `queued`, read only by the stream after taking the stack.
    next: AtomicUsize,
    queue: Arc<ReadyQueue>,
}

impl SlotWaker {
    pub(super) fn new(id: usize, queue: Arc<ReadyQueue>) -> Self {
        Self {
            id,
            queued: AtomicBool::new(false),
            next: AtomicUsize::new(NIL),
            queue,
        }
    }

    /// The id below this one on a chain returned by [`ReadyQueue::take_all`].
    pub(super) fn next(&self) -> usize {
        self.next.load(Ordering::Relaxed)
    }

    /// Called by the stream when it pops this id, before polling the future.
    ///
    /// The acquire half makes whatever the waker's caller wrote before waking
    /// visible to the poll that follows; the release half lets a later wake
    /// see `false` and queue the slot again.
    pub(super) fn dequeue(&self) {
        self.queued.swap(false, Ordering::AcqRel);
    }

    fn schedule(&self) {
        if self.queued.swap(true, Ordering::AcqRel) {
            // Already on the stack or in the local list: it will be polled.
            return;
        }
        let mut head = self.queue.head.load(Ordering::Relaxed);
        loop {
            self.next.store(head, Ordering::Relaxed);
            match self.queue.head.compare_exchange_weak(
                head,
                self.id,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }
        if head == NIL {
            self.queue.parent.wake();
        }
    }
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

const WAITING: usize = 0;
const REGISTERING: usize = 0b01;
const WAKING: usize = 0b10;

/// A cell holding the parent task's waker, written by the stream and taken by
/// any thread that wakes a slot.
///
/// `state` is a two-bit lock: `REGISTERING` is held by the (single) writer
/// while it stores a waker, `WAKING` by a thread taking the waker out. Each
/// side touches `waker` only while it holds its bit and the other bit is
/// clear; a wake that arrives during a registration leaves `WAKING` set, and
/// the registration then wakes the new waker itself.
pub(super) struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the `Option<Waker>` inside is only reached under the `state` lock
// (see the type's doc), so sharing or sending `AtomicWaker` never gives two
// threads access to it at once; `Waker` itself is `Send + Sync`.
unsafe impl Send for AtomicWaker {}
// SAFETY: as for `Send` above.
unsafe impl Sync for AtomicWaker {}

impl core::fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AtomicWaker")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl AtomicWaker {
    pub(super) const fn new() -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` as the one to wake. Only the stream calls this.
    pub(super) fn register(&self, waker: &Waker) {
        match self.state.compare_exchange(
            WAITING,
            REGISTERING,
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                {
                    // SAFETY: this thread moved `state` from WAITING to
                    // REGISTERING, so no `take` holds the cell (it needs WAKING
                    // set while REGISTERING is clear) and no other `register`
                    // runs (only the stream, through `&mut`, calls it).
                    let cell = unsafe { &mut *self.waker.get() };
                    match cell {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *cell = Some(waker.clone()),
                    }
                }
                if self
                    .state
                    .compare_exchange(REGISTERING, WAITING, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // A wake came in while we held the cell and left WAKING
                    // set without taking the waker: take it and wake it here.
                    // SAFETY: REGISTERING is still held by this thread (only
                    // this thread clears it), so the cell is still ours.
                    let waker = unsafe { (*self.waker.get()).take() };
                    self.state.swap(WAITING, Ordering::AcqRel);
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }
            }
            Err(WAKING) => {
                // A waker is being taken right now; it may be the old one, so
                // wake the new one too. The task is re-polled and registers
                // again.
                waker.wake_by_ref();
            }
            Err(_) => {
                // REGISTERING still set: an earlier registration unwound out of
                // `Waker::clone`. Nothing to do safely; wake so the stream is
                // polled again rather than hanging.
                waker.wake_by_ref();
            }
        }
    }

    /// Wakes the stored waker, if any, and removes it.
    pub(super) fn wake(&self) {
        if let Some(waker) = self.take() {
            waker.wake();
        }
    }

    /// Removes the stored waker, unless a registration or another take is
    /// under way (which then delivers the wake instead).
    pub(super) fn take(&self) -> Option<Waker> {
        match self.state.fetch_or(WAKING, Ordering::AcqRel) {
            WAITING => {
                // SAFETY: this thread moved `state` from WAITING to WAKING:
                // `register` cannot take REGISTERING until WAKING is cleared and
                // any other `take` sees WAKING and backs off.
                let waker = unsafe { (*self.waker.get()).take() };
                self.state.fetch_and(!WAKING, Ordering::Release);
                waker
            }
            _ => None,
        }
    }
}
