// The method called without its trait imported (the crate is in use
// elsewhere in the program, so rustc knows it).
//
// expect: error[E0599]: no method named `limited_as_completed` found for struct `Map<I, F>` in the current scope
// expect also: = help: items from traits can only be used if the trait is in scope
// expect also: help: trait `LimitedAsCompletedExt` which provides `limited_as_completed` is implemented but not in scope; perhaps you want to import it

use limited_as_completed::LimitedAsCompleted;

async fn double(i: u32) -> u32 {
    i * 2
}

fn main() {
    let _stream: LimitedAsCompleted<_> = (0..3u32).map(double).limited_as_completed(2);
}
