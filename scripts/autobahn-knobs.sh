#!/usr/bin/env bash
# Run the real Autobahn|Testsuite against wsconform's reference peers with a
# misbehaviour knob switched on, and record its verdicts: the evidence behind
# the verdict rules that harness/tests/verdict_fidelity.rs checks (a fix for a
# verdict comes with a misbehaving peer and the real Autobahn's verdict on it).
#
#   server mode: wstest fuzzingclient -> `wsconform reference-server --knob K`
#   client mode: wstest fuzzingserver <- `wsconform reference-client --knob K`
#
# Writes (generated, overwritten) peers/expected/knobs/{server,client}/K.json:
# a flat map case id -> {behavior, behaviorClose, remoteCloseCode}, keys sorted,
# plus "_autobahn" (wstest -a) and "_cases" (the patterns run).
#
# Usage: scripts/autobahn-knobs.sh [KNOB...]   (default: every knob below)
# Env:   WSCONFORM_SHARED  shared/ directory (default: ../shared next to the repo)
# All traffic is on 127.0.0.1; every wait is bounded.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${WSCONFORM_SHARED:-$(cd "$REPO/.." && pwd)/shared}
AB="$SHARED/tools/autobahn"
OUT="$REPO/peers/expected/knobs"

# knob -> the cases it is recorded on (Autobahn patterns). Categories 1-7
# cover every frame, close and timer rule; 9 and 10 add nothing per knob.
declare -A CASES=(
  [invalid-close-code]='1.*,2.*,5.*,7.*'
  [invalid-close-reason]='1.*,7.*'
  [long-close]='1.*,7.*'
  [non-minimal-length]='1.*,5.*,6.1.*,6.2.*'
  [late-echo]='1.1.*,1.2.*,5.*'
  [batched-reads]='2.*,3.*,4.*,5.*'
  [pong-first]='1.1.*,2.1,5.1,9.1.1,9.1.2,9.2.1,9.7.1,9.8.1'
  [invalid-utf8-echo]='1.1.*,5.*,6.1.*,6.2.*,6.4.*'
  [http10-response]='1.1.1,2.1,7.1.1'
  [upgrade-list]='1.1.1,2.1,7.1.1'
  # permessage-deflate: the JSON corpus at every message size and
  # fragmentation, under 12.1's and 13.1's offers; each ends at the first echo.
  [deflate-corrupt-echo]='12.1.*,13.1.*'
  # The window rules (wsconform fails a peer whose back-references leave the
  # negotiated window, 1007): 13.3's offer asks for 9-bit windows, 13.2's for
  # no context takeover; small, medium and large messages.
  [ignore-window-bits]='13.3.1,13.3.9,13.3.17'
  [keep-context]='13.2.1,13.2.9,13.2.17'
  # 13.4's and 13.6's offers ask for server_max_window_bits=15; the knob
  # accepts them without it (Autobahn's client accepts any response).
  [omit-server-window-bits]='13.4.1,13.4.9,13.4.17,13.6.1,13.6.9,13.6.17'
)
# Knobs of the reference server's opening-handshake answer: no client mode.
declare -A SERVER_ONLY=([http10-response]=1 [upgrade-list]=1 [omit-server-window-bits]=1)
KNOBS=("$@")
[ ${#KNOBS[@]} -gt 0 ] || KNOBS=(invalid-close-code invalid-close-reason long-close non-minimal-length late-echo batched-reads pong-first invalid-utf8-echo http10-response upgrade-list deflate-corrupt-echo ignore-window-bits keep-context omit-server-window-bits)

log() { echo "[autobahn-knobs] $*"; }

bash "$AB/install.sh" >/dev/null
WSTEST="${AUTOBAHN_HOME:-$HOME/.cache/autobahn-testsuite}/autobahn/bin/wstest"
(cd "$REPO" && flock /tmp/wsconform-build.lock cargo build --release --locked -q)
BIN="$REPO/target/release/wsconform"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsconform-knobs.XXXXXX")
# shellcheck source=scripts/pids-lib.sh
source "$REPO/scripts/pids-lib.sh"
cleanup() { stop_all_pids; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_listen() {  # port pid
  local i
  for i in $(seq 300); do
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

record() {  # index.json mode knob cases
  V_WSTEST=$("$WSTEST" -a 2>/dev/null | tr '\n' ' ' | sed 's/ *$//') \
  python3 - "$@" <<'PY'
import json, os, sys
index, mode, knob, cases = sys.argv[1:5]
agents = json.load(open(index))
(results,) = agents.values()
out = {cid: {k: r[k] for k in ("behavior", "behaviorClose", "remoteCloseCode")}
       for cid, r in results.items()}
out["_autobahn"] = os.environ["V_WSTEST"]
out["_cases"] = cases
path = os.path.join(os.environ["OUT"], mode, knob + ".json")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
print("wrote", path, len(results), "cases")
PY
}
export OUT

for knob in "${KNOBS[@]}"; do
  cases=${CASES[$knob]:?unknown knob $knob}
  # server mode
  port=$(free_port)
  "$BIN" reference-server --listen "127.0.0.1:$port" --knob "$knob" > "$WORK/server.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_listen "$port" "$pid" || { cat "$WORK/server.log" >&2; exit 1; }
  log "server/$knob: $cases"
  bash "$AB/fuzzingclient.sh" "ws://127.0.0.1:$port" "$knob" "$WORK/s-$knob" "$cases" > "$WORK/fc.log" 2>&1 || true
  stop_pid "$pid"
  record "$WORK/s-$knob/reports/index.json" server "$knob" "$cases"
  [ -z "${SERVER_ONLY[$knob]:-}" ] || continue
  # client mode
  port=$(free_port)
  bash "$AB/fuzzingserver.sh" "$port" "$WORK/c-$knob" "$cases" > "$WORK/fs.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_listen "$port" "$pid" || { cat "$WORK/fs.log" >&2; exit 1; }
  log "client/$knob: $cases"
  timeout 600 "$BIN" reference-client "ws://127.0.0.1:$port" --agent "$knob" --knob "$knob" \
    > "$WORK/client.log" 2>&1 || log "client/$knob: driver exited with $?"
  stop_pid "$pid"
  record "$WORK/c-$knob/reports/index.json" client "$knob" "$cases"
done
