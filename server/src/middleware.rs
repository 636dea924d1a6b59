//! Cross-site request refusal for server functions, and security headers.
use app::AppError;
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";

/// Server functions accept POST only, and only from this site: a browser request whose
/// `Sec-Fetch-Site` or `Origin` says it comes from elsewhere is refused with 403. Other
/// state-changing requests (file uploads) get the same origin check.
/// Requests with neither header come from non-browser clients, which carry no ambient
/// cookies a third-party page could ride on.
pub async fn same_origin_api(State(site): State<SiteOrigin>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Downloads start heavy work in the signed-in user's name: a link, image or frame on
    // another site must not start them. Typing or bookmarking the URL still works.
    if is_export(req.uri().path()) {
        if let Err(why) = check_same_origin(&req, &site) {
            tracing::warn!(path = %req.uri().path(), why, "cross-site download refused");
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "This download was requested by another site, so it was refused. Open the insight in Sightline and use its Export buttons.",
            )
                .into_response();
        }
    }
    if !safe && !req.uri().path().starts_with("/api/") {
        if let Err(why) = check_same_origin(&req, &site) {
            tracing::warn!(path = %req.uri().path(), why, "cross-site request refused");
            return (StatusCode::FORBIDDEN, "Cross-site requests are refused.").into_response();
        }
    }
    if req.uri().path().starts_with("/api/") {
        if req.method() != Method::POST {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "POST")],
                "Server functions accept POST only.",
            )
                .into_response();
        }
        if let Err(why) = check_same_origin(&req, &site) {
            tracing::warn!(path = %req.uri().path(), why, "cross-site request refused");
            return (StatusCode::FORBIDDEN, "Cross-site requests are refused.").into_response();
        }
    }
    next.run(req).await
}

/// `/insights/{id}/export.{csv,xlsx,json}` (any extension: the handler refuses unknown ones).
fn is_export(path: &str) -> bool {
    path.strip_prefix("/insights/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, file)| file.starts_with("export.") && !file.contains('/'))
}

/// This site's origin (`scheme://host:port`, lower case), from the public URL when the
/// operator set one. Without it, a request's own Host is taken as the site.
#[derive(Clone, Debug, Default)]
pub struct SiteOrigin(pub Option<String>);

impl SiteOrigin {
    pub fn from_public_url(url: Option<&str>) -> Self {
        SiteOrigin(url.and_then(origin_of))
    }
}

/// `scheme://host[:port]` of a URL, lower case, default ports dropped.
fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url.trim()).ok()?;
    let origin = u.origin();
    origin
        .is_tuple()
        .then(|| origin.ascii_serialization().to_ascii_lowercase())
}

/// A browser request from this site's own pages, or a direct navigation: `Sec-Fetch-Site`
/// (when sent) is `same-origin` or `none`, and `Origin` and `Referer` (when sent) are this
/// site. Our pages send `Referer` only to this site (`Referrer-Policy: same-origin`), so a
/// foreign one means another page asked.
fn check_same_origin(req: &Request<Body>, site: &SiteOrigin) -> Result<(), &'static str> {
    let h = req.headers();
    if let Some(fetch_site) = h.get("sec-fetch-site") {
        if !matches!(fetch_site.to_str(), Ok("same-origin" | "none")) {
            return Err("sec-fetch-site");
        }
    }
    if let Some(origin) = h.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| "origin")?;
        // A sandboxed frame or a privacy redirect sends `null`: not this site.
        let origin = origin_of(origin).ok_or("origin")?;
        if origin != expected_origin(req, site, &origin)? {
            return Err("origin");
        }
    }
    if let Some(referer) = h.get(header::REFERER) {
        let referer = origin_of(referer.to_str().map_err(|_| "referer")?).ok_or("referer")?;
        if referer != expected_origin(req, site, &referer)? {
            return Err("referer");
        }
    }
    Ok(())
}

/// This site's origin; without a configured public URL, the request's Host with the scheme
/// the browser named (the host and port must still be ours).
fn expected_origin(
    req: &Request<Body>,
    site: &SiteOrigin,
    claimed: &str,
) -> Result<String, &'static str> {
    let h = req.headers();
    let expected = match &site.0 {
        Some(o) => o.clone(),
        None => {
            let host = h
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .or_else(|| req.uri().authority().map(|a| a.as_str()))
                .ok_or("host")?;
            let scheme = claimed.split("://").next().unwrap_or("http");
            origin_of(&format!("{scheme}://{host}")).ok_or("host")?
        }
    };
    Ok(expected)
}

/// Gives server-function errors their HTTP status. Leptos answers every error with 500; the
/// body is our `AppError` as JSON, which knows its status (401, 403, 404, 400, 409, 429 …).
pub async fn api_error_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if !res.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "error response too large",
        )
            .into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Headers every response carries.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("frame-ancestors 'none'; object-src 'none'; base-uri 'self'"),
    );
    res
}
