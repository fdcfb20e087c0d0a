#!/usr/bin/env bash
# A fuzzing campaign measured in CPU time, not wall time: each target runs
# until its process has used CPU_SECONDS of CPU (user + system), then gets
# SIGINT and libFuzzer prints its final statistics. On a shared or loaded
# machine `-max_total_time` (wall) under-delivers; this does not. One line per
# target, the figures docs/fuzz-findings.md records:
#
#   scripts/fuzz-campaign.sh CPU_SECONDS TARGET...
#   NICE=19 scripts/fuzz-campaign.sh 900 utf8 close_payload
#
# Each target starts from a persistent corpus in fuzz/campaign/TARGET
# (git-ignored; seeded from fuzz/corpus/TARGET the first time), with the
# project dictionary. Crash inputs go to fuzz/artifacts/TARGET/. Exit 1 if
# any target crashed.
#
# Needs the targets built: `cd fuzz && cargo +nightly fuzz build -O
# --debug-assertions` (FUZZ_BIN, default fuzz/target/x86_64-unknown-linux-gnu/release).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ]; then
    echo "usage: scripts/fuzz-campaign.sh CPU_SECONDS TARGET..." >&2
    exit 2
fi
budget=$1
shift
case $budget in '' | *[!0-9]*)
    echo "fuzz-campaign: CPU_SECONDS must be a whole number, got '$budget'" >&2
    exit 2
    ;;
esac
bin=${FUZZ_BIN:-$root/fuzz/target/x86_64-unknown-linux-gnu/release}
dict=$root/fuzz/dict/websocket.dict
ticks=$(getconf CLK_TCK)
logs=${LOGDIR:-$root/fuzz/campaign/logs}
mkdir -p "$logs"

# CPU seconds (user + system) of one process, from /proc/PID/stat.
cpu_of() {
    awk -v t="$ticks" '{ printf "%d", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0
}

crashed=0
for t in "$@"; do
    if [ ! -x "$bin/$t" ]; then
        echo "fuzz-campaign: no built target $bin/$t" >&2
        exit 2
    fi
    corpus=$root/fuzz/campaign/$t
    if [ ! -d "$corpus" ]; then
        mkdir -p "$corpus"
        if [ -d "$root/fuzz/corpus/$t" ]; then cp -R "$root/fuzz/corpus/$t/." "$corpus/"; fi
    fi
    mkdir -p "$root/fuzz/artifacts/$t"
    seeds=$(find "$corpus" -type f | wc -l)
    log=$logs/$t-$(date -u +%Y%m%dT%H%M%S).log
    start=$(date +%s)
    nice -n "${NICE:-0}" "$bin/$t" "$corpus" -dict="$dict" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$root/fuzz/artifacts/$t/" >"$log" 2>&1 &
    pid=$!
    used=0
    while kill -0 "$pid" 2>/dev/null; do
        used=$(cpu_of "$pid")
        if [ "$used" -ge "$budget" ]; then
            kill -INT "$pid" 2>/dev/null || true
            break
        fi
        sleep 5
    done
    status=0
    wait "$pid" || status=$?
    wall=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
    files=$(find "$corpus" -type f | wc -l)
    bytes=$(du -sb "$corpus" | cut -f1)
    verdict=ok
    if grep -q -E '^==[0-9]+== ERROR|deadly signal|panicked|SUMMARY: libFuzzer' "$log"; then
        verdict=CRASH
        crashed=1
    fi
    printf '%-5s %-26s cpu_s=%s wall_s=%s runs=%s exec_per_s=%s %s corpus=%s->%s files %s bytes exit=%s log=%s\n' \
        "$verdict" "$t" "$used" "$wall" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$seeds" "$files" "$bytes" \
        "$status" "${log#"$root"/}"
done
exit "$crashed"
