#!/usr/bin/env bash
# Builds the release binary and the browser bundle into target/ (see setup.sh for the tools).
#
#   target/release/sightline                     the server
#   target/site/pkg/sightline.<hash>.{js,wasm,css}  the hydration bundle and the style sheet
#   target/site/vendor/sightline-editor.<hash>.js   the SQL editor bundle
#   target/site/vendor/sightline-charts.<hash>.js   the chart bundle (ECharts)
#   target/site/assets.json                      which hashed names the server links to
#
# Every asset has a `.gz` and a `.br` twin that the server sends to browsers accepting them.
# Each step runs only when its input changed: on an unchanged tree this takes seconds
# (cargo's own no-op checks plus a hash of the wasm).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

TARGET=${CARGO_TARGET_DIR:-target}
SITE=$TARGET/site
STAGE=$TARGET/site-stage
mkdir -p "$SITE/pkg" "$SITE/vendor" "$STAGE"

# 0. The SQL editor (CodeMirror 6) bundled into public/vendor/ (git-ignored), served from our
# own origin.
EDITOR_JS=public/vendor/sightline-editor.js
if [ ! -f $EDITOR_JS ] || [ frontend/editor/editor.js -nt $EDITOR_JS ] || [ package-lock.json -nt $EDITOR_JS ]; then
  log "building the SQL editor bundle"; npm run --silent build:editor
fi

# The chart bundle (ECharts, only the kinds we draw), the same way.
CHARTS_JS=public/vendor/sightline-charts.js
if [ ! -f $CHARTS_JS ] || [ frontend/charts/charts.js -nt $CHARTS_JS ] || [ package-lock.json -nt $CHARTS_JS ]; then
  log "building the chart bundle"; npm run --silent build:charts
fi

# 1. The browser bundle: the `frontend` crate (app with `hydrate`) for wasm32, size-optimized
# (profile `wasm-release`).
log "building the browser bundle (wasm)"
cargo build --locked -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
WASM_IN=$TARGET/wasm32-unknown-unknown/wasm-release/frontend.wasm

# 2. wasm-bindgen + wasm-opt, only when the compiled wasm or these flags changed (the slow
# part: ~1 min). (`--converge` would save another 0.5% gzip for twice the time.)
WASM_OPT_FLAGS=(-Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types)
in_sum=$( (sha256sum "$WASM_IN" | cut -c1-64; echo "${WASM_OPT_FLAGS[*]}") | sha256sum | cut -c1-64)
if [ "$(cat "$STAGE/wasm.input" 2>/dev/null)" != "$in_sum" ] || [ ! -f "$STAGE/sightline_bg.wasm" ]; then
  log "wasm-bindgen and wasm-opt"
  rm -f "$STAGE"/sightline*
  wasm-bindgen "$WASM_IN" --target web --no-typescript --out-dir "$STAGE" --out-name sightline
  wasm-opt "${WASM_OPT_FLAGS[@]}" "$STAGE/sightline_bg.wasm" -o "$STAGE/sightline_bg.opt.wasm"
  mv "$STAGE/sightline_bg.opt.wasm" "$STAGE/sightline_bg.wasm"
  echo "$in_sum" >"$STAGE/wasm.input"
fi

# 3. Hashed names, precompressed twins and the manifest (node does the hashing and compressing).
node scripts/site-assets.mjs "$STAGE" "$SITE"

# 4. The server.
log "building the server (release)"
cargo build --release --locked -p server --bin sightline
log "built $TARGET/release/sightline and $SITE"
