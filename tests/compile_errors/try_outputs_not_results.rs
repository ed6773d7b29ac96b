// `try_limited_as_completed` over futures whose output is not a `Result`.
//
// expect: error[E0271]: type mismatch resolving `<impl Future<Output = u32> as IntoFuture>::Output == Result<_, _>`
// expect also: expected `Result<_, _>`, found `u32`

use limited_as_completed::LimitedAsCompletedExt;

async fn double(i: u32) -> u32 {
    i * 2
}

fn main() {
    let _stream = (0..3u32).map(double).try_limited_as_completed(2);
}
