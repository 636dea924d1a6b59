//! Account administration (admins only; the service enforces it).
use crate::{
    error::AppError,
    model::{
        user::{AccountLink, LinkInfo},
        NewUser, Role, User, UserId,
    },
};
use leptos::prelude::*;

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<User>, AppError> {
    use crate::server::{ctx, users};
    let (state, me) = ctx().await?;
    users::list(&state, &me).await
}

#[server(endpoint = "create_user")]
pub async fn create_user(input: NewUser) -> Result<User, AppError> {
    use crate::server::{ctx, users};
    let (state, me) = ctx().await?;
    users::create(&state, &me, input).await
}

#[server(endpoint = "set_user_role")]
pub async fn set_user_role(id: UserId, role: Role) -> Result<(), AppError> {
    use crate::server::{ctx, users};
    let (state, me) = ctx().await?;
    users::set_role(&state, &me, id, role).await
}

#[server(endpoint = "set_user_disabled")]
pub async fn set_user_disabled(id: UserId, disabled: bool) -> Result<(), AppError> {
    use crate::server::{ctx, users};
    let (state, me) = ctx().await?;
    users::set_disabled(&state, &me, id, disabled).await
}

/// Invites someone: a one-time link that creates their account (emailed when SMTP is set up).
#[server(endpoint = "invite_user")]
pub async fn invite_user(email: String, role: Role) -> Result<AccountLink, AppError> {
    use crate::server::{ctx, links};
    let (state, me) = ctx().await?;
    links::invite(&state, &me, &email, role).await
}

/// A one-time link that sets a new password on another user's account.
#[server(endpoint = "password_reset_link")]
pub async fn password_reset_link(id: UserId) -> Result<AccountLink, AppError> {
    use crate::server::{ctx, links};
    let (state, me) = ctx().await?;
    links::reset(&state, &me, id).await
}

/// What a one-time link is for (anyone holding it may ask).
#[server(endpoint = "account_link_info")]
pub async fn account_link_info(token: String) -> Result<LinkInfo, AppError> {
    use crate::server::{links, state};
    links::info(&state()?, &token).await
}

/// Uses a one-time link with the chosen password, and signs in.
#[server(endpoint = "accept_account_link")]
pub async fn accept_account_link(token: String, password: String) -> Result<(), AppError> {
    use crate::server::{links, session, state};
    let (state, session) = (state()?, session().await?);
    links::accept(&state, &session, &token, password).await?;
    crate::server::redirect_plain_form("/");
    Ok(())
}
