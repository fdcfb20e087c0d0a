#!/usr/bin/env bash
# What TLS costs a whole run: wsconform against its in-process reference peers,
# every case, over TCP and over TLS (--tls), for both roles. Runs alternate
# (tcp, tls, tcp, tls, ...) so that machine noise hits both alike; prints the
# median wall time, CPU time (user + sys, harness and reference peer together:
# they share the process) and peak RSS of each, and the TLS/TCP ratios.
#
# Usage: scripts/bench-tls.sh            (env RUNS, default 3; 1..99)
# Loopback only; needs /usr/bin/time (apt-get install time).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || { echo "RUNS must be 1..99" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: sudo apt-get install -y time" >&2; exit 1; }

echo "[bench-tls] building wsconform (release)" >&2
(cd "$REPO" && flock /tmp/wsconform-build.lock cargo build --release -p wsconform) >&2
BIN="$REPO/target/release/wsconform"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsconform-bench-tls.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# One run: appends "role transport wall cpu rss_kb" to $WORK/results.
measure() {
  local role=$1 transport=$2 n=$3 flag=() out
  [ "$transport" = tls ] && flag=(--tls)
  out="$WORK/$role-$transport-$n"
  if ! timeout 900 /usr/bin/time -f "%e %U %S %M" -o "$out.time" \
      "$BIN" "$role" "${flag[@]}" --quiet --outdir "$out" > "$out.log" 2>&1; then
    echo "[bench-tls] $role over $transport failed (run $n): see below" >&2
    cat "$out.log" >&2
    exit 1
  fi
  awk -v r="$role" -v t="$transport" '{ printf "%s %s %s %.2f %s\n", r, t, $1, $2 + $3, $4 }' \
    "$out.time" >> "$WORK/results"
  echo "[bench-tls] $role $transport run $n: $(tail -n 1 "$WORK/results")" >&2
}

for n in $(seq 1 "$RUNS"); do
  for role in server client; do
    measure "$role" tcp "$n"
    measure "$role" tls "$n"
  done
done

median() {  # median of the numbers on stdin
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
col() { awk -v r="$1" -v t="$2" -v c="$3" '$1 == r && $2 == t { print $c }' "$WORK/results" | median; }

echo "wsconform, every case, against the in-process reference peers; medians of $RUNS run(s)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-7s %-4s %9s %9s %9s\n' role over wall_s cpu_s rss_mib
for role in server client; do
  for t in tcp tls; do
    printf '%-7s %-4s %9.2f %9.2f %9.1f\n' "$role" "$t" "$(col "$role" "$t" 3)" "$(col "$role" "$t" 4)" \
      "$(awk -v k="$(col "$role" "$t" 5)" 'BEGIN { print k / 1024 }')"
  done
  awk -v r="$role" -v w1="$(col "$role" tcp 3)" -v w2="$(col "$role" tls 3)" \
      -v c1="$(col "$role" tcp 4)" -v c2="$(col "$role" tls 4)" \
      'BEGIN { printf "%-7s TLS/TCP: wall %.2fx, cpu %.2fx\n", r, w2 / w1, c2 / c1 }'
done
