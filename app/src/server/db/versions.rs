//! The history insights and dashboards both keep: one row per saved version (its number,
//! author, time, a summary of what changed and the whole body as JSON), written in the same
//! transaction as the object's own row by `insights::insert/update` and
//! `dashboards::insert/update` (with [`Versioned::insert_sql`]), read back here.
use super::{json_column, on_pool, Db};
use crate::{error::AppError, model::version::VersionEntry};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

/// What kind of object a history belongs to; each has its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioned {
    Insight,
    Dashboard,
}

impl Versioned {
    fn name(self) -> &'static str {
        match self {
            Versioned::Insight => "insight",
            Versioned::Dashboard => "dashboard",
        }
    }

    /// Stores one version: binds `(id, version, author_id, created_at, summary, body)`.
    pub fn insert_sql(self) -> &'static str {
        match self {
            Versioned::Insight => {
                "INSERT INTO insight_versions (insight_id, version, author_id, created_at, \
                 summary, body) VALUES ($1, $2, $3, $4, $5, $6)"
            }
            Versioned::Dashboard => {
                "INSERT INTO dashboard_versions (dashboard_id, version, author_id, created_at, \
                 summary, body) VALUES ($1, $2, $3, $4, $5, $6)"
            }
        }
    }

    fn list_sql(self) -> &'static str {
        match self {
            Versioned::Insight => {
                "SELECT v.version, u.email AS author, v.created_at, v.summary \
                 FROM insight_versions v LEFT JOIN users u ON u.id = v.author_id \
                 WHERE v.insight_id = $1 ORDER BY v.version DESC LIMIT 1000"
            }
            Versioned::Dashboard => {
                "SELECT v.version, u.email AS author, v.created_at, v.summary \
                 FROM dashboard_versions v LEFT JOIN users u ON u.id = v.author_id \
                 WHERE v.dashboard_id = $1 ORDER BY v.version DESC LIMIT 1000"
            }
        }
    }

    fn body_sql(self) -> &'static str {
        match self {
            Versioned::Insight => {
                "SELECT body FROM insight_versions WHERE insight_id = $1 AND version = $2"
            }
            Versioned::Dashboard => {
                "SELECT body FROM dashboard_versions WHERE dashboard_id = $1 AND version = $2"
            }
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct VersionRow {
    version: i64,
    author: Option<String>,
    created_at: DateTime<Utc>,
    summary: String,
}

/// The newest 1,000 versions of one object, newest first.
pub async fn list(db: &Db, of: Versioned, id: i64) -> Result<Vec<VersionEntry>, AppError> {
    let rows: Vec<VersionRow> =
        on_pool!(db, p => sqlx::query_as(of.list_sql()).bind(id).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|v| VersionEntry {
            version: v.version,
            author: v.author,
            created_at: v.created_at,
            summary: v.summary,
        })
        .collect())
}

/// The body saved as `version`, decoded; not found when there is no such version, an
/// internal error (logged with the object and the version) when it does not decode.
pub async fn body<T: DeserializeOwned>(
    db: &Db,
    of: Versioned,
    id: i64,
    version: i64,
) -> Result<T, AppError> {
    let body: Option<String> = on_pool!(db, p => sqlx::query_scalar(of.body_sql()).bind(id).bind(version).fetch_optional(p).await)?;
    let body = body.ok_or_else(|| AppError::NotFound(format!("Version {version}")))?;
    json_column(
        &format!("{} {id}", of.name()),
        format_args!("version {version}"),
        "body",
        &body,
    )
}
