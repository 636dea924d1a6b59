//! What a channel sends: the message (alert, transition, value, a table excerpt, a link
//! back) and its plain-text table.
use super::*;

/// Rows an excerpt keeps by default.
pub const EXCERPT_MAX_ROWS: usize = 10;

/// Columns an excerpt keeps (wider results are cut, with a note).
pub const EXCERPT_MAX_COLUMNS: usize = 12;

/// Characters a cell keeps in an excerpt.
pub(super) const MAX_CELL_CHARS: usize = 60;

/// The state change a message reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Firing,
    Resolved,
    /// The alert's query failed; not a resolution.
    Error,
    /// The query returned nothing the rule could judge; not a resolution either.
    NoData,
    /// A periodic summary.
    Digest,
    /// A channel's "Send test": says nothing about any alert's state.
    Test,
}

impl Transition {
    pub fn label(self) -> &'static str {
        match self {
            Self::Firing => "Firing",
            Self::Resolved => "Resolved",
            Self::Error => "Error",
            Self::NoData => "No data",
            Self::Digest => "Digest",
            Self::Test => "Test",
        }
    }

    pub(super) fn emoji(self) -> &'static str {
        match self {
            Self::Firing => ":rotating_light:",
            Self::Resolved => ":white_check_mark:",
            Self::Error => ":warning:",
            Self::NoData => ":grey_question:",
            Self::Digest => ":bar_chart:",
            Self::Test => ":test_tube:",
        }
    }
}

/// The first rows of the alert's result, as display text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableExcerpt {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows in the whole result, when more than `rows` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_rows: Option<u64>,
    /// Columns in the whole result, when more than `columns` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_columns: Option<u64>,
}

impl TableExcerpt {
    /// Keeps at most `max_rows` rows and [`EXCERPT_MAX_COLUMNS`] columns, cells cut to a
    /// readable length.
    pub fn new(columns: Vec<String>, rows: Vec<Vec<String>>, max_rows: usize) -> Self {
        let total_rows = (rows.len() > max_rows).then_some(rows.len() as u64);
        let total_columns = (columns.len() > EXCERPT_MAX_COLUMNS).then_some(columns.len() as u64);
        let width = columns.len().min(EXCERPT_MAX_COLUMNS);
        let columns = columns.into_iter().take(width).map(|c| cell(&c)).collect();
        let rows = rows
            .into_iter()
            .take(max_rows)
            .map(|r| {
                let mut r: Vec<String> = r.iter().take(width).map(|c| cell(c)).collect();
                r.resize(width, String::new());
                r
            })
            .collect();
        Self {
            columns,
            rows,
            total_rows,
            total_columns,
        }
    }

    /// From a query result's columns and rows (NULL shown as `NULL`).
    pub fn from_values(columns: &[Column], rows: &[Vec<Value>], max_rows: usize) -> Self {
        let mut ex = Self::new(
            columns.iter().map(|c| c.name.clone()).collect(),
            rows.iter()
                .take(max_rows)
                .map(|r| {
                    r.iter()
                        .map(|v| v.display().unwrap_or_else(|| "NULL".into()))
                        .collect()
                })
                .collect(),
            max_rows,
        );
        if rows.len() > max_rows {
            ex.total_rows = Some(rows.len() as u64);
        }
        ex
    }

    /// "Showing 10 of 250 rows." and the like, when the excerpt is cut.
    pub(super) fn note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(t) = self.total_rows {
            parts.push(format!("{} of {t} rows", self.rows.len()));
        }
        if let Some(t) = self.total_columns {
            parts.push(format!("{} of {t} columns", self.columns.len()));
        }
        (!parts.is_empty()).then(|| format!("Showing {}.", parts.join(", ")))
    }
}

/// One cell on one line, cut to [`MAX_CELL_CHARS`].
pub(super) fn cell(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > MAX_CELL_CHARS {
        let mut cut: String = flat.chars().take(MAX_CELL_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

/// What an alert says, whatever the channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The alert's name.
    pub alert: String,
    pub transition: Transition,
    /// The observed value, as text (or why, for [`Transition::Error`] and
    /// [`Transition::NoData`]).
    pub value: Option<String>,
    pub excerpt: Option<TableExcerpt>,
    /// Back to the alert or insight in Sightline (absolute http/https URL).
    pub link: Option<String>,
    pub at: DateTime<Utc>,
}

impl Message {
    /// The message sent by a channel's "send test" button.
    pub fn test(alert: &str, link: Option<String>) -> Self {
        Self {
            alert: alert.to_string(),
            transition: Transition::Test,
            value: Some("test message: no action needed".into()),
            excerpt: Some(TableExcerpt::new(
                vec!["check".into(), "status".into()],
                vec![vec!["channel".into(), "ok".into()]],
                EXCERPT_MAX_ROWS,
            )),
            link,
            at: Utc::now(),
        }
    }

    /// The link, if it is an absolute http(s) URL (anything else is not linked).
    pub(super) fn safe_link(&self) -> Option<String> {
        let link = self.link.as_deref()?.trim();
        let url = url::Url::parse(link).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| url.to_string())
    }
}

/// A monospace table: header, rule, rows.
pub fn text_table(ex: &TableExcerpt) -> String {
    let n = ex.columns.len();
    let mut widths: Vec<usize> = ex.columns.iter().map(|c| c.chars().count()).collect();
    for row in &ex.rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, w) in widths.iter().enumerate() {
            let c = cells.get(i).map(String::as_str).unwrap_or("");
            if i > 0 {
                l.push_str(" | ");
            }
            l.push_str(c);
            if i + 1 < n {
                l.extend(std::iter::repeat_n(' ', w - c.chars().count()));
            }
        }
        l.trim_end().to_string()
    };
    let mut out = line(&ex.columns);
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-"),
    );
    for row in &ex.rows {
        out.push('\n');
        out.push_str(&line(row));
    }
    out
}
