// An iterator of plain values: the closure returns a `u32`, not a future.
//
// expect: error[E0277]: `u32` is not a future

use limited_as_completed::LimitedAsCompletedExt;

fn main() {
    let _stream = (0..3u32).map(|i| i * 2).limited_as_completed(2);
}
