//! Crawls `N` pages with at most `n` requests in flight, all through one
//! shared HTTP client with a connection pool, from inside `tokio::spawn`,
//! against the local server of `examples/crawl.rs` (no outside network).
//!
//! The client is hyper-util's legacy `Client`, which keeps finished
//! connections in a pool and hands them to later requests, as reqwest's does.
//! Every item borrows the one client and owns its URI: the shape that
//! compiles inside a spawned task (see "Sharing a client" in the crate docs).
//! At the end the program prints what the server saw: how many connections
//! the pool opened for all those requests, against the limit.
//!
//! ```text
//! cargo run --example shared_client                              # 200 pages, 8 at a time
//! cargo run --example shared_client -- --pages 1000 --limit 32
//! ```

#[path = "crawl/site.rs"]
#[allow(dead_code)] // `fetch`, `Page`, `Failure`, `in_progress`: the crawl example's
mod site;

use std::time::{Duration, Instant};

use futures::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use limited_as_completed::LimitedAsCompletedExt;
use site::{body_of, Behaviour, Site};

/// One client for the whole program: cloning it clones a handle to the same
/// pool.
type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// `--pages N --limit N`.
fn parse_args() -> Result<(usize, usize), String> {
    let (mut pages, mut limit) = (200, 8);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a number"))?;
        let number = value
            .parse::<usize>()
            .map_err(|_| format!("{arg} needs a number, got {value:?}"))?;
        match arg.as_str() {
            "--pages" => pages = number,
            "--limit" if number > 0 => limit = number,
            "--limit" => return Err("--limit must be at least 1".to_string()),
            _ => {
                return Err(format!(
                    "unknown option {arg:?}; usage: shared_client [--pages N] [--limit N]"
                ))
            }
        }
    }
    Ok((pages, limit))
}

/// Fetches one page through the shared client and returns its body.
async fn get(client: &HttpClient, uri: Uri) -> Result<String, String> {
    let response = client.get(uri).await.map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(format!("status {status}"));
    }
    String::from_utf8(body.to_vec()).map_err(|e| format!("body: {e}"))
}

/// Fetches every URI, at most `limit` at a time, and checks each body.
/// Returns the pages fetched and the failures.
async fn crawl(client: HttpClient, uris: Vec<(usize, Uri)>, limit: usize) -> (usize, usize) {
    // Borrow the client once, outside the closure: each `async move` block
    // then copies the reference, not the client. The items own their URIs;
    // items that borrow (`uris.iter()`) would not compile in `tokio::spawn`.
    let client = &client;
    let mut results = uris
        .into_iter()
        .map(|(index, uri)| async move { (index, get(client, uri).await) })
        .limited_as_completed(limit);
    let (mut fetched, mut failed) = (0, 0);
    while let Some((index, result)) = results.next().await {
        match result {
            Ok(body) => {
                assert_eq!(body, body_of(index));
                fetched += 1;
            }
            Err(reason) => {
                eprintln!("page {index}: {reason}");
                failed += 1;
            }
        }
    }
    (fetched, failed)
}

#[tokio::main]
async fn main() {
    let (pages, limit) = parse_args().unwrap_or_else(|message| {
        eprintln!("error: {message}");
        std::process::exit(2);
    });
    let hold = Duration::from_millis(20);
    let site = Site::start(Behaviour {
        hold,
        fail_every: None,
    })
    .await
    .expect("cannot start the local server");
    let addr = site.addr();
    println!(
        "crawling {pages} pages from http://{addr}/ through one pooled client, at most {limit} at a time, inside tokio::spawn"
    );

    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let uris = (0..pages)
        .map(|i| {
            let uri = format!("http://{addr}/page/{i}")
                .parse()
                .expect("a valid URI");
            (i, uri)
        })
        .collect();
    let start = Instant::now();
    let (fetched, failed) = tokio::spawn(crawl(client, uris, limit))
        .await
        .expect("the crawl task panicked");
    let elapsed = start.elapsed();
    let log = site.stop().await;

    println!(
        "{fetched} pages fetched, {failed} failed, in {:.3} s",
        elapsed.as_secs_f64()
    );
    println!(
        "server: {} requests over {} connections, at most {} in progress at once (limit {limit})",
        log.arrivals.len(),
        log.connections,
        log.peak
    );
    println!(
        "the pool opened {} connections for {} requests and reused them \
         (examples/crawl.rs, which opens a connection per page, opens {pages})",
        log.connections,
        log.arrivals.len()
    );
    if log.connections > limit {
        println!(
            "{} more than the limit: a request that starts before the connection of one \
             that just finished is back in the pool connects anew, and that connection \
             joins the pool",
            log.connections - limit
        );
    }
}
