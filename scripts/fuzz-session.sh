#!/usr/bin/env bash
# One `wsconform fuzz` session against a peer, with the CPU time of both
# sides beside the executions (is the harness the bottleneck?).
#
#   scripts/fuzz-session.sh PEER ROLE SECONDS SEED [OUTDIR]
#     PEER: reference | node-ws | py-websockets
#     ROLE: server (fuzz the peer's echo server) | client (its client driver)
#
# Prints the campaign's own summary, then one line:
#   rc=EXIT execs=N wall_s=S harness_cpu_s=H peer_cpu_s=P
# the CPU seconds being user+system of wsconform and of the echo server
# (/proc, Linux only); for spawned clients and the in-process reference
# peers, one figure for both (harness_and_peer_cpu_s). Needs the peers (scripts/install-peers.sh)
# and a built wsconform (WSCONFORM, default target/release/wsconform).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
peer=${1:?PEER}; role=${2:?ROLE}; seconds=${3:?SECONDS}; seed=${4:?SEED}
outdir=${5:-$root/reports/fuzz-$peer-$role-$seed}
ws=${WSCONFORM:-$root/target/release/wsconform}
node=${NODE:-node}
py=$root/peers/python/.venv/bin/python
tick=$(getconf CLK_TCK)

server_cmd() {
    case $peer in
        node-ws) echo "$node $root/peers/node/echo-server.js 0" ;;
        py-websockets) echo "$py $root/peers/python/echo_server.py 0" ;;
        *) echo "unknown peer $peer" >&2; exit 2 ;;
    esac
}
client_cmd() {
    case $peer in
        node-ws) echo "$node $root/peers/node/client-driver.js {url} {agent}" ;;
        py-websockets) echo "$py $root/peers/python/client_driver.py {url} {agent}" ;;
        *) echo "unknown peer $peer" >&2; exit 2 ;;
    esac
}

log=$(mktemp)
trap 'rm -f "$log"; [ -n "${peer_pid:-}" ] && kill "$peer_pid" 2>/dev/null || true' EXIT
peer_pid=
case $role in
    server)
        if [ "$peer" = reference ]; then
            target=()
        else
            # shellcheck disable=SC2046
            $(server_cmd) >"$log.peer" 2>&1 &
            peer_pid=$!
            for _ in $(seq 100); do
                grep -q '^listening' "$log.peer" 2>/dev/null && break
                sleep 0.1
            done
            port=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\).*/\1/p' "$log.peer")
            target=("ws://127.0.0.1:$port/")
        fi
        ;;
    client)
        if [ "$peer" = reference ]; then
            target=(--client)
        else
            target=(--spawn "$(client_cmd)")
        fi
        ;;
    *) echo "ROLE must be server or client" >&2; exit 2 ;;
esac

start=$(date +%s.%N)
set +e
# bash's `times` after the run: user+system of wsconform and every child it
# reaped (the spawned client drivers).
"$ws" fuzz "${target[@]}" --seed "$seed" --duration "$seconds" --outdir "$outdir" --quiet >"$log" 2>&1
rc=$?
set -e
end=$(date +%s.%N)
# (`times` in a pipeline would run in a subshell and see no children.)
times >"$log.times"
ours=$(tail -1 "$log.times" | awk '{ gsub(/m/, " "); gsub(/s/, ""); print $1 * 60 + $2 + $3 * 60 + $4 }')
rm -f "$log.times"
cat "$log"
execs=$(sed -n 's/.*: \([0-9]*\) execution(s) in.*/\1/p' "$log" | tail -1)
if [ -n "$peer_pid" ]; then
    peer_cpu=$(awk -v t="$tick" '{ printf "%.1f", ($14 + $15) / t }' "/proc/$peer_pid/stat")
    echo "rc=$rc execs=${execs:-?} wall_s=$(echo "$end - $start" | bc) harness_cpu_s=$ours peer_cpu_s=$peer_cpu"
else
    # In-process reference peer, or spawned clients: one figure for both.
    echo "rc=$rc execs=${execs:-?} wall_s=$(echo "$end - $start" | bc) harness_and_peer_cpu_s=$ours"
fi
rm -f "$log.peer"
