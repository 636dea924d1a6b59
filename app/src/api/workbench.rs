//! The SQL workbench: run, follow, page, sort, cancel, history, reset. Ad-hoc SQL is for
//! editors and admins; every run belongs to the user who started it.
use crate::{
    error::AppError,
    model::{
        connection::ConnectionId,
        run::{HistoryEntry, NamedRunRequest, Page, RunId, RunRequest, RunView, Sort},
    },
};
use leptos::prelude::*;
use server_fn::codec::Json;

#[server(endpoint = "run_sql", input = Json)]
pub async fn run_sql(request: RunRequest) -> Result<RunView, AppError> {
    use crate::server::{ctx, workbench};
    let (state, me) = ctx().await?;
    workbench::run(&state, &me, request).await
}

/// Runs SQL with `{{name}}` parameters (typed values, bound by the server) before it is
/// saved as an insight.
#[server(endpoint = "run_sql_named", input = Json)]
pub async fn run_sql_named(request: NamedRunRequest) -> Result<RunView, AppError> {
    use crate::server::{ctx, workbench};
    let (state, me) = ctx().await?;
    workbench::run_named(&state, &me, request).await
}

#[server(endpoint = "run_status", input = Json)]
pub async fn run_status(id: RunId, wait_ms: u32) -> Result<RunView, AppError> {
    use crate::server::{ctx, workbench};
    let (state, me) = ctx().await?;
    workbench::status(&state, &me, &id, wait_ms).await
}

#[server(endpoint = "fetch_rows", input = Json)]
pub async fn fetch_rows(
    id: RunId,
    offset: u64,
    limit: u32,
    sort: Option<Sort>,
) -> Result<Page, AppError> {
    use crate::server::{ctx, workbench};
    let (state, me) = ctx().await?;
    workbench::rows(&state, &me, &id, offset, limit, sort).await
}

#[server(endpoint = "cancel_run", input = Json)]
pub async fn cancel_run(id: RunId) -> Result<RunView, AppError> {
    use crate::server::{ctx, workbench};
    let (state, me) = ctx().await?;
    workbench::cancel(&state, &me, &id).await
}

#[server(endpoint = "reset_session", input = Json)]
pub async fn reset_session(connection_id: ConnectionId) -> Result<(), AppError> {
    use crate::server::{ctx, workbench};
    let (state, me) = ctx().await?;
    workbench::reset(&state, &me, connection_id).await
}

#[server(endpoint = "query_history", input = Json)]
pub async fn query_history(search: Option<String>) -> Result<Vec<HistoryEntry>, AppError> {
    use crate::server::{ctx, workbench};
    let (state, me) = ctx().await?;
    workbench::history(&state, &me, search).await
}
