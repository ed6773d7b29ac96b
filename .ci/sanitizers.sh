#!/usr/bin/env bash
# Memory and thread sanitizers over the test suite (issue 5, point 4).
#
#   bash .ci/sanitizers.sh asan      # AddressSanitizer + LeakSanitizer, stable
#   bash .ci/sanitizers.sh valgrind  # valgrind memcheck over the test binaries
#   bash .ci/sanitizers.sh tsan      # ThreadSanitizer, nightly + build-std
#   bash .ci/sanitizers.sh all
#
# Each mode builds into its own target directory, so it never disturbs the
# normal build. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=$(rustc -vV | sed -n 's/^host: //p')

# Every test target runs, except the ones whose bounds assume native speed
# (real sockets, files and timers with exact peaks: tests/http.rs, demo.rs,
# hash_files.rs); under instrumentation a 5 ms hold no longer overlaps.
TIMING_TESTS=" http demo hash_files "
test_args() {
    local f name
    echo "--lib"
    for f in tests/*.rs; do
        name=$(basename "$f" .rs)
        case "$TIMING_TESTS" in *" $name "*) continue ;; esac
        echo "--test $name"
    done
}

asan() {
    echo "==> AddressSanitizer + LeakSanitizer (stable, RUSTC_BOOTSTRAP=1)"
    # --target keeps build scripts and proc macros uninstrumented.
    # 20 000 random schedules, not the 100 000 of `cargo test`: the model
    # allocates at every step, which ASan makes ten to twenty times slower.
    RUSTC_BOOTSTRAP=1 \
        SCHEDULES=20000 \
        RUSTFLAGS="-Zsanitizer=address" \
        RUSTDOCFLAGS="-Zsanitizer=address" \
        ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" \
        cargo test --target "$HOST" --target-dir target/asan $(test_args) # shellcheck disable=SC2046
}

valgrind_memcheck() {
    echo "==> valgrind memcheck"
    command -v valgrind >/dev/null || {
        apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
    }
    # Build the test binaries once, then run each under memcheck.
    # shellcheck disable=SC2046 # word splitting of the target list is wanted
    cargo test --target-dir target/valgrind $(test_args) --no-run \
        --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' >target/valgrind-tests.txt
    local failed=0 bin
    while read -r bin; do
        [ -n "$bin" ] || continue
        echo "--- $(basename "$bin")"
        # Fewer random schedules: memcheck runs about 30 times slower. The
        # stale-waker hammer of tests/adversarial.rs is a race between two
        # spinning threads: memcheck runs one thread at a time, so there it
        # times valgrind's scheduler (3.5 minutes) and races nothing; TSan
        # runs it below.
        if ! SCHEDULES=2000 valgrind --quiet --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite --show-leak-kinds=definite \
            "$bin" --test-threads=2 -q --skip stale_wakers_hammered_from_another_thread; then
            failed=1
        fi
    done <target/valgrind-tests.txt
    return $failed
}

tsan() {
    echo "==> ThreadSanitizer (nightly, -Zbuild-std) over the cross-thread tests"
    local status=0
    RUSTFLAGS="-Zsanitizer=thread" \
        RUSTDOCFLAGS="-Zsanitizer=thread" \
        TSAN_OPTIONS="halt_on_error=1" \
        SCHEDULES=5000 \
        cargo +nightly test -Zbuild-std --target "$HOST" --target-dir target/tsan \
        --test cross_thread --test runtimes --test background --test schedules \
        --test adversarial --test consumer_wakes --test holder_attack || status=$?
    # TSan reports through exit code 66 when a test binary itself passed.
    if [ "$status" -ne 0 ]; then
        echo "ThreadSanitizer failed (exit $status)"
        return "$status"
    fi
}

case "${1:-all}" in
asan) asan ;;
valgrind) valgrind_memcheck ;;
tsan) tsan ;;
all)
    asan
    valgrind_memcheck
    tsan
    ;;
*)
    echo "usage: $0 asan|valgrind|tsan|all" >&2
    exit 2
    ;;
esac
