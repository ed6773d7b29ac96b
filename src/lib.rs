//! Runs an iterator of futures with at most `n` in flight and yields their
//! outputs as a [`Stream`](futures_core::Stream), as they complete.
//!
//! [`LimitedAsCompletedExt`] adds four methods to anything that iterates into
//! futures:
//!
//! * [`limited_as_completed(n)`](LimitedAsCompletedExt::limited_as_completed):
//!   outputs in completion order;
//! * [`limited_in_order(n)`](LimitedAsCompletedExt::limited_in_order): outputs
//!   in the iterator's order;
//! * [`try_limited_as_completed(n)`](LimitedAsCompletedExt::try_limited_as_completed):
//!   completion order, stopping at the first `Err` without pulling anything
//!   more;
//! * [`try_limited_in_order(n)`](LimitedAsCompletedExt::try_limited_in_order):
//!   input order, stopping at the first `Err` in that order.
//!
//! [`LimitedAsCompletedStreamExt`] adds the same four to any `Stream` of
//! futures, which is polled, never blocked on. Every stream type has
//! `.indexed()`, which pairs each output with its item's position in the
//! input ([`Indexed`]), and the methods of [`LimitedStream`], the surface the
//! streams share: [`limit`](LimitedStream::limit),
//! [`set_limit`](LimitedStream::set_limit),
//! [`in_flight`](LimitedStream::in_flight),
//! [`poll_progress`](LimitedStream::poll_progress) and
//! [`progress_while`](LimitedStream::progress_while).
//!
//! The iterator is pulled lazily, with Python `islice` semantics: nothing
//! before the first poll, `n` at first, then exactly one more each time a
//! future completes. It may be endless. A poll costs time in proportion to the
//! futures woken since the last one, not to `n`, and no allocation happens per
//! future once its slot exists.
//!
//! ```
//! use futures::StreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//!
//! async fn fetch(id: u32) -> String {
//!     format!("page {id}")
//! }
//!
//! # futures::executor::block_on(async {
//! let mut pages = (1..=100).map(fetch).limited_as_completed(10);
//! let mut count = 0;
//! while let Some(page) = pages.next().await {
//!     assert!(page.starts_with("page "));
//!     count += 1;
//! }
//! assert_eq!(count, 100);
//! # });
//! ```
//!
//! **A busy consumer stalls the futures, unless it uses `progress_while`.**
//! The futures in flight advance only while the stream is polled. Each refill
//! is started before an output is handed out, so `n` futures have been
//! started whenever the caller gets one; but if the loop body then awaits
//! something else (a write, a rate-limit sleep, another request), they wait
//! with it: a request of several steps stops between them, a server may time
//! out, and futures that hold what the body needs (pool connections, permits)
//! deadlock it. `buffer_unordered` and `FuturesUnordered` behave the same.
//! Awaiting the body through
//! [`progress_while`](LimitedStream::progress_while) keeps them going, with no
//! runtime and no spawning:
//!
//! ```
//! # use futures::StreamExt;
//! # use limited_as_completed::LimitedAsCompletedExt;
//! # async fn fetch(id: u32) -> String { format!("page {id}") }
//! # async fn save(_page: String) -> Result<(), std::io::Error> { Ok(()) }
//! # futures::executor::block_on(async {
//! let mut pages = (1..=100).map(fetch).limited_as_completed(10);
//! while let Some(page) = pages.next().await {
//!     pages.progress_while(save(page)).await?; // the other nine fetches go on
//! }
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! See [A busy consumer](#a-busy-consumer) for the details, and
//! [Sharing a client](#sharing-a-client) for items that borrow a client
//! inside `tokio::spawn`.
//!
//! # Guarantees
//!
//! Every stream type of the crate keeps these promises. They are the
//! contract: each has tests that would fail without it, and the tests name
//! the number they defend ("Guarantee 6").
//!
//! 1. **Lazy.** Building a stream pulls nothing from the source and polls
//!    nothing.
//! 2. **Refill before yield.** The first poll pulls up to `limit` items and
//!    polls each once. Each completion frees a place, which is refilled from
//!    the source, and the new future polled once, *before* that poll returns
//!    the output; a future that finishes on that first poll keeps its place
//!    until its output is handed out by a later poll. Whenever `poll_next`
//!    returns, `pulled == yielded + in_flight + dropped` (dropped: items whose
//!    future, or `into_future`, panicked, or that a `try_` stream's `Err` made
//!    moot), and fewer
//!    than `limit` items
//!    are in flight only if the source has ended or is `Pending` (or the limit
//!    was lowered and the excess has not finished). A source that ended is
//!    never called again; one that panicked is called again on the next poll;
//!    if the refill after a completion panics, the completed output is kept
//!    and comes out of a later poll. A consequence: `.take(k)` on the stream
//!    pulls `limit + k` items.
//! 3. **Bound.** At most `limit` futures exist at any moment (pulled, and
//!    neither finished nor dropped), and finished outputs waiting to be handed
//!    out count against the limit too: an item is pulled only while fewer than
//!    `limit` are in flight, not counting the output the call is about to
//!    return. Lowering the limit cancels nothing: the excess is let finish,
//!    and nothing new is pulled until fewer than the new limit are in flight.
//! 4. **Order.** The completion-order streams hand outputs out in the order
//!    the futures completed, as the stream saw it (a completion is seen when
//!    the stream polls the future); futures woken together are polled in the
//!    order they were woken, a future woken twice is polled once, in its
//!    first wake's place; futures that finish on their first poll come out in
//!    input order. The in-order streams hand outputs out in input order.
//! 5. **Cost.** A poll costs time in proportion to the futures woken since
//!    the last one, not to `limit`: a future that was not woken is not
//!    polled. No allocation happens per future once its slot exists, and
//!    slots are created only as items arrive (`limit = usize::MAX` over ten
//!    items allocates for ten). Memory is bounded by the items alive at once,
//!    however many pass through an endless source: slots come in blocks that
//!    double in size (2, 2, 4, 8, ...), so `n` items alive at once take room
//!    for `n.next_power_of_two()` of them (at least two), a limit that is a
//!    power of two no more than it needs. Each takes a slot (its future plus
//!    about 32 bytes, rounded up to a multiple of 64) and a 16-byte waker
//!    record. Records are numbered in 32 bits: more than `u32::MAX` futures
//!    in flight and wakers kept at once panics, as a `Vec` past its capacity
//!    does; so does cloning one future's waker when 2^30 clones of it are
//!    alive (`Arc` aborts past `isize::MAX`). A future that wakes itself
//!    as it finishes costs nothing extra. A waker that outlives its future,
//!    even one kept forever, costs at most two small records (its own, and
//!    one made while the stream looks for records it can reuse) and never
//!    holds back the reuse of the others. Once the stream is dropped, a waker
//!    still held keeps the block of records its own was allocated in (blocks
//!    double in size, from two records) until it goes.
//! 6. **Fair.** One call polls each future at most once (a refill's first
//!    poll counts). When futures keep waking themselves, the stream returns
//!    `Pending` after waking its own task instead of spinning; with nothing
//!    woken it returns `Pending` and does not wake itself (one exception:
//!    polled by a new task while another thread is still inside a wake of
//!    the task before, it cannot store the new task's waker yet and wakes
//!    that task instead, on each call until that wake has returned, as
//!    futures' `AtomicWaker` does). No future starves:
//!    every call (`poll_next` or `poll_progress`) polls each future woken
//!    before the call began, before it hands out an output, so a woken
//!    future waits for one call at most, and refills that finish at once
//!    (cache hits, ready values) cannot hold it back. (A call that panics
//!    first does not get that far: a source that panicked is called again
//!    first thing, and while it keeps panicking, nothing else happens.) In
//!    completion order, if it finishes then, its output comes out of one of
//!    the next `limit` calls of `poll_next`: the outputs ahead of it are
//!    others in flight, `limit - 1` at most (unless the limit was just
//!    lowered).
//! 7. **Drop.** Dropping a stream drops every future in flight, every output
//!    not yet handed out, and the source, each exactly once, and lets go of
//!    the waker it kept of the task polling it, even while wakers it gave the
//!    futures live on (a wake of that task running on another thread at that
//!    moment lets go of it as it returns). `into_inner`
//!    drops the same and hands the source back, positioned just after the
//!    last item pulled, so nothing that was not started is lost.
//! 8. **Panics.** A panic in a future, in the source or in an item's
//!    `into_future` comes out of the call that polled it. The panicking
//!    future (or item) is dropped and its place freed, and it keeps its
//!    position in the input (`indexed`); the stream stays usable, and polling
//!    it again goes on with the other futures, none lost, none handed out
//!    twice. A panic in the waker of the task polling the stream (a bug in
//!    the executor) comes out of the wake that called it and leaves the
//!    stream usable and leak-free too, and loses no other wake.
//! 9. **Bad limit.** A limit of 0, at construction or in `set_limit`, panics
//!    at the caller's location with a message that names the method and the
//!    value (pass `usize::MAX` for no bound), rather than hanging.
//! 10. **Progress while busy.** `poll_progress` and `progress_while` advance
//!     the futures in flight while the caller works on an output, without
//!     handing out an output and without pulling from the source; rules 4 to
//!     6 and 8 hold for them as for `poll_next`, and a future that finishes
//!     keeps its place, its output held for a later `poll_next`.
//! 11. **Fail fast.** The `try_` streams pull nothing after the first `Err`
//!     and drop the futures still running that it makes moot; they hand out
//!     what the matching plain stream would have, up to and including that
//!     `Err`, and then end.
//! 12. **Bookkeeping and traits.** `in_flight` counts items pulled and
//!     neither handed out nor dropped; `size_hint` adds the source's hint with
//!     saturating arithmetic and is exactly `(in_flight, Some(in_flight))` once
//!     the source has ended (the `try_` streams give a lower bound of at most
//!     1: any output may be the last); every stream is a `FusedStream`,
//!     `Unpin` whatever
//!     the futures, `Send`/`Sync` when the source, futures and outputs are,
//!     and `Debug` without asking anything of them.
//!
//! # Runtimes
//!
//! The crate uses no executor-specific primitive: the streams run under
//! tokio, async-std, smol, `futures::executor` or any other executor, and the
//! library builds for `no_std` targets with `alloc` (it needs atomic
//! compare-and-swap, so `thumbv7m` and up). It depends on `futures-core` only.
//!
//! ```
//! # #[cfg(not(miri))] { // Miri has no epoll or timerfd for the runtimes
//! use futures::StreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//!
//! let double = |i: u64| async move { i * 2 };
//!
//! // tokio
//! let sum = tokio::runtime::Builder::new_current_thread()
//!     .build()
//!     .unwrap()
//!     .block_on((0..100).map(double).limited_as_completed(8).fold(0, |a, b| async move { a + b }));
//! assert_eq!(sum, 9900);
//!
//! // async-std
//! let sum = async_std::task::block_on((0..100).map(double).limited_as_completed(8).fold(0, |a, b| async move { a + b }));
//! assert_eq!(sum, 9900);
//!
//! // smol
//! let sum = smol::block_on((0..100).map(double).limited_as_completed(8).fold(0, |a, b| async move { a + b }));
//! assert_eq!(sum, 9900);
//!
//! // futures::executor
//! let sum = futures::executor::block_on((0..100).map(double).limited_as_completed(8).fold(0, |a, b| async move { a + b }));
//! assert_eq!(sum, 9900);
//! # }
//! ```
//!
//! # A busy consumer
//!
//! A busy consumer stalls the futures in flight. The stream polls them, and
//! the stream is polled only while the caller awaits `next()` (or otherwise
//! polls it). The futures are started before each output is handed out, but
//! while the loop body awaits something else they do not advance, even when
//! what they wait for is ready.
//!
//! ```
//! use futures::channel::oneshot;
//! use futures::future::{self, FutureExt};
//! use futures::StreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//! use std::cell::Cell;
//!
//! /// Stands in for the loop body's own work: a write, a sleep, a request.
//! async fn save<T>(_output: T) {}
//!
//! # futures::executor::block_on(async {
//! let (go, signal) = oneshot::channel();
//! let finished = Cell::new(false);
//! let quick = future::ready(()).boxed_local();
//! let slow = async {
//!     signal.await.ok();
//!     finished.set(true);
//! }
//! .boxed_local();
//!
//! let mut outputs = [quick, slow].into_iter().limited_as_completed(2);
//! let output = outputs.next().await; // the quick one's; the slow one waits for `go`
//! go.send(())?; // the slow one could finish now...
//! save(output).await; // ...but nothing polls it while the body works
//! assert!(!finished.get());
//! outputs.next().await; // polling the stream again lets it run
//! assert!(finished.get());
//! # Ok::<(), ()>(())
//! # }).unwrap();
//! ```
//!
//! [`progress_while`](LimitedStream::progress_while) is the cure: it runs the
//! body's work and, while that work is pending, polls the futures in flight
//! (those woken, each once, as `poll_next` does). It pulls nothing, and the
//! outputs that finish meanwhile wait, counted in flight, for the next
//! `next()`. The same scenario:
//!
//! ```
//! use futures::channel::oneshot;
//! use futures::future::{self, FutureExt};
//! use futures::StreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//! use std::cell::Cell;
//!
//! /// The loop body's own work; here it waits once, as a write would.
//! async fn save<T>(_output: T) {
//!     let mut waited = false;
//!     future::poll_fn(|cx| {
//!         if waited {
//!             return std::task::Poll::Ready(());
//!         }
//!         waited = true;
//!         cx.waker().wake_by_ref();
//!         std::task::Poll::Pending
//!     })
//!     .await
//! }
//!
//! # futures::executor::block_on(async {
//! let (go, signal) = oneshot::channel();
//! let finished = Cell::new(false);
//! let quick = future::ready(()).boxed_local();
//! let slow = async {
//!     signal.await.ok();
//!     finished.set(true);
//! }
//! .boxed_local();
//!
//! let mut outputs = [quick, slow].into_iter().limited_as_completed(2);
//! let output = outputs.next().await;
//! go.send(())?;
//! outputs.progress_while(save(output)).await; // the slow one runs meanwhile
//! assert!(finished.get());
//! assert_eq!(outputs.in_flight(), 1); // its output waits for `next()`
//! # Ok::<(), ()>(())
//! # }).unwrap();
//! ```
//!
//! What it cannot do: work that blocks the thread stalls everything, and
//! nothing advances while neither the stream nor `progress_while` is polled
//! (between two `next()` calls outside the loop, say). For work that must run
//! with no one polling, map each item to a spawned task's handle: the runtime
//! runs the task whether or not the stream is polled, and the iterator is
//! lazy, so at most `n` tasks exist at a time:
//!
//! ```
//! # #[cfg(not(miri))] { // Miri has no epoll or timerfd for the runtimes
//! use futures::StreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//!
//! smol::block_on(async {
//!     let tasks = (0..20u32).map(|i| smol::spawn(async move { i * i }));
//!     let mut squares: Vec<u32> = tasks.limited_as_completed(4).collect().await;
//!     squares.sort_unstable();
//!     assert_eq!(squares[..4], [0, 1, 4, 9]);
//! });
//! # }
//! ```
//!
//! Dropping a `smol::Task` cancels it, so dropping the stream cancels the
//! tasks in flight. Dropping a tokio or async-std `JoinHandle` *detaches* the
//! task instead: it goes on running. With those, wrap the handle so that
//! dropping it aborts the task (tokio-util's `AbortOnDropHandle` does this for
//! tokio), or cancel the tasks yourself (async-std's `JoinHandle::cancel` is
//! async; the crate's `examples/spawn_async_std.rs` collects the handles of
//! dropped items and cancels them with one `.await`). For tokio:
//!
//! ```
//! # #[cfg(not(miri))] { // Miri has no epoll or timerfd for the runtimes
//! use std::future::Future;
//! use std::pin::Pin;
//! use std::task::{Context, Poll};
//!
//! use futures::StreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//!
//! /// A tokio task handle that aborts its task when dropped.
//! struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
//!
//! impl<T> Drop for AbortOnDrop<T> {
//!     fn drop(&mut self) {
//!         self.0.abort();
//!     }
//! }
//!
//! impl<T> Future for AbortOnDrop<T> {
//!     type Output = Result<T, tokio::task::JoinError>;
//!     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
//!         Pin::new(&mut self.0).poll(cx)
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap().block_on(async {
//! let tasks = (0..100u64).map(|i| AbortOnDrop(tokio::spawn(async move { i + 1 })));
//! let mut outputs = tasks.limited_as_completed(8);
//! let first = outputs.next().await.unwrap()?;
//! assert!(first >= 1);
//! drop(outputs); // the 8 tasks still in flight are aborted, not leaked
//! # Ok::<(), tokio::task::JoinError>(())
//! # }).unwrap();
//! # }
//! ```
//!
//! # Sharing a client
//!
//! The items can share one client (an HTTP client and its connection pool, a
//! database pool) by borrowing it. Inside `tokio::spawn`, whose future must be
//! `Send`, two things matter: borrow the client once, *outside* the closure,
//! and let the items own their data (`String`s here, not `&String`s):
//!
//! ```
//! # #[cfg(not(miri))] { // Miri has no epoll or timerfd for the runtimes
//! # struct Client;
//! # struct RequestBuilder(String);
//! # impl Client {
//! #     fn new() -> Self { Client }
//! #     fn get(&self, url: &str) -> RequestBuilder { RequestBuilder(url.to_string()) }
//! # }
//! # impl RequestBuilder {
//! #     async fn send(self) -> Result<usize, std::io::Error> { Ok(self.0.len()) }
//! # }
//! use futures::StreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let client = Client::new(); // stands in for `reqwest::Client`, say
//! let urls: Vec<String> = (0..20).map(|i| format!("https://example.com/{i}")).collect();
//! let task = tokio::spawn(async move {
//!     let client = &client; // each `async move` below copies this reference
//!     let mut responses = urls
//!         .into_iter() // owned items
//!         .map(|url| async move { client.get(&url).send().await })
//!         .limited_as_completed(8);
//!     let mut bytes = 0;
//!     while let Some(response) = responses.next().await {
//!         bytes += response?;
//!     }
//!     Ok::<_, std::io::Error>(bytes)
//! });
//! assert!(task.await?? > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Without `let client = &client;`, each `async move` block would try to take
//! the client itself: "cannot move out of `client`, a captured variable in an
//! `FnMut` closure" (E0507).
//!
//! Items that *borrow* do not compile inside `tokio::spawn`, though the same
//! code compiles outside it: `urls.iter()` (items `&String`), or even
//! `["a", "b"].into_iter()` (items `&'static str`):
//!
//! ```compile_fail
//! # struct Client;
//! # struct RequestBuilder(String);
//! # impl Client {
//! #     fn new() -> Self { Client }
//! #     fn get(&self, url: &str) -> RequestBuilder { RequestBuilder(url.to_string()) }
//! # }
//! # impl RequestBuilder {
//! #     async fn send(self) -> Result<usize, std::io::Error> { Ok(self.0.len()) }
//! # }
//! # use futures::StreamExt;
//! # use limited_as_completed::LimitedAsCompletedExt;
//! # async fn run() {
//! # let client = Client::new();
//! # let urls: Vec<String> = (0..20).map(|i| format!("https://example.com/{i}")).collect();
//! // error: implementation of `FnOnce` is not general enough
//! let task = tokio::spawn(async move {
//!     let client = &client;
//!     let mut responses = urls
//!         .iter() // items that borrow `urls`
//!         .map(|url| async move { client.get(url).send().await })
//!         .limited_as_completed(8);
//!     let mut bytes = 0;
//!     while let Some(response) = responses.next().await {
//!         bytes += response?;
//!     }
//!     Ok::<_, std::io::Error>(bytes)
//! });
//! # }
//! ```
//!
//! Why: to prove the spawned future `Send`, rustc checks each value it holds
//! across an `.await` (here the stream, and in it the iterator and the
//! closure) with every lifetime in their types replaced by a fresh one. The
//! closure takes a `&String` of one lifetime; once that lifetime is forgotten,
//! rustc asks it to take a `&String` of *any* lifetime, cannot show that, and
//! rejects the code. It is a limitation of the compiler (rust-lang/rust
//! issues [89976](https://github.com/rust-lang/rust/issues/89976) and
//! [71671](https://github.com/rust-lang/rust/issues/71671)), not a real
//! `Send` problem, and `stream::iter(..).buffer_unordered(n)` fails the same
//! way. It is the items that must not borrow, not the client: cloning an
//! `Arc`'d client into each item does not help, while owned items
//! (`urls.into_iter()`, `.cloned()`, indices) do.
//!
//! When each item must be `'static`, as when the items are spawned tasks
//! themselves (see [A busy consumer](#a-busy-consumer)),
//! a borrowed client will not do: give each item its own handle, an `Arc` of
//! the client, or a clone where the client is a handle already (reqwest's
//! and hyper-util's are: their clones share one connection pool):
//!
//! ```
//! # #[cfg(not(miri))] { // Miri has no epoll or timerfd for the runtimes
//! # struct Client;
//! # struct RequestBuilder(String);
//! # impl Client {
//! #     fn new() -> Self { Client }
//! #     fn get(&self, url: &str) -> RequestBuilder { RequestBuilder(url.to_string()) }
//! # }
//! # impl RequestBuilder {
//! #     async fn send(self) -> Result<usize, std::io::Error> { Ok(self.0.len()) }
//! # }
//! use std::sync::Arc;
//!
//! use futures::StreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let client = Arc::new(Client::new());
//! let urls: Vec<String> = (0..20).map(|i| format!("https://example.com/{i}")).collect();
//! let tasks = urls.into_iter().map(|url| {
//!     let client = Arc::clone(&client);
//!     tokio::spawn(async move { client.get(&url).send().await })
//! });
//! let mut responses = tasks.limited_as_completed(8);
//! let mut bytes = 0;
//! while let Some(response) = responses.next().await {
//!     bytes += response??; // the task's `JoinError`, then the request's error
//! }
//! assert!(bytes > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/shared_client.rs` crawls a local server this way through one
//! hyper-util client, and prints how many connections its pool opened.
//!
//! # Fail fast
//!
//! A stream of `Result`s is a `TryStream`: `try_next()?` stops at the first
//! error, and dropping the stream then drops the futures still in flight.
//! Because each slot is refilled before an output is returned, one more item
//! has been pulled by the time the error comes out.
//!
//! ```
//! use futures::TryStreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//!
//! async fn check(i: u32) -> Result<u32, String> {
//!     if i == 3 { Err(format!("item {i} failed")) } else { Ok(i) }
//! }
//!
//! # futures::executor::block_on(async {
//! async fn run() -> Result<u32, String> {
//!     let mut results = (0..10).map(check).limited_as_completed(2);
//!     let mut sum = 0;
//!     while let Some(i) = results.try_next().await? {
//!         sum += i;
//!     }
//!     Ok(sum)
//! }
//! assert_eq!(run().await, Err("item 3 failed".to_string()));
//! # });
//! ```
//!
//! [`try_limited_as_completed`](LimitedAsCompletedExt::try_limited_as_completed)
//! pulls nothing after the error:
//!
//! ```
//! use futures::StreamExt;
//! use limited_as_completed::LimitedAsCompletedExt;
//! use std::cell::Cell;
//!
//! # futures::executor::block_on(async {
//! let pulled = Cell::new(0);
//! let items = (0..10).inspect(|_| pulled.set(pulled.get() + 1)).map(|i| async move {
//!     if i == 3 { Err(format!("item {i} failed")) } else { Ok(i) }
//! });
//! let mut results = items.try_limited_as_completed(2);
//! let mut sum = 0;
//! while let Some(result) = results.next().await {
//!     match result {
//!         Ok(i) => sum += i,
//!         Err(e) => assert_eq!(e, "item 3 failed"),
//!     }
//! }
//! assert_eq!(sum, 0 + 1 + 2);
//! assert_eq!(pulled.get(), 4); // items 0 to 3, nothing after the error
//! # });
//! ```
//!
//! # Compared with
//!
//! * **`buffer_unordered(n)`** (futures-util) needs a `Stream` of futures, so
//!   an iterator must go through `stream::iter` first; it allocates a task
//!   node per future, and in futures 0.3 `buffer_unordered(0)` silently
//!   hangs (it never pulls, and never ends), where `limited_as_completed(0)`
//!   panics with a message at the call site.
//! * **A `FuturesUnordered` refill loop** is the same idea written by hand
//!   each time: easy to get subtly wrong (refilling after yielding, so fewer
//!   than `n` have been started when the caller gets an output), and it
//!   allocates per future.
//! * **A semaphore plus `join_all`** creates every future up front (memory in
//!   proportion to the input, so no endless iterators) and gives outputs only
//!   at the end.
//! * **futures-concurrency's `FutureGroup`** has no bound or refill of its
//!   own, polls in index order rather than wake order, and scans every key per
//!   poll.
//!
//! # Minimum supported Rust version
//!
//! Rust 1.70. Raising it is a minor-version change.

#![no_std]
#![deny(missing_docs, unsafe_code)] // `mod slots` opts back in with #[allow(unsafe_code)]
#![warn(
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc
)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

extern crate alloc;

#[macro_use]
mod macros;

mod cores;
mod ext;
mod indexed;
mod limited_stream;
mod size_hint;
#[allow(unsafe_code)]
mod slots;
mod source;
mod streams;

pub use crate::ext::{LimitedAsCompletedExt, LimitedAsCompletedStreamExt};
pub use crate::indexed::Indexed;
pub use crate::limited_stream::{LimitedStream, ProgressWhile};
pub use crate::streams::{
    LimitedAsCompleted, LimitedAsCompletedStream, LimitedInOrder, LimitedInOrderStream,
    TryLimitedAsCompleted, TryLimitedAsCompletedStream, TryLimitedInOrder, TryLimitedInOrderStream,
};

/// Compiles and runs the README's examples as doc tests (not under Miri: they
/// repeat the crate docs' runtime examples, and Miri has no epoll or timerfd).
#[cfg(all(doctest, not(miri)))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
