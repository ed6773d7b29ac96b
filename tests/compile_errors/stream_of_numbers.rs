// A stream of plain values, not of futures.
//
// expect: error[E0277]: `u32` is not a future

use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;
use limited_as_completed::LimitedAsCompletedStreamExt;

/// Counts up forever.
struct Numbers(u32);

impl Stream for Numbers {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<u32>> {
        self.0 += 1;
        Poll::Ready(Some(self.0))
    }
}

fn main() {
    let _stream = Numbers(0).limited_as_completed(2);
}
