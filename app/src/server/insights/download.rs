//! Downloads of an insight's result (CSV, JSON, XLSX) streamed from the database, and their
//! progress and cancel.
use super::run::prepare;
use crate::{
    error::AppError,
    model::{
        insight::{InsightId, UrlValues},
        Permission,
    },
    server::{connectors::RunSummary, AppState, Principal},
};

/// Whose a download is (the command-line operator, who has no account, is 0).
fn download_owner(me: &Principal) -> i64 {
    me.user_id.map_or(0, |u| u.0)
}

/// Where the caller's download under `token` stands; `None` while the server has not seen
/// it (its request may still be on the way), and for anybody else's.
pub fn export_status(
    state: &AppState,
    me: &Principal,
    token: &str,
) -> Result<Option<crate::model::insight::ExportStatus>, AppError> {
    me.require(Permission::ViewInsights)?;
    Ok(state
        .exports
        .get(download_owner(me), token)
        .map(|p| p.status()))
}

/// Stops the caller's download under `token` (the file ends incomplete, as a failed
/// download); its status once stopped.
pub fn cancel_export(
    state: &AppState,
    me: &Principal,
    token: &str,
) -> Result<crate::model::insight::ExportStatus, AppError> {
    me.require(Permission::ViewInsights)?;
    let p = state
        .exports
        .get(download_owner(me), token)
        .ok_or_else(|| AppError::NotFound("That download".into()))?;
    p.cancel.cancel();
    Ok(p.status())
}

/// An export download: the file name, its content type and the streaming body.
pub struct Download {
    pub filename: String,
    pub content_type: &'static str,
    pub body: crate::server::export::BodyStream,
}

/// Streams an insight's result with the given values as CSV, JSON or XLSX, straight from
/// the database (no snapshot, no row cap). Same authorization as viewing; read-only.
pub async fn export(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    values: UrlValues,
    format: crate::server::export::ExportFormat,
    progress: Option<String>,
) -> Result<Download, AppError> {
    use crate::server::{db::audit, export};
    me.require(Permission::ViewInsights)?;
    let p = prepare(state, id, &values).await?;
    let progress = match progress {
        None => None,
        Some(token) => Some(track(state, me, &token)?),
    };
    let cancel = progress
        .as_ref()
        .map(|p| p.cancel.clone())
        .unwrap_or_default();
    let (mut sink, body) = export::export_tracked(
        format,
        &state.settings.data_dir,
        progress.clone(),
        export::FormulaGuard::from_setting(state.settings.csv_formula_guard),
    );
    let filename = format!("{}.{}", file_slug(&p.insight.name, id), format.extension());
    let task_state = state.clone();
    let user = me.user_id;
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        // CSV from PostgreSQL comes from its own COPY when the statement allows it (as fast
        // as `psql \copy`); otherwise, and for the other formats, rows go through the sink.
        let copied = match sink.copy_out() {
            Some(out) => {
                task_state
                    .engine
                    .copy_csv_direct(&p.connection, &p.sql, &p.params, cancel.clone(), out)
                    .await
            }
            None => Ok(None),
        };
        if let (Some(progress), Ok(Some(_))) = (&progress, &copied) {
            progress.bytes_only();
        }
        let (result, bytes) = match copied {
            // COPY counts bytes, not rows; the CSV sink's finish uses neither.
            Ok(Some(c)) => (
                Ok(RunSummary {
                    row_count: 0,
                    truncated: false,
                    elapsed: c.elapsed,
                }),
                Some(c.bytes),
            ),
            Ok(None) => (
                p.run(&task_state, u64::MAX, cancel.clone(), sink.as_mut())
                    .await,
                None,
            ),
            Err(e) => (Err(e), None),
        };
        let detail = serde_json::json!({
            "insight": p.insight.id,
            "format": format.extension(),
            "connection": p.connection.name,
            "params": p.params,
            "rows": result.as_ref().ok().filter(|_| bytes.is_none()).map(|s| s.row_count),
            "bytes": bytes,
            "elapsed_ms": started.elapsed().as_millis() as u64,
            "error": result.as_ref().err().map(|e| e.to_string()),
        })
        .to_string();
        let ended = result.as_ref().map(|_| ()).map_err(Clone::clone);
        sink.finish(result).await;
        if let Some(progress) = &progress {
            progress.end(&ended);
        }
        if let Err(e) = futures::FutureExt::boxed(audit::record(
            &task_state.db,
            user,
            "insight_export",
            None,
            &detail,
        ))
        .await
        {
            tracing::warn!(error = %e, "could not audit an export");
        }
    });
    Ok(Download {
        filename,
        content_type: format.content_type(),
        body,
    })
}

/// Starts tracking the caller's download under `token` (8 to 64 letters, digits, - or _).
fn track(
    state: &AppState,
    me: &Principal,
    token: &str,
) -> Result<std::sync::Arc<crate::server::export::Progress>, AppError> {
    if !crate::model::insight::valid_export_token(token) {
        return Err(AppError::BadRequest(
            "progress must be 8 to 64 letters, digits, - or _".into(),
        ));
    }
    state
        .exports
        .start(download_owner(me), token)
        .ok_or_else(|| AppError::Conflict("That progress token is taken.".into()))
}

/// A download's file name from the insight's name: lowercase ASCII words joined by `-` (at
/// most 60 characters), or `insight-<id>`.
fn file_slug(name: &str, id: InsightId) -> String {
    let slug = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if slug.is_empty() {
        format!("insight-{}", id.0)
    } else {
        slug.chars().take(60).collect()
    }
}
