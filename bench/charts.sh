#!/usr/bin/env bash
# Browser benchmark of charts: time from pressing Run to the chart drawn for 1k, 10k and 100k
# rows (the last capped by the server at --chart-points, 10,000), and the JS + wasm the insight
# page transfers (gzip as sent, with the chart bundle). Uses the local PostgreSQL database
# `test` (a generated table, created once). Starts a release server on a free port with a
# throwaway data dir. Usage: bench/charts.sh [path/to/sightline]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/sightline}
export PATH="$PWD/node_modules/.bin:$PATH"
psql -X -q postgres://postgres@127.0.0.1:5432/test <<'SQL' >/dev/null
create table if not exists bench_chart as
  select i as id, date '2020-01-01' + (i % 1000) as day, (array['DE','FR','US','JP','BR'])[1 + i % 5] as country,
         (i * 7919 % 1000)::numeric / 10 as revenue
  from generate_series(1, 100000) i;
SQL
DATA=$(mktemp -d); PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export SIGHTLINE_DATA_DIR=$DATA SIGHTLINE_SITE_ROOT=target/site
printf 'big password 12345\n' | "$BIN" user create --email big@example.com --role admin --password-stdin >/dev/null 2>&1
"$BIN" serve --bind "127.0.0.1:$PORT" --no-demo --allow-connection-hosts 127.0.0.1 >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT" node bench/charts.mjs
# The same files as gzip (what a browser without brotli gets).
for f in target/site/pkg/*/*.wasm.gz target/site/pkg/*/sightline.js.gz target/site/vendor/sightline-charts.*.js.gz; do
  [ -f "$f" ] && echo "  gzip: $(basename "$f") $(stat -c %s "$f") B"
done
