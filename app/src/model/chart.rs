//! Charts: what an editor chooses (`ChartSpec`, saved in the insight's `ViewSpec` and so in
//! every version), the first chart proposed from a result's column types, the checks of a
//! spec against the columns a result has, and what the server sends the browser to draw
//! (`ChartData`). Building ECharts options happens on the server (`server::charts`); this
//! module stays small because the browser carries it.
use super::query::Column;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kinds of chart an insight can show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    #[default]
    Bar,
    Line,
    Area,
    Pie,
    Scatter,
    /// Bars and lines together; the lines on a second axis.
    Combo,
    /// One big value, with an optional comparison shown as change and percent.
    Number,
}

impl ChartKind {
    pub const ALL: [ChartKind; 7] = [
        ChartKind::Bar,
        ChartKind::Line,
        ChartKind::Area,
        ChartKind::Pie,
        ChartKind::Scatter,
        ChartKind::Combo,
        ChartKind::Number,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ChartKind::Bar => "bar",
            ChartKind::Line => "line",
            ChartKind::Area => "area",
            ChartKind::Pie => "pie",
            ChartKind::Scatter => "scatter",
            ChartKind::Combo => "combo",
            ChartKind::Number => "number",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ChartKind::Bar => "Bar",
            ChartKind::Line => "Line",
            ChartKind::Area => "Area",
            ChartKind::Pie => "Pie",
            ChartKind::Scatter => "Scatter",
            ChartKind::Combo => "Bar + line",
            ChartKind::Number => "Number",
        }
    }
    pub fn parse(s: &str) -> Option<ChartKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How series of a bar or area chart pile up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stack {
    #[default]
    None,
    Stacked,
    /// Each category's values as shares of 100 %.
    Percent,
}

/// The order of categories.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartSort {
    /// As the query returned them.
    #[default]
    Result,
    LabelAsc,
    LabelDesc,
    ValueAsc,
    ValueDesc,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegendPos {
    #[default]
    Top,
    Bottom,
    Right,
    Hidden,
}

/// A missing value (NULL, or no row for a category of a series).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    #[default]
    Gap,
    Zero,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Palette {
    #[default]
    Default,
    Cool,
    Warm,
    Mono,
}

impl Palette {
    pub fn colors(self) -> &'static [&'static str] {
        match self {
            Palette::Default => &[
                "#3b6fd8", "#e8833a", "#3aa776", "#d64c5b", "#8a63d2", "#2fa5b9", "#c9a227",
                "#7d8896",
            ],
            Palette::Cool => &[
                "#1f4e9c", "#2f86c9", "#39b3c2", "#5cc9a7", "#8fd18a", "#6b7fd7", "#9aa7e8",
            ],
            Palette::Warm => &[
                "#b8332f", "#e0623a", "#f09a3e", "#f2c14e", "#c9734b", "#9c4f7a", "#d98aa7",
            ],
            Palette::Mono => &[
                "#1d2430", "#44505f", "#6b7686", "#939cab", "#b9c0cb", "#dde1e7",
            ],
        }
    }
}

/// How values read: `1,234.5`, `12.5 %`, `$1,234`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NumberFormat {
    /// Digits after the point; `None` shows what the value has (at most 2 for fractions).
    pub decimals: Option<u8>,
    /// Values are fractions shown as percent (0.125 → 12.5 %).
    pub percent: bool,
    pub prefix: String,
    pub suffix: String,
    /// No thousands separators (years, ids).
    pub plain: bool,
}

impl NumberFormat {
    /// The value as the chart shows it. The browser's formatter (charts.js) follows the same
    /// rules with `Intl.NumberFormat`.
    pub fn format(&self, v: f64) -> String {
        if !v.is_finite() {
            return if v.is_nan() {
                "NaN".into()
            } else if v > 0.0 {
                "∞".into()
            } else {
                "-∞".into()
            };
        }
        let v = if self.percent { v * 100.0 } else { v };
        let decimals =
            self.decimals
                .map(usize::from)
                .unwrap_or_else(|| if v.fract() == 0.0 { 0 } else { 2 });
        let mut s = format!("{:.*}", decimals.min(10), v.abs());
        if self.decimals.is_none() && s.contains('.') {
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i.to_string(), Some(f.to_string())),
            None => (s.clone(), None),
        };
        let int = if self.plain {
            int
        } else {
            group_thousands(&int)
        };
        let neg = v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
        let mut out = String::new();
        if neg {
            out.push('-');
        }
        out.push_str(&self.prefix);
        out.push_str(&int);
        if let Some(f) = frac {
            out.push('.');
            out.push_str(&f);
        }
        if self.percent {
            out.push_str(" %");
        }
        out.push_str(&self.suffix);
        out
    }
}

fn group_thousands(digits: &str) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One chart: its kind, the columns it draws and how it looks. Saved with the insight.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChartSpec {
    pub kind: ChartKind,
    /// The category, date or number along the x axis (the slice names of a pie).
    pub x: Option<String>,
    /// The values drawn (the first only for pie and number).
    pub y: Vec<String>,
    /// A column whose values become separate series (a long result pivoted on the server).
    pub series: Option<String>,
    /// Scatter: the column giving each point's size.
    pub size: Option<String>,
    /// Number: a comparison value (e.g. last week's), shown as change and percent.
    pub compare: Option<String>,
    /// Number: a column whose values over the rows draw a small trend line under it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sparkline: Option<String>,
    /// Combo: the y columns drawn as lines on the second axis (the others are bars).
    pub lines: Vec<String>,
    /// Bars lie along the y axis.
    pub horizontal: bool,
    pub stack: Stack,
    /// Pie: a ring instead of a disc.
    pub donut: bool,
    pub sort: ChartSort,
    /// At most this many categories (pie, bar); the rest are summed as "Other".
    pub limit: Option<u32>,
    pub x_title: String,
    pub y_title: String,
    pub format: NumberFormat,
    pub palette: Palette,
    pub labels: bool,
    pub legend: LegendPos,
    pub missing: Missing,
    /// A visualization plugin draws instead of a built-in kind (its id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The plugin's columns: its column name → the result's column.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub plugin_columns: BTreeMap<String, String>,
    /// The plugin's options by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub plugin_options: BTreeMap<String, serde_json::Value>,
}

/// The largest category limit an editor may set.
pub const MAX_LIMIT: u32 = 1_000;

/// How a column's values behave in a chart, from its database type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    Number,
    Temporal,
    Text,
}

pub fn role(type_name: &str) -> ColumnRole {
    let t = type_name.to_ascii_lowercase();
    let has = |w: &[&str]| w.iter().any(|x| t.contains(x));
    if has(&["date", "time", "timestamp"]) && !has(&["interval"]) {
        ColumnRole::Temporal
    } else if has(&[
        "int", "numeric", "decimal", "float", "double", "real", "money", "number", "serial",
    ]) && !has(&["point", "interval"])
    {
        ColumnRole::Number
    } else {
        ColumnRole::Text
    }
}

/// The chart proposed for a result nobody configured yet: one row of one number → number;
/// a date and numbers → line; a text and numbers → bar (a second text becomes the series);
/// two numbers → scatter. `None` when nothing sensible fits (no numeric column).
pub fn propose(columns: &[Column], rows: u64) -> Option<ChartSpec> {
    let numbers: Vec<&Column> = columns
        .iter()
        .filter(|c| role(&c.type_name) == ColumnRole::Number)
        .collect();
    let first_number = numbers.first()?;
    let temporal = columns
        .iter()
        .find(|c| role(&c.type_name) == ColumnRole::Temporal);
    let texts: Vec<&Column> = columns
        .iter()
        .filter(|c| role(&c.type_name) == ColumnRole::Text)
        .collect();
    let mut spec = ChartSpec::default();
    if rows == 1 && temporal.is_none() && texts.is_empty() {
        spec.kind = ChartKind::Number;
        spec.y = vec![first_number.name.clone()];
        spec.compare = numbers.get(1).map(|c| c.name.clone());
        return Some(spec);
    }
    if let Some(t) = temporal {
        spec.kind = ChartKind::Line;
        spec.x = Some(t.name.clone());
        spec.series = texts.first().map(|c| c.name.clone());
    } else if let Some(t) = texts.first() {
        spec.kind = ChartKind::Bar;
        spec.x = Some(t.name.clone());
        spec.series = texts.get(1).map(|c| c.name.clone());
    } else if numbers.len() >= 2 {
        spec.kind = ChartKind::Scatter;
        spec.x = Some(first_number.name.clone());
        spec.y = vec![numbers[1].name.clone()];
        return Some(spec);
    } else {
        spec.kind = ChartKind::Bar;
    }
    spec.y = if spec.series.is_some() {
        vec![first_number.name.clone()]
    } else {
        numbers.iter().take(4).map(|c| c.name.clone()).collect()
    };
    Some(spec)
}

/// What is wrong with a spec for these columns, in words that say what to change. Field
/// names match the chart editor's inputs.
pub fn check(spec: &ChartSpec, columns: &[Column]) -> Vec<(&'static str, String)> {
    let mut out = vec![];
    let find = |n: &str| columns.iter().find(|c| c.name == n);
    let names = || {
        columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing = |field: &'static str, n: &str, out: &mut Vec<(&'static str, String)>| {
        if find(n).is_none() {
            out.push((
                field,
                format!(
                    "The result has no column “{n}” (the SQL may have changed); choose one of: {}.",
                    names()
                ),
            ));
            true
        } else {
            false
        }
    };
    let needs_x = !matches!(spec.kind, ChartKind::Number);
    match &spec.x {
        Some(x) => {
            missing("x", x, &mut out);
        }
        None if needs_x => out.push(("x", "Choose the column along the x axis.".into())),
        None => {}
    }
    if spec.y.is_empty() {
        out.push(("y", "Choose at least one value column.".into()));
    }
    for y in &spec.y {
        if !missing("y", y, &mut out)
            && find(y).is_some_and(|c| role(&c.type_name) != ColumnRole::Number)
        {
            out.push((
                "y",
                format!(
                    "“{y}” holds text ({}), not numbers: choose a numeric column or cast it in the SQL.",
                    find(y).map(|c| c.type_name.as_str()).unwrap_or("")
                ),
            ));
        }
    }
    for (field, col) in [
        ("series", &spec.series),
        ("size", &spec.size),
        ("compare", &spec.compare),
        ("sparkline", &spec.sparkline),
    ] {
        if let Some(c) = col {
            missing(field, c, &mut out);
        }
    }
    if let Some(l) = spec.limit {
        if l == 0 || l > MAX_LIMIT {
            out.push((
                "limit",
                format!("Show between 1 and {MAX_LIMIT} categories, or leave it empty."),
            ));
        }
    }
    out
}

/// A number chart's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberView {
    pub label: String,
    pub value: String,
    /// "+12.5 % (+1,234) vs 9,876", with the direction for its colour.
    pub change: Option<String>,
    pub up: Option<bool>,
    /// The sparkline's values, in row order (at most 500).
    #[serde(default)]
    pub spark: Vec<f64>,
}

/// The points of a sparkline in a `width` × `height` box (SVG `points`), lowest value at the
/// bottom; empty for fewer than two values.
pub fn spark_points(values: &[f64], width: f64, height: f64) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let step = width / (values.len() - 1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                height - 2.0 - (v - lo) / span * (height - 4.0)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The kind of values a plugin column takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginColumnType {
    Number,
    Text,
    Date,
    Any,
}

/// A column a plugin needs, as its manifest declares it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginColumn {
    pub name: String,
    #[serde(default)]
    pub label: String,
    /// The types it accepts (any when empty).
    #[serde(default)]
    pub types: Vec<PluginColumnType>,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginOptionType {
    Text,
    Number,
    Boolean,
    Choice,
}

/// A typed option of a plugin, rendered as a form field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginOption {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type")]
    pub kind: PluginOptionType,
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// For `choice`: the values offered.
    #[serde(default)]
    pub choices: Vec<String>,
}

/// `plugin.json`: what a visualization plugin is and needs. Unknown fields are refused, so a
/// typo is an error rather than a silently ignored setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginManifest {
    pub id: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// The ES module file exporting `render(element, data, options, sightline)`.
    pub module: String,
    #[serde(default)]
    pub columns: Vec<PluginColumn>,
    #[serde(default)]
    pub options: Vec<PluginOption>,
}

impl PluginManifest {
    /// What is wrong with a manifest that parsed, in words.
    pub fn check(&self) -> Result<(), String> {
        let plain = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.len() <= 100
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !plain(&self.id) {
            return Err("The id must be letters, digits, - _ or . (at most 100).".into());
        }
        if self.name.trim().is_empty() {
            return Err("The manifest needs a name.".into());
        }
        if !plain(&self.module) || !self.module.ends_with(".js") {
            return Err("“module” must name a .js file beside plugin.json.".into());
        }
        if self.columns.is_empty() {
            return Err("The manifest lists no columns.".into());
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.columns {
            if c.name.trim().is_empty() || !seen.insert(c.name.as_str()) {
                return Err(format!(
                    "Column names must be present and distinct (“{}”).",
                    c.name
                ));
            }
        }
        for o in &self.options {
            if o.kind == PluginOptionType::Choice && o.choices.is_empty() {
                return Err(format!("The choice option “{}” lists no choices.", o.name));
            }
        }
        Ok(())
    }
}

/// An installed plugin as the chart picker shows it; `error` says why it cannot be used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub manifest: PluginManifest,
    pub error: Option<String>,
}

/// What a plugin draws: its module's address and the rows it is shown (its columns in its
/// manifest's order), with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginPayload {
    pub id: String,
    pub name: String,
    pub module_url: String,
    /// `{"columns": [...], "rows": [[...]]}` and the options, as JSON for the frame.
    pub payload: String,
}

/// What the server sends for a chart of a finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    /// The spec drawn (the proposed one when the insight has none).
    pub spec: ChartSpec,
    /// ECharts option JSON (empty for a number).
    pub option: String,
    pub number: Option<NumberView>,
    /// Shown above the chart: a cap that applied ("showing the first 10,000 of 52,000 rows").
    pub note: Option<String>,
    /// The chart cannot be drawn; what to change.
    pub problems: Vec<String>,
    /// Categories as drawn (x values), for clicks.
    pub categories: Vec<String>,
    /// A plugin draws this chart.
    #[serde(default)]
    pub plugin: Option<PluginPayload>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, t: &str) -> Column {
        Column {
            name: name.into(),
            type_name: t.into(),
        }
    }

    #[test]
    fn proposals_follow_column_types() {
        let line = propose(
            &[
                col("month", "DATE"),
                col("country", "TEXT"),
                col("revenue", "NUMERIC"),
            ],
            36,
        )
        .unwrap();
        assert_eq!(line.kind, ChartKind::Line);
        assert_eq!(line.x.as_deref(), Some("month"));
        assert_eq!(line.series.as_deref(), Some("country"));
        assert_eq!(line.y, vec!["revenue"]);

        let bar = propose(&[col("status", "VARCHAR"), col("n", "INT8")], 4).unwrap();
        assert_eq!(
            (bar.kind, bar.x.as_deref()),
            (ChartKind::Bar, Some("status"))
        );

        let number = propose(&[col("total", "int8"), col("last_week", "int8")], 1).unwrap();
        assert_eq!(number.kind, ChartKind::Number);
        assert_eq!(number.compare.as_deref(), Some("last_week"));

        let scatter = propose(&[col("a", "FLOAT8"), col("b", "DOUBLE")], 10).unwrap();
        assert_eq!(scatter.kind, ChartKind::Scatter);

        assert_eq!(propose(&[col("name", "TEXT")], 3), None);
    }

    #[test]
    fn checks_name_the_column_and_what_to_do() {
        let cols = [
            col("month", "DATE"),
            col("country", "TEXT"),
            col("revenue", "NUMERIC"),
        ];
        let mut spec = propose(&cols, 10).unwrap();
        assert!(check(&spec, &cols).is_empty());
        spec.y = vec!["profit".into()];
        let p = check(&spec, &cols);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "y");
        assert!(p[0].1.contains("no column “profit”"), "{p:?}");
        assert!(p[0].1.contains("month, country, revenue"), "{p:?}");
        spec.y = vec!["country".into()];
        assert!(check(&spec, &cols)[0].1.contains("holds text"));
        spec.y = vec!["revenue".into()];
        spec.limit = Some(0);
        assert_eq!(check(&spec, &cols)[0].0, "limit");
        spec.limit = None;
        spec.x = None;
        assert_eq!(check(&spec, &cols)[0].0, "x");
    }

    #[test]
    fn sparklines_fill_their_box() {
        assert_eq!(spark_points(&[1.0], 100.0, 20.0), "");
        assert_eq!(
            spark_points(&[0.0, 5.0, 10.0], 100.0, 20.0),
            "0.0,18.0 50.0,10.0 100.0,2.0"
        );
        assert_eq!(spark_points(&[3.0, 3.0], 10.0, 20.0), "0.0,18.0 10.0,18.0");
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        let f = NumberFormat::default();
        assert_eq!(f.format(1234567.0), "1,234,567");
        assert_eq!(f.format(-1234.5), "-1,234.5");
        assert_eq!(f.format(0.126), "0.13");
        let money = NumberFormat {
            decimals: Some(2),
            prefix: "$".into(),
            ..Default::default()
        };
        assert_eq!(money.format(-1234.5), "-$1,234.50");
        let pct = NumberFormat {
            percent: true,
            decimals: Some(1),
            ..Default::default()
        };
        assert_eq!(pct.format(0.125), "12.5 %");
        let plain = NumberFormat {
            plain: true,
            ..Default::default()
        };
        assert_eq!(plain.format(2024.0), "2024");
        assert_eq!(f.format(f64::NAN), "NaN");
        assert_eq!(f.format(-0.001), "0");
    }
}
