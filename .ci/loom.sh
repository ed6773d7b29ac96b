#!/usr/bin/env bash
# Runs the loom models of the wake protocol (src/slots/loom_tests.rs) and
# prints each model's interleaving count and time. Run from anywhere:
#
#     bash .ci/loom.sh                        # every model, exhaustive
#     LOOM_MAX_PREEMPTIONS=3 bash .ci/loom.sh # bounded, if a model grows
#
# Why not `RUSTFLAGS="--cfg loom" cargo test`: RUSTFLAGS reaches every crate,
# and several dev-dependencies (event-listener, concurrent-queue, cordyceps,
# via tokio/smol/async-std) have `cfg(loom)` code that then fails to build.
# `cargo rustc -- --cfg loom` reaches only this crate, but cargo does not see
# the flag when it picks `[target.'cfg(loom)'.dev-dependencies]`, so loom is
# not linked. A RUSTC_WORKSPACE_WRAPPER does both: cargo runs it for this
# crate only, and also for the `--print cfg` probe it picks target
# dependencies with. This script is that wrapper when LOOM_SH_RUSTC is set.
#
# Builds in target/loom (release, with debug assertions), apart from the
# normal build. Fails if a model fails, times out, or if the must-fail model
# (a planted check-then-set bug, #[should_panic]) passes.
if [ -n "${LOOM_SH_RUSTC:-}" ]; then
    exec "$@" --cfg loom
fi
set -euo pipefail
cd "$(dirname "$0")/.."

# Per model; a model that needs more has outgrown exhaustive checking.
TIMEOUT=${LOOM_MODEL_TIMEOUT:-300}

export LOOM_SH_RUSTC=1
export RUSTC_WORKSPACE_WRAPPER="$PWD/.ci/loom.sh"
export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true
cargo=(cargo test --lib --release --target-dir target/loom)

"${cargo[@]}" --no-run

models=$("${cargo[@]}" -q -- slots::waker::loom_tests:: --list 2>/dev/null |
    sed -n 's/: test$//p')
if [ -z "$models" ]; then
    echo "loom: no models found" >&2
    exit 1
fi

failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for model in $models; do
    printf '\n--- %s\n' "$model"
    # --exact: one model per run, so the timeout and the report are per model.
    if ! timeout "$TIMEOUT" "${cargo[@]}" -q -- "$model" --exact --nocapture --test-threads=1 2>&1 |
        tee -a "$log"; then
        echo "LOOM MODEL FAILED (or timed out after ${TIMEOUT}s): $model" >&2
        failed=1
    fi
done
printf '\n==> loom summary\n'
grep -E '^(loom model|    )' "$log" || true
if [ "$failed" != 0 ]; then
    exit 1
fi
echo "loom: all models passed, and the planted check-then-set bug was caught"
