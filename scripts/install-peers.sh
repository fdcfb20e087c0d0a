#!/usr/bin/env bash
# Install the reference WebSocket peers used by wsconform's tests:
#   * Node `ws` (exact version pinned in peers/node/package.json + package-lock.json)
#     into peers/node/node_modules via `npm ci`;
#   * Python `websockets` (exact version pinned in peers/python/requirements.txt)
#     into the project-local venv peers/python/.venv.
# Idempotent (skips work that is already done and correct); works from any cwd.
# Usage: scripts/install-peers.sh [--force]
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE_DIR="$REPO/peers/node"
PY_DIR="$REPO/peers/python"
VENV="$PY_DIR/.venv"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { echo "[install-peers] $*"; }

# --- Node ws ------------------------------------------------------------------
command -v node >/dev/null || { echo "node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
WS_WANT=$(node -p "require('$NODE_DIR/package.json').dependencies.ws")
ws_installed() {
  node -p "require('$NODE_DIR/node_modules/ws/package.json').version" 2>/dev/null || true
}
if [ $FORCE = 1 ] || [ "$(ws_installed)" != "$WS_WANT" ]; then
  log "npm ci in peers/node (ws $WS_WANT)"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
[ "$(ws_installed)" = "$WS_WANT" ] || { echo "ws $WS_WANT not installed" >&2; exit 1; }

# --- Python websockets ----------------------------------------------------------
PY=${PYTHON:-python3}
WANT_LINE=$(grep -E '^websockets==' "$PY_DIR/requirements.txt")
WEBSOCKETS_WANT=${WANT_LINE#websockets==}
websockets_installed() {
  "$VENV/bin/python" -c 'import websockets.version as v; print(v.version)' 2>/dev/null || true
}
if [ $FORCE = 1 ] || [ "$(websockets_installed)" != "$WEBSOCKETS_WANT" ]; then
  if [ $FORCE = 1 ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "creating venv peers/python/.venv"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
  fi
  log "pip install -r peers/python/requirements.txt (websockets $WEBSOCKETS_WANT)"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q -r "$PY_DIR/requirements.txt"
fi
[ "$(websockets_installed)" = "$WEBSOCKETS_WANT" ] || { echo "websockets $WEBSOCKETS_WANT not installed" >&2; exit 1; }

log "node $(node --version), ws $(ws_installed) -> peers/node/node_modules"
log "$("$VENV/bin/python" --version), websockets $(websockets_installed) -> peers/python/.venv"
