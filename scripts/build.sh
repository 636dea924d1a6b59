#!/usr/bin/env bash
# Builds the release binary and the browser bundle into target/ (see setup.sh for the tools).
#
#   target/release/sightline                     the server
#   target/site/pkg/<hash>/sightline.{js,wasm}    the hydration bundle: the main module, its
#                                                glue, and one part per lazy page (split_*.wasm,
#                                                chunk_*.wasm, __wasm_split.js)
#   target/site/pkg/sightline.<hash>.css         the style sheet
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

# 2. wasm-split, wasm-bindgen and wasm-opt, only when the compiled wasm, the tools or these
# flags changed (the slow part: ~1 min). The order is fixed: the splitter needs the linker's
# relocations, which wasm-bindgen and wasm-opt drop. wasm-split-cli cuts the wasm into the
# main module (what every page needs) and one part per lazy route plus the chunks they
# share, fetched by `__wasm_split.js` when a page first needs them; wasm-bindgen then makes
# the JS glue for the main module only, and wasm-opt shrinks every part.
# (`--converge` would save another 0.5% gzip for twice the time.)
WASM_OPT_FLAGS=(-Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types)
in_sum=$( (sha256sum "$WASM_IN" | cut -c1-64; echo "${WASM_OPT_FLAGS[*]}";
  cargo install --list | grep '^wasm_split_cli_support' || echo none; wasm-bindgen --version) | sha256sum | cut -c1-64)
BUNDLE=$STAGE/bundle
if [ "$(cat "$STAGE/wasm.input" 2>/dev/null)" != "$in_sum" ] || [ ! -f "$BUNDLE/sightline.wasm" ]; then
  log "wasm-split, wasm-bindgen and wasm-opt"
  # Never reuse parts of an earlier split: chunk names are numbered, not hashed.
  rm -rf "$STAGE/split" "$BUNDLE"; mkdir -p "$STAGE/split" "$BUNDLE"
  wasm-split-cli "$WASM_IN" "$STAGE/split" --target web --out-name sightline
  wasm-bindgen "$STAGE/split/sightline.wasm" --target web --no-typescript --keep-lld-exports \
    --no-demangle --out-dir "$BUNDLE" --out-name sightline
  mv "$BUNDLE/sightline_bg.wasm" "$BUNDLE/sightline.wasm"
  rm "$STAGE/split/sightline.wasm"
  cp "$STAGE/split/"* "$BUNDLE/"
  # One wasm-opt per part, as many at once as there are cores (there are hundreds of parts).
  export WASM_OPT_ARGS="${WASM_OPT_FLAGS[*]}"
  find "$BUNDLE" -name '*.wasm' -print0 | xargs -0 -P "$(nproc)" -I{} \
    sh -c 'wasm-opt $WASM_OPT_ARGS "$1" -o "$1.opt" && mv "$1.opt" "$1"' _ {}
  echo "$in_sum" >"$STAGE/wasm.input"
fi

# 3. Hashed names, precompressed twins and the manifest (node does the hashing and compressing).
node scripts/site-assets.mjs "$BUNDLE" "$SITE"

# 4. The server.
log "building the server (release)"
cargo build --release --locked -p server --bin sightline
log "built $TARGET/release/sightline and $SITE"
