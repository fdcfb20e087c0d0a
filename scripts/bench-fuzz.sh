#!/usr/bin/env bash
# Fuzzing throughput, as BENCHMARKS.md reports it:
#   * live: `wsconform fuzz` against the reference server and the reference
#     client for SECONDS each (scripts/fuzz-session.sh: executions, wall
#     time, CPU of wsconform and of the peer);
#   * in-process: each tungstenite target (fuzz/) for SECONDS on an empty
#     corpus, libFuzzer's own executions per second (-print_final_stats=1).
#
#   scripts/bench-fuzz.sh [SECONDS]        # default 60
#
# Needs a built wsconform (WSCONFORM, default target/release/wsconform) and
# the fuzz targets built with `cargo +nightly fuzz build -O` (FUZZ_BIN, default
# fuzz/target/x86_64-unknown-linux-gnu/release).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
bin=${FUZZ_BIN:-$root/fuzz/target/x86_64-unknown-linux-gnu/release}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for role in server client; do
    line=$(bash "$root/scripts/fuzz-session.sh" reference "$role" "$seconds" 1 "$work/live-$role" | tail -1)
    execs=$(sed -n 's/.*execs=\([0-9]*\).*/\1/p' <<<"$line")
    wall=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' <<<"$line")
    printf 'live   reference %-6s %s  execs/s=%.0f\n' "$role" "$line" "$(echo "$execs / $wall" | bc -l)"
done
for t in tungstenite_server tungstenite_client; do
    mkdir -p "$work/corpus-$t"
    "$bin/$t" "$work/corpus-$t" -max_total_time="$seconds" -print_final_stats=1 >"$work/$t.log" 2>&1 || true
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log")
    cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1 || true)
    crash=$(grep -c 'panicked' "$work/$t.log" || true)
    printf 'inproc %-20s runs=%s execs/s=%s %s corpus=%s crashed=%s\n' "$t" "${runs:-?}" "${rate:-?}" "$cov" \
        "$(ls "$work/corpus-$t" | wc -l)" "$crash"
done
