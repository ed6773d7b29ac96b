//! (f) A busy consumer: the per-item cost of `progress_while` against the
//! plain loop, in the same run.
//!
//! 100 000 items that wake their own task and return `Pending` once (as in
//! (b)), limit 16, under `futures::executor::block_on`, and a loop body that
//! itself yields once (wakes its task and returns `Pending`). The plain loop
//! awaits the body; the other awaits it through `progress_while`, which polls
//! the body and, while it is pending, the stream's woken futures. Every
//! output is counted and summed.

use std::hint::black_box;
use std::time::Instant;

use futures::executor::block_on;
use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;

use crate::contenders::{Tally, YieldOnce};

pub const ITEMS: usize = 100_000;
pub const LIMIT: usize = 16;

/// One run: ns per item, and what came out.
pub fn run(with_progress: bool) -> (f64, Tally) {
    let items = (0..black_box(ITEMS) as u64).map(YieldOnce::new);
    let start = Instant::now();
    let tally = block_on(async {
        let mut tally = Tally::default();
        let mut outputs = items.limited_as_completed(LIMIT);
        while let Some(v) = outputs.next().await {
            let body = YieldOnce::new(v);
            let v = if with_progress {
                outputs.progress_while(body).await
            } else {
                body.await
            };
            tally.add(v);
        }
        tally
    });
    let ns = start.elapsed().as_nanos() as f64 / ITEMS as f64;
    (ns, tally)
}
