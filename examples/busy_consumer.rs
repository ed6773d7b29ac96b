//! A busy consumer, with and without `progress_while`, under smol.
//!
//! The seeds' 100 jobs (job *i* takes 1/*i* seconds), each split in three
//! equal steps, as a request is connect, send, read; at most 10 at a time;
//! and a loop body that spends 20 ms on each output (say, writing it out).
//!
//! With a plain `while let` loop, the jobs in flight take their next step
//! only when the loop asks for the next output: every step waits for the
//! body, and short jobs take many times their own work. Awaiting the body
//! through `progress_while` keeps them going meanwhile, with no spawning and
//! no runtime support: no job is stretched.
//!
//! ```text
//! cargo run --example busy_consumer          # both runs, about 4.5 s
//! cargo run --example busy_consumer -- 0.5   # every duration scaled by 0.5
//! ```

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;
use smol::Timer;

const JOBS: u32 = 100;
const LIMIT: usize = 10;
const STEPS: u32 = 3;
/// A job counts as stretched when it took this much longer than its work,
/// beyond one timer tick per step (timers here fire up to about 1 ms late,
/// which is 30 % of a 3.3 ms step).
const STRETCHED: f64 = 1.10;
const TICK: Duration = Duration::from_millis(1);

/// When a job started and finished.
#[derive(Clone, Copy, Default)]
struct Span {
    start: Option<Instant>,
    end: Option<Instant>,
}

/// Job `i`: `work` of sleeping, in three equal steps, each begun when the
/// one before it is seen to end (as a request sends once it has connected).
async fn job(i: u32, work: Duration, spans: Rc<RefCell<Vec<Span>>>) -> u32 {
    spans.borrow_mut()[i as usize].start = Some(Instant::now());
    for _ in 0..STEPS {
        Timer::after(work / STEPS).await;
    }
    spans.borrow_mut()[i as usize].end = Some(Instant::now());
    i
}

/// What one run measured.
struct Report {
    wall: Duration,
    stretched: usize,
    /// The job whose time was the most over its work, and both times.
    worst: (u32, Duration, Duration),
}

/// Runs the jobs, the body awaited plainly or through `progress_while`.
fn run(with_progress: bool, scale: f64) -> Report {
    let work = |i: u32| Duration::from_secs_f64(scale / f64::from(i));
    let body = Duration::from_secs_f64(0.020 * scale);
    let spans = Rc::new(RefCell::new(vec![Span::default(); JOBS as usize + 1]));
    let began = Instant::now();
    smol::block_on(async {
        let jobs = (1..=JOBS).map(|i| job(i, work(i), Rc::clone(&spans)));
        let mut outputs = jobs.limited_as_completed(LIMIT);
        while let Some(_job) = outputs.next().await {
            let write_out = Timer::after(body);
            if with_progress {
                outputs.progress_while(write_out).await;
            } else {
                write_out.await;
            }
        }
    });
    let wall = began.elapsed();
    let spans = spans.borrow();
    let mut stretched = 0;
    let mut worst = (0, Duration::ZERO, Duration::ZERO);
    let mut worst_ratio = 0.0;
    for i in 1..=JOBS {
        let span = spans[i as usize];
        let took = span.end.expect("job finished") - span.start.expect("job started");
        let ratio = took.as_secs_f64() / work(i).as_secs_f64();
        if took > work(i).mul_f64(STRETCHED) + TICK * STEPS {
            stretched += 1;
        }
        if ratio > worst_ratio {
            worst_ratio = ratio;
            worst = (i, work(i), took);
        }
    }
    Report {
        wall,
        stretched,
        worst,
    }
}

fn print(name: &str, report: &Report) {
    let (job, work, took) = report.worst;
    println!(
        "{name:<16} {:>6.3} s   {:>3} of {JOBS} jobs stretched   \
         worst: job {job}: {:.1} ms of work took {:.1} ms",
        report.wall.as_secs_f64(),
        report.stretched,
        work.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e3,
    );
}

fn main() {
    let scale = std::env::args()
        .nth(1)
        .map_or(1.0, |arg| arg.parse().expect("SCALE is a number, like 0.5"));
    println!(
        "{JOBS} jobs of 1/i s in {STEPS} steps, {LIMIT} at a time; the loop body \
         spends {:.0} ms per output",
        20.0 * scale
    );
    println!(
        "(stretched: took more than 10 % longer than its own work, beyond the \
         timers' 1 ms per step)\n"
    );
    print("plain loop", &run(false, scale));
    print("progress_while", &run(true, scale));
}
