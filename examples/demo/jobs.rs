//! The demo's schedule: jobs that sleep, run at most `limit` at a time under
//! smol, with their start and finish events, the peak concurrency, the wall
//! time and the process's CPU time. Shared by `examples/demo.rs` and
//! `tests/demo.rs` (through `#[path]`), so the test runs the demo's code.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;

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

/// Something that happened to a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Job `job` started; `running` jobs run now, this one included.
    Start { job: u32, running: usize },
    /// Job `job`'s output came out of the stream.
    Finish { job: u32 },
}

/// What a run measured.
#[derive(Debug)]
pub struct Run {
    /// Jobs in the order their outputs came out.
    pub order: Vec<u32>,
    /// The most jobs running at once.
    pub peak: usize,
    /// Wall time from the first poll to the last output.
    pub wall: Duration,
    /// CPU time (user + system) the whole process used meanwhile, if the
    /// system tells (Linux).
    pub cpu: Option<Duration>,
}

/// Job `i`: sleeps `duration`, and returns `i`.
async fn job(
    i: u32,
    duration: Duration,
    gauge: &Gauge,
    start: Instant,
    on_event: &dyn Fn(Duration, Event),
) -> u32 {
    let running = gauge.enter();
    on_event(start.elapsed(), Event::Start { job: i, running });
    smol::Timer::after(duration).await;
    gauge.leave();
    i
}

/// Runs jobs `1..=jobs`, job `i` sleeping `duration(i)`, at most `limit` at
/// once, outputs in completion order; reports each event as it happens, with
/// the time since the run began.
pub async fn run_limited(
    jobs: u32,
    limit: usize,
    duration: impl Fn(u32) -> Duration,
    on_event: &dyn Fn(Duration, Event),
) -> Run {
    let gauge = Gauge::default();
    let cpu_before = cpu_time();
    let start = Instant::now();
    let mut finished = (1..=jobs)
        .map(|i| job(i, duration(i), &gauge, start, on_event))
        .limited_as_completed(limit);
    let mut order = Vec::with_capacity(jobs as usize);
    while let Some(i) = finished.next().await {
        on_event(start.elapsed(), Event::Finish { job: i });
        order.push(i);
    }
    let wall = start.elapsed();
    let cpu = cpu_before
        .zip(cpu_time())
        .map(|(before, after)| after - before);
    Run {
        order,
        peak: gauge.peak.load(Ordering::SeqCst),
        wall,
        cpu,
    }
}

/// Runs the same jobs one after another; returns the wall time.
pub async fn run_one_at_a_time(jobs: u32, duration: impl Fn(u32) -> Duration) -> Duration {
    let gauge = Gauge::default();
    let start = Instant::now();
    for i in 1..=jobs {
        job(i, duration(i), &gauge, start, &|_, _| {}).await;
    }
    start.elapsed()
}

/// CPU time (user + system) used by this process so far, from
/// `/proc/self/stat`; `None` where there is no such file.
///
/// Fields 14 and 15 (`utime`, `stime`) count clock ticks of `USER_HZ`, which
/// Linux fixes at 100 per second for user space on every common
/// architecture: 10 ms resolution, plenty for whole runs.
pub fn cpu_time() -> Option<Duration> {
    const USER_HZ: u64 = 100;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 2, the command name, is in parentheses and may hold spaces: count
    // from the last ')', after which field 3 comes first.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let utime: u64 = fields.nth(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / USER_HZ))
}
