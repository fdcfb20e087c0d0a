#!/usr/bin/env bash
# Peak RSS of whole wsconform runs (issue: "peak RSS <= 64 MiB"): the kernel's
# high-water mark (VmHWM) of the wsconform process alone (a peer in its own
# process, spawned clients included, is not counted; the embedded reference
# peers are):
#   main-server  `wsconform server`             every server case, reference server in-process
#   main-client  `wsconform client`             every client case, reference client in-process
#   node-ws      `wsconform server URL`         every server case against peers/node/echo-server.js
#   py-websockets `wsconform server URL`        every server case against peers/python/echo_server.py
#   node-ws-client / py-websockets-client       `wsconform client --spawn DRIVER`: every client case
# Each run RUNS times (default 3); prints the median and the range in MiB, and
# exits 1 if a median is over LIMIT_MIB (default 64).
#
# Usage: scripts/bench-memory.sh        Env: RUNS, LIMIT_MIB
# Needs scripts/install-peers.sh for the real peers (skipped when absent).
# All traffic is on 127.0.0.1; every peer stops with the script.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
LIMIT_MIB=${LIMIT_MIB:-64}
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || { echo "RUNS must be 1..99" >&2; exit 2; }
(cd "$REPO" && cargo build --release --locked -q)
BIN="$REPO/target/release/wsconform"
PY="$REPO/peers/python/.venv/bin/python"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsconform-mem.XXXXXX")
# shellcheck source=scripts/pids-lib.sh
source "$REPO/scripts/pids-lib.sh"
cleanup() { stop_all_pids; rm -rf "$WORK"; }
trap cleanup EXIT

start_echo() {  # name command... ; prints the port
  local name=$1 port="" i; shift
  "$@" 0 > "$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  for i in $(seq 100); do
    port=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/$name.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$WORK/$name.log" >&2; return 1; }
  echo "$port"
}

peak_kib() {  # command... ; prints the peak RSS in KiB of that process alone
  # VmHWM (the kernel's high-water mark) read every 20 ms until the process
  # ends: a spawned client's memory is not counted, as /usr/bin/time would.
  local pid hwm=0 v
  "$@" > /dev/null 2>&1 &
  pid=$!
  while v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null) && [ -n "$v" ]; do
    hwm=$v
    sleep 0.02
  done
  wait "$pid" || true
  echo "$hwm"
}

declare -A RUNNERS=(
  [main-server]="$BIN server --quiet --outdir $WORK/out"
  [main-client]="$BIN client --quiet --outdir $WORK/out"
)
ORDER=(main-server main-client)
if command -v node > /dev/null && [ -d "$REPO/peers/node/node_modules" ]; then
  port=$(start_echo node node "$REPO/peers/node/echo-server.js")
  RUNNERS[node-ws]="$BIN server ws://127.0.0.1:$port/ --agent node-ws --quiet --outdir $WORK/out"
  RUNNERS[node-ws-client]="$BIN client --agent node-ws --quiet --outdir $WORK/out --spawn"
  ORDER+=(node-ws node-ws-client)
fi
if [ -x "$PY" ]; then
  port=$(start_echo py "$PY" "$REPO/peers/python/echo_server.py")
  RUNNERS[py-websockets]="$BIN server ws://127.0.0.1:$port/ --agent py-websockets --quiet --outdir $WORK/out"
  RUNNERS[py-websockets-client]="$BIN client --agent py-websockets --quiet --outdir $WORK/out --spawn"
  ORDER+=(py-websockets py-websockets-client)
fi
spawn_of() {
  case $1 in
    node-ws-client) echo "node $REPO/peers/node/client-driver.js {url} {agent}" ;;
    py-websockets-client) echo "$PY $REPO/peers/python/client_driver.py {url} {agent}" ;;
  esac
}

status=0
printf '%-22s %12s %22s\n' run "median MiB" "range MiB"
for name in "${ORDER[@]}"; do
  samples=()
  for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/out"
    # shellcheck disable=SC2086 # the runner lines are word lists
    if spawn=$(spawn_of "$name") && [ -n "$spawn" ]; then
      kib=$(peak_kib ${RUNNERS[$name]} "$spawn")
    else
      kib=$(peak_kib ${RUNNERS[$name]})
    fi
    samples+=("$kib")
  done
  read -r median lo hi < <(printf '%s\n' "${samples[@]}" | sort -n |
    awk '{v[NR]=$1} END {printf "%.1f %.1f %.1f\n", v[int((NR+1)/2)]/1024, v[1]/1024, v[NR]/1024}')
  printf '%-22s %12s %22s\n' "$name" "$median" "$lo - $hi"
  awk -v m="$median" -v l="$LIMIT_MIB" 'BEGIN {exit !(m > l)}' && status=1
done
exit $status
