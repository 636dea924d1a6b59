#!/usr/bin/env bash
# Browser benchmark of the results grid on the 1M-row bench_events table (see cli_vs_psql.sh,
# which creates it): starts a release server on a free port with a throwaway data dir, then
# drives Debian Chromium with playwright-core and prints the timings and the server's peak RSS.
# Usage: bench/grid_1m.sh [path/to/sightline]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/sightline}
export PATH="$PWD/node_modules/.bin:$PATH"
psql -X -qtA postgres://postgres@127.0.0.1:5432/test -c 'select 1 from bench_events limit 1' >/dev/null 2>&1 \
  || bench/cli_vs_psql.sh >/dev/null
DATA=$(mktemp -d); PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export SIGHTLINE_DATA_DIR=$DATA SIGHTLINE_SITE_ROOT=target/site
printf 'big password 12345\n' | "$BIN" user create --email big@example.com --role admin --password-stdin >/dev/null 2>&1
"$BIN" serve --bind "127.0.0.1:$PORT" --no-demo >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
sleep 1
BASE="http://127.0.0.1:$PORT" SHOT="$DATA/grid.png" node bench/grid_1m.mjs
echo "server peak RSS: $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$SERVER/status)"
