//! Hashing files with at most `limit` open at once: FNV-1a 64, async reads
//! under smol, and a gauge of open files. Shared by `examples/hash_files.rs`
//! and `tests/hash_files.rs` (through `#[path]`), so the test checks the code
//! the example runs.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{AsyncReadExt, Stream};
use limited_as_completed::LimitedAsCompletedExt;

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Size of each read.
const CHUNK: usize = 64 * 1024;

/// Feeds `bytes` into an FNV-1a 64 hash.
pub fn fnv1a64_update(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// The FNV-1a 64 hash of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_update(FNV_OFFSET_BASIS, bytes)
}

/// Every regular file under `root`, sorted; symbolic links are not followed.
pub fn list_files(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Counts the files open at once, and the most ever open.
///
/// A file counts from just before it is opened until just after it is
/// closed, so the count is never below the number of open descriptors.
#[derive(Debug, Default)]
pub struct OpenFiles {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl OpenFiles {
    /// Files open now.
    pub fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    /// The most files ever open at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    fn hold(&self) -> Held<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Held(self)
    }
}

/// One file counted in [`OpenFiles`]; released when dropped, also when the
/// hash fails or is cancelled.
struct Held<'a>(&'a OpenFiles);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A file and its hash.
#[derive(Debug, PartialEq, Eq)]
pub struct Hashed {
    /// The file.
    pub path: PathBuf,
    /// Its length in bytes.
    pub bytes: u64,
    /// The FNV-1a 64 hash of its contents.
    pub hash: u64,
}

/// A file that could not be hashed.
#[derive(Debug)]
pub struct Failed {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub error: io::Error,
}

/// Opens `path`, hashes it in chunks with async reads, and closes it.
pub async fn hash_file(path: PathBuf, open_files: &OpenFiles) -> Result<Hashed, Failed> {
    let held = open_files.hold();
    // `file` is dropped, so closed, when this block returns: before `held`.
    let outcome = async {
        let mut file = smol::fs::File::open(&path).await?;
        let mut buffer = vec![0; CHUNK];
        let (mut hash, mut bytes) = (FNV_OFFSET_BASIS, 0);
        loop {
            // Let the other files' reads and the caller run between chunks:
            // smol has no budget that would force a big file's loop of ready
            // reads to yield. So every file stays open across at least one
            // `Pending`, even when the system answers at once.
            smol::future::yield_now().await;
            let read = file.read(&mut buffer).await?;
            if read == 0 {
                return Ok::<_, io::Error>((hash, bytes));
            }
            hash = fnv1a64_update(hash, &buffer[..read]);
            bytes += read as u64;
        }
    }
    .await;
    drop(held);
    match outcome {
        Ok((hash, bytes)) => Ok(Hashed { path, bytes, hash }),
        Err(error) => Err(Failed { path, error }),
    }
}

/// Hashes `files` with at most `limit` open at once; outputs as the files
/// are done.
pub fn hash_files<'a>(
    files: &'a [PathBuf],
    limit: usize,
    open_files: &'a OpenFiles,
) -> impl Stream<Item = Result<Hashed, Failed>> + 'a {
    files
        .iter()
        .map(move |path| hash_file(path.clone(), open_files))
        .limited_as_completed(limit)
}
