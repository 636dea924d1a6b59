//! Alert services behind the server functions. Who may do what:
//! - alerts: whoever may view an insight sees its alerts and may set one on it; the owner,
//!   editors and admins change, mute or delete it; anyone who sees it may evaluate it now;
//! - channels: editors and admins see them all and create, test and delete them; viewers see,
//!   and their alerts send to, only channels an editor marked "for everyone" (nobody ever
//!   sees URLs or secrets);
//! - limits against spam, for everyone: a schedule runs at most every `min_interval`, a user
//!   owns at most `max_per_user` alerts, "evaluate now" is limited per user and minute, and
//!   names hold no control characters;
//! - a stored secret never follows a new destination: a webhook's signing secret and the
//!   SMTP password must be entered again when the URL or the server changes;
//! - SMTP settings: admins.
use super::{
    report,
    stored::{self, AlertColumns, StoredPolicy},
};
use crate::{
    error::{AppError, FieldError},
    model::{
        alert::Rule,
        alert::{
            AlertDetail, AlertDraft, AlertId, AlertSummary, ChannelId, DeliveryRecord,
            DeliveryStatus, RunRecord,
        },
        insight::InsightId,
        schedule::Schedule,
        Permission,
    },
    server::{
        db::{
            self,
            alerts::{self as repo, AlertRow, StoredAlert},
        },
        insights, AppState, Principal,
    },
};
use chrono::{DateTime, Utc};
use std::time::Duration;

mod channels;
mod smtp;

pub use channels::{create_channel, delete_channel, list_channels, test_channel, update_channel};
pub use smtp::{get_smtp, save_smtp, test_smtp};

const MAX_ALERTS_PER_INSIGHT: usize = 100;

/// A name with a control character (line break, tab, escape …) is refused: names end up in
/// subjects, Slack messages and logs.
fn name_problem(name: &str) -> Option<&'static str> {
    name.chars().any(char::is_control).then_some(
        "Names cannot contain control characters such as line breaks or tabs: type the name on one line.",
    )
}

/// The shortest time between two runs of a schedule, over its next 1,000 runs.
fn shortest_gap(s: &Schedule, from: DateTime<Utc>) -> Option<Duration> {
    let mut t = s.next_after(from).ok()?;
    let mut best: Option<chrono::Duration> = None;
    for _ in 0..1000 {
        let Ok(next) = s.next_after(t) else { break };
        let gap = next - t;
        if best.is_none_or(|b| gap < b) {
            best = Some(gap);
        }
        t = next;
    }
    best.and_then(|b| b.to_std().ok())
}

fn minutes(d: Duration) -> String {
    let m = d.as_secs() / 60;
    if m == 1 {
        "1 minute".into()
    } else if m == 0 {
        format!("{} seconds", d.as_secs())
    } else {
        format!("{m} minutes")
    }
}

fn can_edit(me: &Principal, a: &AlertRow) -> bool {
    me.can(Permission::EditInsights)
        || (me.user_id.is_some() && me.user_id.map(|u| u.0) == a.owner_id)
}

async fn row(state: &AppState, id: AlertId) -> Result<AlertRow, AppError> {
    repo::get_alert(&state.db, id.0)
        .await?
        .ok_or_else(|| AppError::NotFound("That alert".into()))
}

/// The alert, if the caller may see it (they may view its insight).
async fn visible(state: &AppState, me: &Principal, id: AlertId) -> Result<AlertRow, AppError> {
    me.require(Permission::ViewInsights)?;
    let a = row(state, id).await?;
    insights::get(state, me, InsightId(a.insight_id)).await?;
    Ok(a)
}

async fn editable(state: &AppState, me: &Principal, id: AlertId) -> Result<AlertRow, AppError> {
    let a = visible(state, me, id).await?;
    if !can_edit(me, &a) {
        return Err(AppError::Forbidden);
    }
    Ok(a)
}

fn summary(me: &Principal, a: &AlertRow, channel_names: &[(i64, String)]) -> AlertSummary {
    let schedule = Schedule {
        cron: a.cron.clone(),
        timezone: a.timezone.clone(),
    };
    // A list still shows an alert whose channels do not decode (the error is in the log with
    // the alert's id); its page says so.
    let ids = stored::channels(a).unwrap_or_default();
    AlertSummary {
        id: AlertId(a.id),
        name: a.name.clone(),
        insight_id: InsightId(a.insight_id),
        insight_name: a.insight_name.clone().unwrap_or_default(),
        state: a.state_label,
        enabled: a.enabled,
        muted_until: a.mute_until.filter(|t| *t > Utc::now()),
        schedule: schedule.describe(),
        next_run_at: a.enabled.then_some(a.next_run_at),
        last_evaluated_at: a.last_evaluated_at,
        channels: ids
            .iter()
            .filter_map(|id| channel_names.iter().find(|(c, _)| c == id))
            .map(|(_, n)| n.clone())
            .collect(),
        owner: a.owner.clone(),
        skipped_overlaps: a.skipped_overlaps,
        can_edit: can_edit(me, a),
    }
}

async fn channel_names(state: &AppState) -> Result<Vec<(i64, String)>, AppError> {
    Ok(repo::list_channels(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

/// Alerts, all or on one insight.
pub async fn list(
    state: &AppState,
    me: &Principal,
    insight: Option<InsightId>,
) -> Result<Vec<AlertSummary>, AppError> {
    me.require(Permission::ViewInsights)?;
    if let Some(i) = insight {
        insights::get(state, me, i).await?;
    }
    let names = channel_names(state).await?;
    Ok(repo::list_alerts(&state.db, insight.map(|i| i.0))
        .await?
        .iter()
        .map(|a| summary(me, a, &names))
        .collect())
}

/// An alert with its form values and the last 30 evaluations with their deliveries.
pub async fn get(state: &AppState, me: &Principal, id: AlertId) -> Result<AlertDetail, AppError> {
    let a = visible(state, me, id).await?;
    let names = channel_names(state).await?;
    let runs = repo::recent_runs(&state.db, a.id, 30).await?;
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let deliveries = repo::deliveries_of_runs(&state.db, &ids).await?;
    let AlertColumns {
        rule,
        policy,
        params,
        channels,
        states,
    } = stored::decode(&a)?;
    let observed = states
        .rule
        .message
        .clone()
        .or_else(|| states.rule.observed.map(report::number));
    let draft = AlertDraft {
        insight_id: InsightId(a.insight_id),
        name: a.name.clone(),
        params,
        rule,
        pending_for: policy.pending_for,
        cooldown_minutes: u32::try_from(policy.cooldown_secs / 60).unwrap_or(u32::MAX),
        notify_no_data: policy.notify_no_data,
        cron: a.cron.clone(),
        timezone: a.timezone.clone(),
        channels: channels.into_iter().map(ChannelId).collect(),
        enabled: a.enabled,
    };
    Ok(AlertDetail {
        summary: summary(me, &a, &names),
        draft,
        observed,
        runs: runs
            .into_iter()
            .map(|r| {
                Ok(RunRecord {
                    id: r.id,
                    scheduled_for: r.scheduled_for,
                    manual: r.manual,
                    status: r.status,
                    state: r
                        .state_label
                        .map(|w| db::word_column("alert run", r.id, "state_label", w))
                        .transpose()?,
                    detail: r.detail,
                    error: r.error,
                    row_count: r.row_count,
                    attempts: r.attempts,
                    finished_at: r.finished_at,
                    deliveries: deliveries
                        .iter()
                        .filter(|d| d.run_id == r.id)
                        .map(|d| DeliveryRecord {
                            channel: d.channel_name.clone(),
                            kind: d.kind,
                            instance: d.instance.clone(),
                            status: d.status,
                            attempts: d.attempts,
                            last_error: d.last_error.clone(),
                            sent_at: d.sent_at,
                            next_attempt_at: (d.status == DeliveryStatus::Pending)
                                .then_some(d.next_attempt_at)
                                .flatten(),
                        })
                        .collect(),
                })
            })
            .collect::<Result<_, AppError>>()?,
    })
}

/// Checks a draft; field names match the form's inputs.
async fn validate(
    state: &AppState,
    me: &Principal,
    d: &mut AlertDraft,
) -> Result<Schedule, AppError> {
    let insight = insights::get(state, me, d.insight_id).await?;
    if insight.deleted {
        return Err(AppError::Conflict(
            "That insight is in the trash; restore it before setting alerts on it.".into(),
        ));
    }
    let mut errors = Vec::new();
    d.name = d.name.trim().to_string();
    if d.name.is_empty() {
        errors.push(FieldError::new("name", "Give the alert a name."));
    } else if d.name.chars().count() > 200 {
        errors.push(FieldError::new("name", "Use at most 200 characters."));
    } else if let Some(problem) = name_problem(&d.name) {
        errors.push(FieldError::new("name", problem));
    }
    let column_missing = |c: &str| c.trim().is_empty();
    match &d.rule {
        Rule::Threshold(t) if column_missing(&t.column) => {
            errors.push(FieldError::new("column", "Name the column to compare."))
        }
        Rule::Threshold(t) if !t.value.is_finite() => {
            errors.push(FieldError::new("value", "Enter a number."))
        }
        Rule::PerRow { key_column, .. } if column_missing(key_column) => errors.push(
            FieldError::new("key_column", "Name the column whose values identify a row."),
        ),
        _ => {}
    }
    let schedule = match Schedule::new(&d.cron, &d.timezone) {
        Ok(s) => Some(s),
        Err(e) => {
            errors.push(FieldError::new("cron", e.to_string()));
            None
        }
    };
    let min = state.settings.alerts.min_interval;
    if let Some(gap) = schedule
        .as_ref()
        .and_then(|s| shortest_gap(s, Utc::now()))
        .filter(|g| *g < min)
    {
        errors.push(FieldError::new(
            "cron",
            format!(
                "This schedule runs {} apart; alerts run at most every {} \
                 (SIGHTLINE_ALERT_MIN_INTERVAL). Choose a longer interval.",
                minutes(gap),
                minutes(min)
            ),
        ));
    }
    errors.extend(channel_problems(state, me, &d.channels).await?);
    d.channels.sort();
    d.channels.dedup();
    if d.pending_for > 1000 {
        errors.push(FieldError::new(
            "pending_for",
            "Use at most 1000 evaluations.",
        ));
    }
    if d.cooldown_minutes > 7 * 24 * 60 {
        errors.push(FieldError::new("cooldown_minutes", "Use at most a week."));
    }
    // The values must be valid for the insight's parameters now, not fail at every run.
    if let Err(AppError::Validation(mut v)) =
        insights::parse_values(&insight.draft.params, &d.params)
    {
        errors.append(&mut v);
    } else if let Some(columns) = result_columns(state, d.insight_id, &d.params).await {
        // The columns the rule names must be ones the insight returns, or every run fails.
        for (field, column) in rule_columns(&d.rule) {
            if !column.trim().is_empty() && !columns.iter().any(|c| c == column.trim()) {
                errors.push(FieldError::new(
                    field,
                    format!(
                        "The insight returns no column \"{}\"; choose one of: {}.",
                        column.trim(),
                        columns.join(", ")
                    ),
                ));
            }
        }
    }
    match schedule {
        Some(s) if errors.is_empty() => Ok(s),
        _ => Err(AppError::Validation(errors)),
    }
}

/// The channels chosen: at least one, each still there, and open to a viewer who chose it.
async fn channel_problems(
    state: &AppState,
    me: &Principal,
    chosen: &[ChannelId],
) -> Result<Option<FieldError>, AppError> {
    if chosen.is_empty() {
        return Ok(Some(FieldError::new(
            "channels",
            "Choose at least one channel (an editor can create channels on the Alerts page).",
        )));
    }
    let known = repo::list_channels(&state.db).await?;
    for c in chosen {
        match known.iter().find(|k| k.id == c.0) {
            None => {
                return Ok(Some(FieldError::new(
                    "channels",
                    format!("Channel {} no longer exists.", c.0),
                )))
            }
            // Viewers send only where an editor said everyone may.
            Some(k) if !k.for_everyone && !me.can(Permission::EditInsights) => {
                return Ok(Some(FieldError::new(
                    "channels",
                    format!(
                        "Channel {} is not open to everyone: choose a channel marked for everyone, \
                         or ask an editor to open it.",
                        k.name
                    ),
                )))
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

/// The columns a rule reads, with the form field each comes from.
fn rule_columns(rule: &Rule) -> Vec<(&'static str, &str)> {
    match rule {
        Rule::Threshold(t) => vec![("column", t.column.as_str())],
        Rule::PerRow {
            key_column,
            condition,
        } => {
            let mut v = vec![("key_column", key_column.as_str())];
            if let Some(c) = condition {
                v.push(("condition_column", c.column.as_str()));
            }
            v
        }
        Rule::AnyRows | Rule::NoRows | Rule::Always => vec![],
    }
}

/// The columns of the insight's result, for the form: only for callers who may see it.
pub async fn columns(
    state: &AppState,
    me: &Principal,
    insight: crate::model::insight::InsightId,
    params: &crate::model::insight::UrlValues,
) -> Result<Vec<String>, AppError> {
    insights::get(state, me, insight).await?;
    Ok(result_columns(state, insight, params)
        .await
        .unwrap_or_default())
}

/// The names of the columns the insight returns with these values, read by running it for
/// one row (read-only, like an evaluation). `None` when it cannot run now: the save goes on,
/// and the evaluation reports why it fails.
async fn result_columns(
    state: &AppState,
    insight: crate::model::insight::InsightId,
    params: &crate::model::insight::UrlValues,
) -> Option<Vec<String>> {
    use crate::{
        model::query::{Column, Value},
        server::connectors::{ConnectorError, RowSink},
    };
    struct Names(Vec<String>);
    impl RowSink for Names {
        fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
            self.0 = columns.iter().map(|c| c.name.clone()).collect();
            Ok(())
        }
        fn row(&mut self, _: Vec<Value>) -> Result<(), ConnectorError> {
            Ok(())
        }
    }
    let prepared = insights::prepare(state, insight, params).await.ok()?;
    let mut names = Names(Vec::new());
    let cancel = tokio_util::sync::CancellationToken::new();
    let run = prepared.run(state, 1, cancel, &mut names);
    match tokio::time::timeout(std::time::Duration::from_secs(30), run).await {
        Ok(Ok(_)) => Some(names.0),
        _ => None,
    }
}

/// Creates (`id == None`) or changes an alert.
pub async fn save(
    state: &AppState,
    me: &Principal,
    id: Option<AlertId>,
    mut draft: AlertDraft,
) -> Result<AlertSummary, AppError> {
    me.require(Permission::ViewInsights)?;
    if let Some(id) = id {
        let existing = editable(state, me, id).await?;
        if existing.insight_id != draft.insight_id.0 {
            return Err(AppError::BadRequest(
                "an alert cannot move to another insight".into(),
            ));
        }
    }
    let schedule = validate(state, me, &mut draft).await?;
    let now = Utc::now();
    let next_run_at = schedule
        .next_after(now)
        .map_err(|e| AppError::field("cron", e.to_string()))?;
    let params = serde_json::to_string(&draft.params).map_err(crate::error::internal)?;
    let rule = serde_json::to_string(&draft.rule).map_err(crate::error::internal)?;
    let policy = serde_json::to_string(&StoredPolicy {
        pending_for: draft.pending_for,
        cooldown_secs: u64::from(draft.cooldown_minutes) * 60,
        notify_no_data: draft.notify_no_data,
    })
    .map_err(crate::error::internal)?;
    let channels = serde_json::to_string(&draft.channels.iter().map(|c| c.0).collect::<Vec<_>>())
        .map_err(crate::error::internal)?;
    let stored = StoredAlert {
        insight_id: draft.insight_id.0,
        name: &draft.name,
        params: &params,
        rule: &rule,
        policy: &policy,
        cron: &schedule.cron,
        timezone: &schedule.timezone,
        channels: &channels,
        enabled: draft.enabled,
        next_run_at,
    };
    let id = match id {
        Some(id) => {
            repo::update_alert(&state.db, id.0, &stored, now).await?;
            id.0
        }
        None => {
            if let Some(user) = me.user_id {
                let max = state.settings.alerts.max_per_user;
                let owned = repo::alerts_owned(&state.db, user.0).await?;
                if owned >= max as i64 {
                    return Err(AppError::Conflict(format!(
                        "You have {owned} alerts, the most one person may keep \
                         (SIGHTLINE_ALERT_MAX_PER_USER is {max}). Delete alerts you no longer \
                         need, then create this one."
                    )));
                }
            }
            let on_insight = repo::list_alerts(&state.db, Some(draft.insight_id.0)).await?;
            if on_insight.len() >= MAX_ALERTS_PER_INSIGHT {
                return Err(AppError::Conflict(format!(
                    "This insight already has {MAX_ALERTS_PER_INSIGHT} alerts."
                )));
            }
            repo::insert_alert(&state.db, &stored, me.user_id.map(|u| u.0), now).await?
        }
    };
    let a = row(state, AlertId(id)).await?;
    Ok(summary(me, &a, &channel_names(state).await?))
}

pub async fn delete(state: &AppState, me: &Principal, id: AlertId) -> Result<(), AppError> {
    editable(state, me, id).await?;
    repo::delete_alert(&state.db, id.0).await?;
    Ok(())
}

/// Mutes notifications until a time (`None` unmutes). States still advance.
pub async fn mute(
    state: &AppState,
    me: &Principal,
    id: AlertId,
    until: Option<DateTime<Utc>>,
) -> Result<(), AppError> {
    editable(state, me, id).await?;
    let now = Utc::now();
    if until.is_some_and(|t| t <= now) {
        return Err(AppError::field(
            "mute_until",
            "Choose a time in the future.",
        ));
    }
    repo::set_mute(&state.db, id.0, until, now).await?;
    Ok(())
}

/// Queues an evaluation now, handed to the alert workers; its run id. Each user may ask
/// `evaluate_per_minute` times a minute (429 beyond, saying when to try again).
pub async fn evaluate_now(state: &AppState, me: &Principal, id: AlertId) -> Result<i64, AppError> {
    visible(state, me, id).await?;
    let now = Utc::now();
    let user = me.user_id.map(|u| u.0);
    if let Some(user) = user {
        let window = chrono::Duration::minutes(1);
        let limit = state.settings.alerts.evaluate_per_minute.max(1) as usize;
        let recent = repo::manual_runs_since(&state.db, user, now - window).await?;
        if recent.len() >= limit {
            let oldest = recent[recent.len() - limit];
            let wait = (oldest + window - now).num_seconds().max(1);
            return Err(AppError::RateLimited(wait as u64));
        }
    }
    let run = repo::insert_manual_run(&state.db, id.0, user, now).await?;
    let queue = super::worker::queue(state).await?;
    if let Err(e) = queue.push(&[run]).await {
        // The run stays queued; a worker's sweeper takes it within a minute.
        tracing::warn!(run, error = %e, "could not queue an evaluate-now run");
    }
    Ok(run)
}
