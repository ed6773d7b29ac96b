// A stream of futures with only the iterator trait imported.
//
// expect: error[E0599]: `Jobs` is not an iterator
// expect also: help: trait `LimitedAsCompletedStreamExt` which provides `limited_as_completed` is implemented but not in scope; perhaps you want to import it

use core::future::{ready, Ready};
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;
use limited_as_completed::LimitedAsCompletedExt;

/// Hands out one ready future.
struct Jobs(bool);

impl Stream for Jobs {
    type Item = Ready<u32>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Ready<u32>>> {
        let first = !self.0;
        self.0 = true;
        Poll::Ready(first.then(|| ready(1)))
    }
}

fn main() {
    let _stream = Jobs(false).limited_as_completed(2);
}
