# shellcheck shell=bash
# Shared part of scripts/bench-server.sh and scripts/bench-client.sh: sourced, not run.
#   source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh" "$@"
# Before sourcing, the caller sets
#   BENCH_NAME       log prefix (bench-server, bench-client)
#   BENCH_KIND       server | client: which Autobahn mode, labels of the report
#   BENCH_USAGE_ENV  the environment variables named in the usage line
# and afterwards defines measure_once (agent tool run attempt; appends one line to
# $RESULTS, or returns 1 when the tool wrote no index.json), then calls bench_prereqs,
# bench_build, bench_setup, measure ... and bench_report.
# Everything runs on 127.0.0.1; every wait is bounded; every process started through
# these helpers is stopped on exit.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${WSCONFORM_SHARED:-$(cd "$REPO/.." && pwd)/shared}
AB="$SHARED/tools/autobahn"
RUNS=${RUNS:-3}
# SUITE=core: categories 1-10 (301 cases). SUITE=full: every case each tool has for the
# role (Autobahn's 517 with permessage-deflate's 216; wsconform's adds hs.*, mask.*, pmd.*),
# with the Node ws echo server negotiating permessage-deflate (WS_PERMESSAGE_DEFLATE=1).
SUITE=${SUITE:-core}
case $SUITE in
  core)
    TOOL_TIMEOUT=${TOOL_TIMEOUT:-600}
    CASES='1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*'   # no category 8; "1.*" does not match 10.x
    AB_EXCLUDE='12.*,13.*'                         # belt and braces
    ;;
  full)
    TOOL_TIMEOUT=${TOOL_TIMEOUT:-3600}   # Autobahn took 594-716 s for the full server suite
    CASES='*'
    AB_EXCLUDE=''
    export WS_PERMESSAGE_DEFLATE=1
    ;;
  *) echo "SUITE must be core or full" >&2; exit 2 ;;
esac
NODE=node
PY="$REPO/peers/python/.venv/bin/python"
WSCONFORM="$REPO/target/release/wsconform"

[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || { echo "RUNS must be 1..99" >&2; exit 2; }
[[ "$TOOL_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || { echo "TOOL_TIMEOUT must be a positive integer" >&2; exit 2; }
PEERS=()
for a in "$@"; do
  case $a in
    py-websockets|node-ws) PEERS+=("$a") ;;
    *) echo "usage: $0 [py-websockets] [node-ws]   (env $BENCH_USAGE_ENV)" >&2; exit 2 ;;
  esac
done
[ ${#PEERS[@]} -gt 0 ] || PEERS=(py-websockets node-ws)

log() { echo "[$BENCH_NAME] $*" >&2; }

bench_prereqs() {  # Autobahn script needed (fuzzingclient.sh / fuzzingserver.sh)
  local p
  [ -x /usr/bin/time ] || { echo "/usr/bin/time missing: sudo apt-get install -y time" >&2; exit 1; }
  [ -f "$AB/$1" ] || { echo "Autobahn tools not found at $AB (set WSCONFORM_SHARED)" >&2; exit 1; }
  [ -x "${AUTOBAHN_HOME:-$HOME/.cache/autobahn-testsuite}/autobahn/bin/wstest" ] || bash "$AB/install.sh" >&2
  for p in "${PEERS[@]}"; do
    case $p in
      node-ws) [ -d "$REPO/peers/node/node_modules/ws" ] || bash "$REPO/scripts/install-peers.sh" >&2 ;;
      py-websockets) [ -x "$PY" ] || bash "$REPO/scripts/install-peers.sh" >&2 ;;
    esac
  done
  CLK_TCK=$(getconf CLK_TCK)
}

bench_build() {
  log "building wsconform (release)"
  (cd "$REPO" && flock /tmp/wsconform-build.lock cargo build --release -p wsconform) >&2
}

# shellcheck source=scripts/pids-lib.sh
source "$REPO/scripts/pids-lib.sh"   # PIDS: single processes (echo servers)
PGS=()       # process groups of running tools (timeout makes itself a group leader)
bench_setup() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsconform-bench.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  RESULTS="$WORK/results.tsv"   # peer tool run wall user sys maxrss_kb peer_cpu_s load1 outdir [peer_wall peer_rss_kb]
  : > "$RESULTS"
  RETRIES=0
}

bench_cleanup() {
  local p
  for p in "${PGS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; done
  stop_all_pids
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "scratch kept: $WORK"; else rm -rf "$WORK"; fi
}

forget_pg() { local p=$1 q keep=(); for q in "${PGS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done; PGS=("${keep[@]}"); }

proc_cpu_ticks() {  # utime+stime (all threads) of a live process, in clock ticks
  local s
  s=$(cat "/proc/$1/stat") || return 1
  s=${s##*) }              # drop "pid (comm) ", comm may contain spaces
  set -- $s                # $1 = state (field 3) ... utime = field 14, stime = field 15
  echo $(( ${12} + ${13} ))
}

bounded_start() {  # timefile logfile cmd... : start cmd in the background, bounded by
  # TOOL_TIMEOUT and measured by /usr/bin/time; BG_PG = its process group (timeout's pid)
  local tf=$1 lf=$2; shift 2
  timeout -k 10 "$TOOL_TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" </dev/null >"$lf" 2>&1 &
  BG_PG=$!
  PGS+=("$BG_PG")
}

bounded_wait() {  # pg timefile logfile what: wait for a bounded_start'ed command, check it
  local pg=$1 tf=$2 lf=$3 rc=0; shift 3
  wait "$pg" || rc=$?
  forget_pg "$pg"
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || { tail -n 5 "$lf" >&2; echo "tool timed out after $TOOL_TIMEOUT s" >&2; exit 1; }
  [ -s "$tf" ] || { tail -n 5 "$lf" >&2; echo "no timing for: $*" >&2; exit 1; }   # killed from outside
  return 0
}

timed() {  # timefile logfile cmd... : run cmd bounded, measured by /usr/bin/time
  # With HWM_OUT set, also samples VmHWM (peak RSS, kB) of cmd's own process every
  # 0.1 s into that file: /usr/bin/time's %M is the maximum over cmd and its children.
  local tf=$1 lf=$2 pg
  bounded_start "$@"
  pg=$BG_PG
  [ -z "${HWM_OUT:-}" ] || sample_hwm "$pg" "$HWM_OUT"
  shift 2
  bounded_wait "$pg" "$tf" "$lf" "$@"
}

sample_hwm() {  # pg outfile: peak VmHWM of the grandchild of timeout (timeout -> time -> cmd)
  local pg=$1 out=$2 tpid="" pid="" hwm=0 v n=0
  echo 0 > "$out"
  while kill -0 "$pg" 2>/dev/null && [ $((n += 1)) -le $((TOOL_TIMEOUT * 10 + 200)) ]; do
    [ -n "$tpid" ] || tpid=$(pgrep -P "$pg" | head -n 1)
    [ -z "$tpid" ] || [ -n "$pid" ] || pid=$(pgrep -P "$tpid" | head -n 1)
    if [ -n "$pid" ]; then
      v=$(awk '/^VmHWM:/ { print $2; exit }' "/proc/$pid/status" 2>/dev/null) || v=""
      if [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt "$hwm" ]; then hwm=$v; echo "$hwm" > "$out"; fi
    fi
    sleep 0.1
  done
}

measure() {  # agent tool run: one attempt, then (bounded) one retry if the tool wrote no report
  local a
  for a in 1 2; do
    if measure_once "$@" "$a"; then return 0; fi
    RETRIES=$((RETRIES + 1))
    log "WARNING: $1 $2 run $3 attempt $a produced no index.json (tail of its log above); retrying"
  done
  echo "$1 $2 run $3 failed twice" >&2; exit 1
}

bench_report() {  # LOAD_START must be set; prints the medians, ratios and verdicts
  [ "$RETRIES" = 0 ] || log "WARNING: $RETRIES tool run(s) had to be repeated (see above)"
  NPROC=$(nproc) LOAD_START="$LOAD_START" LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)" RUNS="$RUNS" JOBS="${JOBS:-}" \
  BENCH_KIND="$BENCH_KIND" SUITE="$SUITE" python3 - "$RESULTS" <<'PY'
import collections, json, os, statistics, sys

KIND = os.environ["BENCH_KIND"]
L = {"server": "peer", "client": "client"}[KIND]   # what is tested: an echo server or a client
rows = []
with open(sys.argv[1]) as f:
    for line in f:
        agent, tool, run, wall, user, sys_, rss, peer, load, idx, *extra = line.rstrip("\n").split("\t")
        rows.append(dict(agent=agent, tool=tool, run=int(run), wall=float(wall),
                         cpu=float(user) + float(sys_), rss=int(rss) / 1024, peer=float(peer),
                         load=float(load), idx=idx,
                         pwall=float(extra[0]) if extra else 0.0,
                         prss=int(extra[1]) / 1024 if len(extra) > 1 else 0.0))

FLAKY = {"server": {"py-websockets": {"3.4", "4.1.5", "4.2.5"}},
         "client": {"py-websockets": {"3.3", "3.4", "4.1.3", "4.1.5", "4.2.5"}}}[KIND]
med = lambda xs: statistics.median(xs)
TOOLS = ("wsconform", "autobahn", "wsconform-j1", "wsconform-full")
NAMES = {"wsconform-j1": "wsconform --jobs 1", "wsconform-full": "wsconform, all cases"}
if KIND == "client":
    NAMES["wsconform"] = f"wsconform --jobs {os.environ.get('JOBS', '?')}"
    NAMES["wsconform-full"] = f"all cases, --jobs {os.environ.get('JOBS', '?')}"
loads = [r["load"] for r in rows]
print()
SUITE = "every case of each tool (incl. permessage-deflate)" if os.environ["SUITE"] == "full" else "categories 1-10"
if KIND == "server":
    print(f"wsconform vs Autobahn fuzzingclient, {SUITE}; {os.environ['NPROC']} cores; "
          f"medians of {os.environ['RUNS']} run(s); fresh echo server per run")
else:
    print(f"wsconform client --spawn vs Autobahn fuzzingserver, {SUITE}; {os.environ['NPROC']} cores; "
          f"medians of {os.environ['RUNS']} run(s); fresh client driver per run")
print(f"load average: start {os.environ['LOAD_START']}, end {os.environ['LOAD_END']}; "
      f"1-min load after each run: mean {statistics.mean(loads):.2f}, min {min(loads):.2f}, max {max(loads):.2f}")
print()
w1, w2 = len(L) + 6, len(L) + 9
hdr = (f"{L:<14} {'tool':<22} {'runs':>4} {'wall s':>8} {'CPU s':>8} {'RSS MiB':>8} "
       f"{L + ' CPU s':>{w1}} {'tool/' + L + ' CPU':>{w2}}")
if KIND == "client":
    hdr += f" {'client wall s':>13} {'client RSS MiB':>14}"
print(hdr)
print("-" * len(hdr))
agents = list(dict.fromkeys(r["agent"] for r in rows))
M = {}
for a in agents:
    for t in TOOLS:
        rs = [r for r in rows if r["agent"] == a and r["tool"] == t]
        if not rs:
            continue
        m = {k: med([r[k] for r in rs]) for k in ("wall", "cpu", "rss", "peer", "pwall", "prss")}
        M[a, t] = m
        name = NAMES.get(t, t)
        ratio = m["cpu"] / m["peer"] if m["peer"] > 0 else float("inf")
        line = (f"{a:<14} {name:<22} {len(rs):>4} {m['wall']:>8.2f} {m['cpu']:>8.2f} {m['rss']:>8.1f} "
                f"{m['peer']:>{w1}.2f} {ratio:>{w2 - 1}.2f}x")
        if KIND == "client":
            line += f" {m['pwall']:>13.2f} {m['prss']:>14.1f}"
        if m["peer"] > 0:
            line += f"   wall/{L} CPU {m['wall'] / m['peer']:.2f}x"
        print(line)
print()
print("ratios (medians)")
hdr = (f"{L:<14} {'AB/wsc wall':>11} {'AB/wsc CPU':>11} {'AB/wsc RSS':>11} {'wsc CPU/' + L:>{w2}} "
       f"{'AB CPU/' + L:>{w2 - 1}}")
if KIND == "server":
    hdr += f" {'j1/j8 wall':>11}"
print(hdr)
print("-" * len(hdr))
for a in agents:
    w, b = M.get((a, "wsconform")), M.get((a, "autobahn"))
    if not (w and b):
        continue
    j1 = M.get((a, "wsconform-j1"))
    div = lambda x, y: x / y if y > 0 else float("inf")
    j1s = f"{div(j1['wall'], w['wall']):.1f}x" if j1 else "-"
    line = (f"{a:<14} {div(b['wall'], w['wall']):>10.1f}x {div(b['cpu'], w['cpu']):>10.1f}x "
            f"{div(b['rss'], w['rss']):>10.1f}x {div(w['cpu'], w['peer']):>{w2 - 1}.2f}x "
            f"{div(b['cpu'], b['peer']):>{w2 - 2}.2f}x")
    if KIND == "server":
        line += f" {j1s:>11}"
    print(line)

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
    for t in TOOLS:
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
                if y is None and not cid.split(".")[0].isdigit():
                    continue   # wsconform's own cases (hs.*, mask.*, pmd.*): Autobahn has none
                if x is None or y is None:
                    diff[cid].add(f"{t} run {run}: missing in {'wsconform' if x is None else 'autobahn'}")
                elif x["behavior"] != y["behavior"]:
                    diff[cid].add(f"{x['behavior']} (wsconform) vs {y['behavior']} (autobahn)")
    tol = sorted(c for c in diff if c in flaky)
    bad = sorted((c for c in diff if c not in flaky), key=lambda c: tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in c.split(".")))
    if tol:
        print(f"  {a}: behavior differs only in known timing-dependent cases: {', '.join(tol)}")
    for c in bad:
        warn.append(f"WARNING: {a} {c}: {'; '.join(sorted(diff[c]))}")
    if not diff:
        print(f"  {a}: per-case behavior identical between the tools in every run")
for w in warn:
    print(w)
PY
}
