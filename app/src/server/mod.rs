//! The engine (ssr only): metadata store, authentication, services. Knows nothing of views.
pub mod alerts;
pub mod auth;
pub mod charts;
pub mod connections;
pub mod connectors;
pub mod crypto;
pub mod dashboards;
pub mod db;
pub mod demo;
pub mod egress;
pub mod engine;
pub mod export;
pub mod home;
pub mod import;
pub mod insights;
pub mod links;
pub mod plugins;
pub mod result_cache;
pub mod settings;
pub mod setup;
pub mod state;
pub mod users;
pub mod workbench;

pub use auth::rbac::Principal;
pub use state::AppState;

use crate::error::{internal, AppError};
use leptos::prelude::use_context;
use tower_sessions::Session;

/// The application state provided to server functions and SSR.
/// Sends a plain form post (no JavaScript yet: the browser asked for HTML) on to `to` with a
/// 302. A hydrated page gets the plain answer and loads the page itself, whole, so that every
/// part of the app starts signed in.
pub fn redirect_plain_form(to: &str) {
    let plain_form = use_context::<http::request::Parts>().is_some_and(|req| {
        req.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if plain_form {
        leptos_axum::redirect(to);
    }
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal("AppState is not in the Leptos context"))
}

/// The caller's session (from the session layer).
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(internal)
}

/// State plus the signed-in principal; `Unauthenticated` when nobody is signed in.
pub async fn ctx() -> Result<(AppState, Principal), AppError> {
    let state = state()?;
    let session = session().await?;
    let me = auth::service::principal(&state, &session)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok((state, me))
}

/// The caller's IP address: the socket peer, or the last `X-Forwarded-For` hop when the
/// operator said a trusted proxy sits in front.
pub async fn client_ip(state: &AppState) -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    if state.settings.trust_proxy_headers {
        if let Some(hop) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return Some(hop.to_string());
        }
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}
