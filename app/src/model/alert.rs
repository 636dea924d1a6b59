//! Alert rules and alert states: a pure evaluation of a query result against a rule, and a
//! pure state machine (Grafana's Ok/Pending/Firing/NoData/Error) that decides which
//! notifications go out. Shared by the browser (rule forms) and the alert engine.
use super::query::{Column, Value};
use chrono::{DateTime, Duration, Utc};
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

fn checked(holds: bool, observed: Option<f64>) -> Outcome {
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

/// Grafana's alert states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    #[default]
    Ok,
    /// The condition holds but not yet for `pending_for` evaluations.
    Pending,
    Firing,
    NoData,
    Error,
}

/// How states advance and when notifications go out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatePolicy {
    /// Consecutive evaluations the condition must hold before Firing; 0 and 1 fire at once.
    #[serde(default)]
    pub pending_for: u32,
    /// Re-arm delay against flapping: after a Resolved notification, no Firing notification
    /// goes out before this many seconds have passed. The state still turns Firing; if it is
    /// still Firing once the cooldown is over, Firing is sent then; if it resolved meanwhile,
    /// neither Firing nor Resolved is sent.
    #[serde(default)]
    pub cooldown_secs: u64,
    /// Until then notifications are not sent but counted in [`InstanceState::muted`]; states
    /// still advance. A Firing held back by a mute is sent after it if still Firing.
    #[serde(default)]
    pub mute_until: Option<DateTime<Utc>>,
    /// Send a NoData notification on entering NoData.
    #[serde(default)]
    pub notify_no_data: bool,
}

impl StatePolicy {
    fn muted(&self, now: DateTime<Utc>) -> bool {
        self.mute_until.is_some_and(|until| now < until)
    }

    fn cooling_down(&self, state: &InstanceState, now: DateTime<Utc>) -> bool {
        let secs = i64::try_from(self.cooldown_secs).unwrap_or(i64::MAX);
        let cooldown = Duration::try_seconds(secs).unwrap_or(Duration::MAX);
        state
            .resolved_at
            .is_some_and(|at| now.signed_duration_since(at) < cooldown)
    }
}

/// The remembered state of one alert instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    pub state: AlertState,
    /// When the instance entered `state`.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Consecutive evaluations in which the condition held.
    #[serde(default)]
    pub streak: u32,
    /// The Firing notification of the current episode went out (kept through Error and
    /// NoData), so a Resolved will follow.
    #[serde(default)]
    pub notified: bool,
    /// When the last Resolved happened: the start of the cooldown.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Notifications suppressed by a mute.
    #[serde(default)]
    pub muted: u32,
    /// The last number the condition looked at.
    #[serde(default)]
    pub observed: Option<f64>,
    /// The last error message or no-data reason.
    #[serde(default)]
    pub message: Option<String>,
}

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Firing,
    Resolved,
    Error,
    NoData,
    Digest,
}

/// A notification to send to the alert's channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    /// The `per_row` instance key; `None` for the alert as a whole.
    #[serde(default)]
    pub instance: Option<String>,
    pub observed: Option<f64>,
    /// The error message or no-data reason.
    #[serde(default)]
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

/// Advances one instance by one evaluation and says what to send, if anything.
///
/// Resolved is sent only when a Firing instance whose Firing was sent turns Ok through a
/// successful evaluation. Firing → Error (or NoData) → Ok sends no Resolved; Firing → Error →
/// holds again goes back to Firing without a second Firing notification.
/// Error (and NoData, when asked for) is sent once on entering the state, not on repeats.
pub fn step(
    prev: &InstanceState,
    outcome: &Outcome,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> (InstanceState, Option<Notification>) {
    let mut next = InstanceState {
        observed: outcome.observed().or(prev.observed),
        message: None,
        ..prev.clone()
    };
    let kind = match outcome {
        Outcome::Error { message } => {
            next.message = Some(message.clone());
            on_unhealthy(&mut next, AlertState::Error);
            (prev.state != AlertState::Error).then_some(NotificationKind::Error)
        }
        Outcome::NoData { reason } => {
            next.message = Some(reason.clone());
            on_unhealthy(&mut next, AlertState::NoData);
            let entering = prev.state != AlertState::NoData;
            (entering && policy.notify_no_data).then_some(NotificationKind::NoData)
        }
        Outcome::Digest { .. } => {
            on_ok(&mut next);
            Some(NotificationKind::Digest)
        }
        Outcome::Checked { holds: false, .. } => on_clear(prev, &mut next, now),
        Outcome::Checked { holds: true, .. } => on_hold(prev, &mut next, policy, now),
    };
    if next.state != prev.state || prev.since.is_none() {
        next.since = Some(now);
    }
    let note = kind.and_then(|kind| send(&mut next, kind, policy, now));
    (next, note)
}

/// Error and NoData: the streak breaks; Firing is not resolved.
fn on_unhealthy(next: &mut InstanceState, state: AlertState) {
    next.state = state;
    next.streak = 0;
}

fn on_ok(next: &mut InstanceState) {
    next.state = AlertState::Ok;
    next.streak = 0;
    next.notified = false;
}

/// The condition no longer holds: Firing → Ok resolves.
fn on_clear(
    prev: &InstanceState,
    next: &mut InstanceState,
    now: DateTime<Utc>,
) -> Option<NotificationKind> {
    on_ok(next);
    let resolves = prev.state == AlertState::Firing && prev.notified;
    if resolves {
        next.resolved_at = Some(now);
    }
    resolves.then_some(NotificationKind::Resolved)
}

/// The condition holds: Pending until the streak is long enough, then Firing.
fn on_hold(
    prev: &InstanceState,
    next: &mut InstanceState,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> Option<NotificationKind> {
    next.streak = prev.streak.saturating_add(1);
    // An episode interrupted by Error/NoData carries on without a new pending period.
    let resumes = prev.notified && matches!(prev.state, AlertState::Error | AlertState::NoData);
    let firing =
        prev.state == AlertState::Firing || resumes || next.streak >= policy.pending_for.max(1);
    next.state = if firing {
        AlertState::Firing
    } else {
        AlertState::Pending
    };
    let announce = firing && !prev.notified && !policy.cooling_down(prev, now);
    announce.then_some(NotificationKind::Firing)
}

/// Builds the notification, or counts it as muted.
fn send(
    next: &mut InstanceState,
    kind: NotificationKind,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> Option<Notification> {
    if policy.muted(now) {
        next.muted = next.muted.saturating_add(1);
        return None;
    }
    if kind == NotificationKind::Firing {
        next.notified = true;
    }
    Some(Notification {
        kind,
        instance: None,
        observed: next.observed,
        message: next.message.clone(),
        at: now,
    })
}

/// The states of one alert: the alert as a whole, and its `per_row` instances by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertStates {
    /// For `per_row` rules this only tracks whether the query and rule work (Ok, Error,
    /// NoData): firing happens per instance.
    pub rule: InstanceState,
    #[serde(default)]
    pub instances: BTreeMap<String, InstanceState>,
}

/// Advances an alert by one evaluation, for every rule kind.
///
/// For `per_row`, new keys start Ok; keys missing from a successful result resolve (and are
/// forgotten once Ok and out of cooldown). When the result cannot be read at all, the one
/// Error/NoData notification comes from the alert as a whole, and instances turn Error/NoData
/// quietly, so they will not send a Resolved for that.
pub fn step_alert(
    prev: &AlertStates,
    eval: &Evaluation,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> (AlertStates, Vec<Notification>) {
    let Some(found) = &eval.instances else {
        let (rule, note) = step(&prev.rule, &eval.outcome, policy, now);
        // Instances follow silently (no mute counts either): the alert already says it.
        let quiet = StatePolicy::default();
        let instances = prev
            .instances
            .iter()
            .map(|(k, s)| (k.clone(), step(s, &eval.outcome, &quiet, now).0))
            .collect();
        return (AlertStates { rule, instances }, note.into_iter().collect());
    };
    let healthy = Outcome::Checked {
        holds: false,
        observed: eval.outcome.observed(),
    };
    let (rule, note) = step(&prev.rule, &healthy, policy, now);
    let (instances, mut notes) = step_instances(&prev.instances, found, policy, now);
    if let Some(note) = note {
        notes.insert(0, note);
    }
    (AlertStates { rule, instances }, notes)
}

/// Steps a map of instance key → state with the outcomes of one successful `per_row`
/// evaluation. New keys start Ok; keys not in `found` resolve.
pub fn step_instances(
    prev: &BTreeMap<String, InstanceState>,
    found: &BTreeMap<String, Outcome>,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> (BTreeMap<String, InstanceState>, Vec<Notification>) {
    let gone = Outcome::Checked {
        holds: false,
        observed: None,
    };
    let keys: std::collections::BTreeSet<&String> = prev.keys().chain(found.keys()).collect();
    let mut states = BTreeMap::new();
    let mut notes = Vec::new();
    for key in keys {
        let before = prev.get(key).cloned().unwrap_or_default();
        let outcome = found.get(key).unwrap_or(&gone);
        let (after, note) = step(&before, outcome, policy, now);
        notes.extend(note.map(|n| Notification {
            instance: Some(key.clone()),
            ..n
        }));
        let forget = !found.contains_key(key)
            && after.state == AlertState::Ok
            && !policy.cooling_down(&after, now);
        if !forget {
            states.insert(key.clone(), after);
        }
    }
    (states, notes)
}

#[cfg(test)]
mod tests {
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
    use chrono::TimeZone;

    fn cols(names: &[(&str, &str)]) -> Vec<Column> {
        names
            .iter()
            .map(|(n, t)| Column {
                name: n.to_string(),
                type_name: t.to_string(),
            })
            .collect()
    }

    fn n_col() -> Vec<Column> {
        cols(&[("n", "int8")])
    }

    fn ints(values: &[i64]) -> Vec<Vec<Value>> {
        values.iter().map(|v| vec![Value::Int(*v)]).collect()
    }

    fn threshold(selector: Selector, op: Op, value: f64) -> Rule {
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

    // ---- state machine ----

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn yes() -> Outcome {
        checked(true, Some(60.0))
    }
    fn no() -> Outcome {
        checked(false, Some(40.0))
    }
    fn err() -> Outcome {
        Outcome::query_failed("relation \"x\" does not exist")
    }
    fn empty() -> Outcome {
        Outcome::NoData {
            reason: "the query returned no rows".into(),
        }
    }

    use AlertState as S;
    use NotificationKind as K;

    /// Runs outcomes one minute apart; returns (state, notification kind) after each.
    fn run(
        policy: &StatePolicy,
        outcomes: &[Outcome],
    ) -> Vec<(AlertState, Option<NotificationKind>)> {
        let mut state = InstanceState::default();
        outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let (next, note) = step(&state, o, policy, t(i as i64));
                state = next;
                (state.state, note.map(|n| n.kind))
            })
            .collect()
    }

    /// Outcomes in short: `y` holds, `n` does not, `e` query error, `d` no data, `g` digest.
    fn outcomes(script: &str) -> Vec<Outcome> {
        let outcome = |c: &str| match c {
            "y" => yes(),
            "n" => no(),
            "e" => err(),
            "d" => empty(),
            _ => Outcome::Digest { row_count: 3 },
        };
        script.split_whitespace().map(outcome).collect()
    }

    /// Steps in short: the state (`o` Ok, `p` Pending, `f` Firing, `d` NoData, `e` Error), then
    /// `!` and the notification sent (`F` Firing, `R` Resolved, `E` Error, `N` NoData, `D` Digest).
    fn render(steps: &[(AlertState, Option<NotificationKind>)]) -> String {
        let step = |(state, note): &(AlertState, Option<NotificationKind>)| {
            let s = match state {
                S::Ok => "o",
                S::Pending => "p",
                S::Firing => "f",
                S::NoData => "d",
                S::Error => "e",
            };
            let n = match note {
                None => "",
                Some(K::Firing) => "!F",
                Some(K::Resolved) => "!R",
                Some(K::Error) => "!E",
                Some(K::NoData) => "!N",
                Some(K::Digest) => "!D",
            };
            format!("{s}{n}")
        };
        steps.iter().map(step).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn state_machine_sequences() {
        let plain = StatePolicy::default();
        let once = StatePolicy {
            pending_for: 1,
            ..StatePolicy::default()
        };
        let pending3 = StatePolicy {
            pending_for: 3,
            ..StatePolicy::default()
        };
        let no_data = StatePolicy {
            notify_no_data: true,
            ..StatePolicy::default()
        };
        // (behaviour, policy, outcomes, steps)
        #[rustfmt::skip]
        let table = [
            ("fires at once, resolves", &plain, "n y y n n", "o f!F f o!R o"),
            ("pending_for 1 is the same as 0", &once, "y n", "f!F o!R"),
            ("pending for three evaluations", &pending3, "y y y y n", "p p f!F f o!R"),
            ("pending that clears is silent", &pending3, "y y n", "p p o"),
            ("interrupted pending starts over", &pending3, "y y n y y y", "p p o p p f!F"),
            ("error during pending starts over", &pending3, "y y e y y", "p p e!E p p"),
            ("error while firing never resolves", &plain, "y e e n n", "f!F e!E e o o"),
            ("firing resumes after an error", &pending3, "y y y e y n", "p p f!F e!E f o!R"),
            ("failing query sends one Error", &plain, "e e e e", "e!E e e e"),
            ("new failure after recovery", &plain, "e n e", "e!E o e!E"),
            ("no data is silent by default", &plain, "y d d n", "f!F d d o"),
            ("no data notifies once if asked", &no_data, "d d n d", "d!N d o d!N"),
            ("digest every successful run", &plain, "g g e e g", "o!D o!D e!E e o!D"),
        ];
        for (behaviour, policy, script, want) in table {
            assert_eq!(render(&run(policy, &outcomes(script))), want, "{behaviour}");
        }
    }

    #[test]
    fn flapping_within_cooldown_sends_no_storm() {
        let policy = StatePolicy {
            cooldown_secs: 30 * 60,
            ..StatePolicy::default()
        };
        // Condition oscillates every minute for an hour.
        let outcomes: Vec<Outcome> = (0..60)
            .map(|i| if i % 2 == 0 { yes() } else { no() })
            .collect();
        let sent: Vec<(usize, NotificationKind)> = run(&policy, &outcomes)
            .into_iter()
            .enumerate()
            .filter_map(|(i, (_, k))| k.map(|k| (i, k)))
            .collect();
        // Fired at 0, resolved at 1; re-armed only once 30 minutes after that Resolved.
        assert_eq!(
            sent,
            vec![
                (0, K::Firing),
                (1, K::Resolved),
                (32, K::Firing),
                (33, K::Resolved)
            ]
        );

        // Without a cooldown the same input is a storm.
        let storm = run(&StatePolicy::default(), &outcomes)
            .iter()
            .filter(|(_, k)| k.is_some())
            .count();
        assert_eq!(storm, 60);
    }

    #[test]
    fn firing_held_by_cooldown_is_sent_when_it_ends() {
        let policy = StatePolicy {
            cooldown_secs: 5 * 60,
            ..StatePolicy::default()
        };
        let outcomes = [yes(), no(), yes(), yes(), yes(), yes(), yes(), yes(), no()];
        let got = run(&policy, &outcomes);
        assert_eq!(
            got[2],
            (S::Firing, None),
            "state turns Firing during the cooldown"
        );
        assert_eq!(got[5], (S::Firing, None));
        assert_eq!(
            got[6],
            (S::Firing, Some(K::Firing)),
            "5 minutes after the Resolved at minute 1"
        );
        assert_eq!(got[8], (S::Ok, Some(K::Resolved)));
    }

    #[test]
    fn mute_advances_states_but_counts_instead_of_sending() {
        let policy = StatePolicy {
            mute_until: Some(t(3)),
            ..StatePolicy::default()
        };
        let outcomes = [err(), yes(), yes(), yes(), yes(), no()];
        let mut state = InstanceState::default();
        let mut got = Vec::new();
        for (i, o) in outcomes.iter().enumerate() {
            let (next, note) = step(&state, o, &policy, t(i as i64));
            state = next;
            got.push((state.state, note.map(|n| n.kind), state.muted));
        }
        assert_eq!(
            got,
            vec![
                (S::Error, None, 1),
                (S::Firing, None, 2),
                (S::Firing, None, 3),
                // The mute is over and it still fires: Firing goes out now.
                (S::Firing, Some(K::Firing), 3),
                (S::Firing, None, 3),
                (S::Ok, Some(K::Resolved), 3),
            ]
        );
        // Fired and resolved inside the mute: nothing is sent afterwards.
        let got = run(&policy, &[yes(), no(), no(), no(), no()]);
        assert!(got.iter().all(|(_, k)| k.is_none()), "{got:?}");
    }

    #[test]
    fn notifications_carry_the_observed_value_and_message() {
        let (state, note) = step(
            &InstanceState::default(),
            &yes(),
            &StatePolicy::default(),
            t(0),
        );
        assert_eq!(
            note,
            Some(Notification {
                kind: K::Firing,
                instance: None,
                observed: Some(60.0),
                message: None,
                at: t(0)
            })
        );
        assert_eq!(state.since, Some(t(0)));
        let (state, note) = step(&state, &err(), &StatePolicy::default(), t(1));
        let note = note.unwrap();
        assert_eq!(
            note.message.as_deref(),
            Some("relation \"x\" does not exist")
        );
        assert_eq!(note.observed, Some(60.0), "the last value seen is kept");
        assert_eq!(state.since, Some(t(1)));
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<InstanceState>(&json).unwrap(), state);
    }

    fn per_row_eval(keys: &[(&str, bool)]) -> Evaluation {
        let instances: BTreeMap<String, Outcome> = keys
            .iter()
            .map(|(k, h)| (k.to_string(), checked(*h, None)))
            .collect();
        let holding = keys.iter().filter(|(_, h)| *h).count();
        Evaluation {
            outcome: checked(holding > 0, Some(holding as f64)),
            instances: Some(instances),
            row_count: keys.len(),
        }
    }

    fn kinds(notes: &[Notification]) -> Vec<(Option<&str>, NotificationKind)> {
        notes
            .iter()
            .map(|n| (n.instance.as_deref(), n.kind))
            .collect()
    }

    #[test]
    fn per_row_instances_appear_and_disappear() {
        let policy = StatePolicy::default();
        let s0 = AlertStates::default();
        let (s1, notes) = step_alert(
            &s0,
            &per_row_eval(&[("a", true), ("b", false)]),
            &policy,
            t(0),
        );
        assert_eq!(kinds(&notes), vec![(Some("a"), K::Firing)]);
        assert_eq!(s1.instances["a"].state, S::Firing);
        assert_eq!(s1.instances["b"].state, S::Ok);
        assert_eq!(s1.rule.state, S::Ok);

        // "c" appears firing, "a" disappears: it resolves and is forgotten; "b" is gone too.
        let (s2, notes) = step_alert(&s1, &per_row_eval(&[("c", true)]), &policy, t(1));
        assert_eq!(
            kinds(&notes),
            vec![(Some("a"), K::Resolved), (Some("c"), K::Firing)]
        );
        assert_eq!(s2.instances.keys().collect::<Vec<_>>(), ["c"]);

        // The query fails: one Error for the alert, instances turn Error quietly.
        let (s3, notes) = step_alert(&s2, &Evaluation::query_failed("timeout"), &policy, t(2));
        assert_eq!(kinds(&notes), vec![(None, K::Error)]);
        assert_eq!(s3.rule.state, S::Error);
        assert_eq!(s3.instances["c"].state, S::Error);

        // Fails again: nothing. Then recovers without "c": no spurious Resolved.
        let (s4, notes) = step_alert(&s3, &Evaluation::query_failed("timeout"), &policy, t(3));
        assert!(notes.is_empty());
        let (s5, notes) = step_alert(&s4, &per_row_eval(&[]), &policy, t(4));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(s5.rule.state, S::Ok);
        assert!(s5.instances.is_empty());
    }

    #[test]
    fn per_row_keeps_resolved_instances_during_cooldown() {
        let policy = StatePolicy {
            cooldown_secs: 600,
            ..StatePolicy::default()
        };
        let (s1, _) = step_alert(
            &AlertStates::default(),
            &per_row_eval(&[("a", true)]),
            &policy,
            t(0),
        );
        let (s2, notes) = step_alert(&s1, &per_row_eval(&[]), &policy, t(1));
        assert_eq!(kinds(&notes), vec![(Some("a"), K::Resolved)]);
        assert_eq!(
            s2.instances["a"].state,
            S::Ok,
            "remembered for its cooldown"
        );
        let (s3, notes) = step_alert(&s2, &per_row_eval(&[("a", true)]), &policy, t(2));
        assert!(
            notes.is_empty(),
            "re-appearing within the cooldown is held back"
        );
        let (s4, _) = step_alert(&s3, &per_row_eval(&[]), &policy, t(3));
        let (s5, _) = step_alert(&s4, &per_row_eval(&[]), &policy, t(20));
        assert!(
            s5.instances.is_empty(),
            "forgotten once the cooldown is over"
        );
    }

    #[test]
    fn single_instance_rules_step_through_step_alert() {
        let policy = StatePolicy::default();
        let rule = threshold(Selector::First, Op::Gt, 50.0);
        let eval = evaluate(&rule, &n_col(), &ints(&[70]));
        let (s1, notes) = step_alert(&AlertStates::default(), &eval, &policy, t(0));
        assert_eq!(kinds(&notes), vec![(None, K::Firing)]);
        assert_eq!(notes[0].observed, Some(70.0));
        assert_eq!(s1.rule.state, S::Firing);
        let eval = evaluate(&rule, &n_col(), &ints(&[10]));
        let (_, notes) = step_alert(&s1, &eval, &policy, t(1));
        assert_eq!(kinds(&notes), vec![(None, K::Resolved)]);
    }
}
