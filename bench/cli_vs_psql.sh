#!/usr/bin/env bash
# Benchmark: `sightline query` against psql on the same data in one run.
# Creates (once) a 1M-row table in the local PostgreSQL database `test`, then times
#   select 1 / 1k rows / 100k rows / 1M rows as CSV
# through `sightline query --format csv` and `psql \copy … to stdout csv`, with peak RSS.
# Usage: bench/cli_vs_psql.sh [path/to/sightline]   (default target/release/sightline)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/sightline}
DB_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$DB_URL")

"${PSQL[@]}" -f bench/bench_events.sql

measure() { # label, command...  -> "label  seconds  maxrss_kb"
  local label=$1; shift
  local best=999999 rss=0
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o /tmp/bench.time "$@" > /dev/null
    read -r t m < /tmp/bench.time
    best=$(python3 -c "print(min($best, $t))"); rss=$m
  done
  printf '%-28s %8.3f s  %8d KB\n' "$label" "$best" "$rss"
}

printf '%-28s %10s  %11s\n' "case (best of 3)" "time" "peak RSS"
for case in "select 1|select 1" \
            "1k rows|select * from bench_events order by id limit 1000" \
            "100k rows|select * from bench_events order by id limit 100000" \
            "1M rows|select * from bench_events"; do
  label=${case%%|*}; sql=${case#*|}
  measure "psql csv: $label" "${PSQL[@]}" -c "\\copy ($sql) to stdout csv header"
  measure "sightline csv: $label" "$BIN" query --url "$DB_URL" --format csv --sql "$sql"
done
