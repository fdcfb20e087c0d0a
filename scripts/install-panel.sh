#!/usr/bin/env bash
# Install wsconform's compliance panel (peers/panel/panel.json) project-locally:
#   * Debian packages named in the manifest's `apt` fields (pinned name=version;
#     apt-get only when one is missing or at another version);
#   * Node libraries: `npm ci` in peers/panel/node (package.json + package-lock.json);
#   * Python libraries: a venv in peers/panel/python/.venv (requirements.txt, ==pins);
#   * Rust crates: `cargo build --release --locked` in peers/panel/rust (its own
#     workspace and Cargo.lock), under the shared build lock when flock exists;
#   * each implementation's `build` command (Go, C, C++ programs into peers/panel/bin),
#     rerun only when a source is newer than its programs;
# then checks that every implementation's `installed` command prints the manifest's
# `version`, and prints the table. Idempotent; works from any cwd.
# Usage: scripts/install-panel.sh [--force]
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PANEL="$REPO/peers/panel"
MANIFEST="$PANEL/panel.json"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1
log() { echo "[install-panel] $*"; }
die() { echo "[install-panel] $*" >&2; exit 1; }
cd "$REPO"
for tool in jq node npm python3 cargo; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

# --- Debian packages -------------------------------------------------------------
missing=()
while read -r want; do
  [ -n "$want" ] || continue
  name=${want%%=*} version=""
  [ "$name" != "$want" ] && version=${want#*=}
  have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
  case $have in
    "install ok installed $version"|"install ok installed "*) [ -z "$version" ] || [ "$have" = "install ok installed $version" ] || missing+=("$want") ;;
    *) missing+=("$want") ;;
  esac
done < <(jq -r '.implementations[].apt // [] | .[]' "$MANIFEST" | sort -u)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  command -v apt-get >/dev/null || die "apt-get is required for: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Node --------------------------------------------------------------------------
stamp="$PANEL/node/node_modules/.package-lock.json"
if [ $FORCE = 1 ] || [ ! -f "$stamp" ] || [ "$PANEL/node/package-lock.json" -nt "$stamp" ]; then
  log "npm ci in peers/panel/node"
  (cd "$PANEL/node" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- Python ------------------------------------------------------------------------
VENV="$PANEL/python/.venv"
if [ $FORCE = 1 ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  log "creating venv peers/panel/python/.venv"
  rm -rf "$VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
if [ $FORCE = 1 ] || ! "$VENV/bin/python" - "$PANEL/python/requirements.txt" <<'PY'
import importlib.metadata as m, sys
for line in open(sys.argv[1]):
    name, _, version = line.strip().partition("==")
    try:
        if name and m.version(name) != version:
            sys.exit(1)
    except m.PackageNotFoundError:  # a new venv: install, without a traceback
        sys.exit(1)
PY
then
  log "pip install -r peers/panel/python/requirements.txt"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q -r "$PANEL/python/requirements.txt"
fi

# --- Rust --------------------------------------------------------------------------
LOCK=()
command -v flock >/dev/null && LOCK=(flock /tmp/wsconform-build.lock)
log "cargo build --release --locked in peers/panel/rust"
(cd "$PANEL/rust" && "${LOCK[@]}" cargo build --release --locked -q)

# --- compiled peers (Go, C, C++) ------------------------------------------------------
field() { jq -r --arg id "$1" --arg f "$2" '.implementations[] | select(.id == $id) | .[$f] // empty' "$MANIFEST"; }
for id in $(jq -r '.implementations[] | select(.build) | .id' "$MANIFEST"); do
  stale=$FORCE sources=$(field "$id" sources)
  for p in $(printf '%s\n%s\n' "$(field "$id" server)" "$(field "$id" client)" | awk 'NF {print $1}'); do
    if [ ! -x "$p" ] || [ -n "$(find "$sources" -type f -newer "$p" | head -1)" ]; then stale=1; fi
  done
  if [ $stale = 1 ]; then
    log "building $id"
    bash -c "$(field "$id" build)"
  fi
done

# --- check the versions ------------------------------------------------------------------
bad=0
for id in $(jq -r '.implementations[].id' "$MANIFEST"); do
  want=$(field "$id" version)
  got=$(bash -c "$(field "$id" installed)" 2>/dev/null || true)
  if [ "$got" = "$want" ]; then
    log "$(printf '%-22s %-11s %-36s %s' "$id" "$(field "$id" language)" "$(field "$id" library)" "$got")"
  else
    echo "[install-panel] $id: $(field "$id" library) $want wanted, found '${got}'" >&2
    bad=1
  fi
done
[ $bad = 0 ] || die "some implementations are not at their pinned version"
