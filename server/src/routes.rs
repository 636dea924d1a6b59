//! The router: server functions, SSR pages, static assets and `/healthz`.
use crate::middleware;
use app::{server::AppState, shell, App};
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

    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/api/{*fn_name}",
            post(move |req: Request<Body>| {
                handle_server_fns_with_context(api_context.clone(), req)
            }),
        )
        .leptos_routes_with_context(&state, routes, context, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(middleware::api_error_status))
        .layer(axum::middleware::from_fn_with_state(
            site,
            middleware::same_origin_api,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn(middleware::security_headers))
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
