//! Guarantees 3, 4 and 11 (crate docs) over real HTTP: a hyper server on
//! 127.0.0.1 counts the requests in progress while a hyper client crawls it
//! through the adaptors.
//!
//! Not under Miri or the memory sanitizers: real sockets, files and timers,
//! and bounds that assume the code runs at native speed.
#![cfg(not(miri))]

#[path = "../examples/crawl/site.rs"]
#[allow(dead_code)] // `Site::in_progress` is for the example's progress line
mod site;

use std::cell::Cell;
use std::time::Duration;

use futures::future::{FutureExt, LocalBoxFuture};
use futures::{Stream, StreamExt};
use limited_as_completed::LimitedAsCompletedExt;
use site::{body_of, fetch, Behaviour, Failure, Page, ServerLog, Site};

const PAGES: usize = 500;
const LIMIT: usize = 8;
/// Long enough that the connection of a refill is set up well before the
/// other seven requests are answered, so the server does see 8 at once
/// (it held up with the machine's 2 cores loaded 4 times over); short enough
/// for 500 pages in about 0.4 s per test.
const HOLD: Duration = Duration::from_millis(5);

fn behaviour(fail_every: Option<usize>) -> Behaviour {
    Behaviour {
        hold: HOLD,
        fail_every,
    }
}

/// The arrival log sorted: which pages the server was asked for.
fn sorted(mut pages: Vec<usize>) -> Vec<usize> {
    pages.sort_unstable();
    pages
}

/// One page's request, boxed so that [`crawl`] can name it.
type Fetch = LocalBoxFuture<'static, Result<Page, Failure>>;

/// Starts the site, fetches every page through the stream `limited` makes
/// of the fetches, and stops the site: the responses, in the stream's order,
/// and the server's log.
async fn crawl<S>(limited: impl FnOnce(Vec<Fetch>) -> S) -> (Vec<S::Item>, ServerLog)
where
    S: Stream,
{
    let site = Site::start(behaviour(None)).await.unwrap();
    let addr = site.addr();
    let fetches = (0..PAGES).map(|i| fetch(addr, i).boxed_local()).collect();
    let pages = limited(fetches).collect().await;
    (pages, site.stop().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sees_at_most_limit_requests_in_progress_as_completed() {
    let (pages, log) = crawl(|fetches| fetches.limited_as_completed(LIMIT)).await;

    // Every response arrived once, with the right body.
    let mut pages: Vec<_> = pages.into_iter().map(Result::unwrap).collect();
    pages.sort_unstable_by_key(|page| page.index);
    assert_eq!(
        pages.iter().map(|page| page.index).collect::<Vec<_>>(),
        (0..PAGES).collect::<Vec<_>>()
    );
    for page in &pages {
        assert_eq!(page.body, body_of(page.index));
    }
    // The server was asked for each page once, and never had more than 8
    // requests in progress; it did have 8.
    assert_eq!(sorted(log.arrivals), (0..PAGES).collect::<Vec<_>>());
    assert_eq!(log.peak, LIMIT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sees_at_most_limit_requests_in_progress_in_order() {
    let (pages, log) = crawl(|fetches| fetches.limited_in_order(LIMIT)).await;

    // Bodies in input order.
    let bodies: Vec<String> = pages.into_iter().map(|page| page.unwrap().body).collect();
    let expected: Vec<String> = (0..PAGES).map(body_of).collect();
    assert_eq!(bodies, expected);
    assert_eq!(sorted(log.arrivals), (0..PAGES).collect::<Vec<_>>());
    assert_eq!(log.peak, LIMIT);
}

/// One page in fifty fails (49, 99, ...). `try_limited_as_completed` stops
/// pulling at the first failure: the server never hears of a page pulled
/// after the error came out.
///
/// The exact bound, from Guarantee 2: whenever `poll_next` returns,
/// `pulled == yielded + in_flight` with `in_flight <= 8`; the poll that
/// yields the `Err` pulls nothing. So when the `Err` comes out after `oks`
/// successes, `pulled <= oks + 8` (`oks` outputs, the failed page, and at
/// most 7 pages still in flight, which are dropped), and the server, which
/// can only see pages that were pulled, received at most that many. A bound
/// on the failed page's *index* (`index + 8`) would not be exact: a slow
/// failing page can be overtaken by any number of later ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_limited_stops_requests_at_first_server_error() {
    const FAIL_EVERY: usize = 50;
    let site = Site::start(behaviour(Some(FAIL_EVERY))).await.unwrap();
    let addr = site.addr();

    let pulled = Cell::new(0);
    let mut results = (0..PAGES)
        .map(|i| {
            assert_eq!(pulled.get(), i, "pages are pulled in order");
            pulled.set(i + 1);
            fetch(addr, i)
        })
        .try_limited_as_completed(LIMIT);

    let mut oks = Vec::new();
    let mut failure = None;
    let mut pulled_at_error = None;
    while let Some(result) = results.next().await {
        assert!(failure.is_none(), "an output after the error");
        match result {
            Ok(page) => {
                assert_eq!(page.body, body_of(page.index));
                oks.push(page.index);
            }
            Err(error) => {
                pulled_at_error = Some(pulled.get());
                failure = Some(error);
            }
        }
    }
    assert!(results.next().await.is_none());
    drop(results);
    let log = site.stop().await;

    let failure = failure.expect("no page failed");
    let pulled_at_error = pulled_at_error.unwrap();
    assert_eq!(failure.reason, "status 500 Internal Server Error");
    assert_eq!(failure.index % FAIL_EVERY, FAIL_EVERY - 1);
    assert!(oks.iter().all(|&i| i % FAIL_EVERY != FAIL_EVERY - 1));
    // Nothing was pulled after the error came out.
    assert_eq!(pulled.get(), pulled_at_error);
    assert!(failure.index < pulled_at_error);
    assert!(
        pulled_at_error <= oks.len() + LIMIT,
        "pulled {pulled_at_error} with {} outputs before the error",
        oks.len()
    );
    // Every request the server received was pulled before the error came
    // out, and each at most once.
    let arrivals = sorted(log.arrivals);
    assert!(
        arrivals.windows(2).all(|w| w[0] < w[1]),
        "a page requested twice: {arrivals:?}"
    );
    assert!(
        arrivals.iter().all(|&i| i < pulled_at_error),
        "the server received a page pulled after the error: {arrivals:?}, {pulled_at_error} pulled"
    );
    assert!(arrivals.len() <= oks.len() + LIMIT);
    // It did receive the ones that came back.
    for i in oks.iter().chain([&failure.index]) {
        assert!(arrivals.binary_search(i).is_ok(), "page {i} not received");
    }
    assert!(log.peak <= LIMIT);
}
