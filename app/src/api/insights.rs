//! Insights: the folder tree, saving (versioned), trash, versions, running with typed
//! parameters, and the choices of query-backed dropdowns. Viewers open and run; editors
//! and admins change. Clients never send SQL or a connection for a run: the stored ones are
//! used (SECURITY.md case 12).
use crate::{
    error::AppError,
    model::{
        insight::{
            ExportStatus, Folder, FolderId, Insight, InsightDraft, InsightId, Tree, UrlValues,
            VersionEntry,
        },
        params::{EnumOption, ParamSpec},
        run::{CacheUse, RunView},
    },
};
use leptos::prelude::*;
use server_fn::codec::Json;

#[server(endpoint = "insight_tree", input = Json)]
pub async fn insight_tree(search: Option<String>, trash: bool) -> Result<Tree, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::tree(&state, &me, search, trash).await
}

#[server(endpoint = "get_insight", input = Json)]
pub async fn get_insight(id: InsightId) -> Result<Insight, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::open(&state, &me, id).await
}

/// Another insight's parameters, for the pickers that feed them (drill-downs, choices from an
/// insight). Does not count as opening it.
#[server(endpoint = "insight_params", input = Json)]
pub async fn insight_params(id: InsightId) -> Result<Vec<ParamSpec>, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::params(&state, &me, id).await
}

#[server(endpoint = "save_insight", input = Json)]
pub async fn save_insight(
    id: Option<InsightId>,
    base_version: Option<i64>,
    draft: InsightDraft,
) -> Result<Insight, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::save(&state, &me, id, base_version, draft).await
}

#[server(endpoint = "trash_insight", input = Json)]
pub async fn trash_insight(id: InsightId, trashed: bool) -> Result<(), AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::set_trashed(&state, &me, id, trashed).await
}

#[server(endpoint = "move_insight", input = Json)]
pub async fn move_insight(id: InsightId, folder: Option<FolderId>) -> Result<(), AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::move_to(&state, &me, id, folder).await
}

#[server(endpoint = "insight_versions", input = Json)]
pub async fn insight_versions(id: InsightId) -> Result<Vec<VersionEntry>, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::versions(&state, &me, id).await
}

#[server(endpoint = "insight_version", input = Json)]
pub async fn insight_version(id: InsightId, version: i64) -> Result<InsightDraft, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::version(&state, &me, id, version).await
}

#[server(endpoint = "revert_insight", input = Json)]
pub async fn revert_insight(id: InsightId, version: i64) -> Result<Insight, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::revert(&state, &me, id, version).await
}

#[server(endpoint = "save_folder", input = Json)]
pub async fn save_folder(
    id: Option<FolderId>,
    name: String,
    parent: Option<FolderId>,
) -> Result<Folder, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::save_folder(&state, &me, id, name, parent).await
}

#[server(endpoint = "trash_folder", input = Json)]
pub async fn trash_folder(id: FolderId, trashed: bool) -> Result<(), AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::set_folder_trashed(&state, &me, id, trashed).await
}

/// Runs a saved insight with these values through the result cache (see `CacheUse`; left
/// out, a result within the insight's cache time is reused).
#[server(endpoint = "run_insight", input = Json)]
pub async fn run_insight(
    id: InsightId,
    values: UrlValues,
    page_size: u32,
    #[server(default)] cache: CacheUse,
) -> Result<RunView, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::run(&state, &me, id, values, page_size, cache).await
}

#[server(endpoint = "param_options", input = Json)]
pub async fn param_options(
    id: InsightId,
    name: String,
    values: UrlValues,
) -> Result<Vec<EnumOption>, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::param_options(&state, &me, id, name, values).await
}

/// How the caller's download started with `?progress=<token>` stands (`None`: not seen yet).
#[server(endpoint = "export_progress", input = Json)]
pub async fn export_progress(token: String) -> Result<Option<ExportStatus>, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::export_status(&state, &me, &token)
}

/// Stops the caller's download started with `?progress=<token>`.
#[server(endpoint = "cancel_export", input = Json)]
pub async fn cancel_export(token: String) -> Result<ExportStatus, AppError> {
    use crate::server::{ctx, insights};
    let (state, me) = ctx().await?;
    insights::cancel_export(&state, &me, &token)
}
