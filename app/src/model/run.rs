//! Query runs as the workbench sees them: state, timings, columns and pages of the result.
use super::words::stored_words;
use super::{connection::ConnectionId, query::Column};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Id of one run (a random UUID: runs are also scoped to their owner).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub String);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

stored_words!(RunState, "run state", {
    Queued => "queued",
    Running => "running",
    Done => "done",
    Failed => "failed",
    Cancelled => "cancelled",
});

impl RunState {
    pub fn finished(self) -> bool {
        matches!(
            self,
            RunState::Done | RunState::Failed | RunState::Cancelled
        )
    }
}

/// An error of a run, in words the user can act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunError {
    pub message: String,
    /// SQLSTATE or the engine's code, when the database gave one.
    pub code: Option<String>,
    /// 1-based character position in the SQL, when the database gave one.
    pub position: Option<u32>,
}

/// What a run looks like right now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub id: RunId,
    pub state: RunState,
    /// Runs ahead of this one in its connection's queue (while queued).
    pub queue_position: Option<u32>,
    pub columns: Vec<Column>,
    /// Rows in the snapshot so far (all of them once done).
    pub row_count: u64,
    /// A cap stopped the run: the row cap (`row_count` is the cap), or the byte cap when
    /// `truncated_by_size` is set too.
    pub truncated: bool,
    /// The result reached the size limit of a snapshot (`--max-result-mb`); `row_count`
    /// rows were kept.
    #[serde(default)]
    pub truncated_by_size: bool,
    pub elapsed_ms: u64,
    pub error: Option<RunError>,
    /// The first page, when asked for and available.
    pub page: Option<Page>,
    /// When the rows were read from the database, for a result that goes through the result
    /// cache (an insight's or a tile's run): the page shows "updated 3 min ago".
    #[serde(default)]
    pub computed_at: Option<DateTime<Utc>>,
}

impl RunView {
    /// A run that was asked for and has no answer yet.
    pub fn queued() -> Self {
        RunView {
            id: RunId(String::new()),
            state: RunState::Queued,
            queue_position: None,
            columns: vec![],
            row_count: 0,
            truncated: false,
            truncated_by_size: false,
            elapsed_ms: 0,
            error: None,
            page: None,
            computed_at: None,
        }
    }
}

/// How a run of a saved insight uses the result cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "use", content = "dashboard")]
pub enum CacheUse {
    /// A result computed within the insight's cache time is reused.
    #[default]
    Reuse,
    /// As a tile of this dashboard: its cache time, when it sets one, wins.
    Board(i64),
    /// Read the database now (Refresh); the fresh result replaces the cached one.
    Fresh,
}

/// Minutes a result is reused when the insight sets nothing.
pub const DEFAULT_CACHE_MINUTES: u32 = 5;
/// The longest cache time an insight or a dashboard may set (a day).
pub const MAX_CACHE_MINUTES: u32 = 1440;
/// The cache times offered in the editors, in minutes.
pub const CACHE_CHOICES: [u32; 7] = [0, 1, 5, 15, 60, 360, 1440];

/// A cache time in words: "Never", "5 min", "6 h", "1 day".
pub fn cache_words(minutes: u32) -> String {
    match minutes {
        0 => "Never (always read the database)".into(),
        1440 => "1 day".into(),
        m if m >= 60 && m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

/// Server-side sort of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub column: u32,
    pub descending: bool,
}

/// A slice of a result: cells as display text, `None` for NULL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub offset: u64,
    pub rows: Vec<Vec<Option<String>>>,
}

/// What the workbench sends to run SQL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    pub connection_id: ConnectionId,
    pub sql: String,
    /// Values for `$1, $2, …` (`None` is NULL).
    #[serde(default)]
    pub params: Vec<Option<String>>,
    /// Rows of the first page to return with the answer (0..=1000).
    #[serde(default)]
    pub page_size: u32,
}

/// What the workbench sends to run SQL with `{{name}}` parameters before it is saved as an
/// insight: the parameters' types and their values in URL form, parsed, checked and bound on
/// the server exactly as an insight's are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedRunRequest {
    pub connection_id: ConnectionId,
    pub sql: String,
    /// The parameters the SQL uses, with the types the user chose.
    #[serde(default)]
    pub params: Vec<super::params::ParamSpec>,
    /// Values by parameter name, as an insight's URL carries them (`p_<name>`).
    #[serde(default)]
    pub values: super::insight::UrlValues,
    /// Rows of the first page to return with the answer (0..=1000).
    #[serde(default)]
    pub page_size: u32,
}

/// One entry of a user's query history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: RunId,
    pub connection_id: Option<ConnectionId>,
    pub connection_name: String,
    pub sql: String,
    pub params: Vec<Option<String>>,
    pub state: RunState,
    pub error: Option<String>,
    pub row_count: Option<u64>,
    pub elapsed_ms: Option<u64>,
    pub started_at: DateTime<Utc>,
}

/// The largest first page or page a client may ask for.
pub const MAX_PAGE: u32 = 1000;
