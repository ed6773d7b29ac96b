//! A local web site to crawl, and a client to crawl it: a real HTTP/1.1
//! server (hyper, tokio) on 127.0.0.1, port 0, that counts the connections
//! it accepts and the requests in progress and holds each request for a
//! while, and a fetch function on hyper's client. Shared by
//! `examples/crawl.rs`, `examples/shared_client.rs` and `tests/http.rs`
//! (through `#[path]`), so the test checks the code the examples run.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::{self, Either};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::HOST;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// How the site answers.
#[derive(Clone, Copy, Debug)]
pub struct Behaviour {
    /// How long each request is held before its response is produced.
    pub hold: Duration,
    /// `Some(k)`: page `i` fails with status 500 when `i % k == k - 1`.
    pub fail_every: Option<usize>,
}

impl Behaviour {
    /// Whether page `index` fails.
    pub fn fails(&self, index: usize) -> bool {
        self.fail_every.is_some_and(|k| index % k == k - 1)
    }
}

/// The body of page `index` when it succeeds.
pub fn body_of(index: usize) -> String {
    format!("page {index}")
}

/// What the server saw, counted by the server itself.
#[derive(Default)]
struct Counters {
    /// Requests whose handler is running: arrived, response not yet produced.
    in_progress: AtomicUsize,
    /// The highest `in_progress` ever reached.
    peak: AtomicUsize,
    /// Page numbers in the order the requests arrived.
    arrivals: Mutex<Vec<usize>>,
    /// TCP connections accepted.
    connections: AtomicUsize,
}

/// Holds one unit of `in_progress` while a handler runs; released when the
/// handler produces its response or is dropped.
struct InProgress<'a>(&'a Counters);

impl<'a> InProgress<'a> {
    fn enter(counters: &'a Counters) -> Self {
        let now = counters.in_progress.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak.fetch_max(now, Ordering::SeqCst);
        Self(counters)
    }
}

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.in_progress.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The server's own record, read when it has stopped.
#[derive(Debug)]
pub struct ServerLog {
    /// The highest number of requests in progress at once.
    pub peak: usize,
    /// Page numbers in the order their requests arrived.
    pub arrivals: Vec<usize>,
    /// TCP connections accepted: one per request, unless the client reuses
    /// its connections.
    pub connections: usize,
}

/// A running local site. [`Site::stop`] stops it; dropping the runtime also
/// does.
pub struct Site {
    addr: SocketAddr,
    counters: Arc<Counters>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Site {
    /// Starts a site on 127.0.0.1, on a port the system picks.
    pub async fn start(behaviour: Behaviour) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let (shutdown, mut stop) = oneshot::channel();
        let task = tokio::spawn({
            let counters = Arc::clone(&counters);
            async move {
                // Dropping the set at the end aborts every connection task.
                let mut connections = JoinSet::new();
                loop {
                    tokio::select! {
                        _ = &mut stop => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            counters.connections.fetch_add(1, Ordering::SeqCst);
                            connections.spawn(serve(stream, Arc::clone(&counters), behaviour));
                        }
                        Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    }
                }
            }
        });
        Ok(Self {
            addr,
            counters,
            shutdown,
            task,
        })
    }

    /// The address the site listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests in progress right now, and the peak so far.
    pub fn in_progress(&self) -> (usize, usize) {
        (
            self.counters.in_progress.load(Ordering::SeqCst),
            self.counters.peak.load(Ordering::SeqCst),
        )
    }

    /// Stops accepting, closes every connection, and returns what the server
    /// saw.
    pub async fn stop(self) -> ServerLog {
        let _ = self.shutdown.send(());
        self.task.await.expect("the server task panicked");
        ServerLog {
            peak: self.counters.peak.load(Ordering::SeqCst),
            arrivals: self
                .counters
                .arrivals
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            connections: self.counters.connections.load(Ordering::SeqCst),
        }
    }
}

/// Serves one connection: `GET /page/{i}` answers `page {i}` after the hold,
/// or status 500 if page `i` fails.
async fn serve(stream: TcpStream, counters: Arc<Counters>, behaviour: Behaviour) {
    let service = service_fn(move |request: Request<Incoming>| {
        let counters = Arc::clone(&counters);
        async move {
            let index = request
                .uri()
                .path()
                .strip_prefix("/page/")
                .and_then(|i| i.parse::<usize>().ok());
            let Some(index) = index else {
                let mut response = Response::new(Full::new(Bytes::from("no such page")));
                *response.status_mut() = StatusCode::NOT_FOUND;
                return Ok::<_, Infallible>(response);
            };
            counters
                .arrivals
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(index);
            let in_progress = InProgress::enter(&counters);
            tokio::time::sleep(behaviour.hold).await;
            let response = if behaviour.fails(index) {
                let mut response = Response::new(Full::new(Bytes::from("server error")));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            } else {
                Response::new(Full::new(Bytes::from(body_of(index))))
            };
            drop(in_progress);
            Ok(response)
        }
    });
    // A client that goes away mid-request is not the server's problem.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A page fetched with status 200.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    /// The page number.
    pub index: usize,
    /// The response body.
    pub body: String,
}

/// A page that could not be fetched: a status other than 200, or a
/// transport error.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// The page number.
    pub index: usize,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "page {}: {}", self.index, self.reason)
    }
}

/// Fetches `GET /page/{index}` from `addr` over a connection of its own.
///
/// The connection is driven inside this future (not spawned), so dropping
/// the future closes the connection: nothing keeps running behind it.
pub async fn fetch(addr: SocketAddr, index: usize) -> Result<Page, Failure> {
    let failure = |reason: String| Failure { index, reason };
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| failure(format!("connect: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failure(format!("handshake: {e}")))?;
    let request = Request::get(format!("/page/{index}"))
        .header(HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| failure(format!("request: {e}")))?;
    let exchange = async {
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, body))
    };
    let exchange = pin!(exchange);
    let connection = pin!(connection);
    let outcome = match future::select(exchange, connection).await {
        Either::Left((outcome, _)) => outcome,
        // The connection ended first (the server closed it): the response
        // may still be complete.
        Either::Right((_, exchange)) => exchange.await,
    };
    let (status, body) = outcome.map_err(|e| failure(format!("exchange: {e}")))?;
    if status != StatusCode::OK {
        return Err(failure(format!("status {status}")));
    }
    let body = String::from_utf8(body.to_vec()).map_err(|e| failure(format!("body: {e}")))?;
    Ok(Page { index, body })
}
