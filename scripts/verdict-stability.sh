#!/usr/bin/env bash
# Verdicts must not depend on --jobs, machine load or how the kernel splits
# writes. This runs categories 2-5 RUNS times (default 20) at --jobs 32 while
# a CPU hog keeps both cores busy, against peers whose answers depend on how
# the bytes of a step arrive:
#   - the reference server with --knob batched-reads (a read that holds a
#     violation drops the valid frames before it in the same read);
#   - Python websockets 17.4 (its NON-STRICT verdicts on 3.x/4.x/5.15 come from
#     the same read batching), when scripts/install-peers.sh has installed it.
# It prints, per peer, how many distinct verdict sets the runs gave and every
# case that changed; exit 1 if any did.
#
# Usage: scripts/verdict-stability.sh [RUNS]
# All traffic is on 127.0.0.1; the hog and every peer stop with the script.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-20}
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
CASES='2.*,3.*,4.*,5.*'
(cd "$REPO" && cargo build --release --locked -q)
BIN="$REPO/target/release/wsconform"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsconform-stability.XXXXXX")
# shellcheck source=scripts/pids-lib.sh
source "$REPO/scripts/pids-lib.sh"
cleanup() { stop_all_pids; rm -rf "$WORK"; }
trap cleanup EXIT

# The hog: one busy loop per core, for at most an hour.
for _ in $(seq "$(nproc)"); do
  timeout 3600 sh -c 'while :; do :; done' &
  PIDS+=("$!")
done

peers=(reference-batched-reads)
PY="$REPO/peers/python/.venv/bin/python"
if [ -x "$PY" ]; then
  "$PY" "$REPO/peers/python/echo_server.py" 0 > "$WORK/py.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/py.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "${port:-}" ] && peers+=("py-websockets=ws://127.0.0.1:$port/")
fi

status=0
for peer in "${peers[@]}"; do
  name=${peer%%=*}
  for r in $(seq "$RUNS"); do
    out="$WORK/$name/$r"
    if [ "$name" = reference-batched-reads ]; then
      "$BIN" server --knob batched-reads --cases "$CASES" --jobs 32 --quiet --outdir "$out" > /dev/null || true
    else
      "$BIN" server "${peer#*=}" --agent "$name" --cases "$CASES" --jobs 32 --quiet --outdir "$out" > /dev/null || true
    fi
  done
  NAME=$name DIR="$WORK/$name" RUNS=$RUNS python3 - <<'PY' || status=1
import collections, glob, json, os, sys
runs = []
for r in range(1, int(os.environ["RUNS"]) + 1):
    (agent,) = json.load(open(os.path.join(os.environ["DIR"], str(r), "index.json"))).values()
    runs.append({cid: (v["behavior"], v["behaviorClose"], v["remoteCloseCode"]) for cid, v in agent.items()})
distinct = {json.dumps(sorted(r.items())) for r in runs}
print(f"{os.environ['NAME']}: {len(runs)} runs of {len(runs[0])} cases at --jobs 32 beside a CPU hog: "
      f"{len(distinct)} distinct verdict set(s)")
changed = 0
for cid in sorted(runs[0], key=lambda c: [int(x) for x in c.split(".")]):
    seen = collections.Counter(r[cid] for r in runs)
    if len(seen) > 1:
        changed += 1
        print(f"  {cid}: " + ", ".join(f"{'/'.join(map(str, v))} x{n}" for v, n in seen.most_common()))
sys.exit(1 if changed else 0)
PY
done
exit $status
