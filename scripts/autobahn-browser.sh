#!/usr/bin/env bash
# Autobahn's own browser test, for comparison with `wsconform client --browser
# chromium`: runs the real Autobahn fuzzingserver (categories 1-10, as
# scripts/autobahn-expected.sh does), opens Autobahn's own page
# (autobahntestsuite/web/fuzzingserver/test_browser.html, unmodified, as a
# file:// URL) in headless Chromium, presses its "Start Tests" button through
# the DevTools protocol (scripts/cdp-evaluate.js: the page cannot start by
# itself), waits for the page's /updateReports, and writes Autobahn's verdicts
# to peers/expected/browser/autobahn-chromium.json (the same flat format as
# peers/expected/client/*.json). docs/browser-findings.md compares them with
# wsconform's.
# Usage: scripts/autobahn-browser.sh [CASES]   (default: every case but 12.*/13.*;
# OUT=FILE writes the verdicts elsewhere)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${WSCONFORM_SHARED:-$(cd "$REPO/.." && pwd)/shared}
AB="$SHARED/tools/autobahn"
CASES=${1:-*}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}   # seconds for the whole browser run
OUT=${OUT:-$REPO/peers/expected/browser/autobahn-chromium.json}

log() { echo "[autobahn-browser] $*"; }

bash "$AB/install.sh" >/dev/null
PAGE=$(find "${AUTOBAHN_HOME:-$HOME/.cache/autobahn-testsuite}" -path '*autobahntestsuite/web/fuzzingserver/test_browser.html' | head -1)
[ -n "$PAGE" ] || { echo "Autobahn's test_browser.html not found" >&2; exit 1; }
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsconform-autobahn-browser.XXXXXX")
source "$REPO/scripts/pids-lib.sh"
cleanup() {
  stop_all_pids
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "scratch kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
AUTOBAHN_EXCLUDE='12.*,13.*' bash "$AB/fuzzingserver.sh" "$port" "$WORK/ab" "$CASES" > "$WORK/fuzzingserver.log" 2>&1 &
ab_pid=$!; PIDS+=("$ab_pid")
up=0
for _ in $(seq 300); do
  if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then up=1; break; fi
  kill -0 "$ab_pid" 2>/dev/null || break
  sleep 0.1
done
[ $up = 1 ] || { cat "$WORK/fuzzingserver.log" >&2; echo "fuzzingserver did not start" >&2; exit 1; }

mkdir "$WORK/profile"
chromium --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
  --disable-extensions --disable-background-networking --disable-component-update --disable-sync \
  --disable-background-timer-throttling --disable-renderer-backgrounding \
  --user-data-dir="$WORK/profile" --remote-debugging-port=0 "file://$PAGE" > "$WORK/chromium.log" 2>&1 &
chromium_pid=$!; PIDS+=("$chromium_pid")
dport=""
for _ in $(seq 100); do
  dport=$(head -1 "$WORK/profile/DevToolsActivePort" 2>/dev/null || true)
  [ -n "$dport" ] && break
  sleep 0.1
done
[ -n "$dport" ] || { tail "$WORK/chromium.log" >&2; echo "chromium did not open its DevTools port" >&2; exit 1; }
VERSION=$(chromium --version 2>/dev/null | awk '{print $2}')
log "Autobahn fuzzingserver on 127.0.0.1:$port; Chromium $VERSION on $PAGE"
agent=$(node --experimental-websocket --no-warnings "$REPO/scripts/cdp-evaluate.js" "$dport" \
  "document.getElementById('wsuri').value = 'ws://127.0.0.1:$port'; startTestRun(); document.getElementById('agent').value" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["value"])')
log "the page runs the cases as agent $agent"
start=$SECONDS
until [ -f "$WORK/ab/reports/index.json" ] && grep -q '"updateReports"\|Updating reports' "$WORK/fuzzingserver.log"; do
  (( SECONDS - start < RUN_TIMEOUT )) || { tail "$WORK/fuzzingserver.log" >&2; echo "no /updateReports within $RUN_TIMEOUT s" >&2; exit 1; }
  kill -0 "$chromium_pid" 2>/dev/null || { tail "$WORK/chromium.log" >&2; echo "chromium exited" >&2; exit 1; }
  sleep 1
done
sleep 2   # the reports are written right after the request is logged
log "done in $((SECONDS - start)) s"
stop_pid "$chromium_pid"
stop_pid "$ab_pid"

mkdir -p "$(dirname "$OUT")"
AGENT="$agent" python3 - "$WORK/ab/reports/index.json" "$OUT" <<'PY'
import json, os, sys
index = json.load(open(sys.argv[1]))
agent = os.environ["AGENT"]
cases = index[agent]
flat = {cid: {k: c[k] for k in ("behavior", "behaviorClose", "remoteCloseCode")} for cid, c in cases.items()}
with open(sys.argv[2], "w") as f:
    json.dump(flat, f, indent=2, sort_keys=True)
    f.write("\n")
counts = {}
for c in flat.values():
    counts[(c["behavior"], c["behaviorClose"])] = counts.get((c["behavior"], c["behaviorClose"]), 0) + 1
print("agent %s: %d cases; %s" % (agent, len(flat), ", ".join("%s/%s %d" % (b, bc, n) for (b, bc), n in sorted(counts.items()))))
PY
log "written: $OUT"
