//! First-run setup: the only server functions besides `login` that anonymous callers may use.
use crate::error::AppError;
use leptos::prelude::*;

/// `Ok` while the token is the live setup token and no account exists.
#[server(endpoint = "check_setup_token")]
pub async fn check_setup_token(token: String) -> Result<(), AppError> {
    use crate::server::{setup, state};
    setup::check(&state()?, &token).await
}

/// Creates the first admin, then sends them to sign in.
#[server(endpoint = "create_first_admin")]
pub async fn create_first_admin(
    token: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    use crate::server::{setup, state};
    setup::create_first_admin(&state()?, &token, &email, password).await?;
    leptos_axum::redirect("/login?setup=done");
    Ok(())
}
