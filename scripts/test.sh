#!/usr/bin/env bash
# Runs every test: unit, integration (SQLite and PostgreSQL stores), CLI, and browser tests
# against the release build in headless Chromium. Sets up what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

./scripts/services.sh
if [ ! -x /usr/bin/chromium ]; then
  log "installing Chromium for browser tests"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
./scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

log "unit and integration tests"
cargo test --release -p app -p server --features app/ssr

log "browser tests"
./end2end/run.sh
