#!/usr/bin/env bash
# Benchmark (not a test): wsconform vs Autobahn|Testsuite testing real echo servers,
# categories 1-10 (301 cases). For each peer and each tool, RUNS times, a FRESH echo
# server is started and measured:
#   * the tool's wall time, CPU seconds (user+sys) and peak RSS (/usr/bin/time; for
#     Autobahn this covers fuzzingclient.sh and the wstest it runs);
#   * the peer's CPU seconds during the run (utime+stime from /proc/PID/stat of the
#     echo server, before and after, divided by CLK_TCK).
# Prints medians, the ratios Autobahn/wsconform (wall, CPU, RSS), harness CPU / peer
# CPU for each tool, one wsconform run at --jobs 1 for reference, and both tools'
# verdict counts (with a warning when per-case behavior differs outside the known
# timing-dependent cases: py-websockets 3.4, 4.1.5, 4.2.5).
#
# Usage: scripts/bench-server.sh [py-websockets] [node-ws]     (default: both)
# Env:   RUNS=N              measurements per tool and peer (default 3)
#        JOBS1=0             skip the --jobs 1 reference run
#        KEEP_WORK=1         keep the scratch directory (reports of every run)
#        WSCONFORM_SHARED    shared/ directory (default: ../shared next to the repo)
#        TOOL_TIMEOUT=S      upper bound for one tool run, seconds (default 600)
# Needs: scripts/install-peers.sh done, Autobahn installed (its install.sh),
# /usr/bin/time (apt-get install time). Everything runs on 127.0.0.1; every wait is
# bounded; every process started here is stopped on exit.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${WSCONFORM_SHARED:-$(cd "$REPO/.." && pwd)/shared}
AB="$SHARED/tools/autobahn"
RUNS=${RUNS:-3}
JOBS1=${JOBS1:-1}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-600}
CASES='1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*'   # no category 8; "1.*" does not match 10.x
AB_EXCLUDE='12.*,13.*'                         # belt and braces
NODE=node
PY="$REPO/peers/python/.venv/bin/python"
WSCONFORM="$REPO/target/release/wsconform"

[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || { echo "RUNS must be 1..99" >&2; exit 2; }
[[ "$TOOL_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || { echo "TOOL_TIMEOUT must be a positive integer" >&2; exit 2; }
PEERS=()
for a in "$@"; do
  case $a in
    py-websockets|node-ws) PEERS+=("$a") ;;
    *) echo "usage: $0 [py-websockets] [node-ws]   (env RUNS, JOBS1, KEEP_WORK)" >&2; exit 2 ;;
  esac
done
[ ${#PEERS[@]} -gt 0 ] || PEERS=(py-websockets node-ws)

log() { echo "[bench-server] $*" >&2; }

# --- prerequisites -----------------------------------------------------------------
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: sudo apt-get install -y time" >&2; exit 1; }
[ -f "$AB/fuzzingclient.sh" ] || { echo "Autobahn tools not found at $AB (set WSCONFORM_SHARED)" >&2; exit 1; }
[ -x "${AUTOBAHN_HOME:-$HOME/.cache/autobahn-testsuite}/autobahn/bin/wstest" ] || bash "$AB/install.sh" >&2
for p in "${PEERS[@]}"; do
  case $p in
    node-ws) [ -d "$REPO/peers/node/node_modules/ws" ] || bash "$REPO/scripts/install-peers.sh" >&2 ;;
    py-websockets) [ -x "$PY" ] || bash "$REPO/scripts/install-peers.sh" >&2 ;;
  esac
done
CLK_TCK=$(getconf CLK_TCK)

log "building wsconform (release)"
(cd "$REPO" && flock /tmp/wsconform-cargo.lock cargo build --release -p wsconform) >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsconform-bench.XXXXXX")
PIDS=()      # echo servers
TOOLPG=""    # process group of the running tool (timeout makes itself a group leader)
cleanup() {
  local p
  if [ -n "$TOOLPG" ]; then kill -TERM -- "-$TOOLPG" 2>/dev/null || true; kill -TERM "$TOOLPG" 2>/dev/null || true; fi
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "scratch kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget_pid() { local p=$1 q keep=(); for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done; PIDS=("${keep[@]}"); }

stop_pid() {  # stop one echo server we started: TERM, up to ~5 s, then KILL
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  forget_pid "$p"
}

proc_cpu_ticks() {  # utime+stime (all threads) of a live process, in clock ticks
  local s
  s=$(cat "/proc/$1/stat") || return 1
  s=${s##*) }              # drop "pid (comm) ", comm may contain spaces
  set -- $s                # $1 = state (field 3) ... utime = field 14, stime = field 15
  echo $(( ${12} + ${13} ))
}

SERVER_PID="" SERVER_PORT=""
start_server() {  # agent logfile -> SERVER_PID, SERVER_PORT
  local agent=$1 logf=$2 i
  SERVER_PORT=""
  : > "$logf"
  case $agent in
    node-ws)       "$NODE" "$REPO/peers/node/echo-server.js" 0 </dev/null >"$logf" 2>&1 & ;;
    py-websockets) "$PY" "$REPO/peers/python/echo_server.py" 0 </dev/null >"$logf" 2>&1 & ;;
  esac
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  for i in $(seq 150); do   # up to 15 s
    SERVER_PORT=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$logf")
    [ -n "$SERVER_PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$SERVER_PORT" ] || { cat "$logf" >&2; echo "echo server $agent did not start" >&2; exit 1; }
}

timed() {  # timefile logfile cmd... : run cmd bounded, measured by /usr/bin/time
  local tf=$1 lf=$2 rc=0; shift 2
  timeout -k 10 "$TOOL_TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" </dev/null >"$lf" 2>&1 &
  TOOLPG=$!
  wait "$TOOLPG" || rc=$?
  TOOLPG=""
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || { tail -n 5 "$lf" >&2; echo "tool timed out after $TOOL_TIMEOUT s" >&2; exit 1; }
  [ -s "$tf" ] || { tail -n 5 "$lf" >&2; echo "no timing for: $*" >&2; exit 1; }   # tool killed from outside
  return 0
}

RESULTS="$WORK/results.tsv"   # peer tool run wall user sys maxrss_kb peer_cpu_s load1 outdir
: > "$RESULTS"

RETRIES=0
measure() {  # agent tool run: one attempt, then (bounded) one retry if the tool wrote no report
  local a
  for a in 1 2; do
    if measure_once "$@" "$a"; then return 0; fi
    RETRIES=$((RETRIES + 1))
    log "WARNING: $1 $2 run $3 attempt $a produced no index.json (tail of its log above); retrying"
  done
  echo "$1 $2 run $3 failed twice" >&2; exit 1
}

measure_once() {  # agent tool run attempt; returns 1 when the tool wrote no index.json
  local agent=$1 tool=$2 run=$3 d="$WORK/$1/$2/run$3" t0 t1 wall user sys rss
  [ "$4" = 1 ] || d="$d.retry$4"
  mkdir -p "$d"
  start_server "$agent" "$d/peer.log"
  t0=$(proc_cpu_ticks "$SERVER_PID")
  case $tool in
    wsconform)
      timed "$d/time" "$d/tool.log" "$WSCONFORM" server "ws://127.0.0.1:$SERVER_PORT/" \
        --cases "$CASES" --agent "$agent" --outdir "$d/reports" --quiet
      ;;
    wsconform-j1)
      timed "$d/time" "$d/tool.log" "$WSCONFORM" server "ws://127.0.0.1:$SERVER_PORT/" \
        --cases "$CASES" --agent "$agent" --outdir "$d/reports" --quiet --jobs 1
      ;;
    autobahn)
      timed "$d/time" "$d/tool.log" env AUTOBAHN_EXCLUDE="$AB_EXCLUDE" \
        bash "$AB/fuzzingclient.sh" "ws://127.0.0.1:$SERVER_PORT" "$agent" "$d/ab" "$CASES"
      ;;
  esac
  t1=$(proc_cpu_ticks "$SERVER_PID") || { echo "echo server $agent died during $tool run $run" >&2; exit 1; }
  stop_pid "$SERVER_PID"
  # GNU time prefixes "Command exited with non-zero status N" (wsconform exits 1 on failures)
  read -r wall user sys rss < <(tail -n 1 "$d/time")
  local idx="$d/reports/index.json"
  [ "$tool" = autobahn ] && idx="$d/ab/reports/index.json"
  [ -f "$idx" ] || { tail -n 3 "$d/tool.log" >&2; return 1; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$agent" "$tool" "$run" "$wall" "$user" "$sys" "$rss" \
    "$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/h}')" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$idx" >> "$RESULTS"
  log "$agent $tool run $run: wall ${wall}s cpu $(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')s rss $((rss / 1024))MiB (load $(cut -d' ' -f1 /proc/loadavg))"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for agent in "${PEERS[@]}"; do
  for r in $(seq "$RUNS"); do
    measure "$agent" wsconform "$r"
    measure "$agent" autobahn "$r"
  done
  [ "$JOBS1" = 0 ] || measure "$agent" wsconform-j1 1
done

# --- report --------------------------------------------------------------------------
[ "$RETRIES" = 0 ] || log "WARNING: $RETRIES tool run(s) had to be repeated (see above)"
NPROC=$(nproc) LOAD_START="$LOAD_START" LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)" RUNS="$RUNS" \
python3 - "$RESULTS" <<'PY'
import collections, json, os, statistics, sys

rows = []
with open(sys.argv[1]) as f:
    for line in f:
        agent, tool, run, wall, user, sys_, rss, peer, load, idx = line.rstrip("\n").split("\t")
        rows.append(dict(agent=agent, tool=tool, run=int(run), wall=float(wall),
                         cpu=float(user) + float(sys_), rss=int(rss) / 1024, peer=float(peer),
                         load=float(load), idx=idx))

FLAKY = {"py-websockets": {"3.4", "4.1.5", "4.2.5"}}
med = lambda xs: statistics.median(xs)
loads = [r["load"] for r in rows]
print()
print(f"wsconform vs Autobahn fuzzingclient, categories 1-10; {os.environ['NPROC']} cores; "
      f"medians of {os.environ['RUNS']} run(s); fresh echo server per run")
print(f"load average: start {os.environ['LOAD_START']}, end {os.environ['LOAD_END']}; "
      f"1-min load after each run: mean {statistics.mean(loads):.2f}, min {min(loads):.2f}, max {max(loads):.2f}")
print()
hdr = f"{'peer':<14} {'tool':<18} {'runs':>4} {'wall s':>8} {'CPU s':>8} {'RSS MiB':>8} {'peer CPU s':>10} {'tool/peer CPU':>13}"
print(hdr)
print("-" * len(hdr))
agents = list(dict.fromkeys(r["agent"] for r in rows))
M = {}
for a in agents:
    for t in ("wsconform", "autobahn", "wsconform-j1"):
        rs = [r for r in rows if r["agent"] == a and r["tool"] == t]
        if not rs:
            continue
        m = {k: med([r[k] for r in rs]) for k in ("wall", "cpu", "rss", "peer")}
        M[a, t] = m
        name = {"wsconform-j1": "wsconform --jobs 1"}.get(t, t)
        ratio = m["cpu"] / m["peer"] if m["peer"] > 0 else float("inf")
        print(f"{a:<14} {name:<18} {len(rs):>4} {m['wall']:>8.2f} {m['cpu']:>8.2f} {m['rss']:>8.1f} "
              f"{m['peer']:>10.2f} {ratio:>12.2f}x")
print()
print("ratios (medians)")
hdr = f"{'peer':<14} {'AB/wsc wall':>11} {'AB/wsc CPU':>11} {'AB/wsc RSS':>11} {'wsc CPU/peer':>13} {'AB CPU/peer':>12} {'j1/j8 wall':>11}"
print(hdr)
print("-" * len(hdr))
for a in agents:
    w, b = M.get((a, "wsconform")), M.get((a, "autobahn"))
    if not (w and b):
        continue
    j1 = M.get((a, "wsconform-j1"))
    div = lambda x, y: x / y if y > 0 else float("inf")
    j1s = f"{div(j1['wall'], w['wall']):.1f}x" if j1 else "-"
    print(f"{a:<14} {div(b['wall'], w['wall']):>10.1f}x {div(b['cpu'], w['cpu']):>10.1f}x "
          f"{div(b['rss'], w['rss']):>10.1f}x {div(w['cpu'], w['peer']):>12.2f}x {div(b['cpu'], b['peer']):>11.2f}x "
          f"{j1s:>11}")

print()
print("verdicts (per run; behavior / behaviorClose counts)")
def load_idx(r):
    with open(r["idx"]) as f:
        d = json.load(f)
    return d[r["agent"]] if r["agent"] in d else next(iter(d.values()))
fmt = lambda c: " ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
warn = []
for a in agents:
    flaky = FLAKY.get(a, set())
    per = {}
    for t in ("wsconform", "autobahn", "wsconform-j1"):
        for r in sorted((r for r in rows if r["agent"] == a and r["tool"] == t), key=lambda r: r["run"]):
            idx = load_idx(r)
            per[t, r["run"]] = idx
            bc = collections.Counter(v["behavior"] for v in idx.values())
            cc = collections.Counter(v["behaviorClose"] for v in idx.values())
            print(f"  {a:<14} {t:<13} run {r['run']}: {len(idx)} cases | {fmt(bc)} | {fmt(cc)}")
    # per-case comparison of every wsconform run against every Autobahn run
    ab_runs = [v for (t, _), v in per.items() if t == "autobahn"]
    diff = collections.defaultdict(set)
    for (t, run), idx in per.items():
        if t == "autobahn":
            continue
        for ab in ab_runs:
            for cid in set(idx) | set(ab):
                x, y = idx.get(cid), ab.get(cid)
                if x is None or y is None:
                    diff[cid].add(f"{t} run {run}: missing in {'wsconform' if x is None else 'autobahn'}")
                elif x["behavior"] != y["behavior"]:
                    diff[cid].add(f"{x['behavior']} (wsconform) vs {y['behavior']} (autobahn)")
    tol = sorted(c for c in diff if c in flaky)
    bad = sorted((c for c in diff if c not in flaky), key=lambda c: tuple(int(p) for p in c.split(".")))
    if tol:
        print(f"  {a}: behavior differs only in known timing-dependent cases: {', '.join(tol)}")
    for c in bad:
        warn.append(f"WARNING: {a} {c}: {'; '.join(sorted(diff[c]))}")
    if not diff:
        print(f"  {a}: per-case behavior identical between the tools in every run")
for w in warn:
    print(w)
PY
