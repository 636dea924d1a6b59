//! Workbench services: ad-hoc SQL for editors and admins, results paged from snapshots.
//! Following, paging and cancelling a run is open to every role (viewers run insights);
//! runs are scoped to their owner, so nobody reaches another user's result.
use crate::{
    error::AppError,
    model::{
        connection::ConnectionId,
        params::{self, Dialect, ParamKind},
        run::{HistoryEntry, NamedRunRequest, Page, RunId, RunRequest, RunView, Sort, MAX_PAGE},
        Permission,
    },
    server::{
        connections, connectors::Param, db::runs as runs_repo, insights, AppState, Principal,
    },
};
use std::time::Duration;

fn owner(me: &Principal) -> Result<crate::model::UserId, AppError> {
    me.user_id.ok_or(AppError::Unauthenticated)
}

pub async fn run(state: &AppState, me: &Principal, req: RunRequest) -> Result<RunView, AppError> {
    me.require(Permission::EditInsights)?;
    let user = owner(me)?;
    if req.sql.trim().is_empty() {
        return Err(AppError::field("sql", "Write a query to run."));
    }
    if req.sql.len() > 1_000_000 {
        return Err(AppError::field("sql", "The query is longer than 1 MB."));
    }
    if req.params.len() > 100 || req.params.iter().flatten().any(|p| p.len() > 100_000) {
        return Err(AppError::field(
            "params",
            "Too many or too long parameter values.",
        ));
    }
    let row = connections::row(state, req.connection_id).await?;
    if !row.active {
        return Err(AppError::Conflict(format!(
            "The connection '{}' is inactive; an editor can activate it on the Connections page.",
            row.name
        )));
    }
    let values = req
        .params
        .into_iter()
        .map(|p| p.map_or(Param::Null, Param::Text))
        .collect();
    start_and_answer(state, user, &row, req.sql, values, req.page_size).await
}

/// Runs SQL with `{{name}}` parameters from the workbench, before it is saved as an insight:
/// the values are parsed against the chosen types and bound through the driver's
/// placeholders, exactly as an insight's are (never spliced into the SQL).
pub async fn run_named(
    state: &AppState,
    me: &Principal,
    req: NamedRunRequest,
) -> Result<RunView, AppError> {
    me.require(Permission::EditInsights)?;
    let user = owner(me)?;
    if req.sql.trim().is_empty() {
        return Err(AppError::field("sql", "Write a query to run."));
    }
    if req.sql.len() > 1_000_000 {
        return Err(AppError::field("sql", "The query is longer than 1 MB."));
    }
    params::validate_specs(&req.params).map_err(|(field, m)| AppError::field(&field, m))?;
    // Choices from another insight are loaded by running that insight: only saved insights
    // have them.
    if let Some(p) = req.params.iter().find(|p| p.kind == ParamKind::Query) {
        return Err(AppError::field(
            &format!("p_{}", p.name),
            "Choices from an insight work once the SQL is saved as an insight; choose another type to run it here.",
        ));
    }
    let typed = insights::parse_values(&req.params, &req.values)?;
    let row = connections::row(state, req.connection_id).await?;
    if !row.active {
        return Err(AppError::Conflict(format!(
            "The connection '{}' is inactive; an editor can activate it on the Connections page.",
            row.name
        )));
    }
    let d = match row.kind.as_str() {
        "postgres" => Dialect::Postgres,
        "mysql" => Dialect::Mysql,
        _ => Dialect::Sqlite,
    };
    let compiled = params::compile(&req.sql, &req.params, &typed, d)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let values = compiled
        .values
        .into_iter()
        .map(|v| insights::bound(v, d))
        .collect();
    start_and_answer(state, user, &row, compiled.sql, values, req.page_size).await
}

/// Starts a run and answers with its first page when that is quick to get.
async fn start_and_answer(
    state: &AppState,
    user: crate::model::UserId,
    row: &crate::server::db::connections::ConnectionRow,
    sql: String,
    values: Vec<Param>,
    page_size: u32,
) -> Result<RunView, AppError> {
    let handle = state
        .engine
        .start(user, row, sql, values, row.writable)
        .await?;
    state.engine.first_view(&handle, page_size).await
}

pub async fn status(
    state: &AppState,
    me: &Principal,
    id: &RunId,
    wait_ms: u32,
) -> Result<RunView, AppError> {
    me.require(Permission::ViewInsights)?;
    let h = state.engine.get(owner(me)?, id)?;
    if wait_ms > 0 {
        let seen = h.view();
        if !seen.state.finished() {
            // Long-poll: answer when something changes, at most `wait_ms` (≤ 5 s) later.
            state
                .engine
                .wait(
                    &h,
                    seen.row_count + 1,
                    Duration::from_millis(u64::from(wait_ms.min(5000))),
                )
                .await;
        }
    }
    Ok(h.view())
}

pub async fn rows(
    state: &AppState,
    me: &Principal,
    id: &RunId,
    offset: u64,
    limit: u32,
    sort: Option<Sort>,
) -> Result<Page, AppError> {
    me.require(Permission::ViewInsights)?;
    let h = state.engine.get(owner(me)?, id)?;
    state
        .engine
        .page(&h, offset, limit.clamp(1, MAX_PAGE), sort)
        .await
}

pub async fn cancel(state: &AppState, me: &Principal, id: &RunId) -> Result<RunView, AppError> {
    me.require(Permission::ViewInsights)?;
    let me = owner(me)?;
    let h = state.engine.get(me, id)?;
    // A shared (cached) run may feed other viewers' tiles: only who started it stops it;
    // anyone else just stops following it.
    if h.shared.is_some() && h.owner != me {
        return Ok(h.view());
    }
    Ok(state.engine.cancel(&h).await)
}

pub async fn reset(state: &AppState, me: &Principal, id: ConnectionId) -> Result<(), AppError> {
    me.require(Permission::EditInsights)?;
    connections::row(state, id).await?;
    state.engine.reset(id, Some(owner(me)?)).await;
    Ok(())
}

pub async fn history(
    state: &AppState,
    me: &Principal,
    search: Option<String>,
) -> Result<Vec<HistoryEntry>, AppError> {
    me.require(Permission::EditInsights)?;
    Ok(runs_repo::history(&state.db, owner(me)?, search.as_deref(), 200).await?)
}
