//! Sign-in, sign-out and the signed-in user.
use crate::{
    error::AppError,
    model::{AuditEvent, Me},
};
use leptos::prelude::*;

/// Signs in and redirects to `next` (a local path) or `/`.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{auth::service, client_ip, session, state};
    let (state, session) = (state()?, session().await?);
    let ip = client_ip(&state).await;
    service::login(&state, &session, ip, &email, &password).await?;
    leptos_axum::redirect(&crate::model::validate::next_path(next.as_deref()));
    Ok(())
}

/// Ends the session and returns to the sign-in page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{auth::service, ctx, session};
    let ((state, me), session) = (ctx().await?, session().await?);
    service::logout(&state, &session, &me).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in user; `Unauthenticated` when nobody is.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Me, AppError> {
    use crate::server::ctx;
    ctx().await?.1.me()
}

/// Changes the signed-in user's password.
#[server(endpoint = "change_password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    use crate::server::{auth::service, ctx, session};
    let ((state, me), session) = (ctx().await?, session().await?);
    service::change_password(&state, &session, &me, current, new).await
}

/// The signed-in user's recent sign-ins and refused attempts.
#[server(endpoint = "recent_sign_ins")]
pub async fn recent_sign_ins() -> Result<Vec<AuditEvent>, AppError> {
    use crate::server::{auth::service, ctx};
    let (state, me) = ctx().await?;
    service::recent_sign_ins(&state, &me).await
}
