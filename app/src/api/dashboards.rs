//! Dashboards: the list, opening, saving (versioned, with a conflict check), trash,
//! duplicate, versions and revert, adding an insight as a tile, a new tile's insight, and
//! the choices of a filter. Tiles run with `run_insight` (the values the filters feed them). Everyone signed in opens and runs; editors change any dashboard,
//! a viewer the ones they own.
use crate::{
    error::AppError,
    model::{
        dashboard::{Dashboard, DashboardDraft, DashboardId, DashboardSummary, TileInfo},
        insight::{InsightId, UrlValues},
        params::EnumOption,
        version::VersionEntry,
    },
};
use leptos::prelude::*;
use server_fn::codec::Json;

#[server(endpoint = "dashboard_list", input = Json)]
pub async fn dashboard_list(
    search: Option<String>,
    trash: bool,
) -> Result<Vec<DashboardSummary>, AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::list(&state, &me, search, trash).await
}

#[server(endpoint = "get_dashboard", input = Json)]
pub async fn get_dashboard(id: DashboardId) -> Result<Dashboard, AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::open(&state, &me, id).await
}

/// `base_version: None` overwrites whatever version is current (after a conflict, by choice).
#[server(endpoint = "save_dashboard", input = Json)]
pub async fn save_dashboard(
    id: Option<DashboardId>,
    base_version: Option<i64>,
    draft: DashboardDraft,
) -> Result<Dashboard, AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::save(&state, &me, id, base_version, draft).await
}

#[server(endpoint = "trash_dashboard", input = Json)]
pub async fn trash_dashboard(id: DashboardId, trashed: bool) -> Result<(), AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::set_trashed(&state, &me, id, trashed).await
}

#[server(endpoint = "duplicate_dashboard", input = Json)]
pub async fn duplicate_dashboard(id: DashboardId) -> Result<Dashboard, AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::duplicate(&state, &me, id).await
}

#[server(endpoint = "dashboard_versions", input = Json)]
pub async fn dashboard_versions(id: DashboardId) -> Result<Vec<VersionEntry>, AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::versions(&state, &me, id).await
}

#[server(endpoint = "revert_dashboard", input = Json)]
pub async fn revert_dashboard(id: DashboardId, version: i64) -> Result<Dashboard, AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::revert(&state, &me, id, version).await
}

/// Adds an insight as a tile to a dashboard, or to a new one named `new_name`; returns the
/// dashboard's id.
#[server(endpoint = "add_to_dashboard", input = Json)]
pub async fn add_to_dashboard(
    dashboard: Option<DashboardId>,
    new_name: Option<String>,
    insight: InsightId,
) -> Result<DashboardId, AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::add_insight(&state, &me, dashboard, new_name, insight).await
}

/// What a tile showing `insight` needs: its name, parameters, saved view and drill-downs
/// (for a tile added in the editor before the dashboard is saved).
#[server(endpoint = "insight_tile", input = Json)]
pub async fn insight_tile(insight: InsightId) -> Result<TileInfo, AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::insight_tile(&state, &me, insight).await
}

#[server(endpoint = "filter_options", input = Json)]
pub async fn filter_options(
    id: DashboardId,
    name: String,
    values: UrlValues,
) -> Result<Vec<EnumOption>, AppError> {
    use crate::server::{ctx, dashboards};
    let (state, me) = ctx().await?;
    dashboards::filter_options(&state, &me, id, name, values).await
}
