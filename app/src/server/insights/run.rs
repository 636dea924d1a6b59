//! Running an insight: its parameters parsed from the URL form, checked against their specs,
//! compiled to the connection dialect's placeholders and bound, never spliced.
use super::{draft_of, live_row, options::options_for, user};
use crate::{
    error::AppError,
    model::{
        insight::{InsightId, UrlValues},
        params::{self, BoundValue, Dialect, ParamKind, ParamSpec, ParamValue},
        run::{CacheUse, RunView},
        Permission,
    },
    server::{
        connections,
        connectors::{ConnectorError, Param, RowSink, RunSummary},
        db::{connections::ConnectionRow, insights as repo},
        AppState, Principal,
    },
};
use chrono::Utc;
use std::collections::BTreeMap;

/// An insight ready to run: its connection and the SQL with bound values.
pub struct Prepared {
    pub insight: repo::InsightRow,
    pub connection: ConnectionRow,
    pub sql: String,
    pub params: Vec<Param>,
}

impl Prepared {
    /// Runs the compiled statement on the insight's connection (read-only, at most
    /// `max_rows`), streaming rows into `sink`.
    pub async fn run(
        &self,
        state: &AppState,
        max_rows: u64,
        cancel: tokio_util::sync::CancellationToken,
        sink: &mut dyn RowSink,
    ) -> Result<RunSummary, ConnectorError> {
        state
            .engine
            .run_direct(
                &self.connection,
                &self.sql,
                &self.params,
                max_rows,
                cancel,
                sink,
            )
            .await
    }
}

pub(super) fn dialect(kind: &str) -> Dialect {
    match kind {
        "postgres" => Dialect::Postgres,
        "mysql" => Dialect::Mysql,
        _ => Dialect::Sqlite,
    }
}

/// A compiled value as the connectors take it (dates as text in each engine's form).
pub(crate) fn bound(v: BoundValue, d: Dialect) -> Param {
    match v {
        BoundValue::Null => Param::Null,
        BoundValue::Text(t) => Param::Text(t),
        BoundValue::Int(i) => Param::Int(i),
        BoundValue::Number(n) => Param::Number(n),
        BoundValue::Bool(b) => Param::Bool(b),
        BoundValue::Date(x) => Param::Text(x.format("%Y-%m-%d").to_string()),
        // SQLite compares text: use the form its date functions produce.
        BoundValue::DateTime(x) => Param::Text(match d {
            Dialect::Postgres => x.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            _ => x.format("%Y-%m-%d %H:%M:%S").to_string(),
        }),
        BoundValue::List(items) => Param::List(items.into_iter().map(|i| bound(i, d)).collect()),
    }
}

/// Parses the URL values against the specs (each error names its `p_<name>` field).
pub fn parse_values(
    specs: &[ParamSpec],
    values: &UrlValues,
) -> Result<BTreeMap<String, ParamValue>, AppError> {
    let today = Utc::now().date_naive();
    let mut errors = vec![];
    let mut out = BTreeMap::new();
    for spec in specs {
        let raw = values.get(&spec.name).cloned().unwrap_or_default();
        if raw.len() > 1000 || raw.iter().any(|v| v.len() > 100_000) {
            errors.push(crate::error::FieldError::new(
                &format!("p_{}", spec.name),
                "Too many or too long values.",
            ));
            continue;
        }
        match params::parse_value(spec, &raw, today) {
            Ok(v) => {
                out.insert(spec.name.clone(), v);
            }
            Err(m) => errors.push(crate::error::FieldError::new(
                &format!("p_{}", spec.name),
                m,
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Parses, checks and compiles an insight's parameters for its connection.
pub async fn prepare(
    state: &AppState,
    id: InsightId,
    values: &UrlValues,
) -> Result<Prepared, AppError> {
    let insight = live_row(state, id).await?;
    let draft = draft_of(&insight)?;
    let conn_id = draft.connection_id.ok_or_else(|| {
        AppError::Conflict(
            "This insight's connection was deleted; an editor can choose another.".into(),
        )
    })?;
    let connection = connections::row(state, conn_id).await?;
    if !connection.active {
        return Err(AppError::Conflict(format!(
            "The connection '{}' is inactive; an editor can activate it on the Connections page.",
            connection.name
        )));
    }
    let typed = parse_values(&draft.params, values)?;
    // A query-backed choice must be one of the choices the list offers.
    for spec in &draft.params {
        if spec.kind == ParamKind::Query {
            let chosen: Vec<String> = match typed.get(&spec.name) {
                Some(ParamValue::Text(t)) => vec![t.clone()],
                Some(ParamValue::List(items)) => items
                    .iter()
                    .filter_map(|v| match v {
                        ParamValue::Text(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => vec![],
            };
            if !chosen.is_empty() {
                let offered = options_for(state, spec, values).await?;
                if let Some(bad) = chosen
                    .iter()
                    .find(|c| !offered.iter().any(|o| &o.value == *c))
                {
                    return Err(AppError::field(
                        &format!("p_{}", spec.name),
                        format!(
                            "'{}' is not one of the choices for {}.",
                            params::clip(bad),
                            label(spec)
                        ),
                    ));
                }
            }
        }
    }
    let d = dialect(&connection.kind);
    let compiled = params::compile(&draft.sql, &draft.params, &typed, d)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    Ok(Prepared {
        insight,
        connection,
        sql: compiled.sql,
        params: compiled.values.into_iter().map(|v| bound(v, d)).collect(),
    })
}

pub(super) fn label(spec: &ParamSpec) -> &str {
    if spec.label.trim().is_empty() {
        &spec.name
    } else {
        &spec.label
    }
}

/// Runs an insight with the given URL values; the result is followed and paged like a
/// workbench run (it belongs to the caller). Insights always run read-only.
pub async fn run(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    values: UrlValues,
    page_size: u32,
    cache: CacheUse,
) -> Result<RunView, AppError> {
    me.require(Permission::ViewInsights)?;
    let owner = user(me)?;
    let p = prepare(state, id, &values).await?;
    let handle = crate::server::result_cache::run(state, owner, p, cache).await?;
    state.engine.first_view(&handle, page_size).await
}
