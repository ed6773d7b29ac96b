//! [`AtomicWaker`]: the cell that holds the parent task's waker, written by
//! the stream and taken by any thread that wakes a slot.
//!
//! # Where the protocol comes from
//!
//! This is the `AtomicWaker` of `futures-core` (`futures::task::AtomicWaker`),
//! which tokio also uses as its own `AtomicWaker`: a two-bit state,
//! `REGISTERING` held by the one writer while it stores a waker and `WAKING`
//! by a thread taking the waker out; each side touches the cell only while it
//! holds its bit and the other bit is clear; a wake that arrives during a
//! registration leaves `WAKING` set, and the registration then wakes the new
//! waker itself. It is written here, rather than used from `futures-core`,
//! because the crate's loom models must see its atomics and its cell (through
//! `sync.rs`), and because of one deliberate difference:
//!
//! * A `register` that finds `REGISTERING` still set wakes the new waker
//!   instead of doing nothing. That state is left only by an earlier
//!   registration that unwound out of `Waker::clone` (a panicking waker);
//!   futures' version then ignores every later registration, and the stream
//!   would hang with its wakes lost. Here each later park wakes its own task
//!   at once: the stream keeps being polled (busily, until its task's waker
//!   stops panicking), never silently stuck.
//!
//! Otherwise the orderings and the steps are futures' (`register` skips the
//! clone when the stored waker `will_wake` the same task).

use core::task::Waker;

use super::sync::{AtomicUsize, Ordering, UnsafeCell};

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
// (see the type's doc), so sharing `AtomicWaker` never gives two threads
// access to it at once; `Waker` itself is `Send + Sync`. (`Send` is automatic.)
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    pub(super) fn new() -> Self {
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
                self.waker.with_mut(|cell| {
                    // SAFETY: this thread moved `state` from WAITING to
                    // REGISTERING, so no `take` holds the cell (it needs WAKING
                    // set while REGISTERING is clear) and no other `register`
                    // does (its CAS from WAITING fails until we are done).
                    let cell = unsafe { &mut *cell };
                    match cell {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *cell = Some(waker.clone()),
                    }
                });
                if self
                    .state
                    .compare_exchange(REGISTERING, WAITING, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // A wake came in while we held the cell and left WAKING
                    // set without taking the waker: take it and wake it here.
                    // SAFETY: REGISTERING is still held by this thread (only
                    // this thread clears it), so the cell is still ours.
                    let waker = self.waker.with_mut(|cell| unsafe { (*cell).take() });
                    self.state.swap(WAITING, Ordering::AcqRel);
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }
            }
            Err(_) => {
                // WAKING: a waker is being taken right now, maybe the old one,
                // so wake the new one too; the task is polled again and
                // registers again. REGISTERING still set: an earlier
                // registration unwound out of `Waker::clone`; waking keeps the
                // stream polled rather than hung.
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
                let waker = self.waker.with_mut(|cell| unsafe { (*cell).take() });
                self.state.fetch_and(!WAKING, Ordering::Release);
                waker
            }
            _ => None,
        }
    }
}
