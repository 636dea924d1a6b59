//! Insights: saved queries with typed parameters, kept in folders, versioned on every save,
//! linked to each other by drill-downs.
use super::{connection::ConnectionId, params::ParamSpec};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InsightId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FolderId(pub i64);

impl std::fmt::Display for InsightId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How a result is shown by default. Charts come later; the field is kept from the start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewSpec {
    #[serde(default)]
    pub kind: ViewKind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    #[default]
    Table,
}

/// Where a target parameter's value comes from when a cell is clicked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", content = "value", rename_all = "snake_case")]
pub enum DrillSource {
    /// The clicked row's value in this column.
    Column(String),
    /// A fixed value.
    Constant(String),
    /// The current value of one of this insight's parameters.
    Param(String),
}

/// What clicking a cell of a column opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DrillTarget {
    /// Another insight with its parameters filled: target parameter name → source.
    Insight {
        insight_id: InsightId,
        mapping: Vec<(String, DrillSource)>,
    },
    /// A URL template: `{{column}}` is replaced by the row's value (URL-encoded).
    Url { template: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillLink {
    /// The result column whose cells are links.
    pub column: String,
    pub target: DrillTarget,
}

/// Everything an editor sets on an insight; what a version stores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InsightDraft {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub connection_id: Option<ConnectionId>,
    pub sql: String,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    #[serde(default)]
    pub view: ViewSpec,
    #[serde(default)]
    pub drill: Vec<DrillLink>,
    #[serde(default)]
    pub folder_id: Option<FolderId>,
}

/// An insight as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insight {
    pub id: InsightId,
    pub version: i64,
    pub draft: InsightDraft,
    pub connection_name: Option<String>,
    /// The folder path from the root, for the breadcrumb.
    pub path: Vec<Folder>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub deleted: bool,
    /// The signed-in user may edit it (the server checks again on save).
    pub can_edit: bool,
}

/// A folder of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    pub id: FolderId,
    pub parent_id: Option<FolderId>,
    pub name: String,
}

/// A row of the insights list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightSummary {
    pub id: InsightId,
    pub name: String,
    pub description: String,
    pub folder_id: Option<FolderId>,
    pub connection_name: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
}

/// The folder tree with the insights in it (or the trash, or search hits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub folders: Vec<Folder>,
    pub insights: Vec<InsightSummary>,
}

/// One entry of an insight's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    pub version: i64,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
    /// What changed, e.g. "SQL, parameters".
    pub summary: String,
}

/// Parameter values as they appear in the URL: `p_name=value` (repeated for multi-select).
pub type UrlValues = BTreeMap<String, Vec<String>>;

/// What changed between two drafts, in words, for the version list.
pub fn change_summary(old: Option<&InsightDraft>, new: &InsightDraft) -> String {
    let Some(old) = old else {
        return "Created".into();
    };
    let mut what = vec![];
    if old.name != new.name {
        what.push("name");
    }
    if old.description != new.description {
        what.push("description");
    }
    if old.connection_id != new.connection_id {
        what.push("connection");
    }
    if old.sql != new.sql {
        what.push("SQL");
    }
    if old.params != new.params {
        what.push("parameters");
    }
    if old.view != new.view {
        what.push("view");
    }
    if old.drill != new.drill {
        what.push("drill-downs");
    }
    if old.folder_id != new.folder_id {
        what.push("folder");
    }
    if what.is_empty() {
        "No changes".into()
    } else {
        let mut s = what.join(", ");
        if let Some(first) = s.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        s
    }
}

/// One line of a side-by-side diff: the left text, the right text (either may be absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
}

/// A line diff (longest common subsequence; inputs are capped to keep it cheap).
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().take(2000).collect();
    let b: Vec<&str> = new.lines().take(2000).collect();
    let (n, m) = (a.len(), b.len());
    // lcs[i][j] = LCS length of a[i..] and b[j..]
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = vec![];
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(DiffLine::Same(a[i].to_string()));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(DiffLine::Removed(a[i].to_string()));
            i += 1;
        } else {
            out.push(DiffLine::Added(b[j].to_string()));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_name_what_changed() {
        let a = InsightDraft {
            name: "A".into(),
            sql: "select 1".into(),
            ..Default::default()
        };
        assert_eq!(change_summary(None, &a), "Created");
        assert_eq!(change_summary(Some(&a), &a), "No changes");
        let b = InsightDraft {
            sql: "select 2".into(),
            description: "d".into(),
            ..a.clone()
        };
        assert_eq!(change_summary(Some(&a), &b), "Description, SQL");
    }

    #[test]
    fn line_diff_keeps_common_lines() {
        let d = diff_lines(
            "select a\nfrom t\nwhere x",
            "select a, b\nfrom t\nwhere x\nlimit 5",
        );
        assert_eq!(
            d,
            vec![
                DiffLine::Removed("select a".into()),
                DiffLine::Added("select a, b".into()),
                DiffLine::Same("from t".into()),
                DiffLine::Same("where x".into()),
                DiffLine::Added("limit 5".into()),
            ]
        );
    }
}

/// Where a download started with `?progress=<token>` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    Running,
    Done,
    Failed,
    Cancelled,
}

/// A download's progress as its owner's page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportStatus {
    pub state: ExportState,
    /// Rows written so far; `None` when the database writes the file itself (PostgreSQL's
    /// COPY for CSV), which counts bytes only.
    pub rows: Option<u64>,
    /// Bytes sent to the browser so far.
    pub bytes: u64,
    pub elapsed_ms: u64,
    pub error: Option<String>,
}

/// Whether `token` can name a download's progress: 8 to 64 letters, digits, `-` or `_`.
pub fn valid_export_token(token: &str) -> bool {
    (8..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
