#!/usr/bin/env bash
# wsconform against the real Autobahn on all 216 permessage-deflate cases
# (12.x/13.x) of Node `ws` and Python `websockets`, both roles: runs the
# Deflate part of harness/tests/real_peers.rs with WSCONFORM_DEFLATE_FULL=1,
# which compares every verdict with peers/expected/{server,client}/deflate/
# (recorded by `SUITE=deflate scripts/autobahn-expected.sh`). CI runs a sample
# of these cases (the same tests without WSCONFORM_DEFLATE_FULL); this is the
# full comparison, about 2-10 minutes per peer. Prints each test's wall time.
#
# Usage: scripts/deflate-agreement.sh [TEST-NAME-FILTER]   (default: all four)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
bash scripts/install-peers.sh >/dev/null
FILTER=${1:-deflate_matches_autobahn}
flock /tmp/wsconform-build.lock cargo test --test real_peers --no-run -q
for t in node_ws_server python_websockets_server node_ws_client python_websockets_client; do
  name="${t}_deflate_matches_autobahn"
  [[ "$name" == *"$FILTER"* ]] || continue
  start=$(date +%s.%N)
  if WSCONFORM_REAL_PEERS=1 WSCONFORM_DEFLATE_FULL=1 cargo test -q --test real_peers "$name" -- --exact \
      > "${TMPDIR:-/tmp}/deflate-agreement-$t.log" 2>&1; then
    verdict=agree
  else
    verdict="DIFFER (see ${TMPDIR:-/tmp}/deflate-agreement-$t.log)"
  fi
  printf '%-26s 216 cases: %s, %.0f s\n' "$t" "$verdict" "$(echo "$(date +%s.%N) - $start" | bc)"
done
