# shellcheck shell=bash
# Processes a script started, tracked so that its exit trap can stop them:
# sourced (by bench-lib.sh and autobahn-expected.sh), not run. The caller adds
# each PID it starts to PIDS and calls stop_pid when done with it.

PIDS=()

forget_pid() { local p=$1 q keep=(); for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done; PIDS=("${keep[@]}"); }

stop_pid() {  # stop one process we started (not a group): TERM, up to ~5 s, then KILL
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  forget_pid "$p"
}

stop_all_pids() {  # exit traps: TERM to every process still tracked
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
}
