//! First-run setup: the only server functions besides `login` that anonymous callers may use.
use crate::error::AppError;
use leptos::prelude::*;

/// `Ok` while the token is the live setup token and no account exists.
#[server(endpoint = "check_setup_token")]
pub async fn check_setup_token(token: String) -> Result<(), AppError> {
    use crate::server::{setup, state};
    setup::check(&state()?, &token).await
}

/// Creates the first admin and signs them in (no second typing of what they just chose),
/// then opens the home page with its first-steps list.
#[server(endpoint = "create_first_admin")]
pub async fn create_first_admin(
    token: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    use crate::server::{auth::service, client_ip, session, setup, state};
    let (state, session) = (state()?, session().await?);
    setup::create_first_admin(&state, &token, &email, password.clone()).await?;
    let ip = client_ip(&state).await;
    let to = match service::login(&state, &session, ip, &email, &password).await {
        Ok(_) => "/",
        // The account exists either way; signing in by hand still works.
        Err(_) => "/login?setup=done",
    };
    crate::server::redirect_plain_form(to);
    Ok(())
}
