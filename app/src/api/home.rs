//! The home page and the per-user star on insights.
use crate::{
    error::AppError,
    model::{home::Home, insight::InsightId},
};
use leptos::prelude::*;
use server_fn::codec::Json;

/// The first-run checklist, recent and starred insights of the signed-in user.
#[server(endpoint = "home", input = Json)]
pub async fn load_home() -> Result<Home, AppError> {
    use crate::server::{ctx, home};
    let (state, me) = ctx().await?;
    home::home(&state, &me).await
}

/// Stars (or unstars) an insight for the signed-in user.
#[server(endpoint = "set_favorite", input = Json)]
pub async fn set_favorite(insight: InsightId, favorite: bool) -> Result<(), AppError> {
    use crate::server::{ctx, home};
    let (state, me) = ctx().await?;
    home::set_favorite(&state, &me, insight, favorite).await
}
