#!/usr/bin/env bash
# Drop-in check (issue 12): a real project's own Autobahn regression check, unchanged,
# run against wsconform. The project is tungstenite-rs: its CI runs Autobahn with
#   autobahn/fuzzingclient.json  (its echo server under test; "cases": ["*"])
#   autobahn/fuzzingserver.json  (its client under test)
# and diffs `jq -S 'del(.. | .duration?)'` of its checked-in autobahn/expected-results.json
# against the index.json Autobahn wrote. Here wsconform reads the same spec files (only
# the addresses are changed: the server's url points at the peer started here, the
# fuzzingserver url becomes 127.0.0.1:0) and the same filter and diff are applied to the
# index.json wsconform writes.
#
# The peers are tungstenite's own examples, built from the checkout with cargo
# (examples/autobahn-server.rs listening on 127.0.0.1:9002, examples/autobahn-client.rs
# connecting to localhost:9001, agent "Tungstenite"): the spec files are used unchanged
# (their addresses are those examples' fixed ones), so this is the check exactly as
# tungstenite's CI runs it, with wsconform in Autobahn's place. Ports 9001 and 9002 must
# be free. PEERS=reference uses wsconform's own reference peers instead (tokio-tungstenite
# behind wsconform's permessage-deflate layer, so 12.x/13.x then differ by design: the
# reference negotiates compression, tungstenite does not), with JOBS copies of the client.
#
# Prints, per role, whether the filtered files are identical and, if not, which case ids
# differ, grouped by category (missing from index.json, extra in it, or with other
# verdicts, close code or report file name). Exit 0 when every role's diff is empty.
#
# Usage: scripts/autobahn-dropin.sh TUNGSTENITE [server] [client]   (default: both roles)
#   TUNGSTENITE: a tungstenite-rs checkout, or its git directory (files read from HEAD)
# Env:   PEERS=tungstenite|reference   (default tungstenite: the checkout's examples)
#        JOBS=N        copies of the reference client (PEERS=reference; default 1)
#        WSCONFORM=P   use this wsconform binary (default: build target/release/wsconform)
#        KEEP_WORK=1   keep the scratch directory (specs, reports, logs)
# Needs: jq, python3, cargo (crates.io for tungstenite's dependencies). Everything runs on 127.0.0.1; every wait is bounded.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WSCONFORM=${WSCONFORM:-}
JOBS=${JOBS:-1}
PEERS=${PEERS:-tungstenite}
TOOL_TIMEOUT=900

usage() { echo "usage: $0 TUNGSTENITE [server] [client]   (env PEERS, JOBS, WSCONFORM, KEEP_WORK)" >&2; exit 2; }
[ $# -ge 1 ] || usage
SRC=$1; shift
ROLES=("$@")
[ ${#ROLES[@]} -gt 0 ] || ROLES=(server client)
for r in "${ROLES[@]}"; do [[ "$r" =~ ^(server|client)$ ]] || usage; done
[[ "$JOBS" =~ ^[1-9][0-9]?$ ]] || { echo "JOBS must be 1..64" >&2; exit 2; }
[[ "$PEERS" =~ ^(tungstenite|reference)$ ]] || { echo "PEERS must be tungstenite or reference" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

log() { echo "[autobahn-dropin] $*" >&2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsconform-dropin.XXXXXX")
PEER=""
cleanup() {
  [ -z "$PEER" ] || kill "$PEER" 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "scratch kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# tungstenite's file at PATH, from a checkout or from a git directory's HEAD.
upstream() {
  if [ -f "$SRC/$1" ]; then cat "$SRC/$1"; else git --git-dir="$SRC" show "HEAD:$1"; fi
}
upstream autobahn/expected-results.json > "$WORK/expected-results.json"

# tungstenite's example peers, built from the same commit as the expected results.
if [ "$PEERS" = tungstenite ]; then
  mkdir -p "$WORK/tungstenite"
  if [ -f "$SRC/Cargo.toml" ]; then
    cp -r "$SRC/." "$WORK/tungstenite/"
  else
    git --git-dir="$SRC" archive HEAD | tar -x -C "$WORK/tungstenite"
  fi
  log "building tungstenite's examples autobahn-server and autobahn-client (release)"
  (cd "$WORK/tungstenite" && CARGO_TARGET_DIR="${TUNGSTENITE_TARGET:-$WORK/tungstenite/target}" \
    flock /tmp/wsconform-build.lock cargo build --release --quiet \
      --example autobahn-server --example autobahn-client) >&2
  TBIN="${TUNGSTENITE_TARGET:-$WORK/tungstenite/target}/release/examples"
fi
if git --git-dir="$SRC" rev-parse -q --verify HEAD >/dev/null 2>&1; then
  log "tungstenite-rs at $(git --git-dir="$SRC" rev-parse --short HEAD)"
elif git -C "$SRC" rev-parse -q --verify HEAD >/dev/null 2>&1; then
  log "tungstenite-rs at $(git -C "$SRC" rev-parse --short HEAD)"
fi

if [ -z "$WSCONFORM" ]; then
  log "building wsconform (release)"
  (cd "$REPO" && flock /tmp/wsconform-build.lock cargo build --release -p wsconform) >&2
  WSCONFORM="$REPO/target/release/wsconform"
fi
[ -x "$WSCONFORM" ] || { echo "$WSCONFORM is not executable" >&2; exit 1; }

# Which ids differ between the two filtered files, by category; exit 1 if any.
compare() {  # expected actual
  python3 - "$1" "$2" <<'PY'
import collections, json, sys
exp, got = (json.load(open(p)) for p in sys.argv[1:3])
if exp == got:
    print("  identical: the regression check passes")
    sys.exit(0)
diff = collections.defaultdict(lambda: collections.defaultdict(list))
for agent in sorted(set(exp) | set(got)):
    e, g = exp.get(agent, {}), got.get(agent, {})
    for cid in set(e) | set(g):
        kind = "missing from index.json" if cid not in g else "extra in index.json" if cid not in e \
            else "different" if e[cid] != g[cid] else None
        if kind:
            diff[kind][cid.split(".")[0]].append((agent, cid))
key = lambda c: [int(p) if p.isdigit() else p for p in c.split(".")]
for kind in ("missing from index.json", "extra in index.json", "different"):
    for cat in sorted(diff[kind], key=lambda c: (not c.isdigit(), int(c) if c.isdigit() else c)):
        ids = sorted(diff[kind][cat], key=lambda a: key(a[1]))
        shown = ", ".join(c for _, c in ids[:8]) + (", ..." if len(ids) > 8 else "")
        print(f"  category {cat}: {len(ids)} id(s) {kind}: {shown}")
        if kind == "different":
            for agent, cid in ids[:8]:
                print(f"    {cid}: expected {json.dumps(exp[agent][cid], sort_keys=True)}")
                print(f"    {' ' * len(cid)}  got      {json.dumps(got[agent][cid], sort_keys=True)}")
cats = sorted({c for k in diff.values() for c in k})
print(f"  differences in categories: {', '.join(cats)}")
sys.exit(1)
PY
}

check() {  # role: runs tungstenite's spec for that role, then its diff
  local role=$1 d="$WORK/$1" index rc=0 url i
  mkdir -p "$d"
  case $role in
    server)
      upstream autobahn/fuzzingclient.json > "$d/fuzzingclient.orig.json"
      if [ "$PEERS" = tungstenite ]; then
        "$TBIN/autobahn-server" > "$d/peer.log" 2>&1 &
        PEER=$!
        url=$(jq -r '.servers[0].url' "$d/fuzzingclient.orig.json")
        local hostport=${url#ws://}
        for i in $(seq 100); do
          (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null && break
          kill -0 "$PEER" 2>/dev/null || break
          sleep 0.1
        done
        kill -0 "$PEER" 2>/dev/null || { cat "$d/peer.log" >&2; echo "tungstenite's autobahn-server did not start" >&2; exit 1; }
        cp "$d/fuzzingclient.orig.json" "$d/fuzzingclient.json"
        log "server: tungstenite's fuzzingclient.json, unchanged, against its examples/autobahn-server at $url"
      else
        "$WSCONFORM" reference-server --listen 127.0.0.1:0 > "$d/peer.log" 2>&1 &
        PEER=$!
        url=""
        for i in $(seq 100); do
          url=$(sed -n 's/^reference server listening on //p' "$d/peer.log")
          [ -z "$url" ] || break
          sleep 0.1
        done
        [ -n "$url" ] || { cat "$d/peer.log" >&2; echo "the reference server did not start" >&2; exit 1; }
        jq --arg u "$url" '.servers[].url = $u' "$d/fuzzingclient.orig.json" > "$d/fuzzingclient.json"
        log "server: tungstenite's fuzzingclient.json against the reference server at $url"
      fi
      (cd "$d" && timeout "$TOOL_TIMEOUT" "$WSCONFORM" server --spec fuzzingclient.json --quiet) \
        > "$d/run.log" 2>&1 || rc=$?
      kill "$PEER" 2>/dev/null || true
      PEER=""
      ;;
    client)
      upstream autobahn/fuzzingserver.json > "$d/fuzzingserver.orig.json"
      if [ "$PEERS" = tungstenite ]; then
        cp "$d/fuzzingserver.orig.json" "$d/fuzzingserver.json"
        log "client: tungstenite's fuzzingserver.json, unchanged, with its examples/autobahn-client"
        (cd "$d" && timeout "$TOOL_TIMEOUT" "$WSCONFORM" client --spec fuzzingserver.json \
          --spawn "$(printf '%q' "$TBIN/autobahn-client")" --quiet) > "$d/run.log" 2>&1 || rc=$?
      else
        jq '.url = "ws://127.0.0.1:0"' "$d/fuzzingserver.orig.json" > "$d/fuzzingserver.json"
        log "client: tungstenite's fuzzingserver.json, the reference client as agent Tungstenite, --jobs $JOBS"
        (cd "$d" && timeout "$TOOL_TIMEOUT" "$WSCONFORM" client --spec fuzzingserver.json --agent Tungstenite \
          --jobs "$JOBS" --spawn "$(printf '%q' "$WSCONFORM") reference-client {url} --agent {agent}" --quiet) \
          > "$d/run.log" 2>&1 || rc=$?
      fi
      ;;
  esac
  # The spec's outdir, relative to where the run started.
  index="$d/$(jq -r '.outdir // "./reports/servers"' "$d/fuzzing$([ "$role" = server ] && echo client || echo server).json")/index.json"
  [ "$rc" -le 1 ] && [ -f "$index" ] || { tail -n 5 "$d/run.log" >&2; echo "$role run failed (exit $rc)" >&2; exit 1; }
  log "$role: wsconform exit $rc; $(jq -r '[.[] | length] | add' "$index") ids in index.json, $(jq '[.runs[].cases | length] | add' "$(dirname "$index")/results.json") cases in results.json"
  jq -S 'del(.. | .duration?)' "$WORK/expected-results.json" > "$d/expected.filtered.json"
  jq -S 'del(.. | .duration?)' "$index" > "$d/index.filtered.json"
  echo "$role role (tungstenite's autobahn/$([ "$role" = server ] && echo fuzzingclient || echo fuzzingserver).json):"
  if diff -q "$d/expected.filtered.json" "$d/index.filtered.json" >/dev/null; then
    echo "  identical: the regression check passes"
  else
    compare "$d/expected.filtered.json" "$d/index.filtered.json" || FAILED=1
  fi
}

FAILED=0
for r in "${ROLES[@]}"; do check "$r"; done
exit "$FAILED"
