//! Charts of a finished run: the service that reads the first rows of a result snapshot (at
//! most `--chart-points`), shapes them (`shape`: pivot, sort, "Other", gaps) and builds the
//! ECharts option (`options`), or says in words why the chart cannot be drawn.
pub mod options;
pub mod shape;

use crate::{
    error::AppError,
    model::{
        chart::{check, propose, ChartData, ChartKind, ChartSpec, NumberFormat, NumberView},
        query::Column,
        run::{RunId, RunState},
        Permission,
    },
    server::{AppState, Principal},
};
use std::time::Duration;

/// Slices a pie may have before it stops being readable (set a limit to fold the rest).
const MAX_SLICES: usize = 100;
/// Categories a bar or line chart may have.
const MAX_CATEGORIES: usize = 5_000;

fn count(n: u64) -> String {
    NumberFormat::default().format(n as f64)
}

/// The chart of the caller's run `id`: `spec`, or a proposal from the column types when the
/// insight has none.
pub async fn chart(
    state: &AppState,
    me: &Principal,
    id: &RunId,
    spec: Option<ChartSpec>,
) -> Result<ChartData, AppError> {
    me.require(Permission::ViewInsights)?;
    let owner = me.user_id.ok_or(AppError::Unauthenticated)?;
    let h = state.engine.get(owner, id)?;
    // The browser asks once the run finished; a request racing the end waits a little.
    state.engine.wait(&h, 0, Duration::from_secs(10)).await;
    let view = h.view();
    if !view.state.finished() {
        return Err(AppError::Conflict(
            "The result is still loading; the chart follows when it is done.".into(),
        ));
    }
    let limit = state.engine.settings().chart_points;
    let rows = if view.state == RunState::Failed {
        vec![]
    } else {
        state.engine.page(&h, 0, limit, None).await?.rows
    };
    if let Some(id) = spec.as_ref().and_then(|s| s.plugin.clone()) {
        let spec = spec.unwrap_or_default();
        let info = match crate::server::plugins::find(state, &id) {
            Ok(info) => info,
            Err(_) => {
                return Ok(refuse(spec, vec![format!(
                    "The chart plugin “{id}” is not installed (any more). Choose another chart, or ask an admin to add it under Plugins."
                )]))
            }
        };
        return Ok(plugin_chart(
            spec,
            &info,
            &view.columns,
            view.row_count,
            &rows,
            limit,
        ));
    }
    Ok(build(spec, &view.columns, view.row_count, &rows, limit))
}

fn refuse(spec: ChartSpec, problems: Vec<String>) -> ChartData {
    ChartData {
        spec,
        option: String::new(),
        number: None,
        note: None,
        problems,
        categories: vec![],
        plugin: None,
    }
}

/// Columns the database gave no type for (SQLite expressions such as `sum(x)`) typed from
/// their values in the first rows: a number when every value is one.
fn typed(columns: &[Column], rows: &[Vec<Option<String>>]) -> Vec<Column> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let unknown = matches!(
                c.type_name.to_ascii_lowercase().as_str(),
                "" | "null" | "any" | "unknown"
            );
            let mut values = rows
                .iter()
                .take(200)
                .filter_map(|r| r.get(i).cloned().flatten());
            let numeric = unknown && {
                let mut seen = false;
                let all = values.all(|v| {
                    seen = true;
                    v.trim().parse::<f64>().is_ok()
                });
                seen && all
            };
            Column {
                name: c.name.clone(),
                type_name: if numeric {
                    "numeric".into()
                } else {
                    c.type_name.clone()
                },
            }
        })
        .collect()
}

/// The chart of `rows` (the first of `total`) — pure, so every case is tested without a
/// database.
pub fn build(
    spec: Option<ChartSpec>,
    columns: &[Column],
    total: u64,
    rows: &[Vec<Option<String>>],
    limit: u32,
) -> ChartData {
    let columns = &typed(columns, rows);
    if rows.is_empty() {
        return refuse(
            spec.unwrap_or_default(),
            vec!["The result has no rows to chart.".into()],
        );
    }
    let spec = match spec {
        Some(s) => s,
        None => match propose(columns, total) {
            Some(s) => s,
            None => {
                return refuse(
                    ChartSpec::default(),
                    vec!["This result has no numeric column to chart. Return a count or a sum in the SQL, or keep the table.".into()],
                )
            }
        },
    };
    let problems: Vec<String> = check(&spec, columns).into_iter().map(|(_, m)| m).collect();
    if !problems.is_empty() {
        return refuse(spec, problems);
    }
    let mut notes = vec![];
    if total > u64::from(limit) {
        notes.push(format!(
            "Showing the first {} of {} rows; aggregate in SQL to see all.",
            count(u64::from(limit)),
            count(total)
        ));
    }
    let (option, number, categories, skipped) = match spec.kind {
        ChartKind::Number => {
            let (mut number, skipped) = number_view(&spec, columns, &rows[0]);
            if let Some(i) = spec
                .sparkline
                .as_deref()
                .and_then(|c| shape::index(columns, c))
            {
                number.spark = rows
                    .iter()
                    .take(500)
                    .filter_map(|r| shape::number(&r[i]).ok().flatten())
                    .collect();
            }
            (String::new(), Some(number), vec![], skipped)
        }
        ChartKind::Scatter => {
            let (sets, skipped) = shape::points(&spec, columns, rows);
            (
                to_json(&options::scatter(&spec, &sets)),
                None,
                vec![],
                skipped,
            )
        }
        _ => {
            let shaped = shape::shape(&spec, columns, rows);
            let n = shaped.categories.len();
            if spec.kind == ChartKind::Pie && n > MAX_SLICES {
                return refuse(spec, vec![format!(
                    "{} slices are too many to read: set “Show at most” (the rest become “Other”) or group in SQL.",
                    count(n as u64)
                )]);
            }
            if n > MAX_CATEGORIES {
                return refuse(spec, vec![format!(
                    "{} categories are too many to read: set “Show at most” (the rest become “Other”), or group in SQL.",
                    count(n as u64)
                )]);
            }
            if shaped.folded > 0 {
                notes.push(format!(
                    "{} smaller categories are summed as “Other”.",
                    count(shaped.folded as u64)
                ));
            }
            let skipped = shaped.skipped;
            (
                to_json(&options::categories(&spec, &shaped)),
                None,
                shaped.categories,
                skipped,
            )
        }
    };
    if skipped > 0 {
        notes.push(format!(
            "{} cells were not finite numbers (text, NaN or Infinity) and are left out.",
            count(skipped)
        ));
    }
    ChartData {
        spec,
        option,
        number,
        note: (!notes.is_empty()).then(|| notes.join(" ")),
        problems: vec![],
        categories,
        plugin: None,
    }
}

/// A chart a plugin draws: its rows and options checked against its manifest.
pub fn plugin_chart(
    spec: ChartSpec,
    info: &crate::model::chart::PluginInfo,
    columns: &[Column],
    total: u64,
    rows: &[Vec<Option<String>>],
    limit: u32,
) -> ChartData {
    let m = &info.manifest;
    if let Some(e) = &info.error {
        return refuse(
            spec,
            vec![format!("The chart plugin “{}” cannot be used: {e}", m.name)],
        );
    }
    let columns = &typed(columns, rows);
    if rows.is_empty() {
        return refuse(spec, vec!["The result has no rows to chart.".into()]);
    }
    match crate::server::plugins::payload(m, &spec, columns, rows) {
        Err(problems) => refuse(spec, problems),
        Ok(payload) => ChartData {
            note: (total > u64::from(limit)).then(|| {
                format!(
                    "Showing the first {} of {} rows; aggregate in SQL to see all.",
                    count(u64::from(limit)),
                    count(total)
                )
            }),
            plugin: Some(crate::model::chart::PluginPayload {
                id: m.id.clone(),
                name: m.name.clone(),
                module_url: format!("/plugins/{}/module.js?v={}", m.id, m.version),
                payload,
            }),
            spec,
            option: String::new(),
            number: None,
            problems: vec![],
            categories: vec![],
        },
    }
}

fn to_json(chart: &charming::Chart) -> String {
    serde_json::to_string(chart).unwrap_or_default()
}

/// One big value from the first row, and its change against the comparison column.
fn number_view(spec: &ChartSpec, columns: &[Column], row: &[Option<String>]) -> (NumberView, u64) {
    let cell = |name: &str| shape::index(columns, name).and_then(|i| row.get(i));
    let y = &spec.y[0];
    let mut skipped = 0;
    let mut value_of = |name: &str| match cell(name).map(shape::number) {
        Some(Ok(v)) => v,
        Some(Err(shape::NotANumber)) => {
            skipped += 1;
            None
        }
        None => None,
    };
    let value = value_of(y);
    let compare = spec.compare.as_deref().and_then(&mut value_of);
    let f = &spec.format;
    let (change, up) = match (value, compare) {
        (Some(v), Some(c)) => {
            let diff = v - c;
            let sign = if diff > 0.0 { "+" } else { "" };
            let pct = if c != 0.0 {
                format!("{sign}{:.1} % ", diff / c.abs() * 100.0)
            } else {
                String::new()
            };
            (
                Some(format!(
                    "{pct}({sign}{}) vs {}",
                    f.format(diff),
                    f.format(c)
                )),
                (diff != 0.0).then_some(diff > 0.0),
            )
        }
        _ => (None, None),
    };
    let label = if spec.y_title.is_empty() {
        y.clone()
    } else {
        spec.y_title.clone()
    };
    (
        NumberView {
            label,
            value: value.map_or_else(|| "—".into(), |v| f.format(v)),
            change,
            up,
            spark: vec![],
        },
        skipped,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::chart::{ChartSort, Stack};

    fn cols(spec: &[(&str, &str)]) -> Vec<Column> {
        spec.iter()
            .map(|(n, t)| Column {
                name: n.to_string(),
                type_name: t.to_string(),
            })
            .collect()
    }
    fn rows(cells: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
        cells
            .iter()
            .map(|r| r.iter().map(|c| c.map(String::from)).collect())
            .collect()
    }

    #[test]
    fn a_result_without_a_spec_gets_the_proposed_chart() {
        let c = cols(&[("status", "text"), ("n", "int8")]);
        let r = rows(&[&[Some("paid"), Some("3")], &[Some("open"), Some("1")]]);
        let d = build(None, &c, 2, &r, 10_000);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(d.spec.kind, ChartKind::Bar);
        assert_eq!(d.categories, vec!["paid", "open"]);
        let j: serde_json::Value = serde_json::from_str(&d.option).unwrap();
        assert_eq!(j["series"][0]["data"], serde_json::json!([3.0, 1.0]));
        assert_eq!(d.note, None);
    }

    #[test]
    fn a_changed_sql_an_empty_result_and_text_say_what_to_do() {
        let c = cols(&[("status", "text"), ("n", "int8")]);
        let r = rows(&[&[Some("paid"), Some("3")]]);
        let gone = ChartSpec {
            x: Some("status".into()),
            y: vec!["total".into()],
            ..Default::default()
        };
        let d = build(Some(gone.clone()), &c, 1, &r, 10_000);
        assert!(
            d.problems[0].contains("no column “total”"),
            "{:?}",
            d.problems
        );
        assert_eq!(d.spec, gone, "the saved spec comes back unchanged");
        assert!(d.option.is_empty());
        let ok = ChartSpec {
            y: vec!["n".into()],
            ..gone
        };
        assert!(build(Some(ok), &c, 0, &[], 10_000).problems[0].contains("no rows"));
        let none = build(
            None,
            &cols(&[("name", "text")]),
            1,
            &rows(&[&[Some("a")]]),
            10,
        );
        assert!(none.problems[0].contains("no numeric column"));
    }

    #[test]
    fn caps_and_folds_are_told() {
        let c = cols(&[("k", "text"), ("v", "int8")]);
        let r: Vec<Vec<Option<String>>> = (0..300)
            .map(|i| vec![Some(format!("c{i}")), Some(i.to_string())])
            .collect();
        let pie = ChartSpec {
            kind: ChartKind::Pie,
            x: Some("k".into()),
            y: vec!["v".into()],
            ..Default::default()
        };
        let d = build(Some(pie.clone()), &c, 50_000, &r, 300);
        assert!(d.problems[0].contains("300 slices"), "{:?}", d.problems);
        let limited = ChartSpec {
            limit: Some(10),
            sort: ChartSort::ValueDesc,
            ..pie
        };
        let d = build(Some(limited), &c, 50_000, &r, 300);
        assert!(d.problems.is_empty());
        let note = d.note.unwrap();
        assert!(note.contains("first 300 of 50,000 rows"), "{note}");
        assert!(note.contains("290 smaller categories"), "{note}");
        assert_eq!(d.categories.len(), 11);
        assert_eq!(d.categories[0], "c299");
    }

    #[test]
    fn untyped_columns_are_typed_from_their_values() {
        let c = cols(&[("k", "TEXT"), ("v", "NULL"), ("w", "")]);
        let r = rows(&[
            &[Some("a"), Some("1.5"), Some("x")],
            &[Some("b"), None, Some("2")],
        ]);
        let t = typed(&c, &r);
        assert_eq!(t[0].type_name, "TEXT");
        assert_eq!(t[1].type_name, "numeric");
        assert_eq!(t[2].type_name, "");
        assert_eq!(build(None, &c, 2, &r, 10).spec.y, vec!["v"]);
    }

    #[test]
    fn a_number_shows_its_change() {
        let c = cols(&[("total", "numeric"), ("last_week", "numeric")]);
        let r = rows(&[&[Some("1234"), Some("1000")]]);
        let d = build(None, &c, 1, &r, 10);
        let n = d.number.unwrap();
        assert_eq!(n.value, "1,234");
        assert!(n.spark.is_empty());
        assert_eq!(n.change.as_deref(), Some("+23.4 % (+234) vs 1,000"));
        assert_eq!(n.up, Some(true));
        let flat = build(
            Some(ChartSpec {
                kind: ChartKind::Number,
                y: vec!["total".into()],
                stack: Stack::None,
                ..Default::default()
            }),
            &c,
            1,
            &rows(&[&[None, None]]),
            10,
        );
        assert_eq!(flat.number.unwrap().value, "—");
    }
}
