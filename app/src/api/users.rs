//! Account administration (admins only; the service enforces it).
use crate::{
    error::AppError,
    model::{NewUser, Role, User, UserId},
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
