#!/usr/bin/env bash
# wsconform's agreement with the real Autobahn|Testsuite on the compliance panel.
#
# Runs the real Autobahn (wstest 25.10.1, ../shared/tools/autobahn, as
# scripts/autobahn-expected.sh does) RUNS times (default 2) on every implementation of
# peers/panel/panel.json in both roles — fuzzingclient against its echo server,
# fuzzingserver driven by its client — for each case set: "base" (categories 1-10) and
# "deflate" (categories 12 and 13, permessage-deflate). It keeps, per set, the cases whose
# (behavior, behaviorClose) is the same in every Autobahn run of that set, compares them
# with wsconform's verdicts from the last scripts/compliance.sh run
# (reports/runs/ID/ROLE/results.json) and writes reports/agreement.md: per implementation,
# role and set, identical/total over the stable cases, and every difference with its
# explanation from peers/panel/agreement-notes.tsv ("unexplained" when it has none).
#
# Usage: scripts/compliance-autobahn.sh [--only ID,...] [--roles server,client] [--runs N]
#                                       [--sets base,deflate] [--resume] [--parallel N]
#                                       [--compare-only]
#   --sets          case sets to run (default both); the comparison covers every set kept
#   --resume        skip the Autobahn runs already kept (a run is kept once its index.json
#                   is written), so that a long campaign can be spread over several calls
#   --parallel N    Autobahn runs at once (default 1; each is one wstest process, single-
#                   threaded, and one peer: about one core between them)
#   --compare-only  no Autobahn runs: rewrite agreement.md from the runs already kept
# Keeps Autobahn's reports in reports/autobahn/ID/ROLE/SET/runN/ (git-ignored).
# Env: WSCONFORM_SHARED  shared/ directory (default: ../shared next to the repo)
# All traffic is on 127.0.0.1; every wait is bounded.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${WSCONFORM_SHARED:-$(cd "$REPO/.." && pwd)/shared}
AB="$SHARED/tools/autobahn"
MANIFEST="$REPO/peers/panel/panel.json"
OUT="$REPO/reports"
ONLY="" ROLES=server,client RUNS=2 SETS=base,deflate RESUME=0 PARALLEL=1 COMPARE_ONLY=0
while [ $# -gt 0 ]; do
  case $1 in
    --only) ONLY=${2:?}; shift 2 ;;
    --roles) ROLES=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --sets) SETS=${2:?}; shift 2 ;;
    --resume) RESUME=1; shift ;;
    --parallel) PARALLEL=${2:?}; shift 2 ;;
    --compare-only) COMPARE_ONLY=1; shift ;;
    *) sed -n '/^# Usage:/,/^# Env:/p' "$0" >&2; exit 2 ;;
  esac
done
[[ "$RUNS" =~ ^[1-9]$ ]] || { echo "compliance-autobahn.sh: --runs must be 1-9" >&2; exit 2; }
[[ "$PARALLEL" =~ ^[1-9]$ ]] || { echo "compliance-autobahn.sh: --parallel must be 1-9" >&2; exit 2; }
for set in ${SETS//,/ }; do
  case $set in base|deflate) ;; *) echo "compliance-autobahn.sh: no case set '$set' (base, deflate)" >&2; exit 2 ;; esac
done
ALL_IDS=$(jq -r '.implementations[].id' "$MANIFEST")
IDS=${ONLY//,/ }
IDS=${IDS:-$ALL_IDS}
for id in $IDS; do
  grep -qx "$id" <<< "$ALL_IDS" || { echo "compliance-autobahn.sh: no implementation '$id'" >&2; exit 2; }
done
# The case patterns of each set, as Autobahn's spec takes them: (cases, exclude-cases).
set_cases() { case $1 in base) echo '*' ;; deflate) echo '12.*,13.*' ;; esac; }
set_exclude() { case $1 in base) echo '12.*,13.*' ;; deflate) echo '' ;; esac; }
# Bounds of one Autobahn run, seconds: categories 12 and 13 take Autobahn 10-12 minutes
# against a fast peer (BENCHMARKS.md), more on a slow one.
run_timeout() { case $1 in base) echo 1800 ;; deflate) echo 7200 ;; esac; }
log() { echo "[compliance-autobahn] $*"; }
cd "$REPO"

# shellcheck source=scripts/pids-lib.sh
source "$REPO/scripts/pids-lib.sh"
trap 'stop_all_pids' EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
field() { jq -r --arg id "$1" --arg f "$2" '.implementations[] | select(.id == $id) | .[$f] // empty' "$MANIFEST"; }

autobahn_server_role() {  # id dir set: wstest fuzzingclient against the echo server
  local id=$1 dir=$2 set=$3 cmd port pid i
  cmd=$(field "$id" server)
  port=$(free_port)
  bash -c "exec ${cmd//\{port\}/$port}" > "$dir/peer.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  for i in $(seq 300); do
    grep -q '^listening ' "$dir/peer.log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^listening ' "$dir/peer.log" || { log "$id server did not start"; stop_pid "$pid"; return 1; }
  AUTOBAHN_EXCLUDE=$(set_exclude "$set") timeout "$(run_timeout "$set")" \
    bash "$AB/fuzzingclient.sh" "ws://127.0.0.1:$port" "$id" "$dir/ab" "$(set_cases "$set")" \
    > "$dir/fuzzingclient.out" 2>&1 &
  i=$!; PIDS+=("$i"); wait "$i" || true; forget_pid "$i"   # waited in the background: a TERM trap runs at once
  stop_pid "$pid"
}

autobahn_client_role() {  # id dir set: the client driven by wstest fuzzingserver
  local id=$1 dir=$2 set=$3 cmd port pid i up=0
  cmd=$(field "$id" client)
  port=$(free_port)
  AUTOBAHN_EXCLUDE=$(set_exclude "$set") bash "$AB/fuzzingserver.sh" "$port" "$dir/ab" "$(set_cases "$set")" \
    > "$dir/fuzzingserver.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  for i in $(seq 300); do
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ $up = 1 ] || { log "$id: fuzzingserver did not start"; stop_pid "$pid"; return 1; }
  cmd=${cmd//\{url\}/ws://127.0.0.1:$port}
  timeout "$(run_timeout "$set")" bash -c "${cmd//\{agent\}/$id}" > "$dir/driver.log" 2>&1 &
  i=$!; PIDS+=("$i"); wait "$i" || true; forget_pid "$i"
  stop_pid "$pid"
}

one_run() {  # id role set r: one Autobahn run, kept in reports/autobahn/ID/ROLE/SET/runR/
  local id=$1 role=$2 set=$3 r=$4 dir="$OUT/autobahn/$1/$2/$3/run$4" start=$SECONDS
  PIDS=()   # this run's own processes (the list was copied from the caller)
  trap 'stop_all_pids; exit 143' TERM
  rm -rf "$dir"; mkdir -p "$dir"
  "autobahn_${role}_role" "$id" "$dir" "$set" || true
  if [ -f "$dir/ab/reports/index.json" ]; then
    # the per-case reports are large; index.json is what the comparison reads
    find "$dir/ab/reports" -name '*.json' ! -name index.json -delete
    find "$dir/ab/reports" -name '*.html' -delete
    log "$id $role $set run $r: $(jq '[.[] | length] | add' "$dir/ab/reports/index.json") cases in $((SECONDS - start)) s"
  else
    log "$id $role $set run $r: no index.json"
  fi
}

if [ $COMPARE_ONLY = 0 ]; then
  bash "$AB/install.sh" >/dev/null
  running=()
  # Implementation by implementation, each with all its runs: a campaign cut short (and
  # continued with --resume) leaves complete rows rather than one run of everything.
  for set in ${SETS//,/ }; do
    for id in $IDS; do
      for role in ${ROLES//,/ }; do
        [ -n "$(field "$id" "$role")" ] || continue
        for r in $(seq "$RUNS"); do
          if [ $RESUME = 1 ] && [ -f "$OUT/autobahn/$id/$role/$set/run$r/ab/reports/index.json" ]; then
            log "$id $role $set run $r: kept from an earlier call"
            continue
          fi
          while [ ${#running[@]} -ge "$PARALLEL" ]; do
            wait -n || true
            alive=(); for p in "${running[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
            running=("${alive[@]}")
          done
          one_run "$id" "$role" "$set" "$r" &
          running+=($!); PIDS+=($!)
        done
      done
    done
  done
  for p in "${running[@]}"; do wait "$p" || true; done
fi

# --- compare --------------------------------------------------------------------------
V_WSTEST=$("${AUTOBAHN_HOME:-$HOME/.cache/autobahn-testsuite}/autobahn/bin/wstest" -a 2>/dev/null | tr '\n' ' ' | sed 's/ *$//') \
GENERATED="$(date -u +'%Y-%m-%d %H:%M UTC')" \
python3 - "$MANIFEST" "$OUT" "$REPO/peers/panel/agreement-notes.tsv" <<'PY'
import fnmatch, glob, json, os, re, sys

manifest, out, notes_path = sys.argv[1:4]
panel = json.load(open(manifest))["implementations"]


def idkey(cid):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.]", cid)]


notes = {}
if os.path.exists(notes_path):
    for line in open(notes_path):
        if line.startswith("#") or not line.strip():
            continue
        impl, role, case, text = line.rstrip("\n").split("\t", 3)
        notes[(impl, role, case)] = text


def note(impl, role, case):
    for k in ((impl, role, case), (impl, "*", case), ("*", role, case), ("*", "*", case),
              (impl, role, "*"), (impl, "*", "*")):
        if k in notes:
            return notes[k]
    # A case column may also be a pattern ("13.2.*"), for one behavior of one library seen
    # in a whole group of cases; exact ids above take precedence.
    for (i, r, c), text in notes.items():
        if i in (impl, "*") and r in (role, "*") and fnmatch.fnmatchcase(case, c):
            return text
    return "unexplained"


SETS = (("base", "1–10"), ("deflate", "12–13"))
rows, diffs, all_same, all_total = [], [], 0, 0
for impl in panel:
    for role in ("server", "client"):
        if not impl.get(role):
            continue
        ours_path = os.path.join(out, "runs", impl["id"], role, "results.json")
        ours = {}
        if os.path.exists(ours_path):
            for run in json.load(open(ours_path))["runs"]:
                for c in run["cases"]:
                    ours[c["id"]] = (c["verdict"]["behavior"], c["verdict"]["behavior_close"])
        for set_name, set_label in SETS:
            runs = []
            pattern = os.path.join(out, "autobahn", impl["id"], role, set_name, "run*", "ab", "reports", "index.json")
            for path in sorted(glob.glob(pattern)):
                data = json.load(open(path))
                runs.append(next(iter(data.values())) if data else {})
            if not runs:
                continue
            if not ours:
                rows.append((impl["id"], role, set_label, None))
                continue
            ids = set(runs[0])
            for r in runs[1:]:
                ids &= set(r)
            stable = [c for c in ids
                      if len({(r[c]["behavior"], r[c]["behaviorClose"]) for r in runs}) == 1]
            unstable = sorted((c for c in ids if c not in stable), key=idkey)
            same = 0
            for c in sorted(stable, key=idkey):
                ab = (runs[0][c]["behavior"], runs[0][c]["behaviorClose"])
                if c in ours and ours[c] == ab:
                    same += 1
                else:
                    diffs.append((impl["id"], role, c, ours.get(c), ab, note(impl["id"], role, c)))
            rows.append((impl["id"], role, set_label, (same, len(stable), len(runs), unstable)))
            all_same += same
            all_total += len(stable)

L = []
w = L.append
w("# wsconform and the real Autobahn|Testsuite on the panel")
w("")
w(f"Generated {os.environ['GENERATED']} by `scripts/compliance-autobahn.sh`: the real Autobahn")
w(f"({os.environ['V_WSTEST']}) run on every implementation of the [panel](README.md) in both")
w("roles, categories 1–10 and, where they have been run, 12–13 (permessage-deflate), compared")
w("with wsconform's verdicts of the last `scripts/compliance.sh` run. A case counts when Autobahn")
w("gave it the same (`behavior`, `behaviorClose`) in every one of its runs of that set (the")
w("others are timing-dependent in Autobahn itself and listed as unstable); it is identical when")
w("wsconform's two verdicts are the same. With one Autobahn run every case counts as stable.")
w("")
pct = f"{100 * all_same / all_total:.2f} %" if all_total else "n/a"
w(f"**Overall: {all_same} of {all_total} stable cases identical ({pct}).**")
if all_total:
    # What a CI gate on `behavior` sees: a difference in behaviorClose alone does not move a
    # case between passing and failing.
    gate = all_total - sum(1 for d in diffs if not (d[3] and d[3][0] == d[4][0]))
    w(f"Same `behavior` (the verdict a gate reads): {gate} of {all_total} "
      f"({100 * gate / all_total:.2f} %).")
w("")
w("| implementation | role | categories | Autobahn runs | identical / stable cases | unstable in Autobahn |")
w("| --- | --- | --- | --- | --- | --- |")
for impl, role, label, r in rows:
    if r is None:
        w(f"| {impl} | {role} | {label} | – | no wsconform run | – |")
        continue
    same, total, n, unstable = r
    p = f" ({100 * same / total:.1f} %)" if total else ""
    w(f"| {impl} | {role} | {label} | {n} | {same} / {total}{p} | {', '.join(unstable) if unstable else 'none'} |")
missing = [(impl["id"], role, label) for impl in panel for role in ("server", "client") if impl.get(role)
           for _, label in SETS if not any(r[:3] == (impl["id"], role, label) for r in rows)]
if missing:
    w("")
    w("Not run with Autobahn yet: " + ", ".join(f"{i} {r} {l}" for i, r, l in missing) + ".")
w("")
w("## Differences")
w("")
if not diffs:
    w("None.")
else:
    w("Explanations are kept in `peers/panel/agreement-notes.tsv`.")
    w("")
    w("| implementation | role | case | wsconform | Autobahn | explanation |")
    w("| --- | --- | --- | --- | --- | --- |")
    for impl, role, c, ours, ab, why in diffs:
        o = " / ".join(ours) if ours else "not run"
        w(f"| {impl} | {role} | {c} | {o} | {' / '.join(ab)} | {why} |")
w("")
with open(os.path.join(out, "agreement.md"), "w") as f:
    f.write("\n".join(L))
print(f"[compliance-autobahn] wrote reports/agreement.md: {all_same}/{all_total} identical ({pct})")
PY
