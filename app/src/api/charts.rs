//! Charts: the chart of a finished run, drawn from the first rows of its result.
use crate::{
    error::AppError,
    model::{
        chart::{ChartData, ChartSpec},
        run::RunId,
    },
};
use leptos::prelude::*;
use server_fn::codec::Json;

/// The chart of the caller's run: `spec` (the insight's saved one, or the editor's draft),
/// or a chart proposed from the column types when `None`.
#[server(endpoint = "get_chart", input = Json)]
pub async fn get_chart(run: RunId, spec: Option<ChartSpec>) -> Result<ChartData, AppError> {
    use crate::server::{charts, ctx};
    let (state, me) = ctx().await?;
    charts::chart(&state, &me, &run, spec).await
}
