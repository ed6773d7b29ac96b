//! The errors a user sees when the items are not futures, or the trait is not
//! imported, say what is wrong (see the docs of `LimitedAsCompletedExt`); and
//! items that borrow, inside a task that must be `Send`, still fail as the
//! crate docs' "Sharing a client" says.
//!
//! Each file in `tests/compile_errors/` is a program that must not compile.
//! Its `// expect:` comment is the first line of the error rustc must give,
//! exactly; each `// expect also:` comment is text that some other line of the
//! output must contain. The files are checked as the binaries of a small
//! package generated under `CARGO_TARGET_TMPDIR`, which depends on this crate
//! (by path) and `futures-core` only, with `cargo check --offline`.
//!
//! Only those lines are compared, not the whole output as trybuild would: the
//! notes under the first line quote this crate's source with line numbers, so
//! a full snapshot would change with every edit of `src/ext.rs` and with every
//! compiler release, while the first line is what tells the user the mistake.
//! The expected lines are those of the current stable rustc; the test runs
//! with whatever toolchain runs `cargo test`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One program that must not compile, and what its error must say.
struct Case {
    name: String,
    source: PathBuf,
    first_line: String,
    also: Vec<String>,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compile_errors");
    let mut cases: Vec<Case> = fs::read_dir(&dir)
        .expect("tests/compile_errors/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|source| {
            let text = fs::read_to_string(&source).expect("a case file is readable");
            let expected = |prefix: &str| -> Vec<String> {
                text.lines()
                    .filter_map(|line| line.strip_prefix(prefix))
                    .map(str::to_string)
                    .collect()
            };
            let mut first = expected("// expect: ");
            assert_eq!(
                first.len(),
                1,
                "{}: needs one `// expect:` line",
                source.display()
            );
            Case {
                name: source.file_stem().unwrap().to_string_lossy().into_owned(),
                first_line: first.remove(0),
                also: expected("// expect also: "),
                source,
            }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Writes the package that checks the cases, each as a binary, and returns
/// its directory.
fn package(cases: &[Case]) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile_errors");
    let bins = root.join("src/bin");
    let _ = fs::remove_dir_all(&bins);
    fs::create_dir_all(&bins).expect("the package directory can be created");
    for case in cases {
        fs::copy(&case.source, bins.join(format!("{}.rs", case.name)))
            .expect("a case file can be copied");
    }
    let manifest = format!(
        "[package]\n\
         name = \"compile-errors\"\n\
         version = \"0.0.0\"\n\
         edition = \"2021\"\n\
         publish = false\n\
         \n\
         [dependencies]\n\
         limited-as-completed = {{ path = '{}' }}\n\
         futures-core = {{ version = \"0.3\", default-features = false }}\n\
         \n\
         [workspace]\n",
        env!("CARGO_MANIFEST_DIR")
    );
    fs::write(root.join("Cargo.toml"), manifest).expect("the manifest can be written");
    // The same versions as this crate's own build, so `--offline` finds them.
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"),
        root.join("Cargo.lock"),
    )
    .expect("Cargo.lock can be copied");
    root
}

/// Checks one case and returns rustc's output (cargo's own lines left out).
fn check(package: &Path, case: &Case) -> (bool, String) {
    let output = Command::new(env!("CARGO"))
        .current_dir(package)
        .args(["check", "--offline", "--quiet", "--color", "never", "--bin"])
        .arg(&case.name)
        .arg("--target-dir")
        .arg(package.join("target"))
        // Build as a user would: no flags from a sanitizer or Miri run.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo can be run");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot run the compiler")]
fn each_program_fails_with_its_documented_error() {
    let cases = cases();
    assert!(cases.len() >= 7, "the case files are missing");
    let package = package(&cases);
    let mut failures = Vec::new();
    for case in &cases {
        let (compiled, stderr) = check(&package, case);
        let first = stderr.lines().find(|line| line.starts_with("error"));
        let mut wrong = Vec::new();
        if compiled {
            wrong.push("it compiled".to_string());
        }
        if first != Some(case.first_line.as_str()) {
            wrong.push(format!(
                "first line\n  expected: {}\n  got:      {}",
                case.first_line,
                first.unwrap_or("(no error line)")
            ));
        }
        for text in &case.also {
            if !stderr.lines().any(|line| line.contains(text.as_str())) {
                wrong.push(format!("no line contains: {text}"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n--- output ---\n{stderr}",
                case.name,
                wrong.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
