#!/usr/bin/env bash
# Starts the release server on a free port with a fresh data directory, runs the browser
# tests against it (headless Debian Chromium through playwright-core), and stops it.
# Screenshots land in end2end/artifacts/. SIGHTLINE_E2E_ONLY=<files> runs only those, in order;
# SIGHTLINE_E2E_TRACE=1 prints each console error with the page it came from as it happens.
set -euo pipefail
cd "$(dirname "$0")/.."
ART=end2end/artifacts
rm -rf "$ART" && mkdir -p "$ART"
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG="$ART/server.log"

# The example chart plugins and the test ones, "dropped into" the data dir's plugins/ folder.
mkdir -p "$DATA/plugins"
cp -r examples/plugins/* end2end/fixtures/plugins/* "$DATA/plugins/"

SIGHTLINE_SITE_ROOT=target/site SIGHTLINE_ALERT_ALLOW_HOSTS=127.0.0.1 SIGHTLINE_ALLOW_CONNECTION_HOSTS=127.0.0.1 ./target/release/sightline serve --bind "127.0.0.1:$PORT" --data-dir "$DATA" >"$LOG" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG"; echo "server exited"; exit 1; }
  sleep 0.1
done
SETUP_URL=$(grep -o "http://[^ ]*/setup?token=[A-Za-z0-9_-]*" "$LOG" | head -n1)
[ -n "$SETUP_URL" ] || { cat "$LOG"; echo "no setup URL in the server log"; exit 1; }

export SIGHTLINE_E2E_URL="http://127.0.0.1:$PORT" SIGHTLINE_E2E_SETUP_URL="$SETUP_URL" SIGHTLINE_E2E_ARTIFACTS="$ART"
if [ -n "${SIGHTLINE_E2E_ONLY:-}" ]; then
  node --test --test-concurrency=1 $SIGHTLINE_E2E_ONLY
else
  # The spine creates the first admin and the viewer the other stories sign in as; the other
  # stories each make their own objects, so they run side by side.
  node --test end2end/tests/01-spine.test.mjs
  node --test --test-concurrency="${SIGHTLINE_E2E_JOBS:-3}" $(ls end2end/tests/*.test.mjs | grep -v '/01-')
fi
