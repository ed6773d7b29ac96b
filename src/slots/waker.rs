//! Per-slot wakers and the ready queue they push onto.
//!
//! Each slot is served by one [`Node`] at a time, kept across refills while
//! it is idle (see `mod.rs`), so a refill allocates nothing. Nodes are
//! allocated a segment at a time (segment `k` holds `2^k` of them, see
//! [`locate`]) and never move; a [`Waker`] for a slot is a raw pointer to its
//! node, and every owned waker, wherever it is cloned to, holds one strong
//! count of the [`Shared`] state that owns all the segments. So a waker may
//! outlive the stream: it then pushes onto a queue nobody reads, and the last
//! waker to go frees the nodes.
//!
//! # Protocol
//!
//! Waking a node pushes its id onto a lock-free stack ([`Shared::head`]); the
//! stream takes the whole stack at once and reverses it, which yields the
//! woken ids in the order they were woken.
//!
//! * `queued` is `true` from the moment a waker claims the slot until the
//!   stream pops the id from its local ready list. Only the waker that flips it
//!   from `false` to `true` pushes, so an id is on the stack (or the local list)
//!   at most once, and a node's `next` is written only by that one waker.
//! * The stream clears `queued` (with an acquire swap) *before* it polls the
//!   future, so a wake that lands during or after the poll queues the slot again
//!   and is never lost.
//! * A push that finds the stack empty wakes the parent task through
//!   [`ParentWaker`]; a push onto a non-empty stack need not, because whoever
//!   made it non-empty already did. Before the stream returns `Pending` it
//!   registers the parent waker and then looks at the stack: a push that the
//!   registration missed is seen by that look (see [`Shared::is_empty`]).
//! * A wake that finds `queued` already set returns at once, even if the
//!   waker that set it has not pushed yet; the stream may then take an empty
//!   stack and return `Pending`. Nothing is lost: that push is still to come,
//!   and it wakes the parent (the loom model of stale wakes covers this).

use alloc::boxed::Box;
use core::mem::ManuallyDrop;
use core::ptr::{self, NonNull};
use core::task::{RawWaker, RawWakerVTable, Waker};

use super::parent_waker::ParentWaker;
use super::sync::{self, Arc, AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

/// Marks the end of a list of slot ids (and the empty stack).
pub(super) const NIL: usize = usize::MAX;

/// Segments in a full arena: enough for every id below [`NIL`].
const SEGMENTS: usize = usize::BITS as usize;

/// Where slot `id` lives: segment 0 holds ids 0 and 1, and segment `k >= 1`
/// holds ids `2^k .. 2^(k+1)`, so `id` is at offset `id - first(k)` of
/// segment `k = log2(max(id, 1))`. The first `k + 1` segments hold exactly
/// `2^(k+1)` slots: a limit that is a power of two fills its segments, and
/// does not allocate a whole segment more for its last item.
#[inline]
pub(super) fn locate(id: usize) -> (usize, usize) {
    debug_assert!(id != NIL);
    let k = (usize::BITS - 1 - (id | 1).leading_zeros()) as usize;
    (k, id - segment_first(k))
}

/// The first id in segment `k`.
#[inline]
pub(super) const fn segment_first(k: usize) -> usize {
    (1 << k) & !1
}

/// The number of slots in segment `k`.
#[inline]
pub(super) const fn segment_len(k: usize) -> usize {
    1 << if k == 0 { 1 } else { k }
}

/// The state shared by the stream and every waker of its slots: the stack of
/// woken ids, the parent task's waker, and the node segments.
pub(super) struct Shared {
    /// Id of the most recently woken slot, [`NIL`] when empty. Each pushed slot
    /// links to the one below it through its node's `next`.
    head: AtomicUsize,
    /// The task that polls the stream.
    parent: ParentWaker,
    /// `segments[k]` points to segment `k` of the nodes (`segment_len(k)` of
    /// them), or is null until the stream grows that far. Written only by the
    /// stream; freed in `Drop`.
    segments: [AtomicPtr<Node>; SEGMENTS],
}

impl core::fmt::Debug for Shared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared")
            .field("head", &self.head.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            head: AtomicUsize::new(NIL),
            parent: ParentWaker::new(),
            segments: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        })
    }

    /// Allocates node segment `k`. Only the stream calls this, once per `k`,
    /// in increasing order of `k`.
    ///
    /// Takes the `Arc` as `this` rather than `self` because loom's `Arc`
    /// (see `sync.rs`) cannot be a method receiver.
    pub(super) fn grow(this: &Arc<Self>, k: usize) {
        let first = segment_first(k);
        let shared = Arc::as_ptr(this);
        let nodes: Box<[Node]> = (0..segment_len(k))
            .map(|offset| Node {
                queued: AtomicBool::new(false),
                next: AtomicU32::new(NIL32),
                slot: AtomicU32::new(NIL32),
                clones: AtomicUsize::new(0),
                id: to_u32(first + offset),
                shared,
            })
            .collect();
        let nodes = Box::into_raw(nodes).cast::<Node>();
        let old = this.segments[k].swap(nodes, Ordering::Release);
        assert!(
            old.is_null(),
            "limited-as-completed: node segment {k} grown twice"
        );
    }

    /// The node of slot `id`.
    ///
    /// # Panics
    ///
    /// If the segment of `id` was never grown (a bug in the caller).
    #[inline]
    pub(super) fn node(&self, id: usize) -> &Node {
        let (k, offset) = locate(id);
        let segment = self.segments[k].load(Ordering::Acquire);
        assert!(
            !segment.is_null(),
            "limited-as-completed: no node for slot {id}"
        );
        // SAFETY: a non-null `segments[k]` came from `Box::into_raw` of
        // `segment_len(k)` nodes in `grow` and is freed only when `self` drops;
        // `offset < segment_len(k)` by `locate`. Nodes are only read through
        // shared references (their mutable state is atomic).
        unsafe { &*segment.add(offset) }
    }

    /// A direct pointer to the node of slot `id`, for the stream to keep.
    pub(super) fn node_ref(&self, id: usize) -> NodeRef {
        NodeRef(NonNull::from(self.node(id)))
    }

    /// Whether the stack looked empty just now (a relaxed look: a push it
    /// misses is taken by the next round, or seen by the look of
    /// [`is_empty`](Self::is_empty) when the stream parks).
    #[inline]
    pub(super) fn looks_empty(&self) -> bool {
        self.head.load(Ordering::Relaxed) == NIL
    }

    /// Takes every queued id at once, newest first, linked through the nodes'
    /// `next`.
    #[inline]
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
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.head.load(Ordering::Acquire) == NIL
    }

    /// Under loom only: makes loom see the stream's next look at the ready
    /// stack as racing with any waker's push. Called as a round begins and
    /// as the stream parks, the two places the stream looks.
    ///
    /// loom 0.7 judges whether two steps race from the *last* access to a
    /// location only, and a push reads `head` before it writes it: that read
    /// hides the stream's earlier read of `head` (a read, so it never races
    /// with a read) from the push's compare-exchange, and loom never tries
    /// the push before the stream's read (tokio-rs/loom#166, #392). Measured:
    /// a model with one waker and one `take_all` ran one interleaving, never
    /// the push first. A relaxed read-modify-write that keeps the value is a
    /// write to loom, so a push that reads `head` after it races with it, and
    /// loom tries the push on both sides of it and of what follows.
    #[cfg(loom)]
    pub(super) fn loom_touch(&self) {
        self.head.fetch_and(usize::MAX, Ordering::Relaxed);
    }

    /// Records the task to wake when a slot is woken; hands back the waker
    /// it replaced, for the caller to drop last (see [`ParentWaker::register`]).
    #[inline]
    #[must_use]
    pub(super) fn register(&self, waker: &Waker) -> Option<Waker> {
        self.parent.register(waker)
    }

    /// Frees, once the stream is gone, every block of nodes that no owned
    /// waker points into (`blocks` is how many were grown), so that a waker
    /// kept after the stream keeps only its own block, not all of them.
    ///
    /// Called by the dropping stream after its futures are gone: no borrowed
    /// waker exists any more, and a node whose count of owned wakers is 0 has
    /// none, and cannot get one (a waker is cloned only from a waker). A
    /// waker that drops its count concurrently does not touch its node after
    /// (`drop_waker`); wakers never reach other nodes; the stack of woken
    /// ids is not read again. Blocks that are still held are freed with
    /// `Shared`, by the last waker.
    pub(super) fn free_unheld(&self, blocks: usize) {
        for (k, segment) in self.segments.iter().enumerate().take(blocks) {
            let nodes = segment.load(Ordering::Acquire);
            if nodes.is_null() {
                continue;
            }
            let len = segment_len(k);
            // SAFETY: as in `node`: a non-null block holds `len` live nodes,
            // read through shared references only.
            let held = (0..len).any(|offset| unsafe { &*nodes.add(offset) }.is_held());
            if held {
                continue;
            }
            segment.store(ptr::null_mut(), Ordering::Relaxed);
            let nodes = ptr::slice_from_raw_parts_mut(nodes, len);
            // SAFETY: `nodes` came from `Box::into_raw` of `len` nodes in
            // `grow`, and no waker can reach them (see above); the null
            // stored keeps `Drop` from freeing them again.
            drop(unsafe { Box::from_raw(nodes) });
        }
    }

    /// Takes the stored parent waker out, so a slot waker that outlives the
    /// stream does not keep the parent task alive; the caller drops it.
    #[must_use]
    pub(super) fn forget_parent(&self) -> Option<Waker> {
        self.parent.forget()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        for (k, segment) in self.segments.iter_mut().enumerate() {
            let nodes = sync::get_mut(segment);
            if !nodes.is_null() {
                let nodes = ptr::slice_from_raw_parts_mut(nodes, segment_len(k));
                // SAFETY: `nodes` came from `Box::into_raw` of a boxed slice of
                // `segment_len(k)` nodes in `grow`; this is the last reference
                // to `Shared`, so no waker can reach a node any more.
                drop(unsafe { Box::from_raw(nodes) });
            }
        }
    }
}

/// A pointer to a node that the stream keeps beside the slot it serves, so
/// that polling does not look the node up.
#[derive(Debug)]
pub(super) struct NodeRef(NonNull<Node>);

// SAFETY: a `NodeRef` is only dereferenced through `get`, whose caller keeps
// the owning `Shared` alive; a `Node` is only ever used through shared
// references, and its mutable state is atomic, so any thread may use it.
unsafe impl Send for NodeRef {}
// SAFETY: as for `Send` above.
unsafe impl Sync for NodeRef {}

impl NodeRef {
    /// The node.
    ///
    /// # Safety
    ///
    /// The `Shared` that owns the node must be alive for as long as the
    /// returned reference is used.
    #[inline]
    pub(super) unsafe fn get(&self) -> &Node {
        // SAFETY: made from a live `&Node` in `Shared::node_ref`; nodes never
        // move or go until their `Shared` drops, which the caller rules out.
        unsafe { self.0.as_ref() }
    }
}

/// The waking end of one slot.
///
/// 32 bytes, so that no node straddles two cache lines: ids are kept as `u32`
/// ([`NIL`] as `u32::MAX`; [`Slots`](super::Slots) makes no node past
/// [`MAX_NODES`]).
#[derive(Debug)]
pub(super) struct Node {
    /// Wakers of this node that are owned (cloned) rather than borrowed for a
    /// poll. While any exist, the node may be woken at any time.
    clones: AtomicUsize,
    /// The `Shared` that owns this node; every waker of the node holds one
    /// strong count of it.
    shared: *const Shared,
    /// The id below this one on the stack; written only by the waker that
    /// set `queued`, read only by the stream after taking the stack. Once the
    /// stream has taken the stack, and until it dequeues the node, no waker
    /// writes it (`queued` stays set), and the stream links its own ready
    /// lists through it.
    next: AtomicU32,
    /// The slot this node serves, [`NIL`] while retired. Only the stream
    /// reads or writes it; wakers never look at it.
    slot: AtomicU32,
    id: u32,
    /// `true` while the id is on the stack or in the stream's local list.
    queued: AtomicBool,
}

/// [`NIL`] as a node keeps it.
const NIL32: u32 = u32::MAX;

/// How many nodes a stream may make: every id below [`NIL32`].
pub(super) const MAX_NODES: usize = NIL32 as usize;

/// An id (or [`NIL`]) as a node keeps it.
#[inline]
fn to_u32(id: usize) -> u32 {
    if id == NIL {
        NIL32
    } else {
        debug_assert!(id < MAX_NODES);
        id as u32
    }
}

/// An id (or [`NIL`]) from a node.
#[inline]
fn from_u32(id: u32) -> usize {
    if id == NIL32 {
        NIL
    } else {
        id as usize
    }
}

impl Node {
    /// This node's id.
    pub(super) fn id(&self) -> usize {
        self.id as usize
    }

    /// The id below this one on a chain returned by [`Shared::take_all`],
    /// or the next one in the stream's local list.
    #[inline]
    pub(super) fn next(&self) -> usize {
        from_u32(self.next.load(Ordering::Relaxed))
    }

    /// Links the node in the stream's local list. Only for a node taken from
    /// the stack and not yet dequeued, which no waker writes to.
    #[inline]
    pub(super) fn set_next(&self, next: usize) {
        self.next.store(to_u32(next), Ordering::Relaxed);
    }

    /// The slot this node serves, [`NIL`] while retired.
    #[inline]
    pub(super) fn slot(&self) -> usize {
        from_u32(self.slot.load(Ordering::Relaxed))
    }

    /// Attaches the node to `slot` ([`NIL`] to retire it).
    #[inline]
    pub(super) fn set_slot(&self, slot: usize) {
        self.slot.store(to_u32(slot), Ordering::Relaxed);
    }

    /// Whether nothing can wake this node any more: no owned waker exists and
    /// no wake is queued. Only then may the node serve a new future without
    /// that future seeing a wake meant for an earlier one.
    ///
    /// A waker that wakes and then drops queues the node before it releases
    /// its count (release), and this reads the count first (acquire), so a
    /// count of 0 is never read together with a stale `queued == false`.
    #[inline]
    pub(super) fn is_idle(&self) -> bool {
        self.clones.load(Ordering::Acquire) == 0 && !self.queued.load(Ordering::Acquire)
    }

    /// Whether an owned waker of this node exists.
    fn is_held(&self) -> bool {
        self.clones.load(Ordering::Acquire) != 0
    }

    /// Called by the stream when it pops this id, before polling the future.
    ///
    /// The acquire half makes whatever the waker's caller wrote before waking
    /// visible to the poll that follows; the release half lets a later wake
    /// see `false` and queue the slot again.
    pub(super) fn dequeue(&self) {
        self.queued.swap(false, Ordering::AcqRel);
    }

    /// A waker for this node that borrows the stream's count of `Shared`
    /// instead of holding its own: valid while the stream's `Arc<Shared>` is,
    /// which is for the whole poll it is made for. Clones hold their own count.
    pub(super) fn waker_ref(&self) -> ManuallyDrop<Waker> {
        let raw = RawWaker::new((self as *const Node).cast(), &VTABLE);
        // SAFETY: the vtable functions below uphold the `RawWaker` contract
        // (thread safe, `clone` returns an equivalent waker) for any pointer
        // to a live node; `ManuallyDrop` keeps this borrowed waker from
        // dropping a count it does not hold.
        ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
    }

    fn schedule(&self, shared: &Shared) {
        if self.queued.swap(true, Ordering::AcqRel) {
            // Already on the stack or in the local list: it will be polled.
            return;
        }
        let mut head = shared.head.load(Ordering::Relaxed);
        loop {
            self.next.store(to_u32(head), Ordering::Relaxed);
            match shared.head.compare_exchange_weak(
                head,
                self.id as usize,
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
}

static VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_waker, wake_waker_by_ref, drop_waker);

/// # Safety
///
/// `data` points to a live node of a live `Shared`: true for the data of every
/// waker made by [`Node::waker_ref`] or cloned from one, while it exists.
unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: by this function's contract.
    let node = unsafe { &*data.cast::<Node>() };
    node.clones.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `node.shared` came from `Arc::as_ptr` and the `Shared` is alive
    // (the waker being cloned holds or borrows a count); the new waker holds
    // the count added here.
    unsafe { Arc::increment_strong_count(node.shared) };
    RawWaker::new(data, &VTABLE)
}

/// # Safety
///
/// As [`clone_waker`]; the waker owns one count of its `Shared`, given up here.
unsafe fn wake_waker(data: *const ()) {
    /// Gives up the waker's count when dropped: after the wake, or as a
    /// panic unwinds out of it (a parent task's waker that panics), so that
    /// a waker consumed by `wake` never stays counted.
    struct Consumed(*const ());
    impl Drop for Consumed {
        fn drop(&mut self) {
            // SAFETY: by the contract of `wake_waker`, whose count this is;
            // dropped once.
            unsafe { drop_waker(self.0) };
        }
    }
    let consumed = Consumed(data);
    // SAFETY: by this function's contract.
    unsafe { wake_waker_by_ref(data) };
    drop(consumed);
}

/// # Safety
///
/// As [`clone_waker`].
unsafe fn wake_waker_by_ref(data: *const ()) {
    // SAFETY: by this function's contract.
    let node = unsafe { &*data.cast::<Node>() };
    // SAFETY: the `Shared` is alive while a waker of its node exists.
    node.schedule(unsafe { &*node.shared });
}

/// # Safety
///
/// As [`clone_waker`]; the waker owns one count of its `Shared`, given up here.
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: by this function's contract.
    let node = unsafe { &*data.cast::<Node>() };
    // Read before the count goes: once it is 0, a dropped stream may free
    // the node's block (`Shared::free_unheld`).
    let shared = node.shared;
    // Release: a wake by this waker happened before; see `Node::is_idle`.
    node.clones.fetch_sub(1, Ordering::Release);
    // SAFETY: the waker owns one count of `shared`, from `clone_waker`. The
    // node is not touched after its count went, and `Shared` may be freed by
    // this call.
    unsafe { Arc::decrement_strong_count(shared) };
}

// A child of this module, so that the must-fail model can plant a bug in a
// copy of `Node::schedule` over the real, private node fields.
#[cfg(all(test, loom))]
#[path = "loom_tests.rs"]
mod loom_tests;

#[cfg(test)]
mod tests {
    use super::{from_u32, locate, segment_first, segment_len, to_u32, Node, MAX_NODES, NIL};

    #[test]
    fn a_node_is_half_a_cache_line() {
        #[cfg(target_pointer_width = "64")]
        assert_eq!(core::mem::size_of::<Node>(), 32);
        assert!(core::mem::size_of::<Node>() <= 32);
    }

    #[test]
    fn node_ids_keep_nil() {
        assert_eq!(from_u32(to_u32(NIL)), NIL);
        assert_eq!(from_u32(to_u32(0)), 0);
        assert_eq!(from_u32(to_u32(MAX_NODES - 1)), MAX_NODES - 1);
    }

    #[test]
    fn locate_maps_ids_onto_doubling_segments() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1), (0, 1));
        assert_eq!(locate(2), (1, 0));
        assert_eq!(locate(3), (1, 1));
        assert_eq!(locate(4), (2, 0));
        assert_eq!(locate(7), (2, 3));
        assert_eq!(locate(8), (3, 0));
        assert_eq!(
            locate(usize::MAX - 1),
            (usize::BITS as usize - 1, segment_len(63) - 2)
        );
        // Ids are dense: each one is the next offset of its segment, and a
        // segment starts where the one before it ends.
        let mut expected = (0, 0);
        for id in 0..10_000 {
            assert_eq!(locate(id), expected, "id {id}");
            let (k, offset) = expected;
            assert_eq!(segment_first(k) + offset, id);
            expected = if offset + 1 == segment_len(k) {
                (k + 1, 0)
            } else {
                (k, offset + 1)
            };
        }
        // A power-of-two count of slots fills its segments exactly.
        for k in 0..20 {
            let last = (1usize << (k + 1)) - 1;
            assert_eq!(locate(last), (k, segment_len(k) - 1));
        }
    }
}
