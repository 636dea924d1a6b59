//! The site's static files: which content-hashed files the page links (`assets.json`, written
//! by `scripts/build.sh`), how long browsers may keep each response, and compression of what
//! the server renders itself. Static files are sent precompressed (`.br`/`.gz` twins) by the
//! file handler; pages and server-function answers are compressed on the fly.
use app::SiteAssets;
use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, StatusCode, Version},
    middleware::Next,
    response::Response,
};
use std::path::Path;
use tower_http::compression::{predicate::DefaultPredicate, CompressionLayer, Predicate};

/// Reads `<site root>/assets.json`. Without it (a tree not built by `scripts/build.sh`, or
/// tests that never load the bundle) the page links the unhashed names, and says so in the log.
pub fn load(site_root: &Path) -> SiteAssets {
    let file = site_root.join("assets.json");
    match std::fs::read(&file).map(|b| serde_json::from_slice::<SiteAssets>(&b)) {
        Ok(Ok(assets)) => assets,
        Ok(Err(e)) => {
            tracing::warn!(file = %file.display(), error = %e, "unreadable asset manifest: linking unhashed asset names");
            SiteAssets::default()
        }
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "no asset manifest (run scripts/build.sh): linking unhashed asset names");
            SiteAssets::default()
        }
    }
}

/// A year, the longest lifetime browsers honour.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Whether a static path names a content-hashed file: `name.<16 hex digits>.ext`, or any file
/// in a directory named by such a hash (`pkg/<hash>/chunk_3.wasm`, the hydration bundle).
fn is_hashed(path: &str) -> bool {
    let hex16 = |part: &str| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit());
    let mut segments = path.rsplit('/');
    let file = segments.next().unwrap_or("");
    file.split('.').any(hex16) || segments.any(hex16)
}

/// Cache policy per response: hashed assets are immutable for a year (a new build has new
/// names); other static files are revalidated; HTML pages and API answers, which carry one
/// signed-in person's data, are never stored.
pub async fn cache_control(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    if res.headers().contains_key(header::CACHE_CONTROL) {
        return res; // set by the handler itself (exports say no-store)
    }
    let fresh = matches!(res.status(), StatusCode::OK | StatusCode::NOT_MODIFIED);
    let policy =
        if fresh && (path.starts_with("/pkg/") || path.starts_with("/vendor/")) && is_hashed(&path)
        {
            IMMUTABLE
        } else if is_static(res.headers()) {
            "no-cache"
        } else {
            "no-store"
        };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    res
}

/// A static file answer (from the file handler) rather than a rendered page or API answer.
fn is_static(headers: &HeaderMap) -> bool {
    headers.contains_key(header::LAST_MODIFIED)
}

/// Compresses rendered pages and server-function answers for clients that accept it.
/// Downloads (`content-disposition: attachment`, the exports) stream as they are: they are
/// large, already paced by the database, and often zipped (xlsx).
pub fn compression() -> CompressionLayer<impl Predicate> {
    let not_downloads = |_: StatusCode, _: Version, headers: &HeaderMap, _: &http::Extensions| {
        !headers.contains_key(header::CONTENT_DISPOSITION)
    };
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .compress_when(DefaultPredicate::new().and(not_downloads))
}

#[cfg(test)]
mod tests {
    use super::is_hashed;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("/pkg/sightline.0123456789abcdef.wasm"));
        assert!(is_hashed("/vendor/sightline-editor.0123456789abcdef.js"));
        assert!(!is_hashed("/pkg/sightline.wasm"));
        assert!(!is_hashed("/robots.txt"));
        assert!(!is_hashed("/pkg/sightline.0123456789abcdeg.js"));
        // The hydration bundle: every part in a directory named by the hash of them all.
        assert!(is_hashed("/pkg/0123456789abcdef/sightline.wasm"));
        assert!(is_hashed("/pkg/0123456789abcdef/chunk_3.wasm"));
        assert!(!is_hashed("/pkg/0123456789abcdeg/sightline.wasm"));
    }
}
