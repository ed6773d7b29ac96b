//! The synchronisation primitives of the engine, behind one switch.
//!
//! Normally these are `core`'s atomics, a thin wrapper over
//! `core::cell::UnsafeCell` and `alloc::sync::Arc`. Built with `--cfg loom`
//! (see `.ci/loom.sh`), they are [loom](https://docs.rs/loom)'s instead, so the
//! models in `loom_tests.rs` explore every interleaving of the wake protocol
//! in `waker.rs` and check each access:
//!
//! * the atomics, so loom chooses which store each load sees, within what the
//!   memory orderings allow;
//! * the parent-waker cell of `ParentWaker`, through [`UnsafeCell::with_mut`]
//!   and [`UnsafeCell::with`], so loom reports a write that overlaps another
//!   access on another thread as a data race;
//! * `Arc`, because the count of `Shared` is part of the protocol: every
//!   owned waker holds one, and the last one frees the nodes. loom's `Arc`
//!   has the `increment_strong_count` / `decrement_strong_count` the raw
//!   waker vtable needs, models the release/acquire of the count, and fails
//!   a model in which any `Arc` is still alive at the end (a leak).
//!
//! Nothing here changes the normal build: the wrapper's `with_mut` is a
//! direct call of its closure.

#[cfg(not(loom))]
pub(super) use alloc::sync::Arc;
#[cfg(not(loom))]
pub(super) use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

#[cfg(loom)]
pub(super) use loom::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
#[cfg(loom)]
pub(super) use loom::sync::Arc;

/// The value of an atomic pointer reached through `&mut`, so that no other
/// thread can be using it.
#[cfg(not(loom))]
#[inline]
pub(super) fn get_mut<T>(atomic: &mut AtomicPtr<T>) -> *mut T {
    *atomic.get_mut()
}

/// The value of an atomic pointer reached through `&mut`, so that no other
/// thread can be using it (loom checks that every store to it happened
/// before).
#[cfg(loom)]
pub(super) fn get_mut<T>(atomic: &mut AtomicPtr<T>) -> *mut T {
    atomic.with_mut(|ptr| *ptr)
}

/// An `UnsafeCell` reached only through [`with_mut`](Self::with_mut) and
/// [`with`](Self::with), which loom's cell tracks.
pub(super) struct UnsafeCell<T> {
    #[cfg(not(loom))]
    inner: core::cell::UnsafeCell<T>,
    #[cfg(loom)]
    inner: loom::cell::UnsafeCell<T>,
}

impl<T> UnsafeCell<T> {
    pub(super) fn new(value: T) -> Self {
        Self {
            #[cfg(not(loom))]
            inner: core::cell::UnsafeCell::new(value),
            #[cfg(loom)]
            inner: loom::cell::UnsafeCell::new(value),
        }
    }

    /// Calls `f` with a pointer to the value, to read only. Under loom the
    /// call counts as a read: reads on several threads at once are fine, one
    /// that overlaps a [`with_mut`](Self::with_mut) on another thread fails
    /// the model.
    #[inline]
    pub(super) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        #[cfg(not(loom))]
        {
            f(self.inner.get())
        }
        #[cfg(loom)]
        {
            self.inner.with(f)
        }
    }

    /// Calls `f` with a pointer to the value. Using it mutably is up to the
    /// caller's `unsafe`, as for `core::cell::UnsafeCell::get`; under loom the
    /// call counts as a write, and one that overlaps another access of the
    /// cell on another thread fails the model.
    #[inline]
    pub(super) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(loom))]
        {
            f(self.inner.get())
        }
        #[cfg(loom)]
        {
            self.inner.with_mut(f)
        }
    }
}
