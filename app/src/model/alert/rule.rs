//! Alert rules: what an alert watches in its insight's result (a threshold on a column, row
//! counts, one instance per row), and their pure evaluation against a result.
use crate::model::query::{Column, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What an alert watches in its insight's result.
///
/// Serialized with a `kind` tag, e.g.
/// `{ kind: threshold, column: n, selector: first, op: ">", value: 50 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// Holds when the result has at least one row.
    AnyRows,
    /// Holds when the result has no rows.
    NoRows,
    /// Holds when one number taken from a column compares true with a value.
    Threshold(Threshold),
    /// One alert instance per distinct value of `key_column`. Without a condition every
    /// row present holds; with one, a row holds when its own value meets it.
    PerRow {
        key_column: String,
        #[serde(default)]
        condition: Option<RowCondition>,
    },
    /// Sends the result as a digest on every successful run.
    Always,
}

impl Rule {
    /// The condition in words, as the alert's page shows it: `max of latency_ms > 500`.
    pub fn describe(&self) -> String {
        match self {
            Rule::AnyRows => "The result has rows".into(),
            Rule::NoRows => "The result has no rows".into(),
            Rule::Always => "Always: sends the result on every run".into(),
            Rule::Threshold(t) => format!(
                "{} {} {} {}",
                t.selector.label(),
                t.column,
                t.op.symbol(),
                t.value
            ),
            Rule::PerRow {
                key_column,
                condition,
            } => match condition {
                None => format!("One alert per {key_column}, for every row"),
                Some(c) => format!(
                    "One alert per {key_column}, for rows where {} {} {}",
                    c.column,
                    c.op.symbol(),
                    c.value
                ),
            },
        }
    }
}

/// `selector(column) op value`, e.g. `max(latency_ms) > 500`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub column: String,
    #[serde(default)]
    pub selector: Selector,
    pub op: Op,
    pub value: f64,
}

/// `column op value`, checked on each row of a `per_row` rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowCondition {
    pub column: String,
    pub op: Op,
    pub value: f64,
}

/// How a threshold reduces a column to one number. NULLs are skipped, except by `first`,
/// which reads the first row as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selector {
    #[default]
    First,
    Min,
    Max,
    Sum,
    Avg,
    /// Non-NULL values, of any type.
    Count,
}

impl Selector {
    pub const ALL: [Selector; 6] = [
        Selector::First,
        Selector::Min,
        Selector::Max,
        Selector::Sum,
        Selector::Avg,
        Selector::Count,
    ];

    /// `first`, `min`, … as in the stored rule and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Selector::First => "first",
            Selector::Min => "min",
            Selector::Max => "max",
            Selector::Sum => "sum",
            Selector::Avg => "avg",
            Selector::Count => "count",
        }
    }

    /// How the form and the alert's page say it: `first row of`, `max of`.
    pub fn label(self) -> &'static str {
        match self {
            Selector::First => "first row of",
            Selector::Min => "min of",
            Selector::Max => "max of",
            Selector::Sum => "sum of",
            Selector::Avg => "average of",
            Selector::Count => "count of",
        }
    }

    /// The selector of [`name`](Self::name), first when unknown.
    pub fn from_name(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or_default()
    }
}

/// A comparison. `=` and `!=` (and the equal part of `>=`/`<=`) allow a relative error of
/// 1e-9, so that sums of decimals compare as a person expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">", alias = "gt")]
    Gt,
    #[serde(rename = ">=", alias = "gte")]
    Ge,
    #[serde(rename = "<", alias = "lt")]
    Lt,
    #[serde(rename = "<=", alias = "lte")]
    Le,
    #[serde(rename = "=", alias = "==", alias = "eq")]
    Eq,
    #[serde(rename = "!=", alias = "<>", alias = "ne")]
    Ne,
}

impl Op {
    /// The operator as written in rules and messages.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ne => "!=",
        }
    }

    /// Whether `left op right` is true.
    pub fn compare(self, left: f64, right: f64) -> bool {
        let eq = approx_eq(left, right);
        match self {
            Op::Gt => left > right && !eq,
            Op::Ge => left > right || eq,
            Op::Lt => left < right && !eq,
            Op::Le => left < right || eq,
            Op::Eq => eq,
            Op::Ne => !eq,
        }
    }
}

fn approx_eq(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// The result of checking one alert instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The condition was checked. `observed` is the number it looked at (the selected value,
    /// or the row count for `any_rows`/`no_rows`, or how many instances hold for `per_row`).
    Checked { holds: bool, observed: Option<f64> },
    /// An `always` rule ran: its result goes out as a digest.
    Digest { row_count: usize },
    /// Nothing to compare: no rows, or NULL where a number was expected.
    NoData { reason: String },
    /// The query failed, or the rule does not fit its result.
    Error { message: String },
}

impl Outcome {
    /// The outcome of a run whose query failed.
    pub fn query_failed(message: impl Into<String>) -> Self {
        Outcome::Error {
            message: message.into(),
        }
    }

    /// `Some(holds)` when the condition could be checked.
    pub fn holds(&self) -> Option<bool> {
        match self {
            Outcome::Checked { holds, .. } => Some(*holds),
            Outcome::Digest { .. } => Some(true),
            _ => None,
        }
    }

    /// The number the condition looked at, for messages.
    pub fn observed(&self) -> Option<f64> {
        match self {
            Outcome::Checked { observed, .. } => *observed,
            Outcome::Digest { row_count } => Some(*row_count as f64),
            _ => None,
        }
    }
}

/// What [`evaluate`] found in one result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The outcome for the rule as a whole. For `per_row` it holds when any instance does.
    pub outcome: Outcome,
    /// `per_row` only, when the result could be read: instance key → its outcome.
    #[serde(default)]
    pub instances: Option<BTreeMap<String, Outcome>>,
    pub row_count: usize,
}

impl Evaluation {
    /// The evaluation of a run whose query failed: every instance keeps its last key set.
    pub fn query_failed(message: impl Into<String>) -> Self {
        Evaluation {
            outcome: Outcome::query_failed(message),
            instances: None,
            row_count: 0,
        }
    }

    fn single(outcome: Outcome, row_count: usize) -> Self {
        Evaluation {
            outcome,
            instances: None,
            row_count,
        }
    }
}

/// Checks `rule` against a query result. Pure: no clock, no I/O.
pub fn evaluate(rule: &Rule, columns: &[Column], rows: &[Vec<Value>]) -> Evaluation {
    let n = rows.len();
    let outcome = match rule {
        Rule::AnyRows => checked(n > 0, Some(n as f64)),
        Rule::NoRows => checked(n == 0, Some(n as f64)),
        Rule::Always => Outcome::Digest { row_count: n },
        Rule::Threshold(t) => evaluate_threshold(t, columns, rows),
        Rule::PerRow {
            key_column,
            condition,
        } => return evaluate_per_row(key_column, condition.as_ref(), columns, rows),
    };
    Evaluation::single(outcome, n)
}

pub(super) fn checked(holds: bool, observed: Option<f64>) -> Outcome {
    Outcome::Checked { holds, observed }
}

fn evaluate_threshold(t: &Threshold, columns: &[Column], rows: &[Vec<Value>]) -> Outcome {
    let col = match find_column(columns, &t.column) {
        Ok(i) => i,
        Err(message) => return Outcome::Error { message },
    };
    if rows.is_empty() {
        return Outcome::NoData {
            reason: "the query returned no rows".into(),
        };
    }
    match select(t.selector, &columns[col], rows.iter().map(|r| cell(r, col))) {
        Ok(Some(v)) => checked(t.op.compare(v, t.value), Some(v)),
        Ok(None) => Outcome::NoData {
            reason: format!("column \"{}\" has no value to compare", t.column),
        },
        Err(message) => Outcome::Error { message },
    }
}

fn evaluate_per_row(
    key_column: &str,
    condition: Option<&RowCondition>,
    columns: &[Column],
    rows: &[Vec<Value>],
) -> Evaluation {
    let n = rows.len();
    let key = find_column(columns, key_column);
    let cond = condition.map(|c| find_column(columns, &c.column).map(|i| (c, i)));
    let (key, cond) = match (key, cond.transpose()) {
        (Ok(k), Ok(c)) => (k, c),
        (Err(message), _) | (_, Err(message)) => {
            return Evaluation::single(Outcome::Error { message }, n)
        }
    };
    let mut instances: BTreeMap<String, Outcome> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let name = cell(row, key).display().unwrap_or_else(|| "NULL".into());
        let outcome = match cond {
            None => checked(true, None),
            Some((c, col)) => row_outcome(c, &columns[col], cell(row, col), i),
        };
        // A key on several rows holds when any of its rows does.
        let keep_old = instances
            .get(&name)
            .is_some_and(|o| o.holds() == Some(true));
        if !keep_old {
            instances.insert(name, outcome);
        }
    }
    let holding = instances
        .values()
        .filter(|o| o.holds() == Some(true))
        .count();
    Evaluation {
        outcome: checked(holding > 0, Some(holding as f64)),
        instances: Some(instances),
        row_count: n,
    }
}

fn row_outcome(c: &RowCondition, column: &Column, value: &Value, row: usize) -> Outcome {
    match number(column, value, row) {
        Ok(Some(v)) => checked(c.op.compare(v, c.value), Some(v)),
        Ok(None) => Outcome::NoData {
            reason: format!("column \"{}\" is NULL", c.column),
        },
        Err(message) => Outcome::Error { message },
    }
}

/// The index of the column called `name`: exact match first, then ignoring case.
fn find_column(columns: &[Column], name: &str) -> Result<usize, String> {
    let exact = columns.iter().position(|c| c.name == name);
    let folded = || {
        let mut hits = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name.eq_ignore_ascii_case(name));
        match (hits.next(), hits.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    };
    exact.or_else(folded).ok_or_else(|| {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        if names.is_empty() {
            format!("no column \"{name}\": the result has no columns")
        } else {
            format!(
                "no column \"{name}\" in the result; available columns: {}",
                names.join(", ")
            )
        }
    })
}

fn cell(row: &[Value], i: usize) -> &Value {
    row.get(i).unwrap_or(&Value::Null)
}

/// Reduces a column with `selector`; `Ok(None)` when there is no value to compare.
fn select<'a>(
    selector: Selector,
    column: &Column,
    mut values: impl Iterator<Item = &'a Value>,
) -> Result<Option<f64>, String> {
    if selector == Selector::Count {
        return Ok(Some(values.filter(|v| **v != Value::Null).count() as f64));
    }
    if selector == Selector::First {
        return values.next().map_or(Ok(None), |v| number(column, v, 0));
    }
    let mut nums = Vec::new();
    for (row, v) in values.enumerate() {
        if let Some(x) = number(column, v, row)? {
            nums.push(x);
        }
    }
    if nums.is_empty() {
        return Ok(None);
    }
    let sum = || nums.iter().sum::<f64>();
    Ok(Some(match selector {
        Selector::Min => nums.iter().copied().fold(f64::INFINITY, f64::min),
        Selector::Max => nums.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Selector::Sum => sum(),
        _ => sum() / nums.len() as f64,
    }))
}

/// A cell as a number: `Ok(None)` for NULL, an error naming the column and 1-based row for
/// values that are not numbers. Booleans count as 1 and 0; text and JSON numbers are parsed.
fn number(column: &Column, value: &Value, row: usize) -> Result<Option<f64>, String> {
    let parsed = match value {
        Value::Null => return Ok(None),
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        Value::Float(f) => Some(*f),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        // Exact decimals (including `NaN`/`Infinity`) become the nearest f64.
        Value::Decimal(d) => d.trim().parse::<f64>().ok(),
        Value::Text(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        Value::Json(serde_json::Value::Number(n)) => n.as_f64(),
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| {
        let shown = value.display().unwrap_or_default();
        let shown: String = shown.chars().take(40).collect();
        format!(
            "column \"{}\" ({}) is not numeric: row {} holds \"{shown}\"",
            column.name,
            column.type_name,
            row + 1
        )
    })
}

#[cfg(test)]
pub(super) mod tests {
    #[test]
    fn rules_read_as_words() {
        let t = Rule::Threshold(Threshold {
            column: "latency_ms".into(),
            selector: Selector::Max,
            op: Op::Gt,
            value: 500.0,
        });
        assert_eq!(t.describe(), "max of latency_ms > 500");
        let r = Rule::PerRow {
            key_column: "host".into(),
            condition: Some(RowCondition {
                column: "cpu".into(),
                op: Op::Ge,
                value: 0.9,
            }),
        };
        assert_eq!(
            r.describe(),
            "One alert per host, for rows where cpu >= 0.9"
        );
        assert_eq!(Rule::NoRows.describe(), "The result has no rows");
    }

    use super::*;

    pub(in crate::model::alert) fn cols(names: &[(&str, &str)]) -> Vec<Column> {
        names
            .iter()
            .map(|(n, t)| Column {
                name: n.to_string(),
                type_name: t.to_string(),
            })
            .collect()
    }

    pub(in crate::model::alert) fn n_col() -> Vec<Column> {
        cols(&[("n", "int8")])
    }

    pub(in crate::model::alert) fn ints(values: &[i64]) -> Vec<Vec<Value>> {
        values.iter().map(|v| vec![Value::Int(*v)]).collect()
    }

    pub(in crate::model::alert) fn threshold(selector: Selector, op: Op, value: f64) -> Rule {
        Rule::Threshold(Threshold {
            column: "n".into(),
            selector,
            op,
            value,
        })
    }

    fn holds(rule: &Rule, columns: &[Column], rows: &[Vec<Value>]) -> Option<bool> {
        evaluate(rule, columns, rows).outcome.holds()
    }

    #[test]
    fn rule_accepts_the_documented_json_and_yaml_shape() {
        let json = r#"{ "kind": "threshold", "column": "n", "selector": "first", "op": ">", "value": 50 }"#;
        let rule: Rule = serde_json::from_str(json).unwrap();
        assert_eq!(rule, threshold(Selector::First, Op::Gt, 50.0));
        let back = serde_json::to_value(&rule).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"kind":"threshold","column":"n","selector":"first","op":">","value":50.0})
        );
        for (text, rule) in [
            (r#"{"kind":"any_rows"}"#, Rule::AnyRows),
            (r#"{"kind":"no_rows"}"#, Rule::NoRows),
            (r#"{"kind":"always"}"#, Rule::Always),
            (
                r#"{"kind":"per_row","key_column":"host"}"#,
                Rule::PerRow {
                    key_column: "host".into(),
                    condition: None,
                },
            ),
            (
                r#"{"kind":"per_row","key_column":"host","condition":{"column":"cpu","op":">=","value":0.9}}"#,
                Rule::PerRow {
                    key_column: "host".into(),
                    condition: Some(RowCondition {
                        column: "cpu".into(),
                        op: Op::Ge,
                        value: 0.9,
                    }),
                },
            ),
        ] {
            assert_eq!(serde_json::from_str::<Rule>(text).unwrap(), rule, "{text}");
            let again = serde_json::to_string(&rule).unwrap();
            assert_eq!(serde_json::from_str::<Rule>(&again).unwrap(), rule);
        }
        assert!(serde_json::from_str::<Rule>(r#"{"kind":"sometimes"}"#).is_err());
        assert!(serde_json::from_str::<Rule>(
            r#"{"kind":"threshold","column":"n","op":"~","value":1}"#
        )
        .is_err());
    }

    #[test]
    fn every_operator_compares_as_written() {
        use Op::*;
        // (op, left, right, expected)
        let table = [
            (Gt, 2.0, 1.0, true),
            (Gt, 1.0, 1.0, false),
            (Gt, 0.0, 1.0, false),
            (Ge, 2.0, 1.0, true),
            (Ge, 1.0, 1.0, true),
            (Ge, 0.0, 1.0, false),
            (Lt, 0.0, 1.0, true),
            (Lt, 1.0, 1.0, false),
            (Lt, 2.0, 1.0, false),
            (Le, 0.0, 1.0, true),
            (Le, 1.0, 1.0, true),
            (Le, 2.0, 1.0, false),
            (Eq, 1.0, 1.0, true),
            (Eq, 0.1 + 0.2, 0.3, true),
            (Eq, 1.0, 1.001, false),
            (Ne, 1.0, 2.0, true),
            (Ne, 0.1 + 0.2, 0.3, false),
            (Gt, 0.1 + 0.2, 0.3, false),
            (Ne, f64::NAN, 1.0, true),
            (Eq, f64::NAN, f64::NAN, false),
        ];
        for (op, l, r, want) in table {
            assert_eq!(op.compare(l, r), want, "{l} {} {r}", op.symbol());
        }
        for (op, sym) in [
            (Gt, ">"),
            (Ge, ">="),
            (Lt, "<"),
            (Le, "<="),
            (Eq, "="),
            (Ne, "!="),
        ] {
            assert_eq!(serde_json::to_value(op).unwrap(), sym);
            assert_eq!(op.symbol(), sym);
        }
        assert_eq!(serde_json::from_str::<Op>(r#""gte""#).unwrap(), Ge);
    }

    #[test]
    fn every_selector_reduces_the_column() {
        let rows = vec![
            vec![Value::Int(4)],
            vec![Value::Null],
            vec![Value::Int(10)],
            vec![Value::Int(1)],
        ];
        // (selector, expected observed)
        let table = [
            (Selector::First, 4.0),
            (Selector::Min, 1.0),
            (Selector::Max, 10.0),
            (Selector::Sum, 15.0),
            (Selector::Avg, 5.0),
            (Selector::Count, 3.0),
        ];
        for (selector, want) in table {
            let eval = evaluate(&threshold(selector, Op::Eq, want), &n_col(), &rows);
            assert_eq!(eval.outcome, checked(true, Some(want)), "{selector:?}");
            assert_eq!(eval.row_count, 4);
        }
    }

    #[test]
    fn threshold_from_issue_holds_above_fifty() {
        let rule = threshold(Selector::First, Op::Gt, 50.0);
        assert_eq!(holds(&rule, &n_col(), &ints(&[51])), Some(true));
        assert_eq!(holds(&rule, &n_col(), &ints(&[50])), Some(false));
        assert_eq!(holds(&rule, &n_col(), &ints(&[7, 99])), Some(false));
    }

    #[test]
    fn numbers_of_every_representation_are_read() {
        let table = [
            (Value::Int(-3), -3.0),
            (Value::UInt(u64::MAX), u64::MAX as f64),
            (Value::Float(2.5), 2.5),
            (
                Value::Decimal("12345678901234.5600".into()),
                12345678901234.56,
            ),
            (Value::Decimal("-0.000001".into()), -0.000001),
            (Value::Decimal("Infinity".into()), f64::INFINITY),
            (Value::Text(" 42 ".into()), 42.0),
            (Value::Bool(true), 1.0),
            (Value::Bool(false), 0.0),
            (Value::Json(serde_json::json!(7.25)), 7.25),
        ];
        for (value, want) in table {
            let eval = evaluate(
                &threshold(Selector::First, Op::Eq, want),
                &n_col(),
                &[vec![value.clone()]],
            );
            assert_eq!(eval.outcome.observed(), Some(want), "{value:?}");
            assert_eq!(eval.outcome.holds(), Some(true), "{value:?}");
        }
    }

    #[test]
    fn non_numeric_values_are_a_clear_error() {
        let columns = cols(&[("n", "text")]);
        for value in [
            Value::Text("abc".into()),
            Value::Text("inf".into()),
            Value::Date("2024-05-01".into()),
            Value::Json(serde_json::json!({"a": 1})),
            Value::Bytes(vec![1]),
        ] {
            let rows = vec![vec![Value::Int(1)], vec![value.clone()]];
            let eval = evaluate(&threshold(Selector::Max, Op::Gt, 0.0), &columns, &rows);
            let Outcome::Error { message } = eval.outcome else {
                panic!("{value:?} should be an error");
            };
            assert!(
                message.starts_with("column \"n\" (text) is not numeric: row 2 holds"),
                "{message}"
            );
        }
        // Count does not need numbers.
        let rows = vec![vec![Value::Text("abc".into())]];
        let eval = evaluate(&threshold(Selector::Count, Op::Eq, 1.0), &columns, &rows);
        assert_eq!(eval.outcome.holds(), Some(true));
    }

    #[test]
    fn threshold_without_rows_or_values_is_no_data() {
        for selector in [
            Selector::First,
            Selector::Min,
            Selector::Max,
            Selector::Sum,
            Selector::Avg,
            Selector::Count,
        ] {
            let eval = evaluate(&threshold(selector, Op::Gt, 0.0), &n_col(), &[]);
            assert_eq!(
                eval.outcome,
                Outcome::NoData {
                    reason: "the query returned no rows".into()
                },
                "{selector:?}"
            );
        }
        let nulls = vec![vec![Value::Null], vec![Value::Null]];
        for selector in [
            Selector::First,
            Selector::Min,
            Selector::Max,
            Selector::Sum,
            Selector::Avg,
        ] {
            let eval = evaluate(&threshold(selector, Op::Gt, 0.0), &n_col(), &nulls);
            assert!(
                matches!(eval.outcome, Outcome::NoData { .. }),
                "{selector:?}"
            );
        }
        let eval = evaluate(&threshold(Selector::Count, Op::Eq, 0.0), &n_col(), &nulls);
        assert_eq!(eval.outcome.holds(), Some(true));
    }

    #[test]
    fn a_missing_column_names_the_available_ones() {
        let columns = cols(&[("host", "text"), ("cpu", "float8")]);
        let rule = Rule::Threshold(Threshold {
            column: "load".into(),
            selector: Selector::First,
            op: Op::Gt,
            value: 1.0,
        });
        let eval = evaluate(&rule, &columns, &[]);
        assert_eq!(
            eval.outcome,
            Outcome::Error {
                message: "no column \"load\" in the result; available columns: host, cpu".into()
            }
        );
        let eval = evaluate(&rule, &[], &[]);
        assert!(
            matches!(eval.outcome, Outcome::Error { message } if message.contains("no columns"))
        );
        // Case differences are forgiven when unambiguous.
        let rule = threshold(Selector::First, Op::Eq, 1.0);
        assert_eq!(
            holds(&rule, &cols(&[("N", "int4")]), &ints(&[1])),
            Some(true)
        );
        let both = cols(&[("N", "int4"), ("n2", "int4")]);
        assert_eq!(
            holds(&rule, &both, &[vec![Value::Int(1), Value::Int(2)]]),
            Some(true)
        );
    }

    #[test]
    fn row_count_rules_and_always() {
        // (rule, rows, expected outcome)
        let table = [
            (Rule::AnyRows, 0, checked(false, Some(0.0))),
            (Rule::AnyRows, 2, checked(true, Some(2.0))),
            (Rule::NoRows, 0, checked(true, Some(0.0))),
            (Rule::NoRows, 2, checked(false, Some(2.0))),
            (Rule::Always, 0, Outcome::Digest { row_count: 0 }),
            (Rule::Always, 3, Outcome::Digest { row_count: 3 }),
        ];
        for (rule, n, want) in table {
            let rows = ints(&vec![1; n]);
            let eval = evaluate(&rule, &n_col(), &rows);
            assert_eq!(eval.outcome, want, "{rule:?} with {n} rows");
            assert_eq!(eval.instances, None);
        }
    }

    #[test]
    fn per_row_gives_one_instance_per_key() {
        let columns = cols(&[("host", "text"), ("cpu", "numeric")]);
        let row = |h: Option<&str>, cpu: Value| {
            vec![h.map_or(Value::Null, |h| Value::Text(h.into())), cpu]
        };
        let rows = vec![
            row(Some("a"), Value::Decimal("0.95".into())),
            row(Some("b"), Value::Decimal("0.10".into())),
            row(Some("b"), Value::Decimal("0.99".into())),
            row(Some("c"), Value::Null),
            row(Some("d"), Value::Text("high".into())),
            row(None, Value::Decimal("0.5".into())),
        ];
        let rule = Rule::PerRow {
            key_column: "host".into(),
            condition: Some(RowCondition {
                column: "cpu".into(),
                op: Op::Gt,
                value: 0.9,
            }),
        };
        let eval = evaluate(&rule, &columns, &rows);
        let found = eval.instances.clone().unwrap();
        assert_eq!(found["a"], checked(true, Some(0.95)));
        assert_eq!(found["b"], checked(true, Some(0.99)));
        assert!(matches!(found["c"], Outcome::NoData { .. }));
        assert!(
            matches!(&found["d"], Outcome::Error { message } if message.contains("row 5 holds \"high\""))
        );
        assert_eq!(found["NULL"], checked(false, Some(0.5)));
        assert_eq!(eval.outcome, checked(true, Some(2.0)));

        let no_condition = Rule::PerRow {
            key_column: "host".into(),
            condition: None,
        };
        let eval = evaluate(&no_condition, &columns, &rows[..2]);
        let keys: Vec<_> = eval.instances.unwrap().into_keys().collect();
        assert_eq!(keys, ["a", "b"]);

        let eval = evaluate(&no_condition, &columns, &[]);
        assert_eq!(eval.instances, Some(BTreeMap::new()));
        assert_eq!(eval.outcome.holds(), Some(false));

        let bad_key = Rule::PerRow {
            key_column: "server".into(),
            condition: None,
        };
        let eval = evaluate(&bad_key, &columns, &rows);
        assert!(
            matches!(eval.outcome, Outcome::Error { message } if message.contains("available columns: host, cpu"))
        );
        assert_eq!(eval.instances, None);
    }
}
