//! The classic case: 100 jobs where job *i* takes 1/*i* seconds, at most 10 at
//! a time, under smol.
//!
//! Job 1 takes a whole second and starts first, so a perfect schedule ends at
//! 1.0 s with job 1 last; one at a time the same jobs take H(100) ≈ 5.19 s.
//! The demo prints each start and finish, then the peak concurrency it saw,
//! its wall time, and the time the same jobs take one at a time and all at
//! once.
//!
//! ```text
//! cargo run --example demo              # the full run, about 7 s
//! cargo run --example demo -- 0.1       # every duration scaled by 0.1
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;

const JOBS: u32 = 100;
const LIMIT: usize = 10;

/// Tracks how many jobs run at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn enter(&self) -> usize {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        now
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Job `i`: sleeps `scale / i` seconds and returns its number.
async fn job(i: u32, scale: f64, gauge: &Gauge, start: Instant, verbose: bool) -> u32 {
    let running = gauge.enter();
    if verbose {
        println!(
            "{:>7.3}s  start  job {i:>3}  ({running} running)",
            secs(start)
        );
    }
    smol::Timer::after(Duration::from_secs_f64(scale / f64::from(i))).await;
    gauge.leave();
    i
}

fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

fn main() {
    let scale: f64 = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .ok()
            .filter(|s: &f64| *s > 0.0)
            .unwrap_or_else(|| panic!("the argument is a time scale such as 0.1, got {arg:?}")),
        None => 1.0,
    };

    smol::block_on(async {
        println!("{JOBS} jobs, job i takes {scale}/i s, at most {LIMIT} at a time\n");
        let gauge = Gauge::default();
        let start = Instant::now();
        let mut finished = (1..=JOBS)
            .map(|i| job(i, scale, &gauge, start, true))
            .limited_as_completed(LIMIT);
        let mut order = Vec::with_capacity(JOBS as usize);
        while let Some(i) = finished.next().await {
            println!("{:>7.3}s  finish job {i:>3}", secs(start));
            order.push(i);
        }
        let limited = start.elapsed();
        let peak = gauge.peak.load(Ordering::SeqCst);

        let gauge = Gauge::default();
        let start = Instant::now();
        for i in 1..=JOBS {
            job(i, scale, &gauge, start, false).await;
        }
        let one_at_a_time = start.elapsed();

        let gauge = Gauge::default();
        let start = Instant::now();
        let all: Vec<u32> = (1..=JOBS)
            .map(|i| job(i, scale, &gauge, start, false))
            .limited_as_completed(usize::MAX)
            .collect()
            .await;
        let all_at_once = start.elapsed();
        assert_eq!(all.len(), JOBS as usize);

        let ideal: f64 = scale;
        let harmonic: f64 = (1..=JOBS).map(|i| scale / f64::from(i)).sum();
        println!();
        println!("peak concurrency   {peak} (limit {LIMIT})");
        println!(
            "last job to finish job {} (ideal: job 1)",
            order.last().copied().unwrap_or_default()
        );
        println!(
            "limited, {LIMIT} at once {:>7.3} s (ideal {ideal:.3} s)",
            limited.as_secs_f64()
        );
        println!(
            "one at a time      {:>7.3} s (ideal {harmonic:.3} s)",
            one_at_a_time.as_secs_f64()
        );
        println!(
            "all at once        {:>7.3} s (ideal {ideal:.3} s)",
            all_at_once.as_secs_f64()
        );
    });
}
