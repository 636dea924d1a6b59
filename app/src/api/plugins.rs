//! Visualization plugins: the installed ones (everyone, for the chart picker) and removing one
//! (admins). Installing a zip is `POST /plugins` (a raw upload, see `server/src/routes.rs`).
use crate::{error::AppError, model::chart::PluginInfo};
use leptos::prelude::*;
use server_fn::codec::Json;

#[server(endpoint = "list_plugins", input = Json)]
pub async fn list_plugins() -> Result<Vec<PluginInfo>, AppError> {
    use crate::server::{ctx, plugins};
    let (state, me) = ctx().await?;
    plugins::list(&state, &me).await
}

#[server(endpoint = "remove_plugin", input = Json)]
pub async fn remove_plugin(id: String) -> Result<(), AppError> {
    use crate::server::{ctx, plugins};
    let (state, me) = ctx().await?;
    plugins::remove(&state, &me, &id).await
}
