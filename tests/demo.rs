//! Guarantees 2 and 3 (crate docs) in the seeds' numbers: the demo's
//! schedule (100 sleeping jobs, 10 at a time) keeps its order of events and
//! its peak, with wide margins on time and CPU.
//!
//! Not under Miri or the memory sanitizers: real sockets, files and timers,
//! and bounds that assume the code runs at native speed.
#![cfg(not(miri))]

#[path = "../examples/demo/jobs.rs"]
#[allow(dead_code)] // `run_one_at_a_time` is for the example
mod jobs;

use std::cell::RefCell;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use jobs::{run_limited, Event, Run};

const JOBS: u32 = 100;
const LIMIT: usize = 10;

/// The CPU time read is the whole process's: run one schedule at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs the demo's schedule and records its events.
fn record(duration: impl Fn(u32) -> Duration) -> (Run, Vec<Event>) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let events = RefCell::new(Vec::new());
    let run = smol::block_on(run_limited(JOBS, LIMIT, duration, &|_, event| {
        events.borrow_mut().push(event);
    }));
    (run, events.into_inner())
}

/// The islice schedule, exactly: jobs 1 to 10 start on the first poll (with
/// 1 to 10 running); then each output comes out right after the job that
/// refills its slot has started; the last 10 outputs come with no start.
/// Every job starts once, in order, and finishes once.
fn assert_islice_schedule(run: &Run, events: &[Event]) {
    let limit = LIMIT as u32;
    let mut expected_starts = Vec::new();
    for (k, event) in events.iter().enumerate() {
        let k = k as u32;
        let expected_start = if k < limit {
            Some(k + 1)
        } else if k < 2 * JOBS - limit && (k - limit) % 2 == 0 {
            Some(limit + 1 + (k - limit) / 2)
        } else {
            None
        };
        match (expected_start, *event) {
            (
                Some(job),
                Event::Start {
                    job: started,
                    running,
                },
            ) => {
                assert_eq!(started, job, "event {k}: {event:?}");
                assert!(running <= LIMIT, "event {k}: {event:?}");
                if k < limit {
                    assert_eq!(running, job as usize, "event {k}: {event:?}");
                }
                expected_starts.push(job);
            }
            (None, Event::Finish { .. }) => {}
            _ => panic!("event {k}: {event:?}, expected a start of {expected_start:?}"),
        }
    }
    assert_eq!(events.len(), 2 * JOBS as usize);
    assert_eq!(expected_starts, (1..=JOBS).collect::<Vec<_>>());
    let finishes: Vec<u32> = events
        .iter()
        .filter_map(|event| match event {
            Event::Finish { job } => Some(*job),
            Event::Start { .. } => None,
        })
        .collect();
    assert_eq!(finishes, run.order);
    let mut sorted = run.order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=JOBS).collect::<Vec<_>>());
    assert_eq!(run.peak, LIMIT);
}

/// Generous: CPU time (10 ms resolution) well under the wall time, where
/// the system reports it.
fn assert_mostly_idle(run: &Run) {
    if let Some(cpu) = run.cpu {
        assert!(
            cpu < run.wall / 2,
            "CPU {cpu:?} for {:?} of wall time: busy-polling?",
            run.wall
        );
    }
}

#[test]
fn classic_case_finishes_job_1_last_with_10_running() {
    // Job i sleeps SCALE / i s: job 1 takes SCALE, the other 99 fill the
    // other nine slots in about 0.46 * SCALE.
    const SCALE: f64 = 0.2;
    let (run, events) = record(|i| Duration::from_secs_f64(SCALE / f64::from(i)));

    assert_islice_schedule(&run, &events);
    assert_eq!(run.order.last(), Some(&1));
    let scale = Duration::from_secs_f64(SCALE);
    assert!(run.wall >= scale, "{:?}", run.wall);
    assert!(run.wall < scale * 3, "{:?}", run.wall);
    assert_mostly_idle(&run);
}

#[test]
fn equal_jobs_finish_in_waves_of_10() {
    const JOB: Duration = Duration::from_millis(20);
    let (run, events) = record(|_| JOB);

    assert_islice_schedule(&run, &events);
    for (wave, finished) in run.order.chunks(LIMIT).enumerate() {
        let mut finished = finished.to_vec();
        finished.sort_unstable();
        let first = wave as u32 * LIMIT as u32 + 1;
        assert_eq!(finished, (first..first + LIMIT as u32).collect::<Vec<_>>());
    }
    assert!(run.wall >= JOB * 10, "{:?}", run.wall);
    assert!(run.wall < JOB * 10 * 3, "{:?}", run.wall);
    assert_mostly_idle(&run);
}

#[test]
fn cpu_time_grows_while_this_process_spins() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(before) = jobs::cpu_time() else {
        // Not Linux: the demo prints "CPU n/a".
        return;
    };
    // Spin until 50 ms of CPU time have been counted (5 s at most, however
    // busy the machine): the reading follows this process's own work, and
    // one spinning thread cannot use more CPU than the wall time it took.
    let start = std::time::Instant::now();
    let mut spins = 0u64;
    let mut used = Duration::ZERO;
    while used < Duration::from_millis(50) && start.elapsed() < Duration::from_secs(5) {
        spins = std::hint::black_box(spins + 1);
        used = jobs::cpu_time().unwrap() - before;
    }
    let wall = start.elapsed();
    assert!(
        used >= Duration::from_millis(50),
        "{used:?} of CPU in {wall:?}"
    );
    assert!(
        used <= wall + Duration::from_millis(20),
        "{used:?} of CPU in {wall:?}"
    );
}
