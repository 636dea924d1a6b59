//! The router: server functions, SSR pages, static assets and `/healthz`.
use crate::{assets, middleware};
use app::{server::AppState, shell, App, SiteAssets};
use axum::{
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use tower_http::trace::TraceLayer;
use tower_sessions::{SessionManagerLayer, SessionStore};

/// Builds the whole HTTP surface around a session layer.
pub fn router<S>(
    state: AppState,
    sessions: SessionManagerLayer<S, tower_sessions::service::SignedCookie>,
    site: middleware::SiteOrigin,
    site_assets: SiteAssets,
) -> Router
where
    S: SessionStore + Clone,
{
    let routes = generate_route_list(App);
    let ctx_state = state.clone();
    // One context for server functions and SSR alike.
    let context = move || provide_context(ctx_state.clone());
    let api_context = context.clone();
    let options = state.leptos_options.clone();
    let page = {
        let assets = site_assets.clone();
        move || shell(options.clone(), assets.clone())
    };
    let not_found_page = move |options| shell(options, site_assets.clone());

    Router::new()
        .route("/healthz", get(healthz))
        .route("/insights/{id}/{file}", get(export_insight))
        .route("/dashboards/{id}/{file}", get(export_dashboard))
        .route("/imports", post(upload_import))
        .route("/plugins", post(upload_plugin))
        .route("/plugins/{id}/module.js", get(plugin_module))
        .route(
            "/api/{*fn_name}",
            post(move |req: Request<Body>| {
                handle_server_fns_with_context(api_context.clone(), req)
            }),
        )
        .leptos_routes_with_context(&state, routes, context, page)
        // Static files (precompressed `.br`/`.gz` twins when the browser accepts them), else
        // the app's own "not found" page.
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            not_found_page,
        ))
        .layer(axum::middleware::from_fn(middleware::api_error_status))
        .layer(axum::middleware::from_fn_with_state(
            site,
            middleware::same_origin_api,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(assets::cache_control))
        .layer(assets::compression())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Liveness and store reachability: 200 when the metadata store answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => {
            Json(serde_json::json!({ "status": "ok", "store": state.db.kind() })).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check: metadata store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "degraded", "store": state.db.kind(), "reason": "metadata store unreachable" })),
            )
                .into_response()
        }
    }
}

/// `GET /plugins/{id}/module.js`: a visualization plugin's module, for signed-in users'
/// pages, which hand it to the plugin's sandboxed frame (it is never run in the page).
async fn plugin_module(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    use app::{
        error::AppError,
        server::{auth::service::principal, plugins},
    };
    let result = match principal(&state, &session).await {
        Ok(Some(me)) => plugins::module(&state, &me, &id).await,
        Ok(None) => Err(AppError::Unauthenticated),
        Err(e) => Err(e),
    };
    match result {
        Ok(body) => Response::builder()
            .header("content-type", "text/javascript; charset=utf-8")
            .header("cache-control", "no-cache")
            .header("x-content-type-options", "nosniff")
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [("content-type", "text/plain; charset=utf-8")],
            e.to_string(),
        )
            .into_response(),
    }
}

/// `POST /plugins` with a zip as the body: installs (or replaces) a chart plugin. Admins only.
async fn upload_plugin(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    req: Request<Body>,
) -> Response {
    use app::{
        error::AppError,
        server::{auth::service::principal, plugins},
    };
    let fail = |e: AppError| {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(e)).into_response()
    };
    let me = match principal(&state, &session).await {
        Ok(Some(me)) => me,
        Ok(None) => return fail(AppError::Unauthenticated),
        Err(e) => return fail(e),
    };
    let body = match axum::body::to_bytes(req.into_body(), plugins::MAX_ZIP_BYTES + 1).await {
        Ok(b) => b,
        Err(_) => {
            return fail(AppError::field(
                "plugin",
                format!(
                    "A plugin zip may be at most {} MB.",
                    plugins::MAX_ZIP_BYTES >> 20
                ),
            ))
        }
    };
    match plugins::install(&state, &me, body.to_vec()).await {
        Ok(p) => Json(p).into_response(),
        Err(e) => fail(e),
    }
}

/// A download's failure as plain text with its status.
fn download_error(e: app::error::AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [("content-type", "text/plain; charset=utf-8")],
        e.to_string(),
    )
        .into_response()
}

/// Who asks for a download at `path`; signed out, the answer is the sign-in page that comes
/// back to exactly this download, parameters included.
async fn download_principal(
    state: &AppState,
    session: &tower_sessions::Session,
    path: &str,
    query: Option<&str>,
) -> Result<app::server::Principal, Response> {
    use app::server::auth::service::principal;
    match principal(state, session).await {
        Ok(Some(me)) => Ok(me),
        Ok(None) => {
            let login = app::model::validate::login_url(path, query.unwrap_or(""), "");
            Err(axum::response::Redirect::to(&login).into_response())
        }
        Err(e) => Err(download_error(e)),
    }
}

/// A streamed download as an attachment, never cached.
fn download(d: Result<app::server::insights::Download, app::error::AppError>) -> Response {
    match d {
        Ok(d) => Response::builder()
            .header("content-type", d.content_type)
            .header(
                "content-disposition",
                format!("attachment; filename=\"{}\"", d.filename),
            )
            .header("cache-control", "no-store")
            .header("x-content-type-options", "nosniff")
            .body(Body::from_stream(d.body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(e) => download_error(e),
    }
}

/// Values named `<prefix>name` in a query string (repeated for lists), and its `progress`.
fn prefixed(query: Option<&str>, prefix: &str) -> (app::model::insight::UrlValues, Option<String>) {
    let mut values = app::model::insight::UrlValues::new();
    let mut progress = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if let Some(name) = k.strip_prefix(prefix) {
            values
                .entry(name.to_string())
                .or_default()
                .push(v.into_owned());
        } else if k == "progress" {
            progress = Some(v.into_owned());
        }
    }
    (values, progress)
}

/// `GET /insights/{id}/export.{csv|xlsx|json}?p_name=value…`: a plain URL a browser can
/// download, with the same authorization as viewing the insight.
async fn export_insight(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    axum::extract::Path((id, file)): axum::extract::Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    use app::{
        error::AppError,
        model::insight::InsightId,
        server::{export::ExportFormat, insights},
    };
    let (Ok(id), Some(format)) = (
        id.parse::<i64>(),
        file.strip_prefix("export.")
            .and_then(ExportFormat::from_extension),
    ) else {
        return download_error(AppError::NotFound("That export".into()));
    };
    let path = format!("/insights/{id}/{file}");
    let me = match download_principal(&state, &session, &path, query.as_deref()).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (values, progress) = prefixed(query.as_deref(), "p_");
    download(insights::export(&state, &me, InsightId(id), values, format, progress).await)
}

/// `GET /dashboards/{id}/export.xlsx?f_name=value…`: the whole board's data as one workbook
/// (a sheet of filter values, then a sheet per tile), for whoever may open the board.
async fn export_dashboard(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    axum::extract::Path((id, file)): axum::extract::Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    use app::{error::AppError, model::dashboard::DashboardId, server::dashboards};
    let Ok(id) = id.parse::<i64>() else {
        return download_error(AppError::NotFound("That export".into()));
    };
    if file != "export.xlsx" {
        return download_error(AppError::NotFound("That export".into()));
    }
    let path = format!("/dashboards/{id}/{file}");
    let me = match download_principal(&state, &session, &path, query.as_deref()).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (filters, _) = prefixed(query.as_deref(), "f_");
    download(dashboards::export_xlsx(&state, &me, DashboardId(id), filters).await)
}

/// `POST /imports?name=<file name>` with the file as the body: stores it and answers with
/// its preview (JSON), or an `AppError` as JSON with its status (413 when too large).
async fn upload_import(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    req: Request<Body>,
) -> Response {
    use app::{
        error::AppError,
        server::{auth::service::principal, import},
    };
    let fail = |status: u16, e: AppError| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(e)).into_response()
    };
    let me = match principal(&state, &session).await {
        Ok(Some(me)) => me,
        Ok(None) => return fail(401, AppError::Unauthenticated),
        Err(e) => return fail(e.status(), e),
    };
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let name = query.get("name").map(String::as_str).unwrap_or("");
    let body = req.into_body().into_data_stream();
    match import::upload(&state, &me, name, declared, body).await {
        Ok(preview) => Json(preview).into_response(),
        Err(e) => fail(e.status(), e.app_error()),
    }
}
