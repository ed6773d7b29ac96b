#!/usr/bin/env bash
# Instruction and cache-miss counts per completion, from valgrind's cache
# simulator (callgrind --cache-sim=yes: the same model as cachegrind), for
# limited_as_completed and futures-buffered in the one-wake rows (c'), in
# workload (c), in variants between the two, and in (e). Steadier than time
# on a shared machine; see the notes in benches/compare.rs.
#
#   benches/cachegrind.sh              # the default set below (~2 min)
#   benches/cachegrind.sh quick        # n = 1024 and 65536 only, (e) at 20 000 items
#   benches/cachegrind.sh one-wake as_completed issue block_on 65536   # one probe
#   benches/cachegrind.sh parked fut-buffered 1024                     # one probe
#   benches/cachegrind.sh spawned as_completed 4096 100000             # one probe
#
# Each probe runs `compare --probe ...` (see `probe` in benches/compare.rs)
# under callgrind: one untimed warm-up, then only the measured regions are
# counted (zeroed at their start and dumped at their end by client requests),
# and the totals of every region are divided by the completions measured.
# Columns: instructions (Ir), D1 and LL misses (data, reads + writes), data
# references. In (e) the region is the whole run and every thread is counted
# (the workers' task polls and wakes too); the main thread's share and the
# JoinHandle polls per item are printed after. Valgrind runs one thread at a
# time, so (e)'s interleaving is not the native one and varies between runs:
# compare (e) counts at equal polls per item.
#
# The simulated caches: D1 32 KiB 8-way, LL 1 MiB 8-way (this machine's
# per-core L2; valgrind misreads its 32 MiB L3). Override with CG_LL, e.g.
# CG_LL=16777216,16,64. CG_KEEP=1 keeps the output directory for
# callgrind_annotate (main thread: `<dir>/<probe>.<pid>.1-01`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

ll="${CG_LL:-1048576,8,64}"
bin=$(cargo bench --bench compare --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*compare-[0-9a-f]*\)).*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not find the compare bench binary" >&2; exit 1; }
out=$(mktemp -d /tmp/cachegrind-compare.XXXXXX)
[ -n "${CG_KEEP:-}" ] || trap 'rm -rf "$out"' EXIT

printf '%-46s %8s %8s %8s %8s  %s\n' "probe (per completion)" "Ir" "D1 miss" "LL miss" "Dr+Dw" "(e): main thread Ir, D1, LL; JoinHandle polls"

# probe ARGS...: one line of counts per completion.
probe() {
    local name
    name=$(echo "$*" | tr ' ' '_')
    rm -f "$out/$name".*
    local log="$out/$name.log"
    # Threads apart, so that (e) can show the main thread's share: a region
    # dump writes the main thread's counts to <file>.1-01; the other threads'
    # go to their end-of-run files <file>-02, -03, ... (zeroed at the region's
    # start, so they hold the region plus the runtime's shutdown).
    valgrind --tool=callgrind --cache-sim=yes --separate-threads=yes \
        --I1=32768,8,64 --D1=32768,8,64 --LL="$ll" \
        --callgrind-out-file="$out/$name.%p" \
        "$bin" --probe "$@" >"$log" 2>&1 ||
        { cat "$log" >&2; echo "probe $* failed" >&2; return 1; }
    local completions extra=""
    completions=$(sed -n 's/.*completions=\([0-9]*\).*/\1/p' "$log")
    local files=("$out/$name".*.[0-9]*-01)
    if [ "$1" = spawned ]; then
        files+=("$out/$name".*-0[2-9])
        extra=$(sed -n 's/.*JoinHandle polls\/item \([^,]*\), ready at first poll \([^;]*\);.*/polls \1, ready at 1st poll \2/p' "$log")
    fi
    # Sum the `summary:` lines. Events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
    # (trailing zeros may be left off).
    awk -v c="$completions" -v label="$*" -v extra="$extra" '
        /^summary:/ {
            for (i = 2; i <= 10; i++) s[i] += ($i == "" ? 0 : $i)
            if (FILENAME ~ /\.[0-9]+-01$/) for (i = 2; i <= 10; i++) m[i] += ($i == "" ? 0 : $i)
        }
        END {
            if (c == 0) { print "no completions measured for " label > "/dev/stderr"; exit 1 }
            line = sprintf("%-46s %8.1f %8.2f %8.3f %8.1f", label, s[2] / c,
                (s[6] + s[7]) / c, (s[9] + s[10]) / c, (s[3] + s[4]) / c)
            if (extra != "")
                line = line sprintf("  main %.0f, %.2f, %.3f; %s", m[2] / c,
                    (m[6] + m[7]) / c, (m[9] + m[10]) / c, extra)
            print line
        }' "${files[@]}"
}

if [ $# -gt 0 ] && [ "$1" != quick ]; then
    probe "$@"
    exit
fi

if [ "${1:-}" = quick ]; then
    sizes="1024 65536"
    e_items=20000
else
    sizes="16 1024 65536"
    e_items=100000
fi

echo "-- (c') one-wake rows: the issue's item, select driver under block_on"
for n in $sizes; do
    for c in as_completed fut-buffered; do probe one-wake $c issue block_on $n; done
done
echo "-- (c)'s conditions: bare receivers, polled by hand with a no-op waker"
for n in $sizes; do
    for c in as_completed fut-buffered; do probe one-wake $c receiver hand $n; done
done
echo "-- workload (c) itself (contenders::drive_parked, seeded order)"
for n in $sizes; do
    for c in as_completed fut-buffered; do probe parked $c $n; done
done
echo "-- one factor at a time: the issue's item polled by hand; bare-ish item (no Arc) under block_on"
for n in $sizes; do
    for c in as_completed fut-buffered; do
        probe one-wake $c issue hand $n
        probe one-wake $c small block_on $n
    done
done
echo "-- (e) spawned tasks, per item, all threads (and the main thread); three runs each:"
echo "   valgrind runs one thread at a time, so the interleaving, and the counts, vary"
for limit in 64 4096; do
    for c in as_completed fut-buffered; do
        for _ in 1 2 3; do probe spawned $c $limit $e_items; done
    done
done
