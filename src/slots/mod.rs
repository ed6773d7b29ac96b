//! The slot arena shared by every stream type: the engine.
//!
//! # Design
//!
//! A slot holds one future at a time, and the output of that future until the
//! stream hands it out. Slots are created lazily, one per concurrently live
//! item, so `limit = usize::MAX` over ten items creates ten; they are never
//! destroyed before the stream is, and a freed slot goes on a free list and is
//! refilled before a new one is created.
//!
//! * **Storage.** Slots live in segments that double in size (2, 2, 4, 8,
//!   ...: the first `k` hold `2^k` slots, see [`waker::locate`]), each
//!   allocated once when the first of its slots is needed and never moved or
//!   freed before the arena is. So `n` live items cost about `2 log2 n` allocations in all, and
//!   memory stays within twice what the live items need.
//! * **Pinning.** A future is stored inline in its slot and polled in place:
//!   segments never move, and a future is dropped in place (its `Option` set
//!   to `None`) before its slot is reused. Nothing outside the segments is
//!   pinned, so every stream is `Unpin`.
//! * **Waking.** A slot's waker is a pointer to a node in the shared state
//!   (`waker.rs`); waking it pushes the node id onto the shared ready stack
//!   (see `waker.rs` for the protocol). A node serves one slot at a time and
//!   is kept across refills while it is idle: no owned waker of it exists and
//!   no wake of it is queued, which is the usual case. If a finished future
//!   left a waker behind (in a timer, a channel, a losing `select!` branch) or
//!   a wake still queued, the node is *retired* instead and the slot gets
//!   another, so a wake meant for a finished future never polls the next one.
//!   Retired nodes are reused once idle. So nodes, like slots, are allocated
//!   in doubling segments and, in steady state, not at all.
//! * **Polling rounds.** A call to the stream's `poll_next` is one round
//!   ([`Slots::begin_round`]). [`Slots::poll_next_woken_release`] takes the ready stack at
//!   most once per round and returns the woken slots in the order they were
//!   woken. A slot already polled in this round (a refill's first poll, or a
//!   future that woke itself) is deferred to the front of the next round, so
//!   no future is polled twice in one call and a self-waking future cannot
//!   make the stream spin, while the slots woken after it are still polled.
//! * **Panics.** [`poll_in_place`] drops a future that panics and frees its slot
//!   before the panic leaves the engine.
//! * **Lists.** The free list links slots through their `tag_or_next`; the local
//!   ready and deferred lists link node ids through the nodes themselves,
//!   which no waker writes to while they are on those lists.
//!
//! No allocation happens once a slot exists: refilling, waking, queueing and
//! handing out outputs only move values and flip atomics.
//!
//! The `unsafe` of the crate is here: pinning futures in place (below) and the
//! raw wakers and parent-waker cell of `waker.rs`.

mod parent_waker;
mod sync;
mod waker;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use self::sync::Arc;
use self::waker::{locate, segment_len, NodeRef, Shared, MAX_NODES, NIL};

/// The length of `retired` at which the first sweep for idle nodes happens
/// (see [`Slots::fresh_node`]); 2 under loom, so that a small model reaches
/// the sweep.
const SWEEP_MIN: usize = if cfg!(loom) { 2 } else { 8 };

/// Index of a slot in a [`Slots`] arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotId(usize);

/// A singly linked list of node ids, threaded through the nodes' `next`.
#[derive(Clone, Copy, Debug)]
struct List {
    head: usize,
    tail: usize,
}

impl List {
    const EMPTY: Self = Self {
        head: NIL,
        tail: NIL,
    };

    /// Appends `other` (whose last node already links to [`NIL`]) to `self`.
    #[inline]
    fn append(&mut self, other: List, shared: &Shared) {
        if other.head == NIL {
            return;
        }
        if self.tail == NIL {
            self.head = other.head;
        } else {
            shared.node(self.tail).set_next(other.head);
        }
        self.tail = other.tail;
    }
}

/// The free slots, linked through their `tag_or_next`, and how many slots are
/// taken: the bookkeeping every operation that frees a slot updates.
#[derive(Debug)]
struct FreeList {
    /// The first free slot, [`NIL`] when none is.
    head: usize,
    /// Slots taken: running, or holding an output.
    in_use: usize,
    /// Slots whose future is still running (a subset of `in_use`).
    running: usize,
}

impl FreeList {
    const EMPTY: Self = Self {
        head: NIL,
        in_use: 0,
        running: 0,
    };

    /// Puts `slot` (id `id`) back on the list. Its future must already be
    /// dropped or about to be (see [`drop_future`](Self::drop_future)).
    /// This overwrites the slot's tag: read it before.
    fn push<Fut: Future, O>(&mut self, slot: &mut Slot<Fut, O>, id: usize) {
        slot.tag_or_next = self.head;
        self.head = id;
        self.in_use -= 1;
    }

    /// Drops the future in `slot` in place. The counts are updated first, so
    /// a future that panics in `Drop` leaves them right.
    fn drop_future<Fut: Future, O>(&mut self, slot: &mut Slot<Fut, O>) {
        if slot.running {
            slot.running = false;
            self.running -= 1;
        }
        // If `Drop` unwinds, the field is still overwritten with `None`.
        slot.future = None;
    }
}

/// One slot: a future, or the output it finished with (`O`: the stream's
/// output type where outputs wait in their slots, as in input order, and
/// `Infallible`, which takes no room, where they never do).
// Aligned to a cache line, so that a slot of a small future is one line, not
// two: with many futures parked, a completion touches one line of its slot.
#[repr(align(64))]
struct Slot<Fut: Future, O> {
    /// Pinned in place while `Some`: see [`poll_in_place`].
    future: Option<Fut>,
    output: Option<O>,
    /// While the slot is taken, the caller's tag for its occupant (its
    /// position in the input); while it is free, the id of the next free
    /// slot. One field for both keeps the slot of a 32-byte future (an `Arc`
    /// and a channel receiver, say) in one cache line.
    tag_or_next: usize,
    /// The node whose wakers wake this slot; `None` before the first insert.
    node: Option<NodeRef>,
    /// The round in which the current future was last polled. Wrapping:
    /// a false match only defers a wake by one round.
    polled_round: u32,
    /// Whether `future` is `Some`, kept apart so that nothing but the poll
    /// ever takes a reference to `future` (see [`Slots::slot_mut`]).
    running: bool,
}

impl<Fut: Future, O> Slot<Fut, O> {
    fn vacant() -> Self {
        Self {
            future: None,
            output: None,
            tag_or_next: NIL,
            node: None,
            polled_round: 0,
            running: false,
        }
    }

    /// Whether the slot is taken: running, or holding an output.
    fn in_use(&mut self) -> bool {
        self.running || self.output.is_some()
    }

    /// The id of the slot's node.
    fn node_id(&mut self) -> Option<usize> {
        // SAFETY: a slot lives inside the arena that holds the `Shared`
        // owning its node.
        self.node.as_ref().map(|node| unsafe { node.get() }.id())
    }
}

/// Slot storage, wakers and ready queue for one stream.
pub(crate) struct Slots<Fut: Future, O = <Fut as Future>::Output> {
    /// `segments[k]` holds `segment_len(k)` slots; never resized or moved.
    segments: Vec<Box<[Slot<Fut, O>]>>,
    shared: Arc<Shared>,
    /// Slots handed out so far: ids `0..created`.
    created: usize,
    free: FreeList,
    /// Nodes created: ids `0..nodes`.
    nodes: usize,
    /// Node segments allocated in `shared`.
    node_segments: usize,
    /// Nodes detached from their slot while something could still wake
    /// them, oldest first (see [`fresh_node`](Self::fresh_node)).
    retired: VecDeque<usize>,
    /// Retired nodes found idle by a sweep, ready for reuse.
    spare: Vec<usize>,
    /// Sweep `retired` for idle nodes once it is this long.
    sweep_at: usize,
    /// Woken node ids still to look at in this round, in wake order.
    ready: List,
    /// Woken node ids whose slot was already polled in this round: first in
    /// the next one.
    deferred: List,
    round: u32,
    /// Whether the shared queue was already taken in this round.
    drained: bool,
}

impl<Fut: Future, O> Slots<Fut, O> {
    pub(crate) fn new() -> Self {
        Self {
            segments: Vec::new(),
            shared: Shared::new(),
            created: 0,
            free: FreeList::EMPTY,
            nodes: 0,
            node_segments: 0,
            retired: VecDeque::new(),
            spare: Vec::new(),
            sweep_at: SWEEP_MIN,
            ready: List::EMPTY,
            deferred: List::EMPTY,
            round: 0,
            drained: false,
        }
    }

    /// Slots taken: futures running plus outputs not yet handed out.
    #[inline]
    pub(crate) fn in_use(&self) -> usize {
        self.free.in_use
    }

    /// Slots whose future is still running.
    #[inline]
    pub(crate) fn running(&self) -> usize {
        self.free.running
    }

    /// Nodes created so far: the engine's waker records.
    #[cfg(test)]
    fn nodes(&self) -> usize {
        self.nodes
    }

    /// Slots created so far (the arena never shrinks).
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.created
    }

    /// Slot `id`. Slots are only ever reached through `&mut`: a shared
    /// reference to a slot would be a read of its whole future, which under
    /// Stacked Borrows invalidates the references a self-borrowing `async`
    /// block keeps into itself (`&mut` to a `!Unpin` type is exempt).
    #[inline]
    fn slot_mut(&mut self, id: usize) -> &mut Slot<Fut, O> {
        let (k, offset) = locate(id);
        &mut self.segments[k][offset]
    }

    /// Puts `future` in a free slot (creating one only if none is free) and
    /// polls it once, as [`poll`](Self::poll) does.
    #[cfg(test)]
    pub(crate) fn insert_and_poll(
        &mut self,
        future: Fut,
        tag: usize,
    ) -> (SlotId, Poll<Fut::Output>) {
        self.place_with(future, tag, |slot, id, round, free| {
            (SlotId(id), poll_in_place(slot, id, round, free))
        })
    }

    /// Puts `future` in a free slot (creating one only if none is free),
    /// polls it once as [`poll_in_place`] does, and frees the slot at once if
    /// the future finishes on this first poll.
    #[inline]
    pub(crate) fn insert_and_poll_release(&mut self, future: Fut, tag: usize) -> Poll<Fut::Output> {
        self.place_with(future, tag, poll_in_place_release)
    }

    /// Puts `future` (tagged `tag`) in a free slot, creating one only if none
    /// is free, and hands the slot to `poll` with its id, the round and the
    /// free list. The slot is located once, on the path every item takes.
    #[inline(always)]
    fn place_with<R>(
        &mut self,
        future: Fut,
        tag: usize,
        poll: impl FnOnce(&mut Slot<Fut, O>, usize, u32, &mut FreeList) -> R,
    ) -> R {
        let (id, slot) = match self.free.head {
            NIL => {
                let id = self.new_slot();
                let (k, offset) = locate(id);
                (id, &mut self.segments[k][offset])
            }
            id => {
                let (k, offset) = locate(id);
                let slot = &mut self.segments[k][offset];
                self.free.head = slot.tag_or_next;
                let idle = slot
                    .node
                    .as_ref()
                    // SAFETY: `self.shared` owns the node and outlives this borrow.
                    .is_some_and(|node| unsafe { node.get() }.is_idle());
                if idle {
                    (id, slot)
                } else {
                    self.replace_node(id);
                    (id, &mut self.segments[k][offset])
                }
            }
        };
        let free = &mut self.free;
        free.in_use += 1;
        free.running += 1;
        debug_assert!(!slot.in_use());
        slot.future = Some(future);
        slot.running = true;
        slot.tag_or_next = tag;
        poll(slot, id, self.round, free)
    }

    /// A slot never used before, growing the slot segments if needed, with
    /// a node of its own.
    #[cold]
    fn new_slot(&mut self) -> usize {
        let id = self.created;
        let (k, _) = locate(id);
        if k == self.segments.len() {
            self.segments
                .push((0..segment_len(k)).map(|_| Slot::vacant()).collect());
        }
        self.created += 1;
        self.replace_node(id);
        id
    }

    /// Gives slot `id` an idle node, retiring the one it had (a waker of an
    /// earlier occupant is still out there, or its wake still queued).
    #[cold]
    fn replace_node(&mut self, id: usize) {
        if let Some(old) = self.slot_mut(id).node_id() {
            self.shared.node(old).set_slot(NIL);
            self.retired.push_back(old);
        }
        let node = self.fresh_node(id);
        self.slot_mut(id).node = Some(self.shared.node_ref(node));
    }

    /// The slot `id` with the free list, which freeing it updates.
    #[inline]
    fn parts(&mut self, id: usize) -> (&mut Slot<Fut, O>, &mut FreeList) {
        let (k, offset) = locate(id);
        (&mut self.segments[k][offset], &mut self.free)
    }

    /// An idle node for slot `id`: a retired one that has become idle if one
    /// is found cheaply, else a new one.
    ///
    /// A retired node becomes idle when its last waker is dropped and its
    /// queued wake, if any, is taken; once idle it stays so (no waker of it
    /// is left to clone). The two oldest retired nodes are tried first; one
    /// still in use goes to the back, so no node, even one whose waker is
    /// kept forever, holds back the reuse of the others. And before a new node is
    /// made while `retired` has grown to `sweep_at`, every retired node is
    /// looked at once and the idle ones kept as spares; `sweep_at` is then
    /// twice the nodes still in use. So sweeping costs O(1) per retirement,
    /// amortised, and a new node is only made while fewer than
    /// `max(2 * in use at the last sweep, SWEEP_MIN)` nodes are retired:
    /// nodes stay bounded by the slots plus twice the wakers held out there.
    fn fresh_node(&mut self, id: usize) -> usize {
        let node = match self.reuse_node() {
            Some(node) => node,
            None => self.new_node(),
        };
        self.shared.node(node).set_slot(id);
        node
    }

    /// A retired node that is idle, if one is found cheaply (see
    /// [`fresh_node`](Self::fresh_node)).
    fn reuse_node(&mut self) -> Option<usize> {
        if let Some(node) = self.spare.pop() {
            return Some(node);
        }
        // The two oldest: one held node in front costs one look more, not a
        // new node.
        for _ in 0..2 {
            let oldest = self.retired.pop_front()?;
            if self.shared.node(oldest).is_idle() {
                return Some(oldest);
            }
            self.retired.push_back(oldest);
        }
        if self.retired.len() < self.sweep_at {
            return None;
        }
        let shared = &self.shared;
        let spare = &mut self.spare;
        self.retired.retain(|&node| {
            let idle = shared.node(node).is_idle();
            if idle {
                spare.push(node);
            }
            !idle
        });
        self.sweep_at = (2 * self.retired.len()).max(SWEEP_MIN);
        self.spare.pop()
    }

    /// A node never used before, growing the node segments if needed.
    fn new_node(&mut self) -> usize {
        let node = self.nodes;
        // Nodes keep ids as `u32`. Each node serves one live future or one
        // waker kept out there, so this is billions of either at once.
        assert!(
            node < MAX_NODES,
            "limited-as-completed: more than {MAX_NODES} futures in flight and wakers kept"
        );
        let (k, _) = locate(node);
        if k == self.node_segments {
            Shared::grow(&self.shared, k);
            self.node_segments += 1;
        }
        self.nodes += 1;
        node
    }

    /// The tag given to [`insert_and_poll`](Self::insert_and_poll) for the
    /// slot's occupant.
    #[cfg(test)]
    fn tag(&mut self, id: SlotId) -> usize {
        self.slot_mut(id.0).tag_or_next
    }

    /// Whether `id` still holds the item tagged `tag` (it does not if that
    /// item's future panicked and the slot was freed or reused).
    pub(crate) fn holds(&mut self, id: SlotId, tag: usize) -> bool {
        let slot = self.slot_mut(id.0);
        slot.in_use() && slot.tag_or_next == tag
    }

    /// Whether the slot holds a finished output.
    pub(crate) fn has_output(&mut self, id: SlotId) -> bool {
        self.slot_mut(id.0).output.is_some()
    }

    /// Polls the future in `id` once with the slot's waker. On `Ready` the
    /// future is dropped at once; the slot stays taken until the caller
    /// [`release`](Self::release)s it or stores the output.
    ///
    /// If the future panics, it is dropped, the slot is freed, and the panic
    /// goes on to the caller.
    ///
    /// # Panics
    ///
    /// If the slot holds no future (a bug in the caller).
    ///
    /// (The cores poll woken slots with
    /// [`poll_next_woken_release`](Self::poll_next_woken_release), which locates the slot
    /// once.)
    #[cfg(all(test, not(loom)))]
    pub(crate) fn poll(&mut self, id: SlotId) -> Poll<Fut::Output> {
        let round = self.round;
        let (slot, free) = self.parts(id.0);
        poll_in_place(slot, id.0, round, free)
    }

    /// [`poll`](Self::poll), freeing the slot at once if the future
    /// finishes: then the tag of its item comes out with the output. (The
    /// cores use [`poll_next_woken_release`](Self::poll_next_woken_release);
    /// the loom models, this.)
    #[cfg(all(test, loom))]
    pub(crate) fn poll_and_release(&mut self, id: SlotId) -> Poll<(usize, Fut::Output)> {
        let round = self.round;
        let (slot, free) = self.parts(id.0);
        let tag = slot.tag_or_next;
        poll_in_place_release(slot, id.0, round, free).map(|output| (tag, output))
    }

    /// Frees a slot whose future has finished, and returns the tag of the
    /// item it held. (The cores use [`poll_and_release`](Self::poll_and_release).)
    #[cfg(all(test, not(loom)))]
    pub(crate) fn release(&mut self, id: SlotId) -> usize {
        let (slot, free) = self.parts(id.0);
        debug_assert!(!slot.running && slot.output.is_none());
        let tag = slot.tag_or_next;
        free.push(slot, id.0);
        tag
    }

    /// Drops what slot `id` holds, future or output, in place, and frees the
    /// slot. The slot is freed first, so a `Drop` that panics leaves the
    /// arena consistent (the panic goes on to the caller).
    pub(crate) fn cancel(&mut self, id: SlotId) {
        let (slot, free) = self.parts(id.0);
        debug_assert!(slot.in_use());
        free.push(slot, id.0);
        let output = slot.output.take();
        free.drop_future(slot);
        drop(output);
    }

    /// Keeps a finished future's output in its slot, and returns the tag of
    /// the item it held.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn store_output(&mut self, id: SlotId, output: O) -> usize {
        let slot = self.slot_mut(id.0);
        slot.output = Some(output);
        slot.tag_or_next
    }

    /// Hands out the output kept in `id` and frees the slot.
    ///
    /// # Panics
    ///
    /// If the slot holds no output (a bug in the caller).
    #[inline]
    pub(crate) fn take_output(&mut self, id: SlotId) -> O {
        let (slot, free) = self.parts(id.0);
        let output = slot
            .output
            .take()
            .expect("limited-as-completed: no output in slot");
        free.push(slot, id.0);
        output
    }

    /// Starts a polling round: one call of the stream's `poll_next`. Wakes
    /// deferred from the last round come first.
    #[inline]
    pub(crate) fn begin_round(&mut self) {
        #[cfg(loom)]
        self.shared.loom_touch();
        self.round = self.round.wrapping_add(1);
        self.drained = false;
        if self.deferred.head != NIL {
            self.take_deferred();
        }
    }

    /// Puts the wakes deferred from the last round before the ready list.
    #[cold]
    fn take_deferred(&mut self) {
        let ready = core::mem::replace(&mut self.ready, self.deferred);
        self.ready.append(ready, &self.shared);
        self.deferred = List::EMPTY;
    }

    /// The next woken slot to poll in this round, in wake order; `None` when
    /// nothing more is to be polled in this round. (The cores poll it in the
    /// same step: [`poll_next_woken_release`](Self::poll_next_woken_release)
    /// and [`poll_next_woken_keep`](Slots::poll_next_woken_keep).)
    #[cfg(test)]
    pub(crate) fn next_woken(&mut self) -> Option<SlotId> {
        self.next_woken_with(|_, id, _, _| SlotId(id))
    }

    /// Polls the next woken slot of this round once, as [`poll_in_place`]
    /// does, freeing the slot at once if the future finishes: then the tag of
    /// its item comes out with the output. `None` when nothing more is to be
    /// polled in this round.
    #[inline]
    pub(crate) fn poll_next_woken_release(&mut self) -> Option<Poll<(usize, Fut::Output)>> {
        self.next_woken_with(|slot, id, round, free| {
            let tag = slot.tag_or_next;
            poll_in_place_release(slot, id, round, free).map(|output| (tag, output))
        })
    }

    /// Hands the next woken slot of this round, in wake order, to `f` with
    /// its id, the round and the free list; `None` when nothing more is to be
    /// polled in this round. The slot is located once, for the look at
    /// whether it runs and for `f`.
    #[inline(always)]
    fn next_woken_with<R>(
        &mut self,
        f: impl FnOnce(&mut Slot<Fut, O>, usize, u32, &mut FreeList) -> R,
    ) -> Option<R> {
        // The common case of a call that finds nothing woken, without a call:
        // the shared stack is taken once per round, and only if it looks
        // non-empty (as `take_all` itself checks first).
        if self.ready.head == NIL && (self.drained || self.shared.looks_empty()) {
            self.drained = true;
            return None;
        }
        self.next_woken_slow(f)
    }

    /// [`next_woken_with`](Self::next_woken_with) with something to look at.
    #[inline]
    fn next_woken_slow<R>(
        &mut self,
        f: impl FnOnce(&mut Slot<Fut, O>, usize, u32, &mut FreeList) -> R,
    ) -> Option<R> {
        loop {
            if self.ready.head == NIL {
                if self.drained {
                    return None;
                }
                self.drained = true;
                self.drain_queue();
                if self.ready.head == NIL {
                    return None;
                }
            }
            let node = self.ready.head;
            // Looked up once: the node, and the slot through the segments
            // directly (a field apart from `shared`).
            let record = self.shared.node(node);
            let (id, next) = (record.slot(), record.next());
            self.ready.head = next;
            if next == NIL {
                self.ready.tail = NIL;
            }
            if id != NIL {
                let (k, offset) = locate(id);
                let slot = &mut self.segments[k][offset];
                if slot.running {
                    if slot.polled_round == self.round {
                        // Polled once in this round already: it stays queued
                        // (so no wake is lost) and goes first next round.
                        record.set_next(NIL);
                        let single = List {
                            head: node,
                            tail: node,
                        };
                        self.deferred.append(single, &self.shared);
                        continue;
                    }
                    record.dequeue();
                    return Some(f(slot, id, self.round, &mut self.free));
                }
            }
            // A wake for a retired node, or for a slot that is free or holds
            // an output: nothing to poll.
            record.dequeue();
        }
    }

    /// Moves every id from the shared queue to the end of the local ready
    /// list, oldest first.
    #[inline]
    fn drain_queue(&mut self) {
        let newest = self.shared.take_all();
        let mut node = newest;
        let mut oldest = NIL;
        while node != NIL {
            let shared = self.shared.node(node);
            let below = shared.next();
            shared.set_next(oldest);
            oldest = node;
            node = below;
        }
        let taken = List {
            head: oldest,
            tail: newest,
        };
        self.ready.append(taken, &self.shared);
    }

    /// Prepares to return `Pending`: registers `waker` as the task to wake
    /// when a slot is woken, and wakes it now if a slot is already waiting.
    pub(crate) fn park(&mut self, waker: &Waker) {
        #[cfg(loom)]
        self.shared.loom_touch();
        let replaced = self.shared.register(waker);
        if self.deferred.head != NIL || !self.shared.is_empty() {
            waker.wake_by_ref();
        }
        // Dropped after the look at the stack: its `drop` may panic, and a
        // push made during this call is then still announced. (If `waker`
        // panics above and this `drop` panics too, the process aborts: two
        // wakers of the executor panicking at once.)
        drop(replaced);
    }
}

impl<Fut: Future> Slots<Fut, Fut::Output> {
    /// Puts `future` in a slot and polls it once, as
    /// [`insert_and_poll_release`](Slots::insert_and_poll_release) does, but
    /// keeps the output in the slot if the future finishes; `stop` is asked about the output first,
    /// and its answer comes out with the output's tag.
    #[inline]
    pub(crate) fn insert_and_poll_keep(
        &mut self,
        future: Fut,
        tag: usize,
        stop: impl FnOnce(&Fut::Output) -> bool,
    ) -> (SlotId, Poll<(usize, bool)>) {
        self.place_with(future, tag, |slot, id, round, free| {
            (SlotId(id), poll_in_place_keep(slot, id, round, free, stop))
        })
    }

    /// [`poll_next_woken_release`](Slots::poll_next_woken_release), keeping
    /// the output in the slot if the future finishes, as
    /// [`insert_and_poll_keep`](Self::insert_and_poll_keep) does.
    #[inline]
    pub(crate) fn poll_next_woken_keep(
        &mut self,
        stop: impl FnOnce(&Fut::Output) -> bool,
    ) -> Option<(SlotId, Poll<(usize, bool)>)> {
        self.next_woken_with(|slot, id, round, free| {
            (SlotId(id), poll_in_place_keep(slot, id, round, free, stop))
        })
    }
}

/// Polls the future in `slot` (id `id`) once, in place, with its node's
/// waker; drops it at once if it finishes, and frees the slot if it panics.
///
/// # Panics
///
/// If the slot holds no future (a bug in the caller).
#[inline]
fn poll_in_place<Fut: Future, O>(
    slot: &mut Slot<Fut, O>,
    id: usize,
    round: u32,
    free: &mut FreeList,
) -> Poll<Fut::Output> {
    /// Frees the slot if the poll unwinds.
    struct Bomb<'a, Fut: Future, O> {
        slot: &'a mut Slot<Fut, O>,
        id: usize,
        free: &'a mut FreeList,
        armed: bool,
    }
    impl<Fut: Future, O> Drop for Bomb<'_, Fut, O> {
        fn drop(&mut self) {
            if self.armed {
                // Dropping the future may panic too; that is a double panic
                // and aborts, as with any destructor that panics while
                // unwinding.
                self.free.drop_future(self.slot);
                self.free.push(self.slot, self.id);
            }
        }
    }

    assert!(slot.running, "limited-as-completed: polled an empty slot");
    slot.polled_round = round;
    let node = slot
        .node
        .as_ref()
        .expect("limited-as-completed: slot without a node");
    // SAFETY: the arena that owns `slot` holds the `Shared` that owns the
    // node for as long as the slot exists, so for this whole call.
    let waker = unsafe { node.waker_ref() };
    // Armed only once the slot is known to hold a future.
    let mut bomb = Bomb {
        slot,
        id,
        free,
        armed: true,
    };
    // SAFETY: the future is never moved while it is `Some`: it lives in a
    // boxed segment that is neither resized, moved nor freed before the arena
    // drops (only the `Box` pointer moves when `segments` grows), and it
    // leaves its slot only by being dropped in place (`= None`), here on
    // completion or panic, or when the arena drops. Nothing else takes `&mut`
    // to it.
    let future = unsafe { Pin::new_unchecked(&mut bomb.slot.future) };
    let poll = match future.as_pin_mut() {
        Some(future) => future.poll(&mut Context::from_waker(&waker)),
        None => unreachable!("checked above"),
    };
    if poll.is_ready() {
        // Still armed: if the finished future panics in `Drop`, the slot is
        // freed (dropping it again is a no-op) and the output is dropped
        // with the unwind, as for a panic in `poll`.
        bomb.free.drop_future(bomb.slot);
    }
    bomb.armed = false;
    poll
}

/// [`poll_in_place`], then keeps the output in the slot if the future
/// finished, after asking `stop` about it: then the occupant's tag and the
/// answer come out.
#[inline(always)]
fn poll_in_place_keep<Fut: Future>(
    slot: &mut Slot<Fut, Fut::Output>,
    id: usize,
    round: u32,
    free: &mut FreeList,
    stop: impl FnOnce(&Fut::Output) -> bool,
) -> Poll<(usize, bool)> {
    poll_in_place(slot, id, round, free).map(|output| {
        let stop = stop(&output);
        slot.output = Some(output);
        (slot.tag_or_next, stop)
    })
}

/// [`poll_in_place`], then frees the slot if the future finished.
#[inline(always)]
fn poll_in_place_release<Fut: Future, O>(
    slot: &mut Slot<Fut, O>,
    id: usize,
    round: u32,
    free: &mut FreeList,
) -> Poll<Fut::Output> {
    let poll = poll_in_place(slot, id, round, free);
    if poll.is_ready() {
        free.push(slot, id);
    }
    poll
}

impl<Fut: Future, O> Drop for Slots<Fut, O> {
    fn drop(&mut self) {
        /// Frees the blocks of waker records that no waker can reach any
        /// more, also if a future's `Drop` panics: by then every future has
        /// been dropped (a slice drops the rest of its elements when one
        /// panics), so no waker borrowed for a poll remains.
        struct FreeUnheld<'a>(&'a Shared, usize);
        impl Drop for FreeUnheld<'_> {
            fn drop(&mut self) {
                self.0.free_unheld(self.1);
            }
        }
        // Wakers the futures handed out may live on, and must not keep the
        // parent task's waker alive: it comes out first, and is dropped
        // last, as its `drop` may panic.
        let parent = self.shared.forget_parent();
        let free = FreeUnheld(&self.shared, self.node_segments);
        // The futures first, in place, with the wakers they hold; then the
        // blocks of records.
        self.segments.clear();
        drop(free);
        drop(parent);
    }
}

// Not under loom: loom's atomics only work inside a model (`loom_tests.rs`).
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::vec;
    use core::future::{pending, ready, Pending, Ready};

    fn wake<Fut: Future, O>(slots: &mut Slots<Fut, O>, id: SlotId) {
        waker(slots, id).wake_by_ref();
    }

    fn waker<Fut: Future, O>(slots: &mut Slots<Fut, O>, id: SlotId) -> Waker {
        let node = slots.slot_mut(id.0).node_id().unwrap();
        Waker::clone(&slots.shared.waker_ref(node))
    }

    /// Inserts a future that stays pending.
    fn park_one(slots: &mut Slots<Pending<()>>, tag: usize) -> SlotId {
        let (id, poll) = slots.insert_and_poll(pending(), tag);
        assert!(poll.is_pending());
        id
    }

    #[test]
    fn freed_slot_is_reused_before_a_new_one_is_created() {
        let mut slots: Slots<Ready<u32>> = Slots::new();
        let (a, poll) = slots.insert_and_poll(ready(1), 0);
        assert_eq!(poll, Poll::Ready(1));
        assert_eq!(slots.release(a), 0);
        let (b, poll) = slots.insert_and_poll(ready(2), 1);
        assert_eq!((b, poll), (a, Poll::Ready(2)));
        assert_eq!(slots.capacity(), 1);
        assert_eq!(slots.tag(b), 1);
        slots.store_output(b, 2);
        let (c, poll) = slots.insert_and_poll(ready(3), 2);
        assert_ne!(c, b);
        assert_eq!(poll, Poll::Ready(3));
        assert_eq!(slots.capacity(), 2);
        assert_eq!(slots.in_use(), 2);
        assert_eq!(slots.take_output(b), 2);
        assert_eq!(slots.release(c), 2);
        assert_eq!(slots.in_use(), 0);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_slot_of_a_small_future_fills_one_cache_line() {
        // With room for the output (input order) and without (completion
        // order, where outputs never wait in a slot).
        assert_eq!(core::mem::size_of::<Slot<Ready<u64>, u64>>(), 64);
        assert_eq!(
            core::mem::size_of::<Slot<Ready<u64>, core::convert::Infallible>>(),
            64
        );
        assert_eq!(core::mem::align_of::<Slot<Ready<u64>, u64>>(), 64);
        // A 32-byte future whose `Option` needs a word of its own (as an
        // `async` block holding an `Arc` and a channel receiver does) still
        // fits one line in completion order.
        struct Words([u64; 4]);
        impl Future for Words {
            type Output = u64;
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u64> {
                Poll::Ready(self.0[0])
            }
        }
        assert_eq!(core::mem::size_of::<Option<Words>>(), 40);
        assert_eq!(
            core::mem::size_of::<Slot<Words, core::convert::Infallible>>(),
            64
        );
    }

    #[test]
    fn slots_grow_one_per_live_item() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        for tag in 0..10 {
            park_one(&mut slots, tag);
        }
        assert_eq!(slots.capacity(), 10);
        assert_eq!(slots.in_use(), 10);
        // Segments of 2, 2, 4 and 8 slots hold them.
        assert_eq!(slots.segments.len(), 4);
        assert_eq!(slots.segments.iter().map(|s| s.len()).sum::<usize>(), 16);
    }

    #[test]
    fn a_power_of_two_of_live_items_fills_its_segments() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        for tag in 0..16 {
            park_one(&mut slots, tag);
        }
        // 2 + 2 + 4 + 8: no segment of 16 for the sixteenth item.
        assert_eq!(slots.segments.len(), 4);
        assert_eq!(slots.segments.iter().map(|s| s.len()).sum::<usize>(), 16);
        assert_eq!(slots.node_segments, 4);
        park_one(&mut slots, 16);
        assert_eq!(slots.segments.len(), 5);
    }

    #[test]
    fn woken_ids_come_out_in_wake_order_once_each() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        slots.begin_round();
        let ids: Vec<SlotId> = (0..5).map(|tag| park_one(&mut slots, tag)).collect();
        let order = [3, 0, 4, 0, 3, 1];
        for i in order {
            wake(&mut slots, ids[i]);
        }
        slots.begin_round();
        let mut seen = vec![];
        while let Some(id) = slots.next_woken() {
            seen.push(id.0);
            assert!(slots.poll(id).is_pending());
        }
        assert_eq!(seen, [3, 0, 4, 1]);
        // Woken again after being dequeued: queued again, in the next round.
        wake(&mut slots, ids[4]);
        assert_eq!(slots.next_woken(), None);
        slots.begin_round();
        assert_eq!(slots.next_woken(), Some(ids[4]));
        assert_eq!(slots.next_woken(), None);
    }

    #[test]
    fn slot_polled_this_round_is_deferred_to_the_next() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        slots.begin_round();
        let a = park_one(&mut slots, 0);
        let b = park_one(&mut slots, 1);
        slots.begin_round();
        wake(&mut slots, b);
        assert_eq!(slots.next_woken(), Some(b));
        assert!(slots.poll(b).is_pending());
        // Woken again during the same round, then `a` too: `b` waits for the
        // next round, `a` is not held back by it.
        wake(&mut slots, b);
        wake(&mut slots, a);
        slots.drained = false; // as if the queue had not been taken yet
        assert_eq!(slots.next_woken(), Some(a));
        assert!(slots.poll(a).is_pending());
        assert_eq!(slots.next_woken(), None);
        let node = slots.slot_mut(b.0).node_id().unwrap();
        assert_eq!(slots.deferred.head, node);
        slots.begin_round();
        assert_eq!(slots.next_woken(), Some(b));
        assert_eq!(slots.next_woken(), None);
    }

    #[test]
    fn stale_wake_of_a_freed_slot_is_skipped() {
        let mut slots: Slots<Ready<u8>> = Slots::new();
        let (a, poll) = slots.insert_and_poll(ready(7), 0);
        assert_eq!(poll, Poll::Ready(7));
        wake(&mut slots, a);
        slots.release(a);
        slots.begin_round();
        assert_eq!(slots.next_woken(), None);
        // The slot can be woken and polled again after reuse.
        let (b, _) = slots.insert_and_poll(ready(8), 1);
        assert_eq!(b, a);
        slots.store_output(b, 8);
        wake(&mut slots, b);
        slots.begin_round();
        assert_eq!(
            slots.next_woken(),
            None,
            "a slot holding an output is not polled"
        );
    }

    #[test]
    fn refill_gets_a_fresh_node_while_the_old_one_can_still_be_woken() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        let a = park_one(&mut slots, 0);
        let kept = waker(&mut slots, a);
        let old = slots.slot_mut(a.0).node_id();
        // The future is dropped (say it was cancelled); its waker lives on.
        slots.cancel(a);
        let b = park_one(&mut slots, 1);
        assert_eq!(b, a, "the slot is reused");
        let new = slots.slot_mut(b.0).node_id();
        assert_ne!(new, old, "but not the node its old waker points to");
        kept.wake_by_ref();
        slots.begin_round();
        assert_eq!(slots.next_woken(), None, "the old waker polls nothing");
        // Once that waker is gone, its node is reused.
        drop(kept);
        slots.cancel(b);
        let c = park_one(&mut slots, 2);
        let (idle_again, _) = (slots.slot_mut(c.0).node_id(), ());
        assert_eq!(idle_again, new, "an idle node stays with its slot");
        assert_eq!(slots.nodes(), 2);
    }

    #[test]
    fn a_waker_kept_forever_does_not_hold_back_node_reuse() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        let first = park_one(&mut slots, 0);
        // Kept for the whole test, as by a registry that never lets go.
        let forever = waker(&mut slots, first);
        slots.cancel(first);
        // Every later occupant's waker is kept until the next one replaces
        // it, so every refill retires the node it finds.
        let mut kept = None;
        for tag in 1..if cfg!(miri) { 500 } else { 20_000 } {
            let id = park_one(&mut slots, tag);
            let next = waker(&mut slots, id);
            slots.cancel(id);
            kept = Some(next);
        }
        drop(kept);
        assert!(
            slots.nodes() <= 2 + SWEEP_MIN,
            "{} nodes for one slot and one waker kept forever",
            slots.nodes()
        );
        drop(forever);
    }

    #[test]
    fn sweep_finds_idle_nodes_behind_ones_still_held() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        // Four nodes retired with their wakers held; the oldest stays held.
        let mut held = vec![];
        for tag in 0..4 {
            let id = park_one(&mut slots, tag);
            held.push(waker(&mut slots, id));
            slots.cancel(id);
        }
        let id = park_one(&mut slots, 4);
        assert_eq!(slots.nodes(), 5);
        // All but the oldest waker go: those nodes are idle, behind it.
        held.truncate(1);
        let mut nodes_seen = vec![];
        for tag in 5..20 {
            let next = waker(&mut slots, id);
            slots.cancel(id);
            let again = park_one(&mut slots, tag);
            assert_eq!(again, id);
            nodes_seen.push(slots.slot_mut(id.0).node_id().unwrap());
            drop(next);
        }
        assert_eq!(
            slots.nodes(),
            5,
            "idle retired nodes were reused, no new ones"
        );
        assert!(
            !nodes_seen.contains(&0),
            "the node whose waker is held was handed out"
        );
        drop(held);
    }

    #[test]
    fn park_wakes_the_parent_only_when_something_is_queued() {
        use core::sync::atomic::{AtomicUsize, Ordering};
        struct Count(AtomicUsize);
        impl alloc::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let parent = Waker::from(Arc::clone(&count));
        let mut slots: Slots<Pending<()>> = Slots::new();
        slots.begin_round();
        let a = park_one(&mut slots, 0);
        slots.park(&parent);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        wake(&mut slots, a);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // A second wake onto a non-empty queue does not wake the parent again.
        let b = park_one(&mut slots, 1);
        wake(&mut slots, b);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // Parking with wakes not yet taken wakes the parent at once.
        slots.park(&parent);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn panicking_future_is_dropped_and_its_slot_freed() {
        struct Boom;
        impl Future for Boom {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
                panic!("boom")
            }
        }
        extern crate std;
        let mut slots: Slots<Boom> = Slots::new();
        let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
            slots.insert_and_poll(Boom, 0)
        }));
        assert!(result.is_err());
        assert_eq!(slots.in_use(), 0);
        assert!(!slots.holds(SlotId(0), 0));
        let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
            slots.insert_and_poll(Boom, 1)
        }));
        assert!(result.is_err());
        assert_eq!(slots.capacity(), 1, "the freed slot was reused");
    }

    #[test]
    fn waker_outlives_the_arena_and_frees_the_nodes_last() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        let mut kept = vec![];
        for tag in 0..9 {
            let id = park_one(&mut slots, tag);
            kept.push(waker(&mut slots, id));
        }
        let shared = Arc::clone(&slots.shared);
        assert_eq!(Arc::strong_count(&shared), 2 + 9);
        drop(slots);
        assert_eq!(Arc::strong_count(&shared), 1 + 9);
        // Waking after the stream is gone pushes onto a queue nobody reads.
        for waker in kept.drain(..5) {
            waker.wake();
        }
        kept[0].wake_by_ref();
        assert!(!shared.is_empty());
        drop(kept);
        assert_eq!(Arc::strong_count(&shared), 1);
    }
}
