//! Alerts on insights, their channels and the server's SMTP settings. Every function checks
//! the caller in the service (`server::alerts::service`); channel secrets never come back.
use crate::{
    error::AppError,
    model::{
        alert::{
            AlertDetail, AlertDraft, AlertId, AlertSummary, ChannelDraft, ChannelId,
            ChannelSummary, SmtpForm, SmtpView, TestReport,
        },
        insight::InsightId,
    },
};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use server_fn::codec::Json;

#[server(endpoint = "list_alerts", input = Json)]
pub async fn list_alerts(insight: Option<InsightId>) -> Result<Vec<AlertSummary>, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::list(&state, &me, insight).await
}

#[server(endpoint = "get_alert", input = Json)]
pub async fn get_alert(id: AlertId) -> Result<AlertDetail, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::get(&state, &me, id).await
}

#[server(endpoint = "save_alert", input = Json)]
pub async fn save_alert(id: Option<AlertId>, draft: AlertDraft) -> Result<AlertSummary, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::save(&state, &me, id, draft).await
}

/// The columns the insight returns with these parameter values, for the alert form's column
/// lists (empty when it cannot run now).
#[server(endpoint = "alert_columns", input = Json)]
pub async fn alert_columns(
    insight: InsightId,
    params: crate::model::insight::UrlValues,
) -> Result<Vec<String>, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::columns(&state, &me, insight, &params).await
}

#[server(endpoint = "delete_alert", input = Json)]
pub async fn delete_alert(id: AlertId) -> Result<(), AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::delete(&state, &me, id).await
}

#[server(endpoint = "mute_alert", input = Json)]
pub async fn mute_alert(id: AlertId, until: Option<DateTime<Utc>>) -> Result<(), AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::mute(&state, &me, id, until).await
}

#[server(endpoint = "evaluate_alert", input = Json)]
pub async fn evaluate_alert(id: AlertId) -> Result<i64, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::evaluate_now(&state, &me, id).await
}

#[server(endpoint = "list_channels", input = Json)]
pub async fn list_channels() -> Result<Vec<ChannelSummary>, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::list_channels(&state, &me).await
}

#[server(endpoint = "create_channel", input = Json)]
pub async fn create_channel(draft: ChannelDraft) -> Result<ChannelSummary, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::create_channel(&state, &me, draft).await
}

/// Renames a channel or replaces its settings (empty secret fields keep the stored ones).
#[server(endpoint = "update_channel", input = Json)]
pub async fn update_channel(
    id: ChannelId,
    draft: ChannelDraft,
) -> Result<ChannelSummary, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::update_channel(&state, &me, id, draft).await
}

#[server(endpoint = "delete_channel", input = Json)]
pub async fn delete_channel(id: ChannelId) -> Result<(), AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::delete_channel(&state, &me, id).await
}

#[server(endpoint = "test_channel", input = Json)]
pub async fn test_channel(id: ChannelId) -> Result<TestReport, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::test_channel(&state, &me, id).await
}

#[server(endpoint = "get_smtp", input = Json)]
pub async fn get_smtp() -> Result<SmtpView, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::get_smtp(&state, &me).await
}

#[server(endpoint = "save_smtp", input = Json)]
pub async fn save_smtp(form: SmtpForm) -> Result<SmtpView, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::save_smtp(&state, &me, form).await
}

#[server(endpoint = "test_smtp", input = Json)]
pub async fn test_smtp(to: String) -> Result<TestReport, AppError> {
    use crate::server::{alerts::service, ctx};
    let (state, me) = ctx().await?;
    service::test_smtp(&state, &me, to).await
}
