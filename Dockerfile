# syntax=docker/dockerfile:1
# Multi-stage build of the single `sightline` binary and its site assets.
# The build stage runs the same scripts/setup.sh as the README.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Build output stays inside the image's work tree (no shared per-user target directory).
ENV SIGHTLINE_TARGET_DIR=/src/target
# Tools first (wasm32 target, wasm-bindgen, binaryen, esbuild): cached until these files change.
COPY scripts/setup.sh scripts/build.sh scripts/site-assets.mjs scripts/
COPY Cargo.lock package.json package-lock.json ./
RUN SIGHTLINE_SETUP_TOOLS_ONLY=1 ./scripts/setup.sh
COPY . .
RUN ./scripts/setup.sh

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin sightline \
 && mkdir -p /data /app \
 && chown sightline:sightline /data
COPY --from=build /src/target/release/sightline /usr/local/bin/sightline
COPY --from=build /src/target/site /app/site
ENV SIGHTLINE_SITE_ROOT=/app/site \
    SIGHTLINE_DATA_DIR=/data \
    SIGHTLINE_BIND=0.0.0.0:3000 \
    SIGHTLINE_LOG_FORMAT=json \
    LEPTOS_ENV=PROD
USER sightline
WORKDIR /app
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:3000/healthz || exit 1
ENTRYPOINT ["sightline"]
# The web server by default. To run the standalone alert runner alone instead (no HTTP
# port, so no health check; its state file in the /data volume):
#   docker run --no-healthcheck -v sightline-alerts:/data -v "$PWD/alerts.yaml:/etc/sightline/alerts.yaml:ro" -e SHOP_DATABASE_URL sightline alerts run --config /etc/sightline/alerts.yaml --state /data/alerts.state.db
CMD ["serve"]
