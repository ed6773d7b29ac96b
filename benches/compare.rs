//! Compares `limited_as_completed` and `limited_in_order` with their peers
//! (`buffer_unordered`, a `FuturesUnordered` refill loop, futures-buffered's
//! `FuturesUnorderedBounded` fed by hand, futures-concurrency's `FutureGroup`
//! refill loop, a tokio `Semaphore` + `join_all`, a sequential floor, and for
//! (e) a tokio `JoinSet` refill loop) on the workloads of issues 4 and 12, and
//! prints ns per future, the ratio of each peer to `limited_as_completed`, a
//! memory table and the issues' targets.
//!
//! A hand-rolled harness (`harness = false`), not criterion or divan: the
//! contenders must be interleaved in one run (each round runs every contender
//! once, in a rotating order; the median of the rounds is reported) and the
//! ratios taken within that run, and the memory table needs a counting global
//! allocator; neither framework prints those. A plain binary also keeps the
//! dev tree small on a 2-core CI machine.
//!
//! ```sh
//! cargo bench --bench compare               # full: every workload, more rounds (< 5 min)
//! cargo bench --bench compare -- --quick    # or BENCH_QUICK=1: fewer rounds (< 1 min)
//! cargo bench --bench compare -- --only "c',e"   # only these: a, b, c, c', d, e, mem
//! benches/cachegrind.sh                     # instructions and cache misses per completion
//! ```
//!
//! `--probe ...` runs one contender on one workload once for callgrind (see
//! `probe` below and `benches/cachegrind.sh`). Other arguments (cargo passes
//! `--bench`) are ignored. Workloads:
//!
//! * (a) 100 000 `std::future::ready(i)`, limit n = 16, 256, 4096; ns per
//!   future, under `futures::executor::block_on`.
//! * (b) 100 000 futures that wake their own task and return `Pending` once.
//! * (c) n futures parked on `futures::channel::oneshot` receivers (limit = n),
//!   completed one at a time in a seeded pseudo-random order, each send
//!   followed by polling by hand (noop waker) until that output comes out (or,
//!   for `limited_in_order` and `join_all`, until nothing more is ready); ns
//!   per completion, setup and first polls not timed (the first polls go on
//!   until the contender stops waking its task: futures-buffered polls at
//!   most 61 futures per call). Each round times 16 384
//!   completions (4096 in quick mode) in batches of n; at n = 65536 only the
//!   first 4096 completions of each batch are timed (so every timed completion
//!   meets at least 61 440 parked futures) and the rest are dropped untimed.
//!   The floor polls the completed receiver itself.
//! * (c') issue 12's "one-wake" conditions for (c): every item is
//!   `async move { counter.fetch_add(1, Relaxed); rx.await.unwrap() }` (a
//!   per-item `Arc<AtomicUsize>` clone and a oneshot receiver), limit = n =
//!   16, 1024, 65536, all n polled once before timing; then a driver future,
//!   joined with the consumer by `futures::future::select` on one task, sends
//!   on one sender at a time (a fresh Fisher-Yates order per batch) and waits
//!   until the consumer has seen that output. 2048 timed completions per round
//!   (in batches of n when n is smaller); ns per completion; under
//!   `futures::executor::block_on` and a tokio current-thread runtime (no
//!   drivers). `limited_as_completed`, futures-buffered and
//!   `buffer_unordered` only. See `compare/one_wake.rs`.
//! * (d) 10 000 `tokio::time::sleep`s of 2 µs to 3 ms (seeded), limit 256, on
//!   a tokio current-thread runtime; total wall ms. The sequential floor is
//!   left out here: it would sleep the sum of the durations, about 15 s.
//! * (e) 100 000 items, each spawning `async move { i }` on a 2-worker tokio
//!   multi-thread runtime when it is pulled (in the iterator's `map`) and
//!   awaiting its `JoinHandle`, limit 64 and 4096; the contender runs under
//!   `futures::executor::block_on` on the main thread. ns per item, wall
//!   time. Contenders: `limited_as_completed`, futures-buffered,
//!   `buffer_unordered`, `FuturesUnordered`, and a tokio `JoinSet` refill
//!   loop. See `compare/spawned.rs`.
//!
//! * (f) a busy consumer (issue 10): the plain loop against `progress_while`
//!   over 100 000 futures that yield once, limit 16, with a loop body that
//!   yields once too; ns per item of each, and their ratio from the same run.
//!   See `compare/busy.rs`.
//!
//! Every run's outputs are counted and summed and checked against the expected
//! values, so a contender that loses or duplicates outputs panics the bench.
//!
//! # Notes on issue 12 (2026-12-01, engine at f579506, a shared 2-core machine)
//!
//! Counts are per completion (per item in (e)) from `benches/cachegrind.sh`:
//! callgrind's cache simulator, D1 32 KiB, LL 1 MiB unless said, steady from
//! run to run except in (e). Wall times on this shared machine are not.
//!
//! **Why (c) and the one-wake rows (c') disagree.** Instructions, n = 1024:
//! (c)'s conditions (bare receiver, polled by hand, no-op waker) crate 648,
//! futures-buffered 532 (+22 %); (c') (the issue's item, `select` under
//! `block_on`) crate 1034, futures-buffered 784 (+32 %). In order of weight:
//!
//! 1. (c) timed futures-buffered's first polls: it polls at most 61 futures
//!    per call and asks to be polled again, and (c) pumped once with a no-op
//!    waker. 631 instead of 535 instructions per completion at n = 1024, 2175
//!    and 43 LL misses instead of 535 and 5 at 65536. That is where "crate
//!    0.90x futures-buffered at 1024" and the README's 2.7x at 65536 came
//!    from. Fixed: the first pump repeats until the contender stops waking.
//! 2. (c) never polls the stream to `Pending` in the timed loop, and its
//!    parent waker is a no-op; (c') does both once per completion. The crate's
//!    engine code costs 420 instructions per completion by hand and 616 in
//!    (c'); futures-buffered's 275 and 359 (the issue's item, n = 1024). The
//!    crate's `Pending` call (new round, an empty drain, `park`:
//!    `AtomicWaker::register` = 2 CAS and an `Arc` clone of the parent waker)
//!    plus its parent wake (the waker is taken out and woken by value: an
//!    `Arc` drop) cost about 195, against about 85 for futures-buffered,
//!    whose `DiatomicWaker` keeps the waker and wakes it by reference (no
//!    clone, no drop: 2 fewer RMWs per completion).
//! 3. The item: the issue's future is 32 bytes (an `Arc` and the receiver),
//!    which makes the crate's slot 80 bytes, two cache lines (a receiver's
//!    slot is 56): +31 instructions and +0.8 D1 misses per completion at
//!    n = 1024 for the crate, +3 and +0.6 for futures-buffered.
//! 4. The order (seeded in (c), a fresh shuffle in (c')) and the harness
//!    (channel, executor, `select`, the driver's wake: about 420 instructions
//!    per completion in (c') for either contender) are the same for every
//!    contender: they dilute the ratios but do not move the gap.
//! 5. n = 65536 is memory. The crate keeps 128 bytes per parked item (80-byte
//!    slot + 48-byte node) against futures-buffered's 64 (40 + 24), and its
//!    doubling segments allocate and initialise a whole extra segment (65536
//!    slots and 65536 nodes, 8.4 MB) for the 65536th item, written just
//!    before timing. LL misses per completion in (c'), crate / futures-buffered,
//!    with a simulated LL of 1, 4, 8, 16 MiB: 7.4 / 6.0, 7.4 / 4.5,
//!    7.4 / 2.5, 4.5 / 0.0; at n = 65535 (no extra segment), 8 and 16 MiB:
//!    4.3 / 2.6, 0.6 / 0.0. On the machine (L2 1 MiB per core, a 32 MiB L3
//!    shared with other builds) the crate took 1.7-2.8x futures-buffered's
//!    time at 65536 in the full runs, and 65535 was no faster than 65536: the cache this
//!    process really gets behaves like a few MiB, where the 128 bytes per
//!    item, not the extra segment, are what cost (TLB misses, which valgrind
//!    does not model, come on top).
//!
//! **What grows with the limit in (e).** Scratch counters in the engine (not
//! committed), 100 000 items, limit 64 / 4096: node retirements 0 / 0 (every
//! `JoinHandle` waker is dropped on the main thread, with the handle), nodes
//! created = slots created (64 / 4096), ready-stack CAS retries 0 / 0, parent
//! wakes 0.016-0.027 / 0.000 per item, main-thread parks 0.006-0.015 / 0.000
//! per item (ids taken per drain: 30-65 / about a thousand). So neither the
//! stack's CAS, nor the park protocol, nor node retirement grows; they
//! shrink. What differs is when a refilled future is first polled. The crate
//! polls it at once (Guarantee 2, "refill before yield"), right after
//! `spawn`, before a worker has run the task: the `JoinHandle` registers a
//! waker, a worker wakes it, and it is polled again: 1.99 polls per item at
//! both limits. The peers first poll a pushed future after the wakes already
//! queued, by when the task has often finished: `--probe spawned` counts
//! 1.0-1.3 polls per item for futures-buffered at 4096 (1.86 in one run at
//! load 7) and 1.1-2.0 at 64, depending on load. So the peers get cheaper as
//! the limit grows and the crate does not; in these runs the crate's own
//! time did not grow 2.5x as in the issue (583 / 568 ns per item at load 2).
//! Deferring the crate's first poll the same way (a scratch change) gave
//! 1.00-1.28 polls per item at 4096 and cut main-thread CPU per item from 438
//! to 399 ns and from 447 to 303 ns in two runs (futures-buffered: 357 and
//! 234). What is left is memory again: callgrind at equal polls per item
//! (1.9-2.0, limit 4096) counts 2270-2290 instructions and 7.2-8.2 LL misses
//! per item on the main thread for the crate against 1990-2040 and 6.4-6.8,
//! and 0.1-2.3 against 0.1 LL misses on the workers, whose wakes touch the
//! crate's 48-byte nodes (8191 slots and 8191 nodes are allocated and
//! initialised for 4096 in flight: the power-of-two extra segment again).
//! Under valgrind threads run one at a time, so the share of tasks done at
//! the first poll varies from run to run in (e); compare counts at equal
//! polls per item (the script prints them).
//!
//! **Engine changes these point to, by expected gain.** (1) Poll a refilled
//! future after the wakes already queued, not at once: (e) goes from 2.0 to
//! 1.0-1.3 polls per item at 4096 (needs Guarantee 2 reworded). (2) Halve
//! what a parked item costs in memory: a node of 16 bytes or none (u32 ids;
//! find `Shared` from the node's address as futures-buffered does, or keep
//! the waking state in the slot), a 64-byte slot for 32-byte futures; (c')
//! at 65536 and (e)'s worker-side misses. (3) Do not allocate and initialise
//! a whole extra segment when the limit is a power of two (8.4 MB at
//! 65536; also the issue's 1.57 MB against 0.75 MB in (e)). (4) Keep the
//! parent waker registered and wake it by reference (a scratch change: -16
//! instructions and 2 RMWs per completion in (c')), and trim the `Pending`
//! path (about 195 instructions against 85). (5) The ready path: 420
//! instructions of engine code per completion in (c)'s conditions against
//! futures-buffered's 275.
//!
//! **Since then (engine at 37b74f5).** (3) is done: slot and record blocks
//! of 2, 2, 4, 8, ... fill exactly at a power-of-two limit; (e) at 4096 went
//! from 13.2 to 5.8 LL misses per item (main thread 11.0 to 4.9), 1024
//! parked futures from 230 to 115 KB. Part of (5): a refilled slot is
//! located once, a woken id's record once, a finished future's slot freed
//! where it was polled, and `fill` skipped inline when there is no room.
//! Instructions per completion, fc84310 -> 37b74f5: (a) limit 4096 258.6 ->
//! 207.4 (futures-buffered 178.5), in order 330.1 -> 281.4; (b) limit 256
//! 479.5 -> 419.5 (futures-buffered 269.4); (c') n = 1024 1005 -> 926
//! (futures-buffered 801). What is left of (b) is mostly the wake path: a
//! self-wake pushes onto an empty stack and so calls the parent cell every
//! item (two RMWs even when it holds no waker), and each round takes the
//! stack and walks it. Part of (2), at dcc4e63: waker records of 32 bytes
//! (u32 ids), so a small parked item costs 96 bytes, not 112; (c) parked
//! n = 65536 5.53 -> 5.46 LL misses per completion, (c') 6.96 -> 6.92. At
//! d08e311 the woken-id path and the parent-cell calls are inlined: (b)
//! 419.5 -> 370.5, (c') n = 1024 925 -> 845 instructions per completion
//! (futures-buffered 269.4 and 801). (1), the rest of (2), and (4) are
//! still open.
//!
//! **Since then (engine at 8fc9c53, 2026-12-02).** Part of (2): a slot's
//! tag and its free-list link share a word, so the issue's 32-byte item
//! (its `Option` is 40 bytes: no niche) has a 64-byte slot, not 128; (c')
//! n = 65536 LL misses per completion 6.92 -> 5.87 with a 1 MiB LL
//! (futures-buffered 6.00) and 3.14 with 8 MiB (futures-buffered 2.48,
//! `buffer_unordered` 4.02). (4): the parent's waker stays in its cell
//! (`src/slots/parent_waker.rs`) and is woken by reference, so a `Pending`
//! costs one RMW and no clone, a wake two RMWs and no drop (was four RMWs
//! plus an `Arc` increment and decrement per completion under `block_on`).
//! Its instruction count barely moves ((c') n = 1024: 845 -> 828,
//! futures-buffered 784); its atomics do: five quick runs each of the
//! binaries before and after, alternated, crate / futures-buffered in (c')
//! `block_on` n = 16 and 1024: 1.13-1.16 and 1.08-1.12 before, 1.03-1.13
//! and 1.01-1.02 after. The wake guesses the cell's state (parked) rather
//! than loading it: with a load first, loom's model f took 308 s instead of
//! 79 s (over CI's 300 s per model), and (b) pays for the guess (a self-wake
//! finds the stream not parked: 364.5 -> 373.5 instructions). (e) at 64
//! did not move outside its noise (medians of five alternated quick runs,
//! crate / best peer, 1.63 before and 1.60 after). Woken slots are polled
//! where the walk of the ready list found them, and `limited_in_order`
//! stores an output through the slot its poll located: in order (a) 284.6
//! -> 263.2, (b) 433.5 -> 419.5 instructions per future.
//!
//! **Since then (engine at abc12ea, 2026-12-02, later).** The rest of (2)
//! for records: a waker record (node) is 16 bytes, not 32. It kept a
//! pointer to its `Shared` and a `usize` count beside a `bool`; the pointer
//! moved to a 16-byte header at the start of each block of records (a
//! waker finds it from its record's address and id), and the count and the
//! queued mark share a `u32`. A small parked item costs 80 bytes, not 96
//! (futures-buffered 64). (c') n = 65536: LL misses per completion 5.875
//! -> 5.379 with a 1 MiB LL (futures-buffered 6.002), 3.140 -> 2.663 with
//! 8 MiB (2.483); D1 6.31 -> 5.84 (6.54); instructions 783 -> 805 (780),
//! the header found three times per completion (clone, wake, drop of the
//! receiver's waker). Medians of five alternated quick runs of each binary,
//! crate / futures-buffered, block_on 16 / 1024 / 65536: 0.97 / 1.00 / 1.74
//! before, 0.93 / 0.95 / 1.25 after; tokio current-thread 0.99 / 0.98 /
//! 1.37 before, 0.98 / 0.95 / 1.26 after (a loom run held the other core:
//! 65536 is worse than in the full runs, where the two share the L3 less).
//! What is left at 65536 is the slot: 64 bytes for a 32-byte future (its
//! `Option` has no niche, plus the tag and link word), against
//! futures-buffered's 40-byte slot and 24-byte waker.
//!
//! Why the issue's (a) ratio (0.42-0.48 x futures-buffered) is not seen
//! here: df65c25's own benchmark, the one that printed 0.41-0.45 on
//! 2026-11-22, prints 1.12-1.22 on this machine today
//! (`git worktree add ../old df65c25 && cargo bench --bench compare --
//! --quick` there), with the same rustc (1.95.0) and futures-buffered
//! (0.2.14). The ratio moved with the host, not the code; instructions per
//! future (crate 208.4, futures-buffered 178.5) are what to compare.

#[path = "compare/busy.rs"]
mod busy;
#[path = "compare/contenders.rs"]
mod contenders;
#[path = "compare/counting.rs"]
mod counting;
#[path = "compare/one_wake.rs"]
mod one_wake;
#[path = "compare/spawned.rs"]
mod spawned;
#[path = "compare/valgrind.rs"]
mod valgrind;

use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::channel::oneshot;
use futures::executor::block_on;

use contenders::{drive_parked, run, Contender, Tally, YieldOnce};
use counting::{measure, Counting};
use one_wake::{Driver, Item};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Items in workloads (a) and (b), and in the memory table.
const ITEMS: usize = 100_000;
/// Limits for (a) and (b).
const LIMITS_AB: [usize; 3] = [16, 256, 4096];
/// Limits (= parked futures) for (c).
const LIMITS_C: [usize; 3] = [16, 1024, 65536];
/// Completions timed per batch at most in (c).
const PARKED_CAP: usize = 4096;
/// Sleeps in (d), and their limit.
const TIMERS: usize = 10_000;
const TIMER_LIMIT: usize = 256;
/// The seed of every pseudo-random sequence.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;
/// Parked futures (= limit) in the one-wake rows.
const LIMITS_ONE_WAKE: [usize; 3] = [16, 1024, 65536];
/// Timed completions per one-wake row and round (in batches of n if n is
/// smaller).
const ONE_WAKE_COMPLETIONS: usize = 2048;
/// Spawned tasks in (e), and the limits.
const ITEMS_E: usize = 100_000;
const LIMITS_E: [usize; 2] = [64, 4096];

struct Config {
    quick: bool,
    /// `--only a,b,c,c',d,e,f,mem`: run only these workloads (all if `None`).
    only: Option<Vec<String>>,
    rounds_ab: usize,
    rounds_c: usize,
    rounds_d: usize,
    rounds_one_wake: usize,
    rounds_e: usize,
    /// Completions per (c) row and round, before the `PARKED_CAP` cap.
    completions_c: usize,
}

impl Config {
    fn from_env() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let flag = args.iter().any(|a| a == "--quick");
        let env = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let only = args
            .iter()
            .position(|a| a == "--only")
            .and_then(|at| args.get(at + 1))
            .map(|list| list.split(',').map(str::to_owned).collect());
        if flag || env {
            Config {
                quick: true,
                only,
                rounds_ab: 7,
                rounds_c: 5,
                rounds_d: 5,
                rounds_one_wake: 3,
                rounds_e: 3,
                completions_c: 4096,
            }
        } else {
            Config {
                quick: false,
                only,
                rounds_ab: 21,
                rounds_c: 11,
                rounds_d: 15,
                rounds_one_wake: 11,
                rounds_e: 9,
                completions_c: 16384,
            }
        }
    }

    /// Whether workload `key` (`a`, `b`, `c`, `c'`, `d`, `e`, `mem`) runs.
    fn runs(&self, key: &str) -> bool {
        self.only
            .as_ref()
            .map_or(true, |only| only.iter().any(|k| k == key))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Ready,
    YieldOnce,
    Parked,
    Timers,
    /// Issue 12's conditions for (c), under the given executor.
    OneWake(Driver),
    /// (e): spawned tasks.
    Spawned,
}

struct Row {
    workload: Workload,
    limit: usize,
    label: String,
    unit: &'static str,
    /// Median per contender, in `Contender::ALL` order; `None` if not run.
    medians: Medians,
}

impl Row {
    fn get(&self, c: Contender) -> Option<f64> {
        self.medians[index(c)]
    }
}

fn index(c: Contender) -> usize {
    Contender::ALL.iter().position(|&x| x == c).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--probe") {
        probe(&args[at + 1..]);
        return;
    }
    let config = Config::from_env();
    let started = Instant::now();
    print_header(&config);

    let mut rows = Vec::new();
    for &limit in LIMITS_AB.iter().filter(|_| config.runs("a")) {
        progress(&format!("(a) ready, n = {limit}"));
        let medians = bench_block_on(config.rounds_ab, limit, || {
            (0..black_box(ITEMS) as u64).map(std::future::ready)
        });
        rows.push(Row {
            workload: Workload::Ready,
            limit,
            label: format!("(a) ready, n={limit}"),
            unit: "ns/future",
            medians,
        });
    }
    for &limit in LIMITS_AB.iter().filter(|_| config.runs("b")) {
        progress(&format!("(b) yield once, n = {limit}"));
        let medians = bench_block_on(config.rounds_ab, limit, || {
            (0..black_box(ITEMS) as u64).map(YieldOnce::new)
        });
        rows.push(Row {
            workload: Workload::YieldOnce,
            limit,
            label: format!("(b) yield-once, n={limit}"),
            unit: "ns/future",
            medians,
        });
    }
    for &limit in LIMITS_C.iter().filter(|_| config.runs("c")) {
        progress(&format!("(c) parked on oneshots, n = {limit}"));
        let medians = bench_parked(config.rounds_c, limit, config.completions_c);
        rows.push(Row {
            workload: Workload::Parked,
            limit,
            label: format!("(c) oneshot, n={limit}"),
            unit: "ns/completion",
            medians,
        });
    }
    let current_thread = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio current-thread runtime");
    for driver in [Driver::BlockOn, Driver::TokioCt] {
        for &n in LIMITS_ONE_WAKE.iter().filter(|_| config.runs("c'")) {
            progress(&format!("(c') one-wake, {}, n = {n}", driver.label()));
            let medians = bench_one_wake(config.rounds_one_wake, n, driver, &current_thread);
            rows.push(Row {
                workload: Workload::OneWake(driver),
                limit: n,
                label: format!("(c') {}, n={n}", driver.label()),
                unit: "ns/completion",
                medians,
            });
        }
    }
    drop(current_thread);
    if config.runs("d") {
        progress("(d) timers");
        rows.push(Row {
            workload: Workload::Timers,
            limit: TIMER_LIMIT,
            label: format!("(d) timers, n={TIMER_LIMIT}"),
            unit: "ms total",
            medians: bench_timers(config.rounds_d),
        });
    }
    let workers = spawned::runtime();
    for &limit in LIMITS_E.iter().filter(|_| config.runs("e")) {
        progress(&format!("(e) spawned tasks, n = {limit}"));
        let medians = bench_spawned(config.rounds_e, limit, workers.handle());
        rows.push(Row {
            workload: Workload::Spawned,
            limit,
            label: format!("(e) spawned, n={limit}"),
            unit: "ns/item",
            medians,
        });
    }
    drop(workers);

    let busy = config.runs("f").then(|| {
        progress("(f) busy consumer");
        bench_busy(config.rounds_ab)
    });

    let memory = config.runs("mem").then(|| {
        progress("memory");
        bench_memory()
    });

    print_times(&rows);
    print_ratios(&rows);
    if let Some(memory) = &memory {
        print_memory(memory);
    }
    print_targets(&rows, memory.as_ref());
    println!();
    print_targets_issue12(&rows);
    if let Some((plain, with_progress)) = busy {
        println!();
        print_busy(plain, with_progress);
    }
    println!();
    println!(
        "finished in {:.1} s ({} mode)",
        started.elapsed().as_secs_f64(),
        if config.quick { "quick" } else { "full" }
    );
}

/// (f): medians of the plain loop and of `progress_while`, interleaved
/// round by round, in ns per item.
fn bench_busy(rounds: usize) -> (f64, f64) {
    let expected = Tally::of_range(busy::ITEMS);
    let (mut plain, mut with_progress) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for progress_first in [round % 2 == 0, round % 2 == 1] {
            let (ns, tally) = busy::run(progress_first);
            check(Contender::AsCompleted, tally, expected, "(f) busy consumer");
            if progress_first {
                with_progress.push(ns);
            } else {
                plain.push(ns);
            }
        }
    }
    (
        median(&mut plain).expect("rounds"),
        median(&mut with_progress).expect("rounds"),
    )
}

fn print_busy(plain: f64, with_progress: f64) {
    let ratio = with_progress / plain;
    println!(
        "(f) busy consumer, {} items that yield once, n={}, a body that yields once:",
        busy::ITEMS,
        busy::LIMIT
    );
    println!(
        "    plain loop {plain:.1} ns/item, progress_while {with_progress:.1} ns/item: \
         {ratio:.2} x the plain loop (target <= 1.2: {})",
        verdict(ratio <= 1.2)
    );
}

fn progress(what: &str) {
    eprintln!("  running {what} ...");
}

/// Asserts that a contender produced exactly the outputs expected.
#[track_caller]
fn check(c: Contender, got: Tally, expected: Tally, what: &str) {
    assert_eq!(
        got,
        expected,
        "{} produced the wrong outputs in {what}",
        c.label()
    );
}

/// The order of the contenders in round `round`: `Contender::GENERIC`
/// rotated.
fn rotation(round: usize) -> impl Iterator<Item = Contender> {
    rotate(&Contender::GENERIC, round)
}

/// `contenders` rotated by `round`.
fn rotate(contenders: &[Contender], round: usize) -> impl Iterator<Item = Contender> + '_ {
    let n = contenders.len();
    (0..n).map(move |k| contenders[(round + k) % n])
}

fn median(samples: &mut [f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    Some(if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    })
}

/// One median per contender of `Contender::ALL`.
type Medians = [Option<f64>; Contender::ALL.len()];

fn medians_of(mut samples: Vec<Vec<f64>>) -> Medians {
    let mut out = [None; Contender::ALL.len()];
    for (slot, s) in out.iter_mut().zip(samples.iter_mut()) {
        *slot = median(s);
    }
    out
}

/// Workloads (a) and (b): ns per future under `block_on`.
fn bench_block_on<I, F>(rounds: usize, limit: usize, make: impl Fn() -> I) -> Medians
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    let expected = Tally::of_range(ITEMS);
    let mut samples = vec![Vec::new(); Contender::ALL.len()];
    for round in 0..rounds {
        for c in rotation(round) {
            let items = make();
            let start = Instant::now();
            let tally = block_on(run(c, items, limit));
            let elapsed = start.elapsed();
            check(c, tally, expected, "workload (a)/(b)");
            samples[index(c)].push(elapsed.as_nanos() as f64 / ITEMS as f64);
        }
    }
    medians_of(samples)
}

/// A seeded xorshift64 generator.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-enough in `0..bound` (the modulo bias is irrelevant here).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// What a contender must yield in (c) for one batch of `n` with the senders
/// of `order` completed.
fn expected_parked(c: Contender, n: usize, order: &[u32]) -> Tally {
    match c {
        Contender::InOrder => {
            let mut done = vec![false; n];
            for &i in order {
                done[i as usize] = true;
            }
            Tally::of_range(done.iter().take_while(|&&d| d).count())
        }
        Contender::SemaphoreJoinAll if order.len() < n => Tally::default(),
        _ => Tally {
            count: order.len(),
            sum: order.iter().map(|&i| u64::from(i)).sum(),
        },
    }
}

/// Workload (c): ns per completion.
fn bench_parked(rounds: usize, n: usize, completions: usize) -> Medians {
    let timed = n.min(PARKED_CAP);
    let batches = (completions / timed).max(1);
    let mut rng = XorShift(SEED ^ n as u64);
    let orders: Vec<Vec<u32>> = (0..batches)
        .map(|_| {
            // Fisher-Yates.
            let mut order: Vec<u32> = (0..n as u32).collect();
            for i in (1..n).rev() {
                order.swap(i, rng.below(i as u64 + 1) as usize);
            }
            order.truncate(timed);
            order
        })
        .collect();
    let mut samples = vec![Vec::new(); Contender::ALL.len()];
    for round in 0..rounds {
        for c in rotation(round) {
            let mut total = Duration::ZERO;
            for order in &orders {
                let (senders, receivers): (Vec<_>, Vec<_>) =
                    (0..n).map(|_| oneshot::channel::<u64>()).unzip();
                let (elapsed, tally) = drive_parked(c, receivers, senders, order);
                check(c, tally, expected_parked(c, n, order), "workload (c)");
                total += elapsed;
            }
            samples[index(c)].push(total.as_nanos() as f64 / (batches * timed) as f64);
        }
    }
    medians_of(samples)
}

/// The one-wake rows (issue 12's conditions for (c)): ns per completion.
/// Each round draws fresh Fisher-Yates orders, the same for every contender
/// of the round.
fn bench_one_wake(
    rounds: usize,
    n: usize,
    driver: Driver,
    runtime: &tokio::runtime::Runtime,
) -> Medians {
    let per_batch = n.min(ONE_WAKE_COMPLETIONS);
    let batches = ONE_WAKE_COMPLETIONS / per_batch;
    let mut rng = XorShift(SEED ^ (n as u64) << 1 ^ driver as u64);
    let mut samples = vec![Vec::new(); Contender::ALL.len()];
    for round in 0..rounds {
        let orders: Vec<Vec<u32>> = (0..batches)
            .map(|_| one_wake::shuffled(&mut rng, n, per_batch))
            .collect();
        for c in rotate(&one_wake::CONTENDERS, round) {
            let mut total = Duration::ZERO;
            for order in &orders {
                let (elapsed, tally) =
                    one_wake::run_batch(c, Item::Issue, driver, runtime, n, order);
                check(c, tally, sent(order), "the one-wake rows");
                total += elapsed;
            }
            samples[index(c)].push(total.as_nanos() as f64 / (batches * per_batch) as f64);
        }
    }
    medians_of(samples)
}

/// The tally of the outputs of `order`'s senders, which send their index.
fn sent(order: &[u32]) -> Tally {
    Tally {
        count: order.len(),
        sum: order.iter().map(|&i| u64::from(i)).sum(),
    }
}

/// Workload (e): ns per spawned item.
fn bench_spawned(rounds: usize, limit: usize, handle: &tokio::runtime::Handle) -> Medians {
    let expected = Tally::of_range(ITEMS_E);
    // Warm-up: the workers start, the allocator's caches fill.
    for c in spawned::CONTENDERS {
        let (_, tally) = spawned::run_spawned(c, handle, ITEMS_E / 10, limit);
        check(c, tally, Tally::of_range(ITEMS_E / 10), "the (e) warm-up");
    }
    let mut samples = vec![Vec::new(); Contender::ALL.len()];
    for round in 0..rounds {
        for c in rotate(&spawned::CONTENDERS, round) {
            let (elapsed, tally) = spawned::run_spawned(c, handle, ITEMS_E, limit);
            check(c, tally, expected, "workload (e)");
            samples[index(c)].push(elapsed.as_nanos() as f64 / ITEMS_E as f64);
        }
    }
    medians_of(samples)
}

/// `--probe`: runs one contender on one workload once, untimed but bracketed
/// by callgrind client requests, for `benches/cachegrind.sh`:
///
/// ```text
/// --probe one-wake <contender> <item> <driver> <n> [<completions>]
///     item: issue | small | receiver;  driver: hand | block_on | tokio_ct
///     (receiver + hand is workload (c)'s item and driver)
/// --probe parked <contender> <n>
///     workload (c) itself, one batch (`contenders::drive_parked`)
/// --probe spawned <contender> <limit> [<items>]
/// ```
///
/// `contender` is a column label: `as_completed`, `fut-buffered`,
/// `buffer_unord`, `FuturesUnord` or `JoinSet`. One untimed warm-up run goes
/// first; then every measured region is reported to callgrind (zeroed at its
/// start, dumped at its end), and the number of completions measured is
/// printed.
fn probe(args: &[String]) {
    let usage = "usage: --probe one-wake <contender> <issue|small|receiver> \
                 <hand|block_on|tokio_ct> <n> [<completions>] | \
                 --probe parked <contender> <n> | \
                 --probe spawned <contender> <limit> [<items>] | \
                 --probe ready|yield-once <contender> <n>";
    let contender = |s: &str| {
        Contender::ALL
            .into_iter()
            .find(|c| c.label() == s)
            .unwrap_or_else(|| panic!("unknown contender {s:?}; {usage}"))
    };
    let number = |s: Option<&String>, default: usize| {
        s.map_or(default, |s| s.parse().unwrap_or_else(|_| panic!("{usage}")))
    };
    match args.first().map(String::as_str) {
        Some("one-wake") if args.len() >= 5 => {
            let c = contender(&args[1]);
            let item = Item::parse(&args[2]).unwrap_or_else(|| panic!("{usage}"));
            let driver = Driver::parse(&args[3]).unwrap_or_else(|| panic!("{usage}"));
            let n = number(args.get(4), 0);
            let completions = number(args.get(5), ONE_WAKE_COMPLETIONS);
            let per_batch = n.min(completions);
            let batches = completions / per_batch;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio current-thread runtime");
            let mut rng = XorShift(SEED);
            let warm = one_wake::shuffled(&mut rng, n, per_batch);
            let (_, tally) = one_wake::run_batch(c, item, driver, &runtime, n, &warm);
            check(c, tally, sent(&warm), "the probe's warm-up");
            valgrind::enable();
            let mut total = Duration::ZERO;
            for _ in 0..batches {
                let order = one_wake::shuffled(&mut rng, n, per_batch);
                let (elapsed, tally) = one_wake::run_batch(c, item, driver, &runtime, n, &order);
                check(c, tally, sent(&order), "the probe");
                total += elapsed;
            }
            let (issue, small) = one_wake::item_sizes();
            let completions = batches * per_batch;
            println!(
                "probe one-wake {} item={:?} driver={} n={n} completions={completions} \
                 {:.1} ns/completion (future bytes: issue {issue}, small {small})",
                c.label(),
                item,
                driver.label(),
                total.as_nanos() as f64 / completions as f64
            );
        }
        Some("parked") if args.len() >= 3 => {
            let c = contender(&args[1]);
            let n = number(args.get(2), 0);
            let timed = n.min(PARKED_CAP);
            let mut rng = XorShift(SEED ^ n as u64);
            let batch = |rng: &mut XorShift| {
                let order = one_wake::shuffled(rng, n, timed);
                let (senders, receivers): (Vec<_>, Vec<_>) =
                    (0..n).map(|_| oneshot::channel::<u64>()).unzip();
                let (elapsed, tally) = drive_parked(c, receivers, senders, &order);
                check(c, tally, expected_parked(c, n, &order), "the probe");
                elapsed
            };
            batch(&mut rng);
            valgrind::enable();
            let elapsed = batch(&mut rng);
            println!(
                "probe parked {} n={n} completions={timed} {:.1} ns/completion",
                c.label(),
                elapsed.as_nanos() as f64 / timed as f64
            );
        }
        Some(kind @ ("ready" | "yield-once")) if args.len() >= 3 => {
            let c = contender(&args[1]);
            let n = number(args.get(2), 0);
            let once = |items: usize| {
                let tally = if kind == "ready" {
                    block_on(run(c, (0..items as u64).map(std::future::ready), n))
                } else {
                    block_on(run(c, (0..items as u64).map(YieldOnce::new), n))
                };
                check(c, tally, Tally::of_range(items), "the probe");
            };
            once(ITEMS / 10);
            valgrind::enable();
            let start = Instant::now();
            valgrind::start();
            once(ITEMS);
            valgrind::stop();
            println!(
                "probe {kind} {} n={n} completions={ITEMS} {:.1} ns/future",
                c.label(),
                start.elapsed().as_nanos() as f64 / ITEMS as f64
            );
        }
        Some("spawned") if args.len() >= 3 => {
            let c = contender(&args[1]);
            let limit = number(args.get(2), 0);
            let items = number(args.get(3), ITEMS_E);
            let workers = spawned::runtime();
            let (_, tally) = spawned::run_spawned(c, workers.handle(), items / 10, limit);
            check(c, tally, Tally::of_range(items / 10), "the probe's warm-up");
            valgrind::enable();
            let p = spawned::probe(c, workers.handle(), items, limit);
            check(c, p.tally, Tally::of_range(items), "the probe");
            let per_item = |v: u64| v as f64 / items as f64;
            let or_na = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
            println!(
                "probe spawned {} limit={limit} completions={items} {:.1} ns/item; \
                 JoinHandle polls/item {}, ready at first poll {}; \
                 main thread: cpu {:.0} ns/item, runnable-waiting {:.0} ns/item, parks/item {:.3}; \
                 other threads: cpu {:.0} ns/item, waiting {:.0} ns/item, parks/item {:.3}",
                c.label(),
                p.elapsed.as_nanos() as f64 / items as f64,
                or_na(p.polls),
                or_na(p.ready_at_first_poll),
                per_item(p.main.run_ns),
                per_item(p.main.wait_ns),
                per_item(p.main.parks),
                per_item(p.others.run_ns),
                per_item(p.others.wait_ns),
                per_item(p.others.parks),
            );
        }
        _ => panic!("{usage}"),
    }
}

/// Workload (d): total wall ms on a tokio current-thread runtime.
fn bench_timers(rounds: usize) -> Medians {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let mut rng = XorShift(SEED);
    let (lo, hi) = (2_000u64, 3_000_000u64);
    let durations: Vec<Duration> = (0..TIMERS)
        .map(|_| Duration::from_nanos(lo + rng.below(hi - lo + 1)))
        .collect();
    let expected = Tally::of_range(TIMERS);
    let mut samples = vec![Vec::new(); Contender::ALL.len()];
    for round in 0..rounds {
        for c in rotation(round).filter(|&c| c != Contender::Sequential) {
            let items = durations.iter().enumerate().map(|(i, &d)| async move {
                tokio::time::sleep(d).await;
                i as u64
            });
            let start = Instant::now();
            let tally = runtime.block_on(run(c, items, TIMER_LIMIT));
            let elapsed = start.elapsed();
            check(c, tally, expected, "workload (d)");
            samples[index(c)].push(elapsed.as_secs_f64() * 1e3);
        }
    }
    medians_of(samples)
}

struct Memory {
    /// Allocations and peak bytes for (a) at n = 4096, per contender.
    at_4096: Vec<counting::Usage>,
    /// The same for `limit = 1 << 20` over 10 ready items.
    huge_limit: Vec<counting::Usage>,
}

const HUGE_LIMIT: usize = 1 << 20;
const HUGE_ITEMS: usize = 10;

fn bench_memory() -> Memory {
    let mut at_4096 = Vec::new();
    let mut huge_limit = Vec::new();
    for c in Contender::GENERIC {
        let (tally, usage) =
            measure(|| block_on(run(c, (0..ITEMS as u64).map(std::future::ready), 4096)));
        check(
            c,
            tally,
            Tally::of_range(ITEMS),
            "the memory run at n = 4096",
        );
        at_4096.push(usage);
        let (tally, usage) = measure(|| {
            block_on(run(
                c,
                (0..HUGE_ITEMS as u64).map(std::future::ready),
                HUGE_LIMIT,
            ))
        });
        check(
            c,
            tally,
            Tally::of_range(HUGE_ITEMS),
            "the memory run at 1 << 20",
        );
        huge_limit.push(usage);
    }
    Memory {
        at_4096,
        huge_limit,
    }
}

// ---------------------------------------------------------------- printing

const LABEL_WIDTH: usize = 24;
const COL_WIDTH: usize = 13;

fn print_header(config: &Config) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (y, m, d) = civil_from_days((now / 86_400) as i64);
    let (hh, mm) = ((now % 86_400) / 3600, (now % 3600) / 60);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let command: Vec<String> = std::env::args().collect();
    println!(
        "limited-as-completed {} — benches/compare.rs",
        env!("CARGO_PKG_VERSION")
    );
    println!("date:    {y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC");
    println!("command: {}", command.join(" "));
    println!("cores:   {cores} (available parallelism)");
    println!(
        "mode:    {} (rounds: (a)/(b) {}, (c) {}, (c') {}, (d) {}, (e) {}; medians over rounds, contenders interleaved in a rotating order)",
        if config.quick { "quick" } else { "full" },
        config.rounds_ab,
        config.rounds_c,
        config.rounds_one_wake,
        config.rounds_d,
        config.rounds_e
    );
    println!();
    println!("contenders:");
    for c in Contender::ALL {
        println!("  {:<COL_WIDTH$} {}", c.label(), c.describe());
    }
    println!();
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn header_line(first: &str, columns: &[Contender]) -> String {
    let mut line = format!("{first:<LABEL_WIDTH$}");
    for c in columns {
        let _ = write!(line, " {:>COL_WIDTH$}", c.label());
    }
    line
}

fn print_times(rows: &[Row]) {
    println!("== time: median per future ((a), (b)), per completion ((c)), total ms ((d)) ==");
    println!("{}  unit", header_line("workload", &Contender::ALL));
    for row in rows {
        let mut line = format!("{:<LABEL_WIDTH$}", row.label);
        for value in row.medians {
            let cell = match value {
                Some(v) if v >= 10_000.0 => format!("{v:.0}"),
                Some(v) => format!("{v:.1}"),
                None => "—".to_string(),
            };
            let _ = write!(line, " {cell:>COL_WIDTH$}");
        }
        println!("{line}  {}", row.unit);
    }
    println!();
}

fn print_ratios(rows: &[Row]) {
    let peers: Vec<Contender> = Contender::ALL[1..].to_vec();
    println!("== ratio: contender / limited_as_completed, same run (> 1: limited_as_completed is faster) ==");
    println!("{}", header_line("workload", &peers));
    for row in rows {
        let mut line = format!("{:<LABEL_WIDTH$}", row.label);
        let base = row.get(Contender::AsCompleted);
        for &c in &peers {
            let cell = match (row.get(c), base) {
                (Some(v), Some(b)) if b > 0.0 => format!("{:.2}", v / b),
                _ => "—".to_string(),
            };
            let _ = write!(line, " {cell:>COL_WIDTH$}");
        }
        println!("{line}");
    }
    println!();
}

fn print_memory(memory: &Memory) {
    println!("== memory (counting global allocator) ==");
    println!(
        "{:<COL_WIDTH$} {:>16} {:>16} {:>18} {:>18}",
        "contender", "allocs/future", "peak bytes", "allocs", "peak bytes"
    );
    println!(
        "{:<COL_WIDTH$} {:>33} {:>37}",
        "",
        format!("(a) {ITEMS} ready, n=4096"),
        format!("limit 1<<20, {HUGE_ITEMS} ready items")
    );
    for (i, c) in Contender::GENERIC.into_iter().enumerate() {
        let (a, h) = (memory.at_4096[i], memory.huge_limit[i]);
        println!(
            "{:<COL_WIDTH$} {:>16.4} {:>16} {:>18} {:>18}",
            c.label(),
            a.allocs as f64 / ITEMS as f64,
            a.peak_bytes,
            h.allocs,
            h.peak_bytes
        );
    }
    println!();
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn print_targets(rows: &[Row], memory: Option<&Memory>) {
    println!("== issue 4 targets (same-run ratios) ==");
    let ours = |r: &Row| r.get(Contender::AsCompleted).unwrap_or(f64::NAN);
    for row in rows {
        match row.workload {
            Workload::Ready | Workload::YieldOnce => {
                let bound = if row.workload == Workload::Ready {
                    0.5
                } else {
                    0.8
                };
                let ratio = ours(row) / row.get(Contender::FuturesBuffered).unwrap_or(f64::NAN);
                println!(
                    "{:<LABEL_WIDTH$} as_completed / fut-buffered = {ratio:.2}  (target <= {bound})  {}",
                    row.label,
                    verdict(ratio <= bound)
                );
            }
            Workload::Parked if row.limit <= 1024 => {
                let ratio = ours(row) / row.get(Contender::FuturesBuffered).unwrap_or(f64::NAN);
                println!(
                    "{:<LABEL_WIDTH$} as_completed / fut-buffered = {ratio:.2}  (target <= 1.1)  {}",
                    row.label,
                    verdict(ratio <= 1.1)
                );
            }
            Workload::Parked | Workload::OneWake(_) | Workload::Spawned => {}
            Workload::Timers => {
                let fastest = [
                    Contender::BufferUnordered,
                    Contender::FuturesUnordered,
                    Contender::FuturesBuffered,
                    Contender::FutureGroup,
                    Contender::SemaphoreJoinAll,
                ]
                .into_iter()
                .filter_map(|c| row.get(c))
                .fold(f64::INFINITY, f64::min);
                let ratio = ours(row) / fastest;
                println!(
                    "{:<LABEL_WIDTH$} as_completed / fastest peer = {ratio:.3}  (target <= 1.03)  {}",
                    row.label,
                    verdict(ratio <= 1.03)
                );
            }
        }
    }
    let parked = |n: usize| {
        rows.iter()
            .find(|r| r.workload == Workload::Parked && r.limit == n)
            .map(ours)
    };
    if let (Some(small), Some(large)) = (parked(16), parked(65536)) {
        let ratio = large / small;
        println!(
            "{:<LABEL_WIDTH$} as_completed n=65536 / n=16 = {ratio:.2}  (target <= 1.6)  {}",
            "(c) growth with n",
            verdict(ratio <= 1.6)
        );
    }
    let Some(memory) = memory else {
        return;
    };
    let ours_memory = index(Contender::AsCompleted);
    let per_future = memory.at_4096[ours_memory].allocs as f64 / ITEMS as f64;
    println!(
        "{:<LABEL_WIDTH$} as_completed allocs/future = {per_future:.4}  (target <= 0.01)  {}",
        "memory, n=4096",
        verdict(per_future <= 0.01)
    );
    let peak = memory.huge_limit[ours_memory].peak_bytes;
    println!(
        "{:<LABEL_WIDTH$} as_completed peak = {peak} B  (target < 16384 B)  {}",
        "memory, limit 1<<20",
        verdict(peak < 16 * 1024)
    );
}

/// Issue 12's targets (its item 3), as same-run ratios. Printed so that the
/// next engine change can be judged on them; no target is asserted.
fn print_targets_issue12(rows: &[Row]) {
    println!("== issue 12 targets (same-run ratios) ==");
    let ours = |r: &Row| r.get(Contender::AsCompleted).unwrap_or(f64::NAN);
    let of = |r: &Row, c: Contender| r.get(c).unwrap_or(f64::NAN);
    for row in rows {
        match row.workload {
            Workload::Ready | Workload::YieldOnce => {
                let bound = if row.workload == Workload::Ready {
                    0.35
                } else {
                    0.55
                };
                let ratio = ours(row) / of(row, Contender::FuturesBuffered);
                println!(
                    "{:<LABEL_WIDTH$} as_completed / fut-buffered = {ratio:.2}  (target <= {bound})  {}",
                    row.label,
                    verdict(ratio <= bound)
                );
            }
            Workload::OneWake(_) => {
                let buffered = ours(row) / of(row, Contender::FuturesBuffered);
                let unordered = ours(row) / of(row, Contender::BufferUnordered);
                println!(
                    "{:<LABEL_WIDTH$} as_completed / fut-buffered = {buffered:.2}  (target <= 1.0)  {};  \
                     / buffer_unord = {unordered:.2}  (target <= 1.0)  {}",
                    row.label,
                    verdict(buffered <= 1.0),
                    verdict(unordered <= 1.0)
                );
            }
            Workload::Spawned => {
                let best = spawned::CONTENDERS[1..]
                    .iter()
                    .filter_map(|&c| row.get(c))
                    .fold(f64::INFINITY, f64::min);
                let ratio = ours(row) / best;
                println!(
                    "{:<LABEL_WIDTH$} as_completed / best peer = {ratio:.2}  (target <= 1.0)  {}",
                    row.label,
                    verdict(ratio <= 1.0)
                );
            }
            Workload::Parked | Workload::Timers => {}
        }
    }
    let find = |w: Workload, n: usize| {
        rows.iter()
            .find(|r| r.workload == w && r.limit == n)
            .map(ours)
    };
    for driver in [Driver::BlockOn, Driver::TokioCt] {
        let w = Workload::OneWake(driver);
        if let (Some(small), Some(large)) = (find(w, 16), find(w, 65536)) {
            let ratio = large / small;
            println!(
                "{:<LABEL_WIDTH$} as_completed n=65536 / n=16 = {ratio:.2}  (target <= 1.3)  {}",
                format!("(c') {} growth", driver.label()),
                verdict(ratio <= 1.3)
            );
        }
    }
    if let (Some(small), Some(large)) = (find(Workload::Spawned, 64), find(Workload::Spawned, 4096))
    {
        let ratio = large / small;
        println!(
            "{:<LABEL_WIDTH$} as_completed n=4096 / n=64 = {ratio:.2}  (flat: target <= 1.1)  {}",
            "(e) growth with n",
            verdict(ratio <= 1.1)
        );
    }
}
