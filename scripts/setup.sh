#!/usr/bin/env bash
# Installs what a fresh machine lacks to build Sightline, then builds the release binary and
# the browser bundle (scripts/build.sh). Idempotent: a second run only rebuilds what changed,
# and takes seconds when nothing did.
#
# Build output goes to one cargo target directory per machine and user
# ($SIGHTLINE_TARGET_DIR, default ~/.cache/sightline/target), linked as ./target, so a second
# clone on the same machine (CI's clean clones) reuses the compiled dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_UPDATED=""
apt_install() {
  if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

# Node.js and npm (for wasm-opt from binaryen, and browser tests).
if ! command -v npm >/dev/null; then log "installing Node.js and npm"; apt_install nodejs npm; fi
# A C compiler for crates that build C (SQLite, ring).
if ! command -v cc >/dev/null; then log "installing a C toolchain"; apt_install build-essential pkg-config; fi

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  log "adding the wasm32 target"; rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WBG_VERSION=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WBG_VERSION"; then
  log "installing wasm-bindgen-cli $WBG_VERSION"
  # Not --locked: one of its locked dependencies is no longer on the registry.
  cargo install wasm-bindgen-cli --version "$WBG_VERSION"
fi

# wasm-split-cli cuts the wasm into the main module and one part per lazy page. It must know
# the intrinsics of the wasm-bindgen in Cargo.lock: 0.2.4 is the first that knows 0.2.130's.
WSPLIT_VERSION=0.2.4
if ! cargo install --list | grep -q "^wasm_split_cli_support v$WSPLIT_VERSION:"; then
  log "installing wasm-split-cli $WSPLIT_VERSION"
  cargo install --locked wasm_split_cli_support --version "$WSPLIT_VERSION" --features build-binary
fi

# The shared target directory, linked as ./target (a ./target that is a real directory stays).
TARGET_DIR=${SIGHTLINE_TARGET_DIR:-$HOME/.cache/sightline/target}
if [ ! -e target ] && [ ! -L target ]; then
  mkdir -p "$TARGET_DIR"
  if [ "$(cd "$TARGET_DIR" && pwd -P)" != "$(pwd -P)/target" ]; then
    log "build output in $TARGET_DIR (linked as ./target)"; ln -s "$TARGET_DIR" target
  fi
fi
mkdir -p "$(readlink -f target)"

# binaryen from npm (Debian's wasm-opt 108 corrupts the release wasm), playwright-core, and
# esbuild + CodeMirror for the SQL editor bundle.
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/esbuild ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"; npm ci --no-audit --no-fund --loglevel=error
fi
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

if [ "${SIGHTLINE_SETUP_TOOLS_ONLY:-}" = 1 ]; then log "tools ready"; exit 0; fi

./scripts/build.sh
