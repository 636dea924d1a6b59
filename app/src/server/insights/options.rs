//! The choices of a parameter whose options come from a query (run read-only, bounded).
use super::{
    draft_of, live_row,
    run::{bound, dialect, label, parse_values, Prepared},
};
use crate::{
    error::AppError,
    model::{
        insight::{InsightId, UrlValues},
        params::{self, EnumOption, ParamSpec},
        query::{Column, Value},
        Permission,
    },
    server::{
        connections,
        connectors::{ConnectorError, RowSink},
        AppState, Principal,
    },
};

/// The choices of a parameter (or a dashboard filter) given the other values: its fixed
/// options, or its source insight's result.
pub(crate) async fn spec_options(
    state: &AppState,
    spec: &ParamSpec,
    values: &UrlValues,
) -> Result<Vec<EnumOption>, AppError> {
    options_for(state, spec, values).await
}

/// Collects at most 1,000 rows of (value, label) for a dropdown.
struct OptionSink {
    out: Vec<EnumOption>,
}

impl RowSink for OptionSink {
    fn columns(&mut self, _: &[Column]) -> Result<(), ConnectorError> {
        Ok(())
    }
    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        let text = |v: Option<&Value>| v.and_then(Value::display);
        if let Some(value) = text(row.first()) {
            let label = text(row.get(1)).unwrap_or_else(|| value.clone());
            if !self.out.iter().any(|o| o.value == value) {
                self.out.push(EnumOption { value, label });
            }
        }
        Ok(())
    }
}

/// The choices of a query-backed parameter: its source insight run with the source's
/// parameters filled from this insight's current values (cascading dropdowns).
pub(super) async fn options_for(
    state: &AppState,
    spec: &ParamSpec,
    values: &UrlValues,
) -> Result<Vec<EnumOption>, AppError> {
    let Some(src) = &spec.source else {
        return Ok(spec.options.clone());
    };
    let mut source_values = UrlValues::new();
    for (source_param, ours) in &src.depends_on {
        if let Some(v) = values.get(ours) {
            source_values.insert(source_param.clone(), v.clone());
        }
    }
    let p = Box::pin(prepare_source(
        state,
        InsightId(src.insight_id),
        &source_values,
    ))
    .await?;
    let mut sink = OptionSink { out: vec![] };
    p.run(state, 1000, Default::default(), &mut sink)
        .await
        .map_err(|e| {
            AppError::Unavailable(format!(
                "The list for {} could not be loaded: {e}",
                label(spec)
            ))
        })?;
    Ok(sink.out)
}

/// Like `prepare`, for a dropdown's source insight (whose own query-backed parameters are
/// not checked again, which also ends any cycle of sources).
async fn prepare_source(
    state: &AppState,
    id: InsightId,
    values: &UrlValues,
) -> Result<Prepared, AppError> {
    let insight = live_row(state, id)
        .await
        .map_err(|_| AppError::NotFound("The insight this list comes from".into()))?;
    let draft = draft_of(&insight)?;
    let conn_id = draft
        .connection_id
        .ok_or_else(|| AppError::Conflict("The list's insight has no connection.".into()))?;
    let connection = connections::row(state, conn_id).await?;
    let typed = parse_values(&draft.params, values)?;
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

/// The choices of one parameter of an insight given the other parameters' values.
pub async fn param_options(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    name: String,
    values: UrlValues,
) -> Result<Vec<EnumOption>, AppError> {
    me.require(Permission::ViewInsights)?;
    let r = live_row(state, id).await?;
    let draft = draft_of(&r)?;
    let spec = draft
        .params
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| AppError::NotFound(format!("Parameter {name}")))?;
    options_for(state, spec, &values).await
}
