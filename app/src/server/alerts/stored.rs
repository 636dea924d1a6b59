//! An alert row's JSON columns (rule, state policy, parameter values, channels, states),
//! decoded in one place. A column that does not decode is an error that names the alert and
//! the column in the log; it never becomes an empty list of channels or a fresh state.
use crate::{
    error::AppError,
    model::{
        alert::{AlertStates, Rule},
        insight::UrlValues,
    },
    server::db::{alerts::AlertRow, json_column},
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The state policy as stored (the mute lives in its own column).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredPolicy {
    #[serde(default)]
    pub pending_for: u32,
    #[serde(default)]
    pub cooldown_secs: u64,
    #[serde(default)]
    pub notify_no_data: bool,
}

/// What an alert row holds as JSON, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertColumns {
    pub rule: Rule,
    pub policy: StoredPolicy,
    pub params: UrlValues,
    pub channels: Vec<i64>,
    pub states: AlertStates,
}

/// Decodes every JSON column of `row`.
pub fn decode(row: &AlertRow) -> Result<AlertColumns, AppError> {
    Ok(AlertColumns {
        rule: column(row.id, "rule", &row.rule)?,
        policy: column(row.id, "policy", &row.policy)?,
        params: column(row.id, "params", &row.params)?,
        channels: channels(row)?,
        states: column(row.id, "state", &row.state)?,
    })
}

/// The channel ids of `row` (for lists, which need no more).
pub fn channels(row: &AlertRow) -> Result<Vec<i64>, AppError> {
    column(row.id, "channels", &row.channels)
}

fn column<T: DeserializeOwned>(alert: i64, name: &str, json: &str) -> Result<T, AppError> {
    json_column("alert", alert, name, json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn row(policy: &str, channels: &str, state: &str) -> AlertRow {
        AlertRow {
            id: 7,
            insight_id: 1,
            insight_name: None,
            name: "a".into(),
            params: r#"{"region":["EU"]}"#.into(),
            rule: r#"{"kind":"no_rows"}"#.into(),
            policy: policy.into(),
            cron: "0 * * * *".into(),
            timezone: "UTC".into(),
            channels: channels.into(),
            enabled: true,
            mute_until: None,
            owner_id: None,
            owner: None,
            state: state.into(),
            state_label: crate::model::alert::AlertState::Ok,
            last_evaluated_at: None,
            last_scheduled_for: None,
            next_run_at: Utc::now(),
            skipped_overlaps: 0,
        }
    }

    #[test]
    fn a_stored_alert_decodes_into_its_types() {
        let c = decode(&row(r#"{"pending_for":2}"#, "[3,4]", "{}")).unwrap();
        assert_eq!(c.rule, Rule::NoRows);
        assert_eq!(c.policy.pending_for, 2);
        assert_eq!(c.params["region"], vec!["EU".to_string()]);
        assert_eq!(c.channels, vec![3, 4]);
        assert_eq!(c.states, AlertStates::default());
    }

    #[test]
    fn a_column_that_does_not_decode_is_an_error_not_a_default() {
        assert!(matches!(
            decode(&row("{}", "not json", "{}")),
            Err(AppError::Internal(_))
        ));
        assert!(matches!(
            decode(&row("{}", "[]", r#"{"rule": 5}"#)),
            Err(AppError::Internal(_))
        ));
        assert!(matches!(
            channels(&row("{}", r#"{"a":1}"#, "{}")),
            Err(AppError::Internal(_))
        ));
    }
}
