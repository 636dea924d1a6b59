//! Insights: saved queries with typed parameters, kept in folders, versioned on every save,
//! linked to each other by drill-downs.
use super::{chart::ChartSpec, connection::ConnectionId, params::ParamSpec};
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

/// How a result is shown when the insight opens: the table, or its chart. The chart's
/// settings are kept while the table is the default, so switching back loses nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewSpec {
    #[serde(default)]
    pub kind: ViewKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSpec>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    #[default]
    Table,
    Chart,
}

impl ViewKind {
    /// The `view=` value of the insight's URL.
    pub fn as_str(self) -> &'static str {
        match self {
            ViewKind::Table => "table",
            ViewKind::Chart => "chart",
        }
    }
    pub fn parse(s: &str) -> Option<ViewKind> {
        match s {
            "table" => Some(ViewKind::Table),
            "chart" => Some(ViewKind::Chart),
            _ => None,
        }
    }
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
    /// Minutes a result of these values is reused (the result cache); `None`: the default
    /// (`run::DEFAULT_CACHE_MINUTES`), 0: always read the database.
    #[serde(default)]
    pub cache_minutes: Option<u32>,
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
    /// The signed-in user starred it (listed under Favourites on the home page).
    #[serde(default)]
    pub favorite: bool,
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
    /// Dashboards live in the same folders (a folder lists both; search finds both).
    #[serde(default)]
    pub dashboards: Vec<super::dashboard::DashboardSummary>,
}

/// Every folder with its full path (`Sales / EMEA`), sorted by path, for folder pickers.
pub fn folder_paths(folders: &[Folder]) -> Vec<(FolderId, String)> {
    let mut out: Vec<(FolderId, String)> = folders
        .iter()
        .map(|f| {
            let mut names = vec![f.name.clone()];
            let mut parent = f.parent_id;
            // A cycle or a missing parent ends the walk (at most the tree's depth).
            while let Some(p) = parent.filter(|_| names.len() <= folders.len()) {
                let Some(up) = folders.iter().find(|x| x.id == p) else {
                    break;
                };
                names.push(up.name.clone());
                parent = up.parent_id;
            }
            names.reverse();
            (f.id, names.join(" / "))
        })
        .collect();
    out.sort_by_key(|a| a.1.to_lowercase());
    out
}

/// Insights grouped under their folder path for pickers: `("", …)` first for those in no
/// folder, then folders by path; names sorted within each, case-insensitively.
pub fn insight_groups(tree: &Tree) -> Vec<(String, Vec<(InsightId, String)>)> {
    let paths = folder_paths(&tree.folders);
    let mut groups: Vec<(String, Vec<(InsightId, String)>)> = vec![(String::new(), vec![])];
    groups.extend(paths.iter().map(|(_, p)| (p.clone(), vec![])));
    for i in &tree.insights {
        let at = i
            .folder_id
            .and_then(|f| paths.iter().position(|(id, _)| *id == f))
            .map_or(0, |k| k + 1);
        groups[at].1.push((i.id, i.name.clone()));
    }
    groups.retain(|(_, v)| !v.is_empty());
    for (_, v) in &mut groups {
        v.sort_by_key(|(_, name)| name.to_lowercase());
    }
    groups
}

/// How the view changed between two versions, one row per changed setting (`name` is
/// "chart"; `field` the setting: what the insight opens with, kind, columns, format, …).
pub fn view_changes(old: &ViewSpec, new: &ViewSpec) -> Vec<ParamChange> {
    let mut out = vec![];
    if old.kind != new.kind {
        out.push(ParamChange {
            name: "chart".into(),
            field: Some("opens as".into()),
            before: old.kind.as_str().into(),
            after: new.kind.as_str().into(),
        });
    }
    let fields = |v: &Option<ChartSpec>| match v.as_ref().map(serde_json::to_value) {
        Some(Ok(serde_json::Value::Object(m))) => m,
        _ => serde_json::Map::new(),
    };
    let (a, b) = (fields(&old.chart), fields(&new.chart));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let text = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "—".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    for k in keys {
        if a.get(k) != b.get(k) {
            out.push(ParamChange {
                name: "chart".into(),
                field: Some(k.replace('_', " ")),
                before: text(a.get(k)),
                after: text(b.get(k)),
            });
        }
    }
    out
}

pub use super::version::VersionEntry;

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
        what.push("chart");
    }
    if old.drill != new.drill {
        what.push("drill-downs");
    }
    if old.folder_id != new.folder_id {
        what.push("folder");
    }
    if old.cache_minutes != new.cache_minutes {
        what.push("cache time");
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

/// Where each element of a two-sided diff comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// `a[i]` equals `b[j]`.
    Same(usize),
    /// `a[i]` only.
    Removed(usize),
    /// `b[j]` only.
    Added(usize),
}

/// Longest-common-subsequence diff of two sequences (callers cap their length: it is
/// quadratic).
fn lcs_steps<T: PartialEq>(a: &[T], b: &[T]) -> Vec<Step> {
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
            out.push(Step::Same(i));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(Step::Removed(i));
            i += 1;
        } else {
            out.push(Step::Added(j));
            j += 1;
        }
    }
    out
}

/// A line diff (longest common subsequence; inputs are capped to keep it cheap).
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().take(2000).collect();
    let b: Vec<&str> = new.lines().take(2000).collect();
    lcs_steps(&a, &b)
        .into_iter()
        .map(|s| match s {
            Step::Same(i) => DiffLine::Same(a[i].to_string()),
            Step::Removed(i) => DiffLine::Removed(a[i].to_string()),
            Step::Added(j) => DiffLine::Added(b[j].to_string()),
        })
        .collect()
}

/// A piece of a changed line, marked when it differs from the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub changed: bool,
}

/// Words, runs of white space and single punctuation characters.
fn tokens(line: &str) -> Vec<&str> {
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    };
    let mut out = vec![];
    let mut start = 0;
    let mut prev = None;
    for (i, c) in line.char_indices() {
        let k = class(c);
        if i > start && (prev != Some(k) || k == 2) {
            out.push(&line[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// The words that changed between an old and a new version of one line, for marking inside
/// a removed/added pair.
pub fn diff_words(old: &str, new: &str) -> (Vec<Span>, Vec<Span>) {
    let a: Vec<&str> = tokens(old).into_iter().take(500).collect();
    let b: Vec<&str> = tokens(new).into_iter().take(500).collect();
    let (mut left, mut right): (Vec<Span>, Vec<Span>) = (vec![], vec![]);
    let push = |side: &mut Vec<Span>, text: &str, changed: bool| match side.last_mut() {
        Some(last) if last.changed == changed => last.text.push_str(text),
        _ => side.push(Span {
            text: text.to_string(),
            changed,
        }),
    };
    for step in lcs_steps(&a, &b) {
        match step {
            Step::Same(i) => {
                push(&mut left, a[i], false);
                push(&mut right, a[i], false);
            }
            Step::Removed(i) => push(&mut left, a[i], true),
            Step::Added(j) => push(&mut right, b[j], true),
        }
    }
    (left, right)
}

/// One difference between two versions' parameters, field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamChange {
    /// The parameter's name.
    pub name: String,
    /// The field that changed (`label`, `kind`, `default`, …), or `None` when the whole
    /// parameter was added or removed.
    pub field: Option<String>,
    /// The old value ("—" when absent), as text.
    pub before: String,
    /// The new value ("—" when absent), as text.
    pub after: String,
}

/// What changed in the parameters between two versions: parameters added or removed, and
/// each field whose value differs, in the order of the newer version.
pub fn param_changes(old: &[ParamSpec], new: &[ParamSpec]) -> Vec<ParamChange> {
    let fields = |p: &ParamSpec| match serde_json::to_value(p) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let text = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "—".to_string(),
        Some(serde_json::Value::String(s)) if s.is_empty() => "—".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(a)) if a.is_empty() => "—".to_string(),
        Some(other) => other.to_string(),
    };
    let summary = |p: &ParamSpec| {
        let f = fields(p);
        format!("{} ({})", p.name, text(f.get("kind")))
    };
    let mut out = vec![];
    for n in new {
        match old.iter().find(|o| o.name == n.name) {
            None => out.push(ParamChange {
                name: n.name.clone(),
                field: None,
                before: "—".into(),
                after: summary(n),
            }),
            Some(o) => {
                let (fo, fn_) = (fields(o), fields(n));
                let mut keys: Vec<&String> = fn_.keys().chain(fo.keys()).collect();
                keys.dedup();
                let mut seen = std::collections::BTreeSet::new();
                for k in keys {
                    if k == "name" || !seen.insert(k.clone()) || fo.get(k) == fn_.get(k) {
                        continue;
                    }
                    out.push(ParamChange {
                        name: n.name.clone(),
                        field: Some(k.clone()),
                        before: text(fo.get(k)),
                        after: text(fn_.get(k)),
                    });
                }
            }
        }
    }
    for o in old.iter().filter(|o| !new.iter().any(|n| n.name == o.name)) {
        out.push(ParamChange {
            name: o.name.clone(),
            field: None,
            before: summary(o),
            after: "—".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn folder_paths_read_from_the_root() {
        let f = |id, parent: Option<i64>, name: &str| Folder {
            id: FolderId(id),
            parent_id: parent.map(FolderId),
            name: name.into(),
        };
        let folders = vec![
            f(1, None, "Sales"),
            f(2, Some(1), "EMEA"),
            f(3, None, "Ops"),
            f(4, Some(5), "Loop"),
            f(5, Some(4), "Back"),
        ];
        let paths: Vec<_> = folder_paths(&folders)
            .into_iter()
            .map(|(id, p)| (id.0, p))
            .collect();
        let order: Vec<i64> = paths.iter().map(|p| p.0).collect();
        assert_eq!(paths.iter().find(|p| p.0 == 2).unwrap().1, "Sales / EMEA");
        // Sorted by path: Ops before Sales before Sales / EMEA.
        let pos = |id| order.iter().position(|x| *x == id).unwrap();
        assert!(pos(3) < pos(1) && pos(1) < pos(2), "{paths:?}");
        // A cycle (which the server refuses) ends the walk instead of looping.
        assert_eq!(paths.len(), 5);
    }

    use super::*;

    #[test]
    fn a_changed_chart_is_listed_setting_by_setting() {
        let line = ChartSpec {
            kind: crate::model::chart::ChartKind::Line,
            x: Some("month".into()),
            y: vec!["revenue".into()],
            ..Default::default()
        };
        let old = ViewSpec::default();
        let new = ViewSpec {
            kind: ViewKind::Chart,
            chart: Some(line.clone()),
        };
        let c = view_changes(&old, &new);
        let find = |f: &str| c.iter().find(|x| x.field.as_deref() == Some(f)).cloned();
        assert_eq!(find("opens as").unwrap().after, "chart");
        assert_eq!(find("kind").unwrap().after, "line");
        assert_eq!(find("x").unwrap().before, "—");
        let bar = ViewSpec {
            chart: Some(ChartSpec {
                kind: crate::model::chart::ChartKind::Bar,
                ..line
            }),
            ..new.clone()
        };
        let c = view_changes(&new, &bar);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].before.as_str(), c[0].after.as_str()), ("line", "bar"));
        assert!(view_changes(&new, &new).is_empty());
    }

    #[test]
    fn insight_groups_follow_folders_and_names() {
        let summary = |id, name: &str, folder: Option<i64>| InsightSummary {
            id: InsightId(id),
            name: name.into(),
            description: String::new(),
            folder_id: folder.map(FolderId),
            connection_name: None,
            updated_at: Utc::now(),
            updated_by: None,
        };
        let tree = Tree {
            folders: vec![
                Folder {
                    id: FolderId(1),
                    parent_id: None,
                    name: "Sales".into(),
                },
                Folder {
                    id: FolderId(2),
                    parent_id: Some(FolderId(1)),
                    name: "EMEA".into(),
                },
                Folder {
                    id: FolderId(3),
                    parent_id: None,
                    name: "Empty".into(),
                },
            ],
            insights: vec![
                summary(10, "revenue", Some(2)),
                summary(11, "Orders", None),
                summary(12, "churn", Some(9)),
                summary(13, "Accounts", Some(2)),
            ],
            dashboards: vec![],
        };
        let names = |g: &(String, Vec<(InsightId, String)>)| {
            (
                g.0.clone(),
                g.1.iter().map(|(id, _)| id.0).collect::<Vec<_>>(),
            )
        };
        let groups: Vec<_> = insight_groups(&tree).iter().map(names).collect();
        // No folder (a missing folder counts as none) first; empty folders left out.
        assert_eq!(
            groups,
            vec![
                (String::new(), vec![12, 11]),
                ("Sales / EMEA".to_string(), vec![13, 10]),
            ]
        );
    }

    #[test]
    fn changed_words_are_marked_inside_a_line() {
        let (l, r) = diff_words(
            "select * from orders where total > 10",
            "select * from orders where total >= 100",
        );
        let changed = |spans: &[Span]| {
            spans
                .iter()
                .filter(|s| s.changed)
                .map(|s| s.text.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(changed(&l), vec!["10"]);
        assert_eq!(changed(&r), vec!["=", "100"]);
        let joined = |spans: &[Span]| spans.iter().map(|s| s.text.as_str()).collect::<String>();
        assert_eq!(joined(&l), "select * from orders where total > 10");
        assert_eq!(joined(&r), "select * from orders where total >= 100");
        let (l, r) = diff_words("same", "same");
        assert!(l.iter().chain(r.iter()).all(|s| !s.changed));
    }

    #[test]
    fn parameter_changes_are_listed_field_by_field() {
        use crate::model::params::{ParamKind, ParamSpec};
        let mut a = ParamSpec::new("country", ParamKind::Text);
        let b = ParamSpec::new("period", ParamKind::DateRange);
        let old = vec![a.clone(), b.clone()];
        a.label = "Country".into();
        a.required = true;
        let c = ParamSpec::new("city", ParamKind::Text);
        let new = vec![a, c];
        let changes = param_changes(&old, &new);
        let find = |name: &str, field: Option<&str>| {
            changes
                .iter()
                .find(|ch| ch.name == name && ch.field.as_deref() == field)
                .cloned()
        };
        let label = find("country", Some("label")).expect("label change");
        assert_eq!(
            (label.before.as_str(), label.after.as_str()),
            ("—", "Country")
        );
        let req = find("country", Some("required")).expect("required change");
        assert_eq!((req.before.as_str(), req.after.as_str()), ("false", "true"));
        assert_eq!(find("city", None).map(|c| c.before), Some("—".to_string()));
        assert_eq!(find("period", None).map(|c| c.after), Some("—".to_string()));
        assert_eq!(changes.len(), 4, "{changes:?}");
        assert!(param_changes(&new, &new).is_empty());
    }

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
