#!/usr/bin/env bash
# Benchmark (not a test): wsconform vs Autobahn|Testsuite testing real echo servers,
# categories 1-10 (301 cases; SUITE=full: every case, see bench-lib.sh). For each peer and each tool, RUNS times, a FRESH echo
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
#        TOOL_TIMEOUT=S      upper bound for one tool run, seconds (default 600; SUITE=full 3600)
#        SUITE=core|full     categories 1-10 (default) or every case incl. 12/13 (bench-lib.sh)
# Needs: scripts/install-peers.sh done, Autobahn installed (its install.sh),
# /usr/bin/time (apt-get install time). Shared helpers: scripts/bench-lib.sh. Everything
# runs on 127.0.0.1; every wait is bounded; every process started here is stopped on exit.
set -euo pipefail

BENCH_NAME=bench-server BENCH_KIND=server BENCH_USAGE_ENV="RUNS, JOBS1, KEEP_WORK"
# shellcheck source=bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh" "$@"
JOBS1=${JOBS1:-1}

bench_prereqs fuzzingclient.sh
bench_build
bench_setup

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
bench_report
