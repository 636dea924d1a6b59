#!/usr/bin/env bash
# Benchmark of a 12-tile dashboard on the 1M-row bench_events table in PostgreSQL (created by
# bench/bench_events.sql): in a browser, the time from opening the board to the first tile
# answered and to all tiles, cold (empty result cache) and warm, against psql running the
# same 12 queries one after another; then 100 viewers loading the board for 30 s
# (bench/dashboard_load.mjs), with no pause and with about a second between loads:
# requests per second, p50/p99 of a tile request, and the database runs that caused.
# Usage: bench/dashboards.sh [bin]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/sightline}
export PATH="$PWD/node_modules/.bin:$PATH"
DB=postgres://postgres@127.0.0.1:5432/test
psql -X -q -v ON_ERROR_STOP=1 "$DB" -f bench/bench_events.sql
# The tiles' queries (bench/dashboards.mjs uses the same list).
QUERIES=$(node --input-type=module -e "import { TILES } from \"./bench/dashboard_tiles.mjs\"; for (const t of TILES) console.log(t.sql.replaceAll(\"{{kind}}\", \"'purchase'\") + \";\")")
start=$(date +%s%N)
printf '%s\n' "$QUERIES" | psql -X -q "$DB" >/dev/null
end=$(date +%s%N)
echo "psql, the 12 queries one after another: $(( (end - start) / 1000000 )) ms"
DATA=$(mktemp -d); PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export SIGHTLINE_DATA_DIR=$DATA SIGHTLINE_SITE_ROOT=target/site
printf 'big password 12345\n' | "$BIN" user create --email big@example.com --role admin --password-stdin >/dev/null 2>&1
"$BIN" serve --bind "127.0.0.1:$PORT" --no-demo --allow-connection-hosts 127.0.0.1 >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT" OUT="$DATA/board.json" node bench/dashboards.mjs
runs() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from query_runs").fetchone()[0])' "$DATA/sightline.db"; }
BOARD=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["board"])' "$DATA/board.json")
COOKIE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cookie"])' "$DATA/board.json")
for think in 0 1000; do
  before=$(runs)
  BASE="http://127.0.0.1:$PORT" BOARD=$BOARD COOKIE=$COOKIE VIEWERS=100 SECONDS=30 THINK_MS=$think node bench/dashboard_load.mjs
  echo "database runs during that load: $(( $(runs) - before )) (12 tiles; the cache time is 5 minutes)"
done
