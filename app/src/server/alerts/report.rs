//! What the in-app alert engine and the standalone runner say about an evaluation: the
//! message a channel gets, the one-line summary for logs and history, and the result sink.
use crate::{
    model::{
        alert::{
            AlertState, AlertStates, Evaluation, Notification, NotificationKind, Outcome, Rule,
            Selector,
        },
        query::{Column, Value},
    },
    server::{
        alerts::channels::{Message, TableExcerpt, Transition, EXCERPT_MAX_ROWS},
        connectors::{ConnectorError, RowSink},
    },
};

/// Collects a result in memory for the evaluator (bounded by the caller's row limit).
#[derive(Default)]
pub struct Collect {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

impl RowSink for Collect {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
        self.columns = columns.to_vec();
        Ok(())
    }
    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        self.rows.push(row);
        Ok(())
    }
}

/// What the channels are told about one notification of alert `name`.
pub fn message(name: &str, note: &Notification, result: &Collect, link: Option<String>) -> Message {
    let transition = match note.kind {
        NotificationKind::Firing => Transition::Firing,
        NotificationKind::Resolved => Transition::Resolved,
        NotificationKind::Digest => Transition::Digest,
        NotificationKind::Error => Transition::Error,
        NotificationKind::NoData => Transition::NoData,
    };
    let value = match note.kind {
        NotificationKind::Error | NotificationKind::NoData => note.message.clone(),
        _ => note.observed.map(number),
    };
    let excerpt = (!result.columns.is_empty() && note.kind != NotificationKind::Error)
        .then(|| TableExcerpt::from_values(&result.columns, &result.rows, EXCERPT_MAX_ROWS));
    let alert = match &note.instance {
        Some(key) => format!("{name} [{key}]"),
        None => name.to_string(),
    };
    Message {
        alert,
        transition,
        value,
        excerpt,
        link,
        at: note.at,
    }
}

/// The alert's state in one word; for `per_row`, the most urgent of its instances.
pub fn overall(states: &AlertStates) -> AlertState {
    let any = |s: AlertState| states.instances.values().any(|i| i.state == s);
    match states.rule.state {
        AlertState::Ok if any(AlertState::Firing) => AlertState::Firing,
        AlertState::Ok if any(AlertState::Pending) => AlertState::Pending,
        s => s,
    }
}

/// `Ok -> Firing (n = 73)`, or `Firing (n = 73)` when nothing changed.
pub fn describe(rule: &Rule, prev: &AlertStates, next: &AlertStates, eval: &Evaluation) -> String {
    let (from, to) = (overall(prev), overall(next));
    let states = if from == to {
        to.to_string()
    } else {
        format!("{from} -> {to}")
    };
    let detail = match (&eval.outcome, rule) {
        (Outcome::Error { message }, _) => format!("error: {}", cut(&one_line(message), 200)),
        (Outcome::NoData { reason }, _) => format!("no data: {reason}"),
        (Outcome::Checked { observed, .. }, Rule::Threshold(t)) => {
            let v = observed.map_or("NULL".into(), number);
            match t.selector {
                Selector::First => format!("{} = {v}", t.column),
                s => format!("{}({}) = {v}", s.name(), t.column),
            }
        }
        (Outcome::Checked { .. }, Rule::PerRow { .. }) => {
            let holding: Vec<&str> = next
                .instances
                .iter()
                .filter(|(_, s)| matches!(s.state, AlertState::Firing | AlertState::Pending))
                .map(|(k, _)| k.as_str())
                .collect();
            let shown: Vec<&str> = holding.iter().take(5).copied().collect();
            let more = if holding.len() > 5 { ", …" } else { "" };
            if holding.is_empty() {
                format!("0 of {} rows hold", eval.row_count)
            } else {
                format!("{} holding: {}{more}", holding.len(), shown.join(", "))
            }
        }
        _ => format!("rows = {}", eval.row_count),
    };
    format!("{states} ({detail})")
}

/// A number as people write it: `73`, `0.25`.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        let mut c: String = s.chars().take(max.saturating_sub(1)).collect();
        c.push('…');
        c
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn note(kind: NotificationKind, message: Option<&str>) -> Notification {
        Notification {
            kind,
            instance: None,
            observed: Some(3.0),
            message: message.map(str::to_string),
            at: Utc::now(),
        }
    }

    #[test]
    fn each_notification_reads_as_its_own_transition() {
        let result = Collect {
            columns: vec![Column {
                name: "n".into(),
                type_name: "INT8".into(),
            }],
            rows: vec![vec![Value::Int(3)]],
        };
        let m = message(
            "orders",
            &note(NotificationKind::Firing, None),
            &result,
            None,
        );
        assert_eq!(
            (m.transition, m.value.as_deref()),
            (Transition::Firing, Some("3"))
        );
        assert!(m.excerpt.is_some());
        let why = "the query returned no rows";
        let m = message(
            "orders",
            &note(NotificationKind::NoData, Some(why)),
            &result,
            None,
        );
        assert_eq!(
            (m.transition, m.value.as_deref()),
            (Transition::NoData, Some(why))
        );
        let m = message(
            "orders",
            &note(NotificationKind::Error, Some("boom")),
            &result,
            None,
        );
        assert_eq!(
            (m.transition, m.value.as_deref()),
            (Transition::Error, Some("boom"))
        );
        assert!(m.excerpt.is_none(), "an error has no result to show");
    }
}
