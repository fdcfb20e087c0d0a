#!/usr/bin/env bash
# Benchmark (not a test): wsconform vs Autobahn|Testsuite testing real WebSocket
# *clients*, categories 1-10 (301 cases). The clients are the Autobahn-style drivers in
# peers/ (py-websockets: peers/python/client_driver.py, node-ws: peers/node/client-driver.js).
# For each client and each tool, RUNS times, a FRESH driver is run through a whole session:
#   * wsconform: `wsconform client --spawn '<driver> {url} {agent}' --cases ...` (listens on
#     an ephemeral loopback port, spawns the driver, exits when it is done);
#   * Autobahn: fuzzingserver.sh on a free loopback port in the background; once it
#     listens the driver is run against it (its /updateReports makes wstest write the
#     reports), then wstest is stopped (SIGTERM).
# Measured per run:
#   * the tool's wall time (whole session, wstest's start-up and stop included), CPU
#     seconds (user+sys) and peak RSS (/usr/bin/time; for Autobahn this covers
#     fuzzingserver.sh and the wstest it execs);
#   * the client driver's wall, CPU seconds and peak RSS (the driver command wrapped in
#     /usr/bin/time; for wsconform inside the --spawn command).
#   For wsconform the driver is its (grand)child, so /usr/bin/time's figures for wsconform
#   include the driver: its CPU is the total minus the driver's, and its peak RSS is
#   wsconform's own VmHWM, sampled every 0.1 s from /proc (%M would be max(wsconform, driver)).
# Prints medians, the ratios Autobahn/wsconform (wall, CPU, RSS), harness CPU / client
# CPU for each tool, and both tools' verdict counts (with a warning when per-case
# behavior differs outside the known timing-dependent cases: py-websockets 3.3, 3.4,
# 4.1.3, 4.1.5, 4.2.5).
#
# wsconform runs the client in JOBS copies (`--jobs`, default 6), each on its own slice of
# the cases; the driver figures are then the copies' summed CPU, longest wall and largest
# RSS (each copy's /usr/bin/time writes its own file, named after its agent). Also, per
# client: one `--jobs 1` run (JOBS1=1, the default), and RUNS full runs (FULL=1, the
# default: every client case, hs.client.* and mask.client.* included, at --jobs JOBS), the
# run whose goal is a wall time within 1.3x the client's own CPU seconds; the report
# prints wall / client CPU for every wsconform row.
#
# Usage: scripts/bench-client.sh [py-websockets] [node-ws]     (default: both)
# Env:   RUNS=N              measurements per tool and client (default 3)
#        JOBS=N              copies of the client in the wsconform runs (default 6)
#        JOBS1=0             skip the --jobs 1 run
#        FULL=0              skip the full runs
#        KEEP_WORK=1         keep the scratch directory (reports and logs of every run)
#        WSCONFORM_SHARED    shared/ directory (default: ../shared next to the repo)
#        TOOL_TIMEOUT=S      upper bound for one tool run, seconds (default 600; SUITE=full 3600)
#        SUITE=core|full     categories 1-10 (default) or every case incl. 12/13 (bench-lib.sh)
# Needs: scripts/install-peers.sh done, Autobahn installed (its install.sh),
# /usr/bin/time (apt-get install time), ss (iproute2). Shared helpers: scripts/bench-lib.sh.
# Everything runs on 127.0.0.1; every wait is bounded; every process started here is
# stopped on exit. Note: websockets waits out its 10 s close timeout in four 9.x cases,
# so a py-websockets session takes ~60 s with either tool.
set -euo pipefail

BENCH_NAME=bench-client BENCH_KIND=client BENCH_USAGE_ENV="RUNS, JOBS, JOBS1, FULL, KEEP_WORK"
# shellcheck source=bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh" "$@"
JOBS=${JOBS:-6}
JOBS1=${JOBS1:-1}
FULL=${FULL:-1}
[[ "$JOBS" =~ ^[1-9][0-9]?$ ]] || { echo "JOBS must be 1..64" >&2; exit 2; }

command -v ss >/dev/null || { echo "ss missing: sudo apt-get install -y iproute2" >&2; exit 1; }
bench_prereqs fuzzingserver.sh
bench_build
bench_setup

QUIET=()   # `client --quiet` is newer than `client` itself
help=$("$WSCONFORM" client --help 2>&1) || true
[[ "$help" == *--quiet* ]] && QUIET=(--quiet)

driver_cmd() {  # agent -> DRIVER (array): the driver program, without URL and agent
  case $1 in
    node-ws)       DRIVER=("$NODE" "$REPO/peers/node/client-driver.js") ;;
    py-websockets) DRIVER=("$PY" "$REPO/peers/python/client_driver.py") ;;
  esac
}

free_port() {  # an unused loopback port (the OS's choice; wstest needs a number up front)
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_listening() {  # port pg: until something listens on 127.0.0.1:port (<= 30 s) or pg is gone
  local i
  for i in $(seq 300); do
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

stop_tool_pg() {  # pg: stop a bounded_start'ed tool (timeout -> time -> tool) so that
  # /usr/bin/time still reports: TERM the tool only, up to ~10 s, then KILL the group
  local pg=$1 tpid i
  tpid=$(pgrep -P "$pg" | head -n 1) || true
  if [ -n "$tpid" ]; then pkill -TERM -P "$tpid" 2>/dev/null || true; else kill -TERM "$pg" 2>/dev/null || true; fi
  for i in $(seq 100); do kill -0 "$pg" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pg" 2>/dev/null || true
  wait "$pg" 2>/dev/null || true
  forget_pg "$pg"
}

measure_once() {  # agent tool run attempt; returns 1 when the tool wrote no index.json
  local agent=$1 tool=$2 run=$3 d="$WORK/$1/$2/run$3" wall user sys rss cwall cuser csys crss idx
  local spawn port pg q
  [ "$4" = 1 ] || d="$d.retry$4"
  mkdir -p "$d"
  driver_cmd "$agent"
  case $tool in
    wsconform|wsconform-j1|wsconform-full)
      # Each copy's driver writes its own timing file, named after its agent.
      spawn="/usr/bin/time -f '%e %U %S %M' -o $(printf '%q' "$d/client").{agent}.time"
      for q in "${DRIVER[@]}"; do spawn+=" $(printf '%q' "$q")"; done
      spawn+=" {url} {agent}"
      local jobs=$JOBS cases=(--cases "$CASES")
      [ "$tool" != wsconform-j1 ] || jobs=1
      [ "$tool" != wsconform-full ] || cases=()
      HWM_OUT="$d/hwm" timed "$d/time" "$d/tool.log" "$WSCONFORM" client --spawn "$spawn" \
        --agent "$agent" --jobs "$jobs" "${cases[@]}" --outdir "$d/reports" "${QUIET[@]}"
      idx="$d/reports/index.json"
      # The copies together: summed CPU, longest wall, largest RSS.
      cat "$d"/client.*.time 2>/dev/null | awk '/^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$/ {
          w = $1 > w ? $1 : w; u += $2; s += $3; r = $4 > r ? $4 : r; n++ }
        END { if (n) printf "%.2f %.2f %.2f %d\n", w, u, s, r }' > "$d/client.time"
      ;;
    autobahn)
      port=$(free_port)
      bounded_start "$d/time" "$d/tool.log" env AUTOBAHN_EXCLUDE="$AB_EXCLUDE" \
        bash "$AB/fuzzingserver.sh" "$port" "$d/ab" "$CASES"
      pg=$BG_PG
      if ! wait_listening "$port" "$pg"; then
        stop_tool_pg "$pg"; tail -n 3 "$d/tool.log" >&2; log "wstest did not listen on port $port"; return 1
      fi
      timed "$d/client.time" "$d/client.log" "${DRIVER[@]}" "ws://127.0.0.1:$port" "$agent"
      stop_tool_pg "$pg"
      [ -s "$d/time" ] || { tail -n 5 "$d/tool.log" >&2; echo "no timing for wstest" >&2; exit 1; }
      idx="$d/ab/reports/index.json"
      ;;
  esac
  [ -f "$idx" ] || { tail -n 3 "$d/tool.log" >&2; [ ! -f "$d/client.log" ] || tail -n 3 "$d/client.log" >&2; return 1; }
  [ -s "$d/client.time" ] || { echo "no timing for the $agent driver under $tool" >&2; return 1; }
  # GNU time prefixes "Command exited with non-zero status N" / "Command terminated by signal N"
  read -r wall user sys rss < <(tail -n 1 "$d/time")
  read -r cwall cuser csys crss < <(tail -n 1 "$d/client.time")
  if [ "$tool" != autobahn ]; then   # the drivers ran inside wsconform's process tree
    user=$(awk -v a="$user" -v b="$cuser" 'BEGIN{x = a - b; printf "%.2f", x < 0 ? 0 : x}')
    sys=$(awk -v a="$sys" -v b="$csys" 'BEGIN{x = a - b; printf "%.2f", x < 0 ? 0 : x}')
    rss=$(cat "$d/hwm")
    [ "$rss" -gt 0 ] || { echo "no VmHWM sample of wsconform" >&2; exit 1; }
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$agent" "$tool" "$run" "$wall" "$user" "$sys" "$rss" \
    "$(awk -v u="$cuser" -v s="$csys" 'BEGIN{printf "%.2f", u+s}')" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$idx" "$cwall" "$crss" >> "$RESULTS"
  log "$agent $tool run $run: wall ${wall}s cpu $(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')s rss $((rss / 1024))MiB; client wall ${cwall}s cpu $(awk -v u="$cuser" -v s="$csys" 'BEGIN{printf "%.2f", u+s}')s (load $(cut -d' ' -f1 /proc/loadavg))"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for agent in "${PEERS[@]}"; do
  for r in $(seq "$RUNS"); do
    measure "$agent" wsconform "$r"
    measure "$agent" autobahn "$r"
    [ "$FULL" = 0 ] || measure "$agent" wsconform-full "$r"
  done
  [ "$JOBS1" = 0 ] || measure "$agent" wsconform-j1 1
done

# --- report --------------------------------------------------------------------------
bench_report
