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
//! A node is 16 bytes: it keeps no pointer to its `Shared`. Each segment is
//! one allocation (a *block*) that starts with a [`Header`] holding that
//! pointer, and a waker finds the header from its node's address and id
//! ([`shared_of`]). So every pointer to a node that a waker or the stream
//! keeps is derived from the block's own pointer ([`Shared::node_ref`]),
//! never from a reference to the node, which would not reach the header.
//!
//! # Protocol
//!
//! Waking a node pushes its id onto a lock-free stack ([`Shared::head`]); the
//! stream takes the whole stack at once and reverses it, which yields the
//! woken ids in the order they were woken.
//!
//! * The node's [`QUEUED`] mark is set from the moment a waker claims the
//!   slot until the stream pops the id from its local ready list. Only the
//!   waker whose read-modify-write sets it pushes, so an id is on the stack
//!   (or the local list) at most once, and a node's `next` is written only by
//!   that one waker.
//! * The stream clears the mark (with an acquire read-modify-write) *before*
//!   it polls the future, so a wake that lands during or after the poll
//!   queues the slot again and is never lost.
//! * A push that finds the stack empty wakes the parent task through
//!   [`ParentWaker`]; a push onto a non-empty stack need not, because whoever
//!   made it non-empty already did. Before the stream returns `Pending` it
//!   registers the parent waker and then looks at the stack: a push that the
//!   registration missed is seen by that look (see [`Shared::is_empty`]).
//! * A wake that finds the mark already set returns at once, even if the
//!   waker that set it has not pushed yet; the stream may then take an empty
//!   stack and return `Pending`. Nothing is lost: that push is still to come,
//!   and it wakes the parent (the loom model of stale wakes covers this).

use alloc::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use core::mem::{self, ManuallyDrop};
use core::ptr::{self, NonNull};
use core::task::{RawWaker, RawWakerVTable, Waker};

use super::parent_waker::ParentWaker;
use super::sync::{self, Arc, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

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
    /// `segments[k]` points to the first node of block `k`
    /// (`segment_len(k)` of them, after the block's [`Header`]), or is null
    /// until the stream grows that far. Written only by the stream; freed in
    /// `Drop` (or in `free_unheld`).
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
        let layout = block_layout(k);
        // SAFETY: the layout is not zero-sized (it holds a header).
        let block = unsafe { alloc(layout) };
        if block.is_null() {
            handle_alloc_error(layout);
        }
        let header = Header {
            shared: Arc::as_ptr(this),
        };
        // SAFETY: `block` is a fresh allocation of `layout`: a header at its
        // start (aligned: the layout's alignment is at least the header's),
        // then `segment_len(k)` nodes from `size_of::<Header>()`, aligned as
        // the header's size is a multiple of a node's alignment (see
        // `block_layout`). Every node is written before the block is
        // published below.
        let nodes = unsafe {
            block.cast::<Header>().write(header);
            let nodes = block.add(mem::size_of::<Header>()).cast::<Node>();
            for offset in 0..segment_len(k) {
                nodes.add(offset).write(Node::new(first + offset));
            }
            nodes
        };
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
        // SAFETY: `node_ptr` points to a live node of this `Shared`, which
        // stays until `self` drops; nodes are only read through shared
        // references (their mutable state is atomic).
        unsafe { &*self.node_ptr(id) }
    }

    /// A pointer to the node of slot `id`, with the provenance of its whole
    /// block (so that [`shared_of`] may reach the header from it).
    ///
    /// # Panics
    ///
    /// If the segment of `id` was never grown (a bug in the caller).
    #[inline]
    fn node_ptr(&self, id: usize) -> *mut Node {
        let (k, offset) = locate(id);
        let segment = self.segments[k].load(Ordering::Acquire);
        assert!(
            !segment.is_null(),
            "limited-as-completed: no node for slot {id}"
        );
        // SAFETY: a non-null `segments[k]` points to the `segment_len(k)`
        // nodes written in `grow`, in one block freed only when `self` drops
        // (or by `free_unheld`, after which no id of it is looked up);
        // `offset < segment_len(k)` by `locate`.
        unsafe { segment.add(offset) }
    }

    /// A direct pointer to the node of slot `id`, for the stream to keep.
    pub(super) fn node_ref(&self, id: usize) -> NodeRef {
        let node = self.node_ptr(id);
        // SAFETY: `node_ptr` offsets a non-null block pointer (it panics on
        // a missing block), so it is never null.
        NodeRef(unsafe { NonNull::new_unchecked(node) })
    }

    /// A waker for slot `id` that borrows the stream's count of `Shared`
    /// instead of holding its own: valid while the stream's `Arc<Shared>`
    /// is, which is for the whole poll it is made for. Clones hold their
    /// own count. (The stream keeps a [`NodeRef`] and uses its
    /// [`waker_ref`](NodeRef::waker_ref); the tests look nodes up.)
    #[cfg(test)]
    pub(super) fn waker_ref(&self, id: usize) -> ManuallyDrop<Waker> {
        // SAFETY: `self` is alive for as long as the caller uses the waker
        // (the contract above).
        unsafe { self.node_ref(id).waker_ref() }
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
            // SAFETY: as in `node_ptr`: a non-null block holds
            // `segment_len(k)` live nodes, read through shared references only.
            let held = (0..segment_len(k)).any(|offset| unsafe { &*nodes.add(offset) }.is_held());
            if held {
                continue;
            }
            segment.store(ptr::null_mut(), Ordering::Relaxed);
            // SAFETY: the nodes of block `k`, from `grow`, which no waker can
            // reach (see above); the null stored keeps `Drop` from freeing
            // them again.
            unsafe { free_block(nodes, k) };
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
                // SAFETY: the nodes of block `k`, from `grow`, not freed yet
                // (`free_unheld` nulls what it frees); this is the last
                // reference to `Shared`, so no waker can reach a node any more.
                unsafe { free_block(nodes, k) };
            }
        }
    }
}

/// What every block of nodes starts with: the `Shared` that owns the block.
/// 16 bytes, so that the nodes after it keep to 16-byte boundaries (no node
/// straddles two cache lines).
#[repr(C, align(16))]
struct Header {
    shared: *const Shared,
}

// A block is a header, then nodes at `size_of::<Header>()`: aligned if a
// node's alignment divides the header's size.
const _: () = assert!(mem::size_of::<Header>() % mem::align_of::<Node>() == 0);

/// The layout of block `k`: a [`Header`], then `segment_len(k)` nodes.
fn block_layout(k: usize) -> Layout {
    let nodes = mem::size_of::<Node>() * segment_len(k);
    let align = mem::align_of::<Header>().max(mem::align_of::<Node>());
    Layout::from_size_align(mem::size_of::<Header>() + nodes, align)
        .expect("limited-as-completed: a block of waker records too large to allocate")
}

/// Drops the nodes of block `k` and frees the block.
///
/// # Safety
///
/// `nodes` is `segments[k]` as `grow` published it, the block is not freed
/// yet, and nothing will reach its nodes again.
unsafe fn free_block(nodes: *mut Node, k: usize) {
    // SAFETY: by the contract: `segment_len(k)` nodes written in `grow`, after
    // a header at the start of an allocation of `block_layout(k)`.
    unsafe {
        ptr::drop_in_place(ptr::slice_from_raw_parts_mut(nodes, segment_len(k)));
        let block = nodes.cast::<u8>().sub(mem::size_of::<Header>());
        dealloc(block, block_layout(k));
    }
}

/// The `Shared` that owns `node`, from the header of its block.
///
/// # Safety
///
/// `node` points to a node of a block that is alive, with the provenance of
/// the whole block: true of every [`NodeRef`] and of the data pointer of
/// every waker made from one, while a waker of the node or the stream keeps
/// the block.
#[inline]
unsafe fn shared_of(node: *const Node) -> *const Shared {
    // SAFETY: by the contract; node `id` is at offset `locate(id).1` of its
    // block's nodes, which start right after the header.
    unsafe {
        let (_, offset) = locate((*node).id as usize);
        let header = node.sub(offset).cast::<Header>().sub(1);
        (*header).shared
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
        // SAFETY: made from a live node's pointer in `Shared::node_ref`; nodes
        // never move or go until their `Shared` drops, which the caller rules
        // out.
        unsafe { self.0.as_ref() }
    }

    /// A waker for this node that borrows the stream's count of `Shared`
    /// instead of holding its own. Clones hold their own count.
    ///
    /// # Safety
    ///
    /// As for [`get`](Self::get): the `Shared` that owns the node must be
    /// alive for as long as the returned waker is used.
    #[inline]
    pub(super) unsafe fn waker_ref(&self) -> ManuallyDrop<Waker> {
        let raw = RawWaker::new(self.0.as_ptr().cast_const().cast(), &VTABLE);
        // SAFETY: the vtable functions below uphold the `RawWaker` contract
        // (thread safe, `clone` returns an equivalent waker) for a pointer to
        // a live node with its block's provenance, which this is (made by
        // `Shared::node_ref`); `ManuallyDrop` keeps this borrowed waker from
        // dropping a count it does not hold.
        ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
    }
}

/// The waking end of one slot.
///
/// 16 bytes, at 16-byte boundaries in its block, so that no node straddles
/// two cache lines: ids are kept as `u32` ([`NIL`] as `u32::MAX`;
/// [`Slots`](super::Slots) makes no node past [`MAX_NODES`]), and the
/// `Shared` that owns the node is found from its block's [`Header`].
#[derive(Debug)]
pub(super) struct Node {
    /// [`QUEUED`] while the id is on the stack or in the stream's local
    /// list; above it, in steps of [`CLONE`], the count of this node's wakers
    /// that are owned (cloned) rather than borrowed for a poll (each holds a
    /// strong count of the `Shared`). While any exist, the node may be woken
    /// at any time.
    state: AtomicU32,
    /// The id below this one on the stack; written only by the waker that
    /// set [`QUEUED`], read only by the stream after taking the stack. Once the
    /// stream has taken the stack, and until it dequeues the node, no waker
    /// writes it (the mark stays set), and the stream links its own ready
    /// lists through it.
    next: AtomicU32,
    /// The slot this node serves, [`NIL`] while retired. Only the stream
    /// reads or writes it; wakers never look at it.
    slot: AtomicU32,
    id: u32,
}

/// The bit of [`Node::state`] that says the node is queued: bit 0, which
/// x86 sets and tests in one `lock bts` (a high bit made the compiler loop
/// on a compare-exchange).
const QUEUED: u32 = 1;

/// One owned waker in [`Node::state`]: the bits above [`QUEUED`] count them.
const CLONE: u32 = 2;

/// How many owned wakers of one node may exist at once. A clone that finds
/// this many panics rather than let the count run out of bits: threads
/// cloning at once each add one before they check, so it stays far below.
const MAX_CLONES: u32 = 1 << 30;

/// The state once [`MAX_CLONES`] owned wakers exist (the top bit).
const FULL: u32 = MAX_CLONES * CLONE;

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
    fn new(id: usize) -> Self {
        Self {
            state: AtomicU32::new(0),
            next: AtomicU32::new(NIL32),
            slot: AtomicU32::new(NIL32),
            id: to_u32(id),
        }
    }

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
    /// The mark and the count share one word, so one load reads both at
    /// one point of its history: a waker that wakes and then drops sets
    /// [`QUEUED`] before it takes its count off, so the count it leaves is
    /// never read without the mark (until the stream dequeues the node).
    #[inline]
    pub(super) fn is_idle(&self) -> bool {
        self.state.load(Ordering::Acquire) == 0
    }

    /// Whether an owned waker of this node exists.
    fn is_held(&self) -> bool {
        self.state.load(Ordering::Acquire) >= CLONE
    }

    /// Called by the stream when it pops this id, before polling the future.
    ///
    /// The acquire half makes whatever the waker's caller wrote before waking
    /// visible to the poll that follows; the release half lets a later wake
    /// see the mark clear and queue the slot again.
    pub(super) fn dequeue(&self) {
        self.state.fetch_and(!QUEUED, Ordering::AcqRel);
    }

    fn schedule(&self, shared: &Shared) {
        if self.state.fetch_or(QUEUED, Ordering::AcqRel) & QUEUED != 0 {
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
/// `data` points to a live node of a live `Shared`, with the provenance of the
/// node's whole block: true for the data of every waker made by
/// [`NodeRef::waker_ref`] or cloned from one, while it exists.
unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: by this function's contract.
    let node = unsafe { &*data.cast::<Node>() };
    let before = node.state.fetch_add(CLONE, Ordering::Relaxed);
    if before >= FULL {
        node.state.fetch_sub(CLONE, Ordering::Relaxed);
        too_many_clones();
    }
    // SAFETY: the header's pointer came from `Arc::as_ptr` and the `Shared`
    // is alive (the waker being cloned holds or borrows a count); the new
    // waker holds the count added here.
    unsafe { Arc::increment_strong_count(shared_of(data.cast())) };
    RawWaker::new(data, &VTABLE)
}

#[cold]
#[inline(never)]
fn too_many_clones() -> ! {
    panic!(
        "limited-as-completed: more than {MAX_CLONES} clones of one future's waker alive at once"
    );
}

/// # Safety
///
/// As [`clone_waker`]; the waker owns one count of its `Shared`, given up here.
unsafe fn wake_waker(data: *const ()) {
    /// Gives up the waker's counts when dropped: after the wake, or as a
    /// panic unwinds out of it (a parent task's waker that panics), so that
    /// a waker consumed by `wake` never stays counted.
    struct Consumed(*const Node, *const Shared);
    impl Drop for Consumed {
        fn drop(&mut self) {
            // SAFETY: by the contract of `wake_waker`, whose counts these
            // are; dropped once.
            unsafe { release(self.0, self.1) };
        }
    }
    let node = data.cast::<Node>();
    // SAFETY: by this function's contract; found once for both the wake and
    // the release.
    let shared = unsafe { shared_of(node) };
    let consumed = Consumed(node, shared);
    // SAFETY: by this function's contract, the node and its `Shared` are
    // alive while this waker exists.
    unsafe { (*node).schedule(&*shared) };
    drop(consumed);
}

/// # Safety
///
/// As [`clone_waker`].
unsafe fn wake_waker_by_ref(data: *const ()) {
    // SAFETY: by this function's contract; the `Shared` is alive while a
    // waker of its node exists.
    let (node, shared) = unsafe { (&*data.cast::<Node>(), &*shared_of(data.cast())) };
    node.schedule(shared);
}

/// # Safety
///
/// As [`clone_waker`]; the waker owns one count of its `Shared`, given up here.
unsafe fn drop_waker(data: *const ()) {
    let node = data.cast::<Node>();
    // SAFETY: by this function's contract.
    unsafe { release(node, shared_of(node)) };
}

/// Gives up an owned waker's counts: its node's, then its `Shared`'s.
///
/// # Safety
///
/// The caller gives up one owned waker of `node`, whose `Shared` is
/// `shared` (found before: once the count goes, a dropped stream may free
/// the node's block, in `Shared::free_unheld`). Raw pointers, not
/// references: the node may be freed during this call.
unsafe fn release(node: *const Node, shared: *const Shared) {
    // Release: a wake by this waker happened before; see `Node::is_idle`.
    // SAFETY: by the contract, the node is alive until its count goes.
    unsafe { (*node).state.fetch_sub(CLONE, Ordering::Release) };
    // SAFETY: the waker owned one count of `shared`, from `clone_waker`. The
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
    use super::{
        from_u32, locate, segment_first, segment_len, to_u32, Node, Shared, CLONE, FULL, MAX_NODES,
        NIL, QUEUED,
    };
    use crate::slots::sync::{Arc, Ordering::Relaxed};
    use core::task::Waker;

    /// Guarantee 5 (crate docs): cloning one future's waker while 2^30 clones
    /// of it are alive panics, naming the crate, and takes nothing: the
    /// count of clones shares a word with the queued mark, which it must
    /// never reach. (A billion real clones take 45 s in a debug build; the
    /// count is set instead.)
    #[test]
    fn a_clone_past_the_most_clones_panics_and_takes_nothing() {
        extern crate std;
        let shared = Shared::new();
        Shared::grow(&shared, 0);
        let node = shared.node(0);
        let waker = shared.waker_ref(0);
        node.state.store(FULL - CLONE, Relaxed);
        let last = Waker::clone(&waker);
        assert_eq!(node.state.load(Relaxed), FULL);
        let strong = Arc::strong_count(&shared);
        let caught = std::panic::catch_unwind(|| Waker::clone(&waker)).unwrap_err();
        assert_eq!(
            caught.downcast_ref::<alloc::string::String>().map(|s| s.as_str()),
            Some("limited-as-completed: more than 1073741824 clones of one future's waker alive at once")
        );
        assert_eq!(node.state.load(Relaxed), FULL, "count restored");
        assert_eq!(
            Arc::strong_count(&shared),
            strong,
            "no count of Shared taken"
        );
        // The clones made before still wake, and the mark is intact.
        last.wake_by_ref();
        assert_eq!(node.state.load(Relaxed), FULL | QUEUED);
        assert_eq!(shared.take_all(), 0);
        drop(last);
        assert_eq!(node.state.load(Relaxed), (FULL - CLONE) | QUEUED);
        node.state.store(0, Relaxed);
    }

    #[test]
    fn a_node_is_a_quarter_of_a_cache_line() {
        assert_eq!(core::mem::size_of::<Node>(), 16);
        assert_eq!(core::mem::size_of::<super::Header>(), 16);
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
