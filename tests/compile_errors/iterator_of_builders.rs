// An iterator of request builders: `client.get(url)` without `.send()`.
//
// expect: error[E0277]: `RequestBuilder` is not a future

use limited_as_completed::LimitedAsCompletedExt;

/// A client whose requests must be sent to become futures, as in reqwest.
struct Client;

/// A request not sent yet.
struct RequestBuilder;

impl Client {
    fn get(&self, _url: &str) -> RequestBuilder {
        RequestBuilder
    }
}

fn main() {
    let client = Client;
    let urls = ["https://example.com/a", "https://example.com/b"];
    let _stream = urls.iter().map(|u| client.get(u)).limited_in_order(2);
}
