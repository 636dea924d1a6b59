#!/usr/bin/env bash
# Sets up and builds (see setup.sh), then serves Sightline on http://127.0.0.1:3000 with the
# embedded store in ./data. Extra arguments go to `sightline serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export LEPTOS_SITE_ROOT=target/site
exec ./target/release/sightline serve --bind "${SIGHTLINE_BIND:-127.0.0.1:3000}" --data-dir "${SIGHTLINE_DATA_DIR:-./data}" "$@"
