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
//! * **Storage.** Slots live in segments that double in size (segment `k`
//!   holds `2^k` slots, see [`waker::locate`]), each allocated once when the
//!   first of its slots is needed and never moved or freed before the arena
//!   is. So `n` live items cost about `2 log2 n` allocations in all, and
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
//!   ([`Slots::begin_round`]). [`Slots::next_woken`] takes the ready stack at
//!   most once per round and returns the woken slots in the order they were
//!   woken. A slot already polled in this round (a refill's first poll, or a
//!   future that woke itself) is deferred to the front of the next round, so
//!   no future is polled twice in one call and a self-waking future cannot
//!   make the stream spin, while the slots woken after it are still polled.
//! * **Panics.** [`Slots::poll`] drops a future that panics and frees its slot
//!   before the panic leaves the engine.
//! * **Lists.** The free list and the list of finished outputs share one link
//!   field of the slots (a slot is in at most one of them); the local ready
//!   and deferred lists link node ids through the stream's own node table.
//!
//! No allocation happens once a slot exists: refilling, waking, queueing and
//! handing out outputs only move values and flip atomics.
//!
//! The `unsafe` of the crate is here: pinning futures in place (below) and the
//! raw wakers and parent-waker cell of `waker.rs`.

mod waker;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use self::waker::{locate, segment_len, Shared, NIL};

/// Index of a slot in a [`Slots`] arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotId(usize);

/// A singly linked list of slot ids threaded through the slots themselves.
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
}

struct Slot<Fut: Future> {
    /// Pinned in place while `Some`: see [`Slots::poll`].
    future: Option<Fut>,
    output: Option<Fut::Output>,
    /// Whether the slot is taken (running or holding an output).
    in_use: bool,
    /// The caller's tag for the current occupant (its position in the input).
    tag: usize,
    /// The node whose wakers wake this slot; [`NIL`] before the first insert.
    node: usize,
    /// Next id in the free list or the finished list.
    link: usize,
    /// The round in which the current future was last polled.
    polled_round: usize,
}

impl<Fut: Future> Slot<Fut> {
    fn vacant() -> Self {
        Self {
            future: None,
            output: None,
            in_use: false,
            tag: 0,
            node: NIL,
            link: NIL,
            polled_round: 0,
        }
    }
}

/// The stream's own record of a node (the shared part is [`Node`](waker::Node)).
#[derive(Clone, Copy, Debug)]
struct NodeLink {
    /// The slot the node serves, [`NIL`] while retired.
    slot: usize,
    /// Next node id in the local ready or deferred list.
    next: usize,
}

/// Slot storage, wakers and ready queue for one stream.
pub(crate) struct Slots<Fut: Future> {
    /// `segments[k]` holds `segment_len(k)` slots; never resized or moved.
    segments: Vec<Box<[Slot<Fut>]>>,
    shared: Arc<Shared>,
    /// Slots handed out so far: ids `0..created`.
    created: usize,
    in_use: usize,
    free: usize,
    finished: List,
    /// One entry per node created, indexed by node id.
    nodes: Vec<NodeLink>,
    /// Node segments allocated in `shared`.
    node_segments: usize,
    /// Nodes detached from their slot while something could still wake
    /// them, oldest first.
    retired: VecDeque<usize>,
    /// Woken node ids still to look at in this round, in wake order.
    ready: List,
    /// Woken node ids whose slot was already polled in this round: first in
    /// the next one.
    deferred: List,
    round: usize,
    /// Whether the shared queue was already taken in this round.
    drained: bool,
}

impl<Fut: Future> Slots<Fut> {
    pub(crate) fn new() -> Self {
        Self {
            segments: Vec::new(),
            shared: Shared::new(),
            created: 0,
            in_use: 0,
            free: NIL,
            finished: List::EMPTY,
            nodes: Vec::new(),
            node_segments: 0,
            retired: VecDeque::new(),
            ready: List::EMPTY,
            deferred: List::EMPTY,
            round: 0,
            drained: false,
        }
    }

    /// Slots taken: futures running plus outputs not yet handed out.
    pub(crate) fn in_use(&self) -> usize {
        self.in_use
    }

    /// Slots created so far (the arena never shrinks).
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.created
    }

    #[inline]
    fn slot(&self, id: usize) -> &Slot<Fut> {
        let (k, offset) = locate(id);
        &self.segments[k][offset]
    }

    #[inline]
    fn slot_mut(&mut self, id: usize) -> &mut Slot<Fut> {
        let (k, offset) = locate(id);
        &mut self.segments[k][offset]
    }

    /// Puts `future` in a free slot (creating one only if none is free). The
    /// future is not polled.
    pub(crate) fn insert(&mut self, future: Fut, tag: usize) -> SlotId {
        let id = if self.free != NIL {
            let id = self.free;
            let slot = self.slot(id);
            let (link, node) = (slot.link, slot.node);
            self.free = link;
            if !self.shared.node(node).is_idle() {
                // A waker of the previous occupant is still out there (or its
                // wake still queued): give the new future a node of its own.
                self.nodes[node].slot = NIL;
                self.retired.push_back(node);
                let fresh = self.fresh_node(id);
                self.slot_mut(id).node = fresh;
            }
            id
        } else {
            let id = self.created;
            let (k, _) = locate(id);
            if k == self.segments.len() {
                self.segments
                    .push((0..segment_len(k)).map(|_| Slot::vacant()).collect());
            }
            self.created += 1;
            let node = self.fresh_node(id);
            self.slot_mut(id).node = node;
            id
        };
        self.in_use += 1;
        let round = self.round;
        let slot = self.slot_mut(id);
        debug_assert!(!slot.in_use && slot.future.is_none() && slot.output.is_none());
        slot.future = Some(future);
        slot.in_use = true;
        slot.tag = tag;
        slot.link = NIL;
        slot.polled_round = round.wrapping_sub(1);
        SlotId(id)
    }

    /// An idle node for slot `id`: the oldest retired one if it has become
    /// idle, else a new one.
    fn fresh_node(&mut self, id: usize) -> usize {
        if let Some(&node) = self.retired.front() {
            if self.shared.node(node).is_idle() {
                self.retired.pop_front();
                self.nodes[node].slot = id;
                return node;
            }
        }
        let node = self.nodes.len();
        let (k, _) = locate(node);
        if k == self.node_segments {
            self.shared.grow(k);
            self.node_segments += 1;
        }
        self.nodes.push(NodeLink {
            slot: id,
            next: NIL,
        });
        node
    }

    /// The tag given to [`insert`](Self::insert) for the slot's occupant.
    pub(crate) fn tag(&self, id: SlotId) -> usize {
        self.slot(id.0).tag
    }

    /// Whether `id` still holds the item tagged `tag` (it does not if that
    /// item's future panicked and the slot was freed or reused).
    pub(crate) fn holds(&self, id: SlotId, tag: usize) -> bool {
        let slot = self.slot(id.0);
        slot.in_use && slot.tag == tag
    }

    /// Whether the slot holds a finished output.
    pub(crate) fn has_output(&self, id: SlotId) -> bool {
        self.slot(id.0).output.is_some()
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
    pub(crate) fn poll(&mut self, id: SlotId) -> Poll<Fut::Output> {
        /// Frees the slot if the poll unwinds.
        struct Bomb<'a, Fut: Future> {
            slots: &'a mut Slots<Fut>,
            id: usize,
        }
        impl<Fut: Future> Drop for Bomb<'_, Fut> {
            fn drop(&mut self) {
                // Dropping the future may panic too; that is a double panic
                // and aborts, as with any destructor that panics while
                // unwinding.
                self.slots.slot_mut(self.id).future = None;
                self.slots.release(SlotId(self.id));
            }
        }

        let round = self.round;
        let slot = self.slot_mut(id.0);
        assert!(
            slot.future.is_some(),
            "limited-as-completed: polled an empty slot"
        );
        slot.polled_round = round;
        let node = slot.node;
        let waker = self.shared.node(node).waker_ref();
        // Armed only once the slot is known to hold a future.
        let bomb = Bomb {
            slots: self,
            id: id.0,
        };
        let slot = bomb.slots.slot_mut(id.0);
        // SAFETY: the future is never moved while it is `Some`: it lives in a
        // boxed segment that is neither resized, moved nor freed before the
        // arena drops (only the `Box` pointer moves when `segments` grows), and
        // it leaves its slot only by being dropped in place (`= None`), here
        // on completion or panic, or when the arena drops. Nothing else takes
        // `&mut` to it.
        let future = unsafe { Pin::new_unchecked(&mut slot.future) };
        let poll = match future.as_pin_mut() {
            Some(future) => future.poll(&mut Context::from_waker(&waker)),
            None => unreachable!("checked above"),
        };
        core::mem::forget(bomb);
        if poll.is_ready() {
            self.slot_mut(id.0).future = None;
        }
        poll
    }

    /// Frees a slot whose future has finished (or was never stored).
    pub(crate) fn release(&mut self, id: SlotId) {
        let free = self.free;
        let slot = self.slot_mut(id.0);
        debug_assert!(slot.in_use && slot.future.is_none() && slot.output.is_none());
        slot.in_use = false;
        slot.link = free;
        self.free = id.0;
        self.in_use -= 1;
    }

    /// Keeps a finished future's output in its slot.
    pub(crate) fn store_output(&mut self, id: SlotId, output: Fut::Output) {
        self.slot_mut(id.0).output = Some(output);
    }

    /// Hands out the output kept in `id` and frees the slot.
    ///
    /// # Panics
    ///
    /// If the slot holds no output (a bug in the caller).
    pub(crate) fn take_output(&mut self, id: SlotId) -> Fut::Output {
        let output = self
            .slot_mut(id.0)
            .output
            .take()
            .expect("limited-as-completed: no output in slot");
        self.release(id);
        output
    }

    /// Keeps the output in `id` and queues the slot on the finished list,
    /// which hands outputs out first in, first out.
    pub(crate) fn push_finished(&mut self, id: SlotId, output: Fut::Output) {
        let slot = self.slot_mut(id.0);
        slot.output = Some(output);
        slot.link = NIL;
        if self.finished.tail == NIL {
            self.finished.head = id.0;
        } else {
            let tail = self.finished.tail;
            self.slot_mut(tail).link = id.0;
        }
        self.finished.tail = id.0;
    }

    /// Hands out the oldest output on the finished list, with its tag, and
    /// frees its slot.
    pub(crate) fn pop_finished(&mut self) -> Option<(usize, Fut::Output)> {
        let id = self.finished.head;
        if id == NIL {
            return None;
        }
        let slot = self.slot(id);
        let (link, tag) = (slot.link, slot.tag);
        self.finished.head = link;
        if self.finished.head == NIL {
            self.finished.tail = NIL;
        }
        Some((tag, self.take_output(SlotId(id))))
    }

    /// Starts a polling round: one call of the stream's `poll_next`. Wakes
    /// deferred from the last round come first.
    pub(crate) fn begin_round(&mut self) {
        self.round = self.round.wrapping_add(1);
        self.drained = false;
        if self.deferred.head != NIL {
            self.nodes[self.deferred.tail].next = self.ready.head;
            if self.ready.tail == NIL {
                self.ready.tail = self.deferred.tail;
            }
            self.ready.head = self.deferred.head;
            self.deferred = List::EMPTY;
        }
    }

    /// The next woken slot to poll in this round, in wake order; `None` when
    /// nothing more is to be polled in this round.
    pub(crate) fn next_woken(&mut self) -> Option<SlotId> {
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
            let NodeLink { slot: id, next } = self.nodes[node];
            self.ready.head = next;
            if next == NIL {
                self.ready.tail = NIL;
            }
            if id != NIL {
                let slot = self.slot(id);
                if slot.future.is_some() {
                    if slot.polled_round == self.round {
                        // Polled once in this round already: it stays queued
                        // (so no wake is lost) and goes first next round.
                        self.nodes[node].next = NIL;
                        if self.deferred.tail == NIL {
                            self.deferred.head = node;
                        } else {
                            self.nodes[self.deferred.tail].next = node;
                        }
                        self.deferred.tail = node;
                        continue;
                    }
                    self.shared.node(node).dequeue();
                    return Some(SlotId(id));
                }
            }
            // A wake for a retired node, or for a slot that is free or holds
            // an output: nothing to poll.
            self.shared.node(node).dequeue();
        }
    }

    /// Moves every id from the shared queue to the end of the local ready
    /// list, oldest first.
    fn drain_queue(&mut self) {
        let newest = self.shared.take_all();
        let mut node = newest;
        let mut oldest = NIL;
        while node != NIL {
            let below = self.shared.node(node).next();
            self.nodes[node].next = oldest;
            oldest = node;
            node = below;
        }
        if oldest == NIL {
            return;
        }
        if self.ready.tail == NIL {
            self.ready.head = oldest;
        } else {
            self.nodes[self.ready.tail].next = oldest;
        }
        self.ready.tail = newest;
    }

    /// Prepares to return `Pending`: registers `waker` as the task to wake
    /// when a slot is woken, and wakes it now if a slot is already waiting.
    pub(crate) fn park(&mut self, waker: &Waker) {
        self.shared.register(waker);
        if self.deferred.head != NIL || !self.shared.is_empty() {
            waker.wake_by_ref();
        }
    }
}

impl<Fut: Future> Drop for Slots<Fut> {
    fn drop(&mut self) {
        // The futures drop in place with `segments`; wakers they handed out
        // may live on, and must not keep the parent task's waker alive.
        self.shared.forget_parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use core::future::{pending, ready, Pending, Ready};

    fn wake<Fut: Future>(slots: &Slots<Fut>, id: SlotId) {
        waker(slots, id).wake_by_ref();
    }

    fn waker<Fut: Future>(slots: &Slots<Fut>, id: SlotId) -> Waker {
        Waker::clone(&slots.shared.node(slots.slot(id.0).node).waker_ref())
    }

    #[test]
    fn freed_slot_is_reused_before_a_new_one_is_created() {
        let mut slots: Slots<Ready<u32>> = Slots::new();
        let a = slots.insert(ready(1), 0);
        let b = slots.insert(ready(2), 1);
        assert_eq!(slots.poll(a), Poll::Ready(1));
        slots.release(a);
        let c = slots.insert(ready(3), 2);
        assert_eq!(c, a);
        assert_eq!(slots.capacity(), 2);
        assert_eq!(slots.in_use(), 2);
        assert_eq!(slots.tag(c), 2);
        assert_eq!(slots.poll(b), Poll::Ready(2));
        slots.release(b);
        assert_eq!(slots.in_use(), 1);
    }

    #[test]
    fn slots_grow_one_per_live_item() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        for tag in 0..10 {
            slots.insert(pending(), tag);
        }
        assert_eq!(slots.capacity(), 10);
        assert_eq!(slots.in_use(), 10);
    }

    #[test]
    fn woken_ids_come_out_in_wake_order_once_each() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        let ids: Vec<SlotId> = (0..5).map(|tag| slots.insert(pending(), tag)).collect();
        slots.begin_round();
        for &id in &ids {
            assert!(slots.poll(id).is_pending());
        }
        let order = [3, 0, 4, 0, 3, 1];
        for i in order {
            wake(&slots, ids[i]);
        }
        slots.begin_round();
        let mut seen = vec![];
        while let Some(id) = slots.next_woken() {
            seen.push(id.0);
            assert!(slots.poll(id).is_pending());
        }
        assert_eq!(seen, [3, 0, 4, 1]);
        // Woken again after being dequeued: queued again, in the next round.
        wake(&slots, ids[4]);
        assert_eq!(slots.next_woken(), None);
        slots.begin_round();
        assert_eq!(slots.next_woken(), Some(ids[4]));
        assert_eq!(slots.next_woken(), None);
    }

    #[test]
    fn slot_polled_this_round_is_left_for_the_next() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        slots.begin_round();
        let a = slots.insert(pending(), 0);
        assert!(slots.poll(a).is_pending());
        wake(&slots, a);
        assert_eq!(slots.next_woken(), None);
        assert_eq!(slots.deferred.head, slots.slot(a.0).node);
        slots.begin_round();
        assert_eq!(slots.next_woken(), Some(a));
    }

    #[test]
    fn stale_wake_of_a_freed_slot_is_skipped() {
        let mut slots: Slots<Ready<u8>> = Slots::new();
        let a = slots.insert(ready(7), 0);
        wake(&slots, a);
        assert_eq!(slots.poll(a), Poll::Ready(7));
        slots.release(a);
        slots.begin_round();
        assert_eq!(slots.next_woken(), None);
        // The slot can be woken and polled again after reuse.
        let b = slots.insert(ready(8), 1);
        wake(&slots, b);
        slots.begin_round();
        assert_eq!(slots.next_woken(), Some(b));
    }

    #[test]
    fn finished_list_is_first_in_first_out() {
        let mut slots: Slots<Ready<u8>> = Slots::new();
        for (tag, value) in [(0, 10), (1, 11), (2, 12)] {
            let id = slots.insert(ready(value), tag);
            let Poll::Ready(out) = slots.poll(id) else {
                panic!("ready future was pending")
            };
            slots.push_finished(id, out);
        }
        assert_eq!(slots.pop_finished(), Some((0, 10)));
        assert_eq!(slots.pop_finished(), Some((1, 11)));
        let id = slots.insert(ready(13), 3);
        assert_eq!(slots.poll(id), Poll::Ready(13));
        slots.push_finished(id, 13);
        assert_eq!(slots.pop_finished(), Some((2, 12)));
        assert_eq!(slots.pop_finished(), Some((3, 13)));
        assert_eq!(slots.pop_finished(), None);
        assert_eq!(slots.in_use(), 0);
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
        let a = slots.insert(pending(), 0);
        slots.begin_round();
        assert!(slots.poll(a).is_pending());
        slots.park(&parent);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        wake(&slots, a);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // A second wake onto a non-empty queue does not wake the parent again.
        let b = slots.insert(pending(), 1);
        wake(&slots, b);
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
        let a = slots.insert(Boom, 0);
        let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| slots.poll(a)));
        assert!(result.is_err());
        assert_eq!(slots.in_use(), 0);
        assert!(!slots.holds(a, 0));
        assert_eq!(slots.insert(Boom, 1), a);
    }

    #[test]
    fn waker_outlives_the_arena_and_frees_the_nodes_last() {
        let mut slots: Slots<Pending<()>> = Slots::new();
        let mut kept = vec![];
        for tag in 0..9 {
            let id = slots.insert(pending(), tag);
            kept.push(waker(&slots, id));
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
