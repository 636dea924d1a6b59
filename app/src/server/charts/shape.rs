//! A result shaped for a chart: categories along x and series of values aligned with them.
//! A long result (one row per x and group) is pivoted into one series per group; rows that
//! repeat an (x, series) pair are summed; categories are sorted, cut to a limit with the rest
//! summed as "Other", and missing values kept as gaps or made zeros.
use crate::model::{
    chart::{ChartSort, ChartSpec, Missing, Stack},
    query::Column,
};
use std::collections::HashMap;

/// One line, bar group or slice set.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// The y column it comes from (combo charts draw some as lines).
    pub column: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shaped {
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// Cells that were not numbers (text in a numeric column, NaN, Infinity) and were left
    /// out.
    pub skipped: u64,
    /// Categories summed into "Other".
    pub folded: usize,
}

/// A series name and its points (`[x, y]` or `[x, y, size]`).
pub type NamedPoints = (String, Vec<Vec<f64>>);

/// A cell that is not a finite number (a chart cannot draw it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotANumber;

/// A cell as a chart value: finite numbers only.
pub fn number(cell: &Option<String>) -> Result<Option<f64>, NotANumber> {
    match cell {
        None => Ok(None),
        Some(s) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(NotANumber),
        },
    }
}

/// The label of a category cell (NULL reads "(empty)").
pub fn label(cell: &Option<String>) -> String {
    cell.clone().unwrap_or_else(|| "(empty)".into())
}

pub fn index(columns: &[Column], name: &str) -> Option<usize> {
    columns.iter().position(|c| c.name == name)
}

/// Shapes the rows for a category chart (bar, line, area, pie, combo). The spec was checked
/// against the columns before (`model::chart::check`).
pub fn shape(spec: &ChartSpec, columns: &[Column], rows: &[Vec<Option<String>>]) -> Shaped {
    let x = spec.x.as_deref().and_then(|x| index(columns, x));
    let ys: Vec<(usize, &str)> = spec
        .y
        .iter()
        .filter_map(|y| index(columns, y).map(|i| (i, y.as_str())))
        .collect();
    let group = spec.series.as_deref().and_then(|s| index(columns, s));
    let mut out = Shaped::default();
    let mut cat_at: HashMap<String, usize> = HashMap::new();
    let mut series_at: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let cat = x.map_or_else(String::new, |i| label(&row[i]));
        let c = *cat_at.entry(cat.clone()).or_insert_with(|| {
            out.categories.push(cat);
            for s in &mut out.series {
                s.values.push(None);
            }
            out.categories.len() - 1
        });
        for &(yi, yname) in &ys {
            let name = match group {
                Some(g) if ys.len() > 1 => format!("{} · {yname}", label(&row[g])),
                Some(g) => label(&row[g]),
                None => yname.to_string(),
            };
            let s = *series_at.entry(name.clone()).or_insert_with(|| {
                out.series.push(Series {
                    name,
                    column: yname.to_string(),
                    values: vec![None; out.categories.len()],
                });
                out.series.len() - 1
            });
            match number(&row[yi]) {
                Ok(Some(v)) => {
                    let slot = &mut out.series[s].values[c];
                    *slot = Some(slot.unwrap_or(0.0) + v);
                }
                Ok(None) => {}
                Err(NotANumber) => out.skipped += 1,
            }
        }
    }
    sort(&mut out, spec.sort);
    if let Some(limit) = spec.limit {
        fold_rest(&mut out, limit as usize);
    }
    if spec.missing == Missing::Zero {
        for s in &mut out.series {
            for v in &mut s.values {
                v.get_or_insert(0.0);
            }
        }
    }
    if spec.stack == Stack::Percent {
        to_shares(&mut out);
    }
    out
}

fn total(s: &Shaped, c: usize) -> f64 {
    s.series.iter().filter_map(|x| x.values[c]).sum()
}

/// Reorders categories (and every series with them).
fn sort(s: &mut Shaped, how: ChartSort) {
    let mut order: Vec<usize> = (0..s.categories.len()).collect();
    let numeric = s.categories.iter().all(|c| c.parse::<f64>().is_ok());
    let by_label = |a: &usize, b: &usize| {
        if numeric {
            let (x, y) = (
                s.categories[*a].parse::<f64>().unwrap_or(0.0),
                s.categories[*b].parse::<f64>().unwrap_or(0.0),
            );
            x.total_cmp(&y)
        } else {
            s.categories[*a].cmp(&s.categories[*b])
        }
    };
    match how {
        ChartSort::Result => return,
        ChartSort::LabelAsc => order.sort_by(by_label),
        ChartSort::LabelDesc => order.sort_by(|a, b| by_label(b, a)),
        ChartSort::ValueAsc => order.sort_by(|a, b| total(s, *a).total_cmp(&total(s, *b))),
        ChartSort::ValueDesc => order.sort_by(|a, b| total(s, *b).total_cmp(&total(s, *a))),
    }
    s.categories = order.iter().map(|&i| s.categories[i].clone()).collect();
    for series in &mut s.series {
        series.values = order.iter().map(|&i| series.values[i]).collect();
    }
}

/// Keeps the first `limit` categories and sums the rest into one "Other".
fn fold_rest(s: &mut Shaped, limit: usize) {
    if limit == 0 || s.categories.len() <= limit {
        return;
    }
    s.folded = s.categories.len() - limit;
    s.categories.truncate(limit);
    s.categories.push("Other".into());
    for series in &mut s.series {
        let rest: Vec<f64> = series.values[limit..].iter().flatten().copied().collect();
        series.values.truncate(limit);
        series
            .values
            .push((!rest.is_empty()).then(|| rest.iter().sum()));
    }
}

/// Each category's values as percent of its total (100 % stacked).
fn to_shares(s: &mut Shaped) {
    for c in 0..s.categories.len() {
        let t: f64 = s
            .series
            .iter()
            .filter_map(|x| x.values[c])
            .map(f64::abs)
            .sum();
        for series in &mut s.series {
            if let Some(v) = series.values[c].as_mut() {
                *v = if t == 0.0 { 0.0 } else { *v / t };
            }
        }
    }
}

/// Points of a scatter chart, one set per group: `[x, y]` or `[x, y, size]`.
pub fn points(
    spec: &ChartSpec,
    columns: &[Column],
    rows: &[Vec<Option<String>>],
) -> (Vec<NamedPoints>, u64) {
    let x = spec.x.as_deref().and_then(|x| index(columns, x));
    let y = spec.y.first().and_then(|y| index(columns, y));
    let size = spec.size.as_deref().and_then(|s| index(columns, s));
    let group = spec.series.as_deref().and_then(|s| index(columns, s));
    let (Some(x), Some(y)) = (x, y) else {
        return (vec![], 0);
    };
    let mut sets: Vec<(String, Vec<Vec<f64>>)> = vec![];
    let mut skipped = 0;
    for row in rows {
        let name = group.map_or_else(|| spec.y[0].clone(), |g| label(&row[g]));
        let xy = (number(&row[x]), number(&row[y]));
        let (Ok(Some(xv)), Ok(Some(yv))) = xy else {
            if xy.0.is_err() || xy.1.is_err() {
                skipped += 1;
            }
            continue;
        };
        let mut p = vec![xv, yv];
        if let Some(si) = size {
            match number(&row[si]) {
                Ok(Some(v)) => p.push(v),
                _ => p.push(0.0),
            }
        }
        match sets.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(p),
            None => sets.push((name, vec![p])),
        }
    }
    (sets, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::chart::ChartKind;

    fn cols(spec: &[(&str, &str)]) -> Vec<Column> {
        spec.iter()
            .map(|(n, t)| Column {
                name: n.to_string(),
                type_name: t.to_string(),
            })
            .collect()
    }
    fn row(cells: &[Option<&str>]) -> Vec<Option<String>> {
        cells.iter().map(|c| c.map(String::from)).collect()
    }

    #[test]
    fn a_long_result_pivots_into_series_and_sums_repeats() {
        let c = cols(&[
            ("month", "date"),
            ("country", "text"),
            ("revenue", "numeric"),
        ]);
        let rows = vec![
            row(&[Some("2024-01"), Some("DE"), Some("10")]),
            row(&[Some("2024-01"), Some("FR"), Some("5")]),
            row(&[Some("2024-02"), Some("DE"), Some("7")]),
            row(&[Some("2024-02"), Some("DE"), Some("1.5")]),
            row(&[Some("2024-03"), Some("FR"), None]),
        ];
        let spec = ChartSpec {
            kind: ChartKind::Line,
            x: Some("month".into()),
            y: vec!["revenue".into()],
            series: Some("country".into()),
            ..Default::default()
        };
        let s = shape(&spec, &c, &rows);
        assert_eq!(s.categories, vec!["2024-01", "2024-02", "2024-03"]);
        assert_eq!(s.series.len(), 2);
        assert_eq!(s.series[0].name, "DE");
        assert_eq!(s.series[0].values, vec![Some(10.0), Some(8.5), None]);
        assert_eq!(s.series[1].values, vec![Some(5.0), None, None]);
        let zeros = shape(
            &ChartSpec {
                missing: Missing::Zero,
                ..spec
            },
            &c,
            &rows,
        );
        assert_eq!(
            zeros.series[1].values,
            vec![Some(5.0), Some(0.0), Some(0.0)]
        );
    }

    #[test]
    fn the_rest_is_summed_as_other_after_sorting() {
        let c = cols(&[("channel", "text"), ("n", "int8")]);
        let rows: Vec<_> = [
            ("web", "50"),
            ("shop", "5"),
            ("phone", "20"),
            ("mail", "2"),
            ("fax", "1"),
        ]
        .iter()
        .map(|(a, b)| row(&[Some(a), Some(b)]))
        .collect();
        let spec = ChartSpec {
            kind: ChartKind::Pie,
            x: Some("channel".into()),
            y: vec!["n".into()],
            sort: ChartSort::ValueDesc,
            limit: Some(2),
            ..Default::default()
        };
        let s = shape(&spec, &c, &rows);
        assert_eq!(s.categories, vec!["web", "phone", "Other"]);
        assert_eq!(s.series[0].values, vec![Some(50.0), Some(20.0), Some(8.0)]);
        assert_eq!(s.folded, 3);
    }

    #[test]
    fn text_nan_and_infinity_are_skipped_and_counted() {
        let c = cols(&[("k", "text"), ("v", "float8")]);
        let rows = vec![
            row(&[Some("a"), Some("NaN")]),
            row(&[Some("b"), Some("Infinity")]),
            row(&[Some("c"), Some("oops")]),
            row(&[None, Some("3")]),
        ];
        let spec = ChartSpec {
            x: Some("k".into()),
            y: vec!["v".into()],
            ..Default::default()
        };
        let s = shape(&spec, &c, &rows);
        assert_eq!(s.skipped, 3);
        assert_eq!(s.categories[3], "(empty)");
        assert_eq!(s.series[0].values, vec![None, None, None, Some(3.0)]);
    }

    #[test]
    fn percent_stacks_are_shares_and_labels_sort_numerically() {
        let c = cols(&[("year", "int4"), ("kind", "text"), ("n", "int8")]);
        let rows = vec![
            row(&[Some("2024"), Some("a"), Some("3")]),
            row(&[Some("2024"), Some("b"), Some("1")]),
            row(&[Some("999"), Some("a"), Some("2")]),
        ];
        let spec = ChartSpec {
            x: Some("year".into()),
            y: vec!["n".into()],
            series: Some("kind".into()),
            stack: Stack::Percent,
            sort: ChartSort::LabelAsc,
            ..Default::default()
        };
        let s = shape(&spec, &c, &rows);
        assert_eq!(s.categories, vec!["999", "2024"]);
        assert_eq!(s.series[0].values, vec![Some(1.0), Some(0.75)]);
        assert_eq!(s.series[1].values, vec![None, Some(0.25)]);
    }

    #[test]
    fn scatter_points_group_and_carry_size() {
        let c = cols(&[
            ("a", "float8"),
            ("b", "float8"),
            ("w", "int4"),
            ("g", "text"),
        ]);
        let rows = vec![
            row(&[Some("1"), Some("2"), Some("5"), Some("x")]),
            row(&[Some("3"), None, Some("1"), Some("x")]),
            row(&[Some("4"), Some("6"), None, Some("y")]),
        ];
        let spec = ChartSpec {
            kind: ChartKind::Scatter,
            x: Some("a".into()),
            y: vec!["b".into()],
            size: Some("w".into()),
            series: Some("g".into()),
            ..Default::default()
        };
        let (sets, skipped) = points(&spec, &c, &rows);
        assert_eq!(skipped, 0);
        assert_eq!(sets[0], ("x".to_string(), vec![vec![1.0, 2.0, 5.0]]));
        assert_eq!(sets[1], ("y".to_string(), vec![vec![4.0, 6.0, 0.0]]));
    }
}
