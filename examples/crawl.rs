//! Crawls `N` pages with at most `n` requests in flight, from a web server
//! the program starts on 127.0.0.1 (no outside network).
//!
//! The server (hyper, tokio) holds every request for a while and counts how
//! many are in progress at once; the client is hyper's, one connection per
//! page, and the pages go through `limited_as_completed(n)`. The program
//! prints its progress and, at the end, the peak the server saw: `n`, never
//! more.
//!
//! ```text
//! cargo run --example crawl                              # 200 pages, 8 at a time
//! cargo run --example crawl -- --pages 1000 --limit 32 --hold-ms 5
//! ```

#[path = "crawl/site.rs"]
mod site;

use std::time::{Duration, Instant};

use futures::StreamExt;
use limited_as_completed::LimitedAsCompletedExt;
use site::{body_of, fetch, Behaviour, Site};

/// `--pages N --limit N --hold-ms N`.
fn parse_args() -> Result<(usize, usize, u64), String> {
    let (mut pages, mut limit, mut hold_ms) = (200, 8, 20);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a number"))?;
        let number = value
            .parse::<u64>()
            .map_err(|_| format!("{arg} needs a number, got {value:?}"))?;
        match arg.as_str() {
            "--pages" => pages = number as usize,
            "--limit" if number > 0 => limit = number as usize,
            "--limit" => return Err("--limit must be at least 1".to_string()),
            "--hold-ms" => hold_ms = number,
            _ => {
                return Err(format!(
                    "unknown option {arg:?}; usage: crawl [--pages N] [--limit N] [--hold-ms N]"
                ))
            }
        }
    }
    Ok((pages, limit, hold_ms))
}

#[tokio::main]
async fn main() {
    let (pages, limit, hold_ms) = parse_args().unwrap_or_else(|message| {
        eprintln!("error: {message}");
        std::process::exit(2);
    });
    let behaviour = Behaviour {
        hold: Duration::from_millis(hold_ms),
        fail_every: None,
    };
    let site = Site::start(behaviour)
        .await
        .expect("cannot start the local server");
    let addr = site.addr();
    println!(
        "crawling {pages} pages from http://{addr}/ (a local server that holds each request {hold_ms} ms), at most {limit} at a time"
    );

    let start = Instant::now();
    let mut results = (0..pages)
        .map(|i| fetch(addr, i))
        .limited_as_completed(limit);
    let (mut fetched, mut failed) = (0, 0);
    let step = (pages / 10).max(1);
    while let Some(result) = results.next().await {
        match result {
            Ok(page) => {
                assert_eq!(page.body, body_of(page.index));
                fetched += 1;
            }
            Err(failure) => {
                eprintln!("{failure}");
                failed += 1;
            }
        }
        let done = fetched + failed;
        if done % step == 0 || done == pages {
            let (now, peak) = site.in_progress();
            println!(
                "{:>7.3}s  {done:>5}/{pages} pages  server: {now} in progress now, peak {peak}",
                start.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = start.elapsed();
    let log = site.stop().await;

    let ideal = (pages as f64 / limit as f64).ceil() * hold_ms as f64 / 1000.0;
    println!();
    println!("{fetched} pages fetched, {failed} failed, in {:.3} s (at least {ideal:.3} s: {pages} pages / {limit} at a time x {hold_ms} ms)", elapsed.as_secs_f64());
    println!(
        "server: {} requests received over {} connections, at most {} in progress at once (limit {limit})",
        log.arrivals.len(),
        log.connections,
        log.peak
    );
}
