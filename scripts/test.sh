#!/usr/bin/env bash
# Runs every test: unit, integration (SQLite and PostgreSQL stores), CLI, and browser tests
# against the release build in headless Chromium. Sets up what it needs first. Prints the
# time of each phase at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

PHASES=()
phase() { # phase NAME COMMAND...: runs and times one phase
  local name=$1 start=$SECONDS; shift
  log "$name"
  "$@"
  PHASES+=("$(printf '%-28s %5ds' "$name" $((SECONDS - start)))")
}
report() {
  local rc=$?
  printf '\n\033[1m==> phase times\033[0m\n'
  for p in "${PHASES[@]}"; do echo "  $p"; done
  printf '  %-28s %5ds\n' "total" "$SECONDS"
  [ $rc -eq 0 ] || echo "  (stopped by a failure, exit $rc)"
}
trap report EXIT

browser() {
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Chromium for browser tests"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
  fi
}

# Formatting first: seconds, and a clear message instead of a review comment later.
format_check() {
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  cargo fmt --all --check
}
phase "format (cargo fmt --check)" format_check
phase "services (PostgreSQL, MariaDB)" ./scripts/services.sh
phase "chromium" browser
phase "tools and release build" ./scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Lints, warnings as errors: the server side with every test, and the browser side. Allows
# are written beside the code with their reason.
lint() {
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  cargo clippy --locked -p app -p server --features app/ssr --tests -- -D warnings
  cargo clippy --locked -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings
}
phase "lints (cargo clippy)" lint
# The tests build on the release build above: same profile, same features, so only the test
# harnesses themselves are compiled here.
phase "unit and integration tests" cargo test --release --locked -p app -p server --features app/ssr
phase "browser tests" ./end2end/run.sh
