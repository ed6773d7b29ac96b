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
//! * **Pinning.** Each slot's future lives in its own `Pin<Box<Option<Fut>>>`,
//!   allocated when the slot is created and refilled in place with
//!   [`Pin::set`]. The `Vec` of slots may grow and move, but a future never
//!   does, so nothing in a stream needs pinning and every stream is `Unpin`.
//! * **Waking.** Each slot owns one [`SlotWaker`] (an `Arc`, converted to a
//!   [`Waker`] once). Waking it pushes the slot id onto the shared
//!   [`ReadyQueue`]; see `waker.rs` for the protocol.
//! * **Polling rounds.** A call to the stream's `poll_next` is one round
//!   ([`Slots::begin_round`]). [`Slots::next_woken`] takes the queue at most
//!   once per round and returns the woken slots in the order they were woken.
//!   A slot already polled in this round (a refill's first poll, or a future
//!   that woke itself) is left for the next round, so no future is polled twice
//!   in one call and a self-waking future cannot make the stream spin.
//! * **Panics.** [`Slots::poll`] drops a future that panics and frees its slot
//!   before the panic leaves the engine.
//! * **Lists.** The free list and the list of finished outputs share one link
//!   field (a slot is in at most one of them); the local ready list has its
//!   own, because a freed slot may still have a stale wake queued.
//!
//! No allocation happens once a slot exists: refilling, waking, queueing and
//! handing out outputs only move values and flip atomics.

mod waker;

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use self::waker::{ReadyQueue, SlotWaker, NIL};

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
    future: Pin<Box<Option<Fut>>>,
    output: Option<Fut::Output>,
    /// Whether the slot is taken (running or holding an output).
    in_use: bool,
    /// The caller's tag for the current occupant (its position in the input).
    tag: usize,
    node: Arc<SlotWaker>,
    waker: Waker,
    /// Next id in the local ready list.
    ready_next: usize,
    /// Next id in the free list or the finished list.
    link: usize,
    /// The round in which the current future was last polled.
    polled_round: usize,
}

/// Slot storage, wakers and ready queue for one stream.
pub(crate) struct Slots<Fut: Future> {
    slots: Vec<Slot<Fut>>,
    queue: Arc<ReadyQueue>,
    in_use: usize,
    free: usize,
    finished: List,
    ready: List,
    round: usize,
    /// Whether the shared queue was already taken in this round.
    drained: bool,
    /// Whether a woken slot was left for the next round.
    stalled: bool,
}

impl<Fut: Future> Slots<Fut> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            queue: Arc::new(ReadyQueue::new()),
            in_use: 0,
            free: NIL,
            finished: List::EMPTY,
            ready: List::EMPTY,
            round: 0,
            drained: false,
            stalled: false,
        }
    }

    /// Slots taken: futures running plus outputs not yet handed out.
    pub(crate) fn in_use(&self) -> usize {
        self.in_use
    }

    /// Slots created so far (the arena never shrinks).
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Puts `future` in a free slot (creating one only if none is free). The
    /// future is not polled.
    pub(crate) fn insert(&mut self, future: Fut, tag: usize) -> SlotId {
        self.in_use += 1;
        if self.free != NIL {
            let id = self.free;
            let slot = &mut self.slots[id];
            self.free = slot.link;
            slot.link = NIL;
            slot.future.as_mut().set(Some(future));
            slot.in_use = true;
            slot.tag = tag;
            return SlotId(id);
        }
        let id = self.slots.len();
        let node = Arc::new(SlotWaker::new(id, Arc::clone(&self.queue)));
        let waker = Waker::from(Arc::clone(&node));
        self.slots.push(Slot {
            future: Box::pin(Some(future)),
            output: None,
            in_use: true,
            tag,
            node,
            waker,
            ready_next: NIL,
            link: NIL,
            polled_round: self.round.wrapping_sub(1),
        });
        SlotId(id)
    }

    /// The tag given to [`insert`](Self::insert) for the slot's occupant.
    pub(crate) fn tag(&self, id: SlotId) -> usize {
        self.slots[id.0].tag
    }

    /// Whether `id` still holds the item tagged `tag` (it does not if that
    /// item's future panicked and the slot was freed or reused).
    pub(crate) fn holds(&self, id: SlotId, tag: usize) -> bool {
        let slot = &self.slots[id.0];
        slot.in_use && slot.tag == tag
    }

    /// Whether the slot holds a finished output.
    pub(crate) fn has_output(&self, id: SlotId) -> bool {
        self.slots[id.0].output.is_some()
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
            id: SlotId,
        }
        impl<Fut: Future> Drop for Bomb<'_, Fut> {
            fn drop(&mut self) {
                // Dropping the future may panic too; that is a double panic
                // and aborts, as with any destructor that panics while
                // unwinding.
                self.slots.slots[self.id.0].future.as_mut().set(None);
                self.slots.release(self.id);
            }
        }

        let round = self.round;
        let bomb = Bomb { slots: self, id };
        let slot = &mut bomb.slots.slots[id.0];
        slot.polled_round = round;
        let future = slot
            .future
            .as_mut()
            .as_pin_mut()
            .expect("limited-as-completed: polled an empty slot");
        let poll = future.poll(&mut Context::from_waker(&slot.waker));
        core::mem::forget(bomb);
        if poll.is_ready() {
            self.slots[id.0].future.as_mut().set(None);
        }
        poll
    }

    /// Frees a slot whose future has finished (or was never stored).
    pub(crate) fn release(&mut self, id: SlotId) {
        let slot = &mut self.slots[id.0];
        debug_assert!(slot.in_use && slot.future.is_none() && slot.output.is_none());
        slot.in_use = false;
        slot.link = self.free;
        self.free = id.0;
        self.in_use -= 1;
    }

    /// Keeps a finished future's output in its slot.
    pub(crate) fn store_output(&mut self, id: SlotId, output: Fut::Output) {
        self.slots[id.0].output = Some(output);
    }

    /// Hands out the output kept in `id` and frees the slot.
    ///
    /// # Panics
    ///
    /// If the slot holds no output (a bug in the caller).
    pub(crate) fn take_output(&mut self, id: SlotId) -> Fut::Output {
        let output = self.slots[id.0]
            .output
            .take()
            .expect("limited-as-completed: no output in slot");
        self.release(id);
        output
    }

    /// Keeps the output in `id` and queues the slot on the finished list,
    /// which hands outputs out first in, first out.
    pub(crate) fn push_finished(&mut self, id: SlotId, output: Fut::Output) {
        let slot = &mut self.slots[id.0];
        slot.output = Some(output);
        slot.link = NIL;
        if self.finished.tail == NIL {
            self.finished.head = id.0;
        } else {
            self.slots[self.finished.tail].link = id.0;
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
        let slot = &mut self.slots[id];
        self.finished.head = slot.link;
        if self.finished.head == NIL {
            self.finished.tail = NIL;
        }
        let tag = slot.tag;
        Some((tag, self.take_output(SlotId(id))))
    }

    /// Starts a polling round: one call of the stream's `poll_next`.
    pub(crate) fn begin_round(&mut self) {
        self.round = self.round.wrapping_add(1);
        self.drained = false;
        self.stalled = false;
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
            let id = self.ready.head;
            let slot = &mut self.slots[id];
            let running = slot.future.is_some();
            if running && slot.polled_round == self.round {
                // Polled once in this round already: keep it (still queued, so
                // no wake is lost) for the next round.
                self.stalled = true;
                return None;
            }
            self.ready.head = slot.ready_next;
            if self.ready.head == NIL {
                self.ready.tail = NIL;
            }
            slot.node.dequeue();
            if running {
                return Some(SlotId(id));
            }
            // A stale wake for a slot that is free or holds an output.
        }
    }

    /// Moves every id from the shared queue to the end of the local ready
    /// list, oldest first.
    fn drain_queue(&mut self) {
        let newest = self.queue.take_all();
        let mut id = newest;
        let mut oldest = NIL;
        while id != NIL {
            let slot = &mut self.slots[id];
            let below = slot.node.next();
            slot.ready_next = oldest;
            oldest = id;
            id = below;
        }
        if oldest == NIL {
            return;
        }
        if self.ready.tail == NIL {
            self.ready.head = oldest;
        } else {
            self.slots[self.ready.tail].ready_next = oldest;
        }
        self.ready.tail = newest;
    }

    /// Prepares to return `Pending`: registers `waker` as the task to wake
    /// when a slot is woken, and wakes it now if a slot is already waiting.
    pub(crate) fn park(&mut self, waker: &Waker) {
        self.queue.register(waker);
        if self.stalled || !self.queue.is_empty() {
            waker.wake_by_ref();
        }
    }
}

impl<Fut: Future> Drop for Slots<Fut> {
    fn drop(&mut self) {
        // The futures drop with `slots`; wakers they handed out may live on,
        // and must not keep the parent task's waker alive with them.
        self.queue.forget_parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use core::future::{pending, ready, Pending, Ready};

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
            slots.slots[ids[i].0].waker.wake_by_ref();
        }
        slots.begin_round();
        let mut seen = vec![];
        while let Some(id) = slots.next_woken() {
            seen.push(id.0);
            assert!(slots.poll(id).is_pending());
        }
        assert_eq!(seen, [3, 0, 4, 1]);
        // Woken again after being dequeued: queued again, in the next round.
        slots.slots[ids[4].0].waker.wake_by_ref();
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
        slots.slots[a.0].waker.wake_by_ref();
        assert_eq!(slots.next_woken(), None);
        assert!(slots.stalled);
        slots.begin_round();
        assert_eq!(slots.next_woken(), Some(a));
    }

    #[test]
    fn stale_wake_of_a_freed_slot_is_skipped() {
        let mut slots: Slots<Ready<u8>> = Slots::new();
        let a = slots.insert(ready(7), 0);
        slots.slots[a.0].waker.wake_by_ref();
        assert_eq!(slots.poll(a), Poll::Ready(7));
        slots.release(a);
        slots.begin_round();
        assert_eq!(slots.next_woken(), None);
        // The slot can be woken and polled again after reuse.
        let b = slots.insert(ready(8), 1);
        slots.slots[b.0].waker.wake_by_ref();
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
        slots.slots[a.0].waker.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // A second wake onto a non-empty queue does not wake the parent again.
        let b = slots.insert(pending(), 1);
        slots.slots[b.0].waker.wake_by_ref();
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
}
