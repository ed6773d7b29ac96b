//! The classic case: 100 jobs where job *i* takes 1/*i* seconds, at most 10 at
//! a time, under smol.
//!
//! Job 1 takes a whole second and starts first, so a perfect schedule ends at
//! 1.0 s with job 1 last; one at a time the same jobs take H(100) ≈ 5.19 s.
//! The demo prints each start and finish, then the peak concurrency it saw,
//! its wall time and its own CPU time (user + system, from `/proc/self/stat`
//! on Linux), and the time the same jobs take one at a time and all at once.
//! The published Python recipe this reproduces took 1.535 s of wall time and
//! 1.436 s of CPU, because it busy-polls; here the CPU time is near zero.
//!
//! `--equal` runs the other case: 100 jobs that each take 1 s, 10 at a time,
//! which finish in ten waves of ten, in about 10 s.
//!
//! ```text
//! cargo run --example demo                  # the full run, about 7 s
//! cargo run --example demo -- 0.1           # every duration scaled by 0.1
//! cargo run --example demo -- --equal       # 100 jobs of 1 s: about 10 s
//! cargo run --example demo -- --equal 0.02  # 100 jobs of 20 ms
//! ```

#[path = "demo/jobs.rs"]
mod jobs;

use std::time::Duration;

use jobs::{run_limited, run_one_at_a_time, Event, Run};

const JOBS: u32 = 100;
const LIMIT: usize = 10;

/// Prints an event as the run goes.
fn print_event(at: Duration, event: Event) {
    let at = at.as_secs_f64();
    match event {
        Event::Start { job, running } => {
            println!("{at:>7.3}s  start  job {job:>3}  ({running} running)");
        }
        Event::Finish { job } => println!("{at:>7.3}s  finish job {job:>3}"),
    }
}

/// The process's CPU time during the run ("0.02 s CPU"), to the 10 ms the
/// system counts in; "CPU n/a" off Linux.
fn cpu(run: &Run) -> String {
    match run.cpu {
        Some(cpu) if cpu.is_zero() => "< 0.01 s CPU".to_string(),
        Some(cpu) => format!("{:.2} s CPU", cpu.as_secs_f64()),
        None => "CPU n/a".to_string(),
    }
}

/// `[--equal] [SCALE]`: the case, and the factor on every duration.
fn parse_args() -> (bool, f64) {
    let mut equal = false;
    let mut scale = 1.0;
    for arg in std::env::args().skip(1) {
        if arg == "--equal" {
            equal = true;
        } else {
            scale = arg
                .parse()
                .ok()
                .filter(|s: &f64| *s > 0.0)
                .unwrap_or_else(|| panic!("the argument is a time scale such as 0.1, got {arg:?}"));
        }
    }
    (equal, scale)
}

fn main() {
    let (equal, scale) = parse_args();
    if equal {
        equal_case(scale);
    } else {
        classic_case(scale);
    }
}

/// Job *i* takes `scale / i` s.
fn classic_case(scale: f64) {
    let duration = |i: u32| Duration::from_secs_f64(scale / f64::from(i));
    smol::block_on(async {
        println!("{JOBS} jobs, job i takes {scale}/i s, at most {LIMIT} at a time\n");
        let limited = run_limited(JOBS, LIMIT, duration, &print_event).await;
        let one_at_a_time = run_one_at_a_time(JOBS, duration).await;
        let all_at_once = run_limited(JOBS, usize::MAX, duration, &|_, _| {}).await;
        assert_eq!(all_at_once.order.len(), JOBS as usize);

        let ideal: f64 = scale;
        let harmonic: f64 = (1..=JOBS).map(|i| scale / f64::from(i)).sum();
        println!();
        println!("peak concurrency   {} (limit {LIMIT})", limited.peak);
        println!(
            "last job to finish job {} (ideal: job 1)",
            limited.order.last().copied().unwrap_or_default()
        );
        println!(
            "limited, {LIMIT} at once {:>7.3} s (ideal {ideal:.3} s), {}",
            limited.wall.as_secs_f64(),
            cpu(&limited)
        );
        println!(
            "one at a time      {:>7.3} s (ideal {harmonic:.3} s)",
            one_at_a_time.as_secs_f64()
        );
        println!(
            "all at once        {:>7.3} s (ideal {ideal:.3} s)",
            all_at_once.wall.as_secs_f64()
        );
    });
}

/// Every job takes `scale` s.
fn equal_case(scale: f64) {
    let duration = |_: u32| Duration::from_secs_f64(scale);
    smol::block_on(async {
        println!("{JOBS} jobs of {scale} s each, at most {LIMIT} at a time\n");
        let limited = run_limited(JOBS, LIMIT, duration, &print_event).await;
        let ideal = scale * f64::from(JOBS) / LIMIT as f64;
        let waves = limited
            .order
            .chunks(LIMIT)
            .enumerate()
            .filter(|(wave, finished)| {
                let mut finished = finished.to_vec();
                finished.sort_unstable();
                let first = (wave * LIMIT) as u32 + 1;
                finished == (first..first + finished.len() as u32).collect::<Vec<_>>()
            })
            .count();
        println!();
        println!("peak concurrency   {} (limit {LIMIT})", limited.peak);
        println!(
            "waves             {waves} of {} waves of {LIMIT} finished together",
            JOBS as usize / LIMIT
        );
        println!(
            "limited, {LIMIT} at once {:>7.3} s (ideal {ideal:.3} s), {}",
            limited.wall.as_secs_f64(),
            cpu(&limited)
        );
    });
}
