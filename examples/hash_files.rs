//! Hashes every file under a directory with at most `n` files open at once,
//! under smol, with a progress line.
//!
//! Files are read with async reads (`smol::fs`) and hashed with FNV-1a 64 (a
//! fast, non-cryptographic hash, written in `hash_files/hashing.rs`). The
//! progress line (files done / total, bytes, rate) is redrawn in place on a
//! terminal; when stdout is not one, it is printed as plain lines, about one
//! per tenth of the files. Then every file's hash, sorted by path, and the
//! most files that were open at once.
//!
//! ```text
//! cargo run --example hash_files                       # the crate's src/, 8 at a time
//! cargo run --example hash_files -- ~/src --limit 32   # any directory
//! ```

#[path = "hash_files/hashing.rs"]
#[allow(dead_code)] // `fnv1a64` and `OpenFiles::now` are for tests/hash_files.rs
mod hashing;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hashing::{hash_files, list_files, Hashed, OpenFiles};

const DEFAULT_LIMIT: usize = 8;

/// `[DIR] [--limit N]`, in any order.
fn parse_args() -> Result<(PathBuf, usize), String> {
    let mut dir = None;
    let mut limit = DEFAULT_LIMIT;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--limit" || arg == "-n" {
            let value = args.next().ok_or("--limit needs a number")?;
            limit =
                value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                    format!("--limit needs a number of at least 1, got {value:?}")
                })?;
        } else if arg.starts_with('-') {
            return Err(format!(
                "unknown option {arg:?}; usage: hash_files [DIR] [--limit N]"
            ));
        } else if dir.replace(PathBuf::from(&arg)).is_some() {
            return Err("give one directory".to_string());
        }
    }
    let dir = dir.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    Ok((dir, limit))
}

/// The progress line: in place on a terminal, plain lines otherwise.
struct Progress {
    total: usize,
    done: usize,
    bytes: u64,
    start: Instant,
    terminal: bool,
    last_drawn: Option<Instant>,
    /// Plain lines: the last tenth of the files printed.
    tenths_printed: usize,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            total,
            done: 0,
            bytes: 0,
            start: Instant::now(),
            terminal: std::io::stdout().is_terminal(),
            last_drawn: None,
            tenths_printed: 0,
        }
    }

    fn line(&self) -> String {
        let seconds = self.start.elapsed().as_secs_f64();
        let mib = self.bytes as f64 / (1024.0 * 1024.0);
        let rate = if seconds > 0.0 { mib / seconds } else { 0.0 };
        format!(
            "{:>6}/{} files  {mib:>9.2} MiB  {rate:>8.1} MiB/s  {seconds:>6.2} s",
            self.done, self.total
        )
    }

    fn file_done(&mut self, bytes: u64) {
        self.done += 1;
        self.bytes += bytes;
        let last = self.done == self.total;
        if self.terminal {
            let due = self
                .last_drawn
                .map_or(true, |at| at.elapsed() >= Duration::from_millis(50));
            if due || last {
                print!("\r{}\x1b[K", self.line());
                if last {
                    println!();
                }
                let _ = std::io::stdout().flush();
                self.last_drawn = Some(Instant::now());
            }
        } else {
            let tenths = self.done * 10 / self.total.max(1);
            if tenths > self.tenths_printed || last {
                self.tenths_printed = tenths;
                println!("{}", self.line());
            }
        }
    }

    /// Prints a message on a line of its own, leaving the progress line
    /// intact below it on a terminal.
    fn message(&self, message: &str) {
        if self.terminal && self.last_drawn.is_some() {
            print!("\r\x1b[K");
            let _ = std::io::stdout().flush();
            eprintln!("{message}");
            print!("{}", self.line());
            let _ = std::io::stdout().flush();
        } else {
            eprintln!("{message}");
        }
    }
}

fn main() {
    let (dir, limit) = parse_args().unwrap_or_else(|message| {
        eprintln!("error: {message}");
        std::process::exit(2);
    });
    let files = list_files(&dir).unwrap_or_else(|error| {
        eprintln!("error: cannot list {}: {error}", dir.display());
        std::process::exit(1);
    });
    println!(
        "hashing {} files under {}, at most {limit} open at once",
        files.len(),
        dir.display()
    );

    let open_files = OpenFiles::default();
    let mut progress = Progress::new(files.len());
    let mut hashed: Vec<Hashed> = Vec::with_capacity(files.len());
    let mut failures = 0;
    smol::block_on(async {
        let mut outputs = hash_files(&files, limit, &open_files);
        while let Some(output) = outputs.next().await {
            match output {
                Ok(file) => {
                    progress.file_done(file.bytes);
                    hashed.push(file);
                }
                Err(failed) => {
                    failures += 1;
                    progress.message(&format!("{}: {}", failed.path.display(), failed.error));
                    progress.file_done(0);
                }
            }
        }
    });
    let elapsed = progress.start.elapsed();

    hashed.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    println!();
    for file in &hashed {
        let shown = file.path.strip_prefix(&dir).unwrap_or(&file.path);
        println!(
            "{:016x}  {:>10}  {}",
            file.hash,
            file.bytes,
            shown.display()
        );
    }
    println!();
    println!(
        "{} files, {} bytes in {:.3} s; {failures} failed",
        hashed.len(),
        progress.bytes,
        elapsed.as_secs_f64()
    );
    println!(
        "most files open at once: {} (limit {limit})",
        open_files.peak()
    );
}
