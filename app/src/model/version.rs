//! The history insights and dashboards both keep: one entry per saved version.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One entry of an insight's or a dashboard's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    pub version: i64,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
    /// What changed, e.g. "SQL, parameters".
    pub summary: String,
}
