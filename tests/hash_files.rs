//! Guarantee 3 (crate docs) with real files: the hash_files example's logic
//! keeps at most `limit` files open, reaches that bound, and hashes as a
//! synchronous read does.
//!
//! Not under Miri or the memory sanitizers: real sockets, files and timers,
//! and bounds that assume the code runs at native speed.
#![cfg(not(miri))]

#[path = "../examples/hash_files/hashing.rs"]
mod hashing;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use hashing::{fnv1a64, hash_files, list_files, Hashed, OpenFiles};

/// A directory tree of test files, removed when dropped.
struct TempTree {
    root: PathBuf,
}

impl TempTree {
    /// `count` files spread over nested directories, of sizes from 0 to
    /// about 200 KB (several reads each for the largest), filled with
    /// distinct pseudo-random bytes.
    fn new(name: &str, count: usize) -> Self {
        let root = std::env::temp_dir().join(format!(
            "limited-as-completed-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        for i in 0..count {
            let dir = match i % 3 {
                0 => root.clone(),
                1 => root.join("a"),
                _ => root.join("b").join("c"),
            };
            std::fs::create_dir_all(&dir).unwrap();
            let len = if i % 10 == 0 { 0 } else { i * 5_003 };
            let mut state = i as u64 + 1;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (state >> 56) as u8
                })
                .collect();
            std::fs::write(dir.join(format!("file-{i:03}.bin")), bytes).unwrap();
        }
        Self { root }
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Hashes `files` with `limit` through the example's logic; returns the
/// hashes by path and the peak number of open files.
fn hash_limited(files: &[PathBuf], limit: usize) -> (BTreeMap<PathBuf, Hashed>, usize) {
    let open_files = OpenFiles::default();
    let outputs: Vec<_> = smol::block_on(hash_files(files, limit, &open_files).collect());
    assert_eq!(open_files.now(), 0, "a file left open");
    let mut by_path = BTreeMap::new();
    for output in outputs {
        let hashed =
            output.unwrap_or_else(|failed| panic!("{}: {}", failed.path.display(), failed.error));
        let previous = by_path.insert(hashed.path.clone(), hashed);
        assert!(previous.is_none(), "a file hashed twice");
    }
    (by_path, open_files.peak())
}

/// The same hashes, from `std::fs::read`, one file at a time.
fn hash_sync(files: &[PathBuf]) -> BTreeMap<PathBuf, Hashed> {
    files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).unwrap();
            let hashed = Hashed {
                path: path.clone(),
                bytes: bytes.len() as u64,
                hash: fnv1a64(&bytes),
            };
            (path.clone(), hashed)
        })
        .collect()
}

fn check_tree(root: &Path, limits: &[usize]) {
    let files = list_files(root).unwrap();
    let expected = hash_sync(&files);
    for &limit in limits {
        let (hashed, peak) = hash_limited(&files, limit);
        assert_eq!(
            peak,
            limit.min(files.len()),
            "peak open files, limit {limit}"
        );
        assert_eq!(hashed, expected, "hashes, limit {limit}");
    }
}

#[test]
fn open_files_peak_at_limit_and_hashes_match_sync() {
    const FILES: usize = 40;
    let tree = TempTree::new("hash", FILES);
    assert_eq!(list_files(&tree.root).unwrap().len(), FILES);
    check_tree(&tree.root, &[1, 3, 8, 39, 40, 41, 1000]);
}

#[test]
fn open_files_peak_at_limit_over_crate_source_tree() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = list_files(&src).unwrap();
    assert!(files.len() > 8, "the source tree has {} files", files.len());
    check_tree(&src, &[2, 8]);
}

#[test]
fn fnv1a64_matches_reference_vectors() {
    // From the FNV reference test suite (Fowler, Noll, Vo).
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn list_files_finds_every_file_sorted() {
    let tree = TempTree::new("list", 7);
    let files = list_files(&tree.root).unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|path| path.strip_prefix(&tree.root).unwrap().to_path_buf())
        .collect();
    let expected: Vec<PathBuf> = [
        "a/file-001.bin",
        "a/file-004.bin",
        "b/c/file-002.bin",
        "b/c/file-005.bin",
        "file-000.bin",
        "file-003.bin",
        "file-006.bin",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(names, expected);
}
