#!/usr/bin/env bash
# wsconform's agreement with the real Autobahn|Testsuite on the compliance panel.
#
# Runs the real Autobahn (wstest 25.10.1, ../shared/tools/autobahn, as
# scripts/autobahn-expected.sh does) RUNS times (default 2) on every implementation of
# peers/panel/panel.json in both roles — fuzzingclient against its echo server,
# fuzzingserver driven by its client — for each case set: "base" (categories 1-10) and
# "deflate" (categories 12 and 13, permessage-deflate).
#
# Each run is recorded in the repository as reports/ID/autobahn/ROLE-SET-runN.txt, one
# line per case, "id behavior behaviorClose" (the format of wsconform's reports/ID/ROLE.txt),
# so that the comparison is rebuilt from committed files alone: it keeps, per set, the
# cases whose (behavior, behaviorClose) is the same in every recorded run, compares them
# with wsconform's committed summaries (reports/ID/ROLE.txt, written by
# scripts/compliance.sh) and writes reports/agreement.md: per implementation, role and set,
# identical/total over the stable cases, and every difference with its explanation from
# peers/panel/agreement-notes.tsv ("unexplained" when it has none), counted by the rule of
# docs/verdict-rules.md the explanation cites; consecutive cases of one implementation and
# role with the same verdicts and explanation share a row. A set with no record
# (run by an earlier campaign, before runs were recorded) keeps its row and differences
# from the previous agreement.md, marked as carried over.
#
# Usage: scripts/compliance-autobahn.sh [--only ID,...] [--roles server,client] [--runs N]
#                                       [--sets base,deflate] [--resume] [--parallel N]
#                                       [--compare-only]
#   --sets          case sets to run (default both); the comparison covers every set recorded
#   --resume        skip the Autobahn runs already kept (a run is kept once its index.json
#                   is written), so that a long campaign can be spread over several calls
#   --parallel N    Autobahn runs at once (default 1; each is one wstest process, single-
#                   threaded, and one peer: about one core between them)
#   --compare-only  no Autobahn runs: record the kept runs, rewrite agreement.md
# Keeps Autobahn's own reports (index.json, logs) in reports/autobahn/ID/ROLE/SET/runN/
# (git-ignored).
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
# against a fast peer (BENCHMARKS.md), but each of their 216 cases waits for the echo of
# one of its 1000 messages before it sends the next, so a peer that leaves Nagle's
# algorithm on (Boost.Beast: the library does not set TCP_NODELAY, nor does its driver)
# holds an echo's last segment for the receiver's delayed ACK (up to 40 ms on Linux): 25-40 s
# per case, 99 minutes per run measured with two runs at once (agreement campaign, 2026-12).
run_timeout() { case $1 in base) echo 1800 ;; deflate) echo 14400 ;; esac; }
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
  # the committed record of an earlier run of this slot must not stand for this one
  rm -f "$OUT/$id/autobahn/$role-$set-run$r.txt"
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
    # numbers in numeric order, and before names: comparable whatever a record holds
    return [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in cid.split(".")]


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
LABEL = dict(SETS)
PANEL_IDS = {impl["id"] for impl in panel}


def read_summary(path):
    """One line per case, `id behavior behaviorClose` (behaviorClose may hold a space)."""
    verdicts = {}
    for line in open(path):
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) == 3:
            verdicts[parts[0]] = (parts[1], parts[2])
    return verdicts


# Record every kept Autobahn run (its index.json) in the repository, in catalog order.
kept = os.path.join(out, "autobahn")
for path in sorted(glob.glob(os.path.join(kept, "*", "*", "*", "run*", "ab", "reports", "index.json"))):
    impl, role, set_name, run = os.path.relpath(path, kept).split(os.sep)[:4]
    if impl not in PANEL_IDS or set_name not in LABEL:
        continue
    data = json.load(open(path))
    cases = next(iter(data.values())) if data else {}
    record = os.path.join(out, impl, "autobahn", f"{role}-{set_name}-{run}.txt")
    os.makedirs(os.path.dirname(record), exist_ok=True)
    with open(record + ".tmp", "w") as f:
        for c in sorted(cases, key=idkey):
            f.write(f"{c} {cases[c]['behavior']} {cases[c]['behaviorClose']}\n")
    os.replace(record + ".tmp", record)


def set_label(case):
    return LABEL["deflate"] if case.split(".")[0] in ("12", "13") else LABEL["base"]


# Rows of the previous agreement.md, for the sets that have no record (see the header).
CARRIED = "†"
prev_rows, prev_diffs = {}, {}
prev_path = os.path.join(out, "agreement.md")
if os.path.exists(prev_path):
    section = ""
    for line in open(prev_path):
        line = line.rstrip("\n")
        if line.startswith("## "):
            section = line[3:]
            continue
        if not line.startswith("| ") or line.startswith(("| ---", "| implementation ")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if section == "Differences" and len(cells) >= 6:
            for case in cells[2].split(", "):   # one row per run of cases with one explanation
                prev_diffs.setdefault((cells[0], cells[1], set_label(case)), []).append(
                    cells[:2] + [case] + cells[3:5])
        elif section == "" and len(cells) == 6 and re.match(r"\d+ / \d+", cells[4]):
            prev_rows[(cells[0], cells[1], cells[2])] = cells


rows, diffs, all_same, all_total, carried = [], [], 0, 0, False
for impl in panel:
    for role in ("server", "client"):
        if not impl.get(role):
            continue
        ours_path = os.path.join(out, impl["id"], f"{role}.txt")
        ours = read_summary(ours_path) if os.path.exists(ours_path) else {}
        for set_name, label in SETS:
            records = sorted(glob.glob(os.path.join(out, impl["id"], "autobahn", f"{role}-{set_name}-run*.txt")))
            if not records:
                prev = prev_rows.get((impl["id"], role, label))
                if prev is None:
                    continue
                same, total = (int(x) for x in re.match(r"(\d+) / (\d+)", prev[4]).groups())
                runs = prev[3].rstrip(f" {CARRIED}")
                unstable = [] if prev[5] == "none" else prev[5].split(", ")
                rows.append((impl["id"], role, label, (same, total, f"{runs} {CARRIED}", unstable)))
                for c in prev_diffs.get((impl["id"], role, label), []):
                    diffs.append((impl["id"], role, c[2], c[3], c[4], note(impl["id"], role, c[2])))
                all_same += same
                all_total += total
                carried = True
                continue
            runs = [read_summary(r) for r in records]
            if not ours:
                rows.append((impl["id"], role, label, None))
                continue
            ids = set(runs[0])
            for r in runs[1:]:
                ids &= set(r)
            stable = [c for c in ids if len({r[c] for r in runs}) == 1]
            unstable = sorted((c for c in ids if c not in stable), key=idkey)
            same = 0
            for c in sorted(stable, key=idkey):
                ab = runs[0][c]
                if ours.get(c) == ab:
                    same += 1
                else:
                    o = " / ".join(ours[c]) if c in ours else "not run"
                    diffs.append((impl["id"], role, c, o, " / ".join(ab), note(impl["id"], role, c)))
            rows.append((impl["id"], role, label, (same, len(stable), str(len(runs)), unstable)))
            all_same += same
            all_total += len(stable)

L = []
w = L.append
w("# wsconform and the real Autobahn|Testsuite on the panel")
w("")
w(f"Generated {os.environ['GENERATED']} by `scripts/compliance-autobahn.sh`: the real Autobahn")
w(f"({os.environ['V_WSTEST']}) run on every implementation of the [panel](README.md) in both")
w("roles, categories 1–10 and 12–13 (permessage-deflate), compared with wsconform's verdicts in")
w("the committed summaries (`ID/server.txt`, `ID/client.txt`, from `scripts/compliance.sh`).")
w("Each Autobahn run is recorded as `ID/autobahn/ROLE-SET-runN.txt` in the same format. A case")
w("counts when Autobahn gave it the same (`behavior`, `behaviorClose`) in every one of its runs")
w("of that set (the others are timing-dependent in Autobahn itself and listed as unstable); it")
w("is identical when wsconform's two verdicts are the same. With one Autobahn run every case")
w("counts as stable.")
w("")
pct = f"{100 * all_same / all_total:.2f} %" if all_total else "n/a"
w(f"**Overall: {all_same} of {all_total} stable cases identical ({pct}).**")
if all_total:
    # What a CI gate on `behavior` sees: a difference in behaviorClose alone does not move a
    # case between passing and failing.
    gate = all_total - sum(1 for d in diffs if d[3].split(" / ")[0] != d[4].split(" / ")[0])
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
if carried:
    w("")
    w(f"{CARRIED} Autobahn runs of an earlier campaign that were not recorded in the repository:")
    w("the row and its differences are carried over from the agreement.md of that campaign, not")
    w("recomputed. `scripts/compliance-autobahn.sh --only ID --sets SET` records them again.")
w("")
w("## Differences")
w("")
if not diffs:
    w("None.")
else:
    # By the rule of docs/verdict-rules.md each explanation cites ("D13"), with its title there.
    titles = {}
    rules_path = os.path.join(os.path.dirname(manifest), "..", "..", "docs", "verdict-rules.md")
    if os.path.exists(rules_path):
        for m in re.finditer(r"^- \*\*(D\d+) ([^*]+?)\.\*\*", open(rules_path).read(), re.M):
            titles[m.group(1)] = m.group(2)
    by_rule = {}
    for d in diffs:
        m = re.search(r"\bD\d+\b", d[5])
        rule = m.group(0) if m else "no rule cited"
        by_rule[rule] = by_rule.get(rule, 0) + 1
    w(f"The {len(diffs)} differences by the rule of [docs/verdict-rules.md](../docs/verdict-rules.md)"
      " their explanation cites:")
    w("")
    for rule, n in sorted(by_rule.items(), key=lambda kv: -kv[1]):
        w(f"- {rule}{' ' + titles[rule] if rule in titles else ''}: {n}")
    w("")
    w("Explanations are kept in `peers/panel/agreement-notes.tsv`. Consecutive cases of one")
    w("implementation and role with the same verdicts and explanation share a row.")
    w("")
    w("| implementation | role | cases | wsconform | Autobahn | explanation |")
    w("| --- | --- | --- | --- | --- | --- |")
    groups = []
    for impl, role, c, ours, ab, why in diffs:
        if groups and groups[-1][0] == (impl, role, ours, ab, why):
            groups[-1][1].append(c)
        else:
            groups.append(((impl, role, ours, ab, why), [c]))
    for (impl, role, ours, ab, why), cases in groups:
        w(f"| {impl} | {role} | {', '.join(cases)} | {ours} | {ab} | {why} |")
w("")
with open(os.path.join(out, "agreement.md"), "w") as f:
    f.write("\n".join(L))
print(f"[compliance-autobahn] wrote reports/agreement.md: {all_same}/{all_total} identical ({pct})")
PY
