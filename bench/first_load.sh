#!/usr/bin/env bash
# First visit over a slow link: bytes transferred and time until the sign-in page is
# interactive (hydrated), on a 10 Mbit/s link with 40 ms round trips, once as before the
# compressed, cached assets (the browser accepts no compression) and once as now; then a
# repeat visit with a warm cache. Starts a release server on a free port with a throwaway
# data dir. Usage: bench/first_load.sh [path/to/sightline]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/sightline}
export PATH="$PWD/node_modules/.bin:$PATH"
DATA=$(mktemp -d); PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$DATA" --site-root target/site --no-demo >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT" node bench/first_load.mjs
