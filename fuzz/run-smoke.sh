#!/usr/bin/env bash
# Runs every fuzz target for a short time with the dictionary, on a temporary
# copy of the committed seed corpus (so fuzzing never adds files to
# fuzz/corpus/). Exits non-zero if any target crashes, hangs or fails to run;
# crash inputs are kept in fuzz/artifacts/<target>/ (git-ignored).
#
#   fuzz/run-smoke.sh                      # every target, 15 s each
#   FUZZ_SECONDS=60 fuzz/run-smoke.sh utf8 decode_server
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 15)
#   FUZZ_TOOLCHAIN  toolchain for cargo-fuzz (default +nightly)
#   FUZZ_ARGS       extra cargo-fuzz build flags, e.g. "-O" or "-s none"
#   CARGO           cargo command (default cargo), e.g.
#                   "flock /tmp/wsconform-cargo.lock cargo" on a shared machine
# Needs: a nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${FUZZ_SECONDS:-15}
toolchain=${FUZZ_TOOLCHAIN:-+nightly}
read -r -a cargo <<<"${CARGO:-cargo}"
read -r -a fuzz_args <<<"${FUZZ_ARGS:-}"
dict="$root/fuzz/dict/websocket.dict"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("${cargo[@]}" "$toolchain" fuzz list)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"${cargo[@]}" "$toolchain" fuzz build "${fuzz_args[@]}"

failed=()
for t in "${targets[@]}"; do
    mkdir -p "$work/corpus/$t"
    if [ -d "fuzz/corpus/$t" ]; then
        cp -R "fuzz/corpus/$t/." "$work/corpus/$t/"
    fi
    log="$work/$t.log"
    if "${cargo[@]}" "$toolchain" fuzz run "${fuzz_args[@]}" "$t" "$work/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -dict="$dict" -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
        printf 'ok    %-26s %10s runs %8s exec/s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$cov"
    else
        printf 'FAIL  %-26s (log below)\n' "$t"
        tail -n 60 "$log"
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz smoke: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
