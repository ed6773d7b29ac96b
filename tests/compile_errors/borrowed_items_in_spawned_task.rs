// Items that borrow, inside a task that must be `Send`: rustc's limitation
// that the crate docs' "Sharing a client" describes (rust-lang/rust issues
// 89976 and 71671). If this starts to compile, update those docs.
//
// expect: error: implementation of `FnOnce` is not general enough
// expect also: must implement `FnOnce<(&'1 String,)>`, for any two lifetimes `'0` and `'1`...

use core::future::Future;
use core::pin::pin;
use core::task::Context;

use futures_core::Stream;
use limited_as_completed::LimitedAsCompletedExt;

/// Asks what `tokio::spawn` asks of a task.
fn spawn<F: Future + Send + 'static>(_task: F) {}

/// Stands in for an HTTP client.
struct Client;

impl Client {
    async fn get(&self, url: &str) -> usize {
        url.len()
    }
}

/// Stands in for `StreamExt::next`.
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    core::future::poll_fn(|cx: &mut Context<'_>| pin!(&mut *stream).poll_next(cx)).await
}

fn main() {
    spawn(async {
        let client = Client;
        let urls = vec!["a".to_string(), "b".to_string()];
        let client = &client;
        let mut pages = urls
            .iter()
            .map(|url| async move { client.get(url).await })
            .limited_as_completed(2);
        while let Some(bytes) = next(&mut pages).await {
            let _ = bytes;
        }
    });
}
