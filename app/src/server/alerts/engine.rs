//! The in-app alert engine: scheduling ticks into durable runs, evaluating a run, and
//! delivering what it decided. Every step takes its time from a [`Runtime`] clock, so tests
//! can move time; the workers (`worker.rs`) only call these functions.
//!
//! Guarantees (see `db/alerts.rs` for the statements that give them):
//! - a tick becomes one run however many schedulers look at it; after downtime an alert
//!   catches up once (its latest missed tick);
//! - a run is held by one worker under a lease; a worker that dies is replaced when the lease
//!   ends; the same alert never runs twice at once (an overlapping tick is skipped, counted);
//! - the new state and its notifications are stored together before anything is sent, and
//!   each delivery is marked sent after the send: a crash between the two sends it again
//!   (at most one duplicate per crash), never loses it;
//! - a channel failure is retried with backoff for up to a day and is visible in the history.
use super::{
    channels::{self, ChannelConfig, ChannelError, DeliveryContext, Message, SmtpSettings},
    outbound::OutboundPolicy,
    report::{self, Collect},
    stored::{self, AlertColumns},
};
use crate::{
    error::AppError,
    model::{
        alert::{evaluate as evaluate_rule, step_alert, Evaluation, StatePolicy},
        insight::{InsightId, UrlValues},
        schedule::Schedule,
    },
    server::{
        db::{
            alerts::{
                self as repo, ChannelRow, Claim, DeliveryOutcome, DeliveryRow, Evaluated,
                NewDelivery, RunRow, TickPlan,
            },
            connections::setting,
        },
        insights, AppState,
    },
};
use chrono::{DateTime, Utc};
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// Rows an alert's query may return to its rule.
pub const MAX_ROWS: u64 = 10_000;
/// Deliveries are retried this many times (with backoff) before they are given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// … or once they are this old.
const GIVE_UP_AFTER_HOURS: i64 = 24;
/// Context string of sealed channel configurations and SMTP settings.
pub const CHANNEL_SEAL: &str = "alert_channel";
pub const SMTP_SEAL: &str = "smtp_settings";
/// The `app_settings` key of the SMTP settings saved in the admin UI.
pub const SMTP_KEY: &str = "smtp";

/// Where time comes from.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// One worker's identity, clock and lease.
#[derive(Clone)]
pub struct Runtime {
    pub worker: String,
    pub clock: Clock,
    /// How long a run or a delivery stays with a worker that stops answering.
    pub lease: Duration,
}

impl Runtime {
    /// The system clock, a worker name unique to this process.
    pub fn system(lease: Duration) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "sightline".into());
        Runtime {
            worker: format!(
                "{host}:{}:{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ),
            clock: Arc::new(Utc::now),
            lease,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    fn lease_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::minutes(5))
    }
}

/// How the server sends: the outbound policy and SMTP (configuration first, then the admin
/// settings in the store).
pub async fn delivery_context(state: &AppState) -> Result<DeliveryContext, AppError> {
    context_for(state, true).await
}

/// The delivery context, reading the SMTP settings only when an email is to go out.
async fn context_for(state: &AppState, email: bool) -> Result<DeliveryContext, AppError> {
    Ok(DeliveryContext {
        outbound: OutboundPolicy::new(state.settings.alerts.allow_hosts.clone()),
        smtp: if email {
            smtp_settings(state).await?
        } else {
            None
        },
    })
}

/// The SMTP settings in effect, if email is set up.
pub async fn smtp_settings(state: &AppState) -> Result<Option<SmtpSettings>, AppError> {
    if let Some(s) = &state.settings.alerts.smtp {
        return Ok(Some(s.clone()));
    }
    let Some(sealed) = setting(&state.db, SMTP_KEY).await? else {
        return Ok(None);
    };
    let json = state
        .secrets
        .open(&sealed, SMTP_SEAL)
        .map_err(|_| AppError::Internal("the stored SMTP settings cannot be opened".into()))?;
    serde_json::from_str(&json)
        .map(Some)
        .map_err(crate::error::internal)
}

/// Opens a channel's sealed configuration.
pub fn open_channel(state: &AppState, sealed: &str) -> Result<ChannelConfig, AppError> {
    let json = state.secrets.open(sealed, CHANNEL_SEAL).map_err(|_| {
        AppError::Internal("a channel's settings cannot be opened (was the key changed?)".into())
    })?;
    serde_json::from_str(&json).map_err(crate::error::internal)
}

// ------------------------------------------------------------------ scheduling

/// Due alerts the scheduler takes per transaction.
const SCHEDULE_BATCH: i64 = 500;

/// Turns every due tick into a run (once, whichever scheduler gets there) and moves each
/// alert's schedule on. Returns the runs this call created, to hand to workers.
pub async fn schedule_due(state: &AppState, rt: &Runtime) -> Result<Vec<i64>, AppError> {
    let mut created = Vec::new();
    loop {
        let (runs, more) = schedule_batch(state, rt).await?;
        created.extend(runs);
        if !more {
            return Ok(created);
        }
    }
}

/// One batch of [`schedule_due`], in one transaction: the runs it created, and whether more
/// alerts may be due.
pub async fn schedule_batch(state: &AppState, rt: &Runtime) -> Result<(Vec<i64>, bool), AppError> {
    let now = rt.now();
    let due = repo::due_alerts(&state.db, now, SCHEDULE_BATCH).await?;
    let more = due.len() == SCHEDULE_BATCH as usize;
    let plans: Vec<TickPlan> = due
        .into_iter()
        .map(|alert| {
            let schedule = Schedule {
                cron: alert.cron.clone(),
                timezone: alert.timezone.clone(),
            };
            let (tick, next_run_at) = match (
                schedule.due_ticks(alert.last_scheduled_for, now),
                schedule.next_after(now),
            ) {
                (Ok(tick), Ok(next)) => (tick, next),
                (Err(e), _) | (_, Err(e)) => {
                    // Saved schedules are checked; this one no longer parses (e.g. a zone was
                    // removed from the database). Look again in a day, say why in the log.
                    tracing::warn!(alert = alert.id, error = %e, "alert schedule is invalid");
                    (None, now + chrono::Duration::days(1))
                }
            };
            TickPlan {
                due: alert,
                tick,
                next_run_at,
            }
        })
        .collect();
    if plans.is_empty() {
        return Ok((vec![], false));
    }
    Ok((repo::schedule_ticks(&state.db, &plans, now).await?, more))
}

// ------------------------------------------------------------------ evaluation

/// What happened to a run handed to this worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Processed {
    Done,
    /// Another run of the alert was running: skipped and counted.
    Skipped,
    /// Already done, or held by another worker.
    NotAvailable,
}

/// Takes the run, evaluates it (unless a worker before us already stored its evaluation),
/// sends its pending deliveries and marks it done.
pub async fn process_run(
    state: &AppState,
    rt: &Runtime,
    run_id: i64,
) -> Result<Processed, AppError> {
    let run = match take(state, rt, run_id).await? {
        Ok(run) => run,
        Err(p) => return Ok(p),
    };
    let outcomes = if run.evaluated_at.is_none() {
        // The usual path: the deliveries were stored held by this worker; send them as they
        // are and store every outcome with the run's end.
        let Some(fresh) = evaluate(state, rt, &run).await? else {
            return Ok(Processed::NotAvailable);
        };
        send_fresh(state, rt, fresh).await
    } else {
        // A worker before us stored the evaluation and stopped: claim each delivery.
        deliver_run(state, rt, run.id).await?;
        vec![]
    };
    repo::complete_run(&state.db, run.id, &rt.worker, &outcomes, rt.now()).await?;
    Ok(Processed::Done)
}

/// The first step of [`process_run`], on its own for tests that stop a worker between steps.
pub async fn take(
    state: &AppState,
    rt: &Runtime,
    run_id: i64,
) -> Result<Result<RunRow, Processed>, AppError> {
    let now = rt.now();
    Ok(
        match repo::claim_run(&state.db, run_id, &rt.worker, now, rt.lease_from(now)).await? {
            Claim::Taken(run) => Ok(run),
            Claim::Overlap => Err(Processed::Skipped),
            Claim::NotAvailable => Err(Processed::NotAvailable),
        },
    )
}

/// Runs the alert's query, steps its state and stores the state with the deliveries it
/// causes. False when the run was no longer ours to evaluate.
pub async fn evaluate_run(state: &AppState, rt: &Runtime, run: &RunRow) -> Result<bool, AppError> {
    Ok(evaluate(state, rt, run).await?.is_some())
}

/// Deliveries an evaluation stored (ids beside what was stored), held by the worker that
/// evaluated, and the channels they go to.
struct Fresh {
    deliveries: Vec<(i64, NewDelivery)>,
    channels: Vec<ChannelRow>,
}

/// [`evaluate_run`], returning what is to be sent.
async fn evaluate(state: &AppState, rt: &Runtime, run: &RunRow) -> Result<Option<Fresh>, AppError> {
    let Some(alert) = repo::get_alert(&state.db, run.alert_id).await? else {
        return Ok(None);
    };
    let AlertColumns {
        rule,
        policy: stored,
        params,
        channels: channel_ids,
        states: prev,
    } = stored::decode(&alert)?;
    let policy = StatePolicy {
        pending_for: stored.pending_for,
        cooldown_secs: stored.cooldown_secs,
        mute_until: alert.mute_until,
        notify_no_data: stored.notify_no_data,
    };
    let mut result = Collect::default();
    let (eval, error) = match query(state, InsightId(alert.insight_id), &params, &mut result).await
    {
        Ok(()) => (evaluate_rule(&rule, &result.columns, &result.rows), None),
        Err(message) => (Evaluation::query_failed(message.clone()), Some(message)),
    };
    let now = rt.now();
    let (next, notes) = step_alert(&prev, &eval, &policy, now);
    let channels = if notes.is_empty() {
        vec![]
    } else {
        repo::channels_by_ids(&state.db, &channel_ids).await?
    };
    let link = link(state, alert.insight_id, &params);
    let mut deliveries = Vec::new();
    for note in &notes {
        let message = report::message(&alert.name, note, &result, link.clone());
        let json = serde_json::to_string(&message).map_err(crate::error::internal)?;
        for c in &channels {
            deliveries.push(NewDelivery {
                channel_id: c.id,
                channel_name: c.name.clone(),
                kind: report::kind_name(note.kind),
                instance: note.instance.clone().unwrap_or_default(),
                message: json.clone(),
            });
        }
    }
    let detail = report::describe(&rule, &prev, &next, &eval);
    let state_json = serde_json::to_string(&next).map_err(crate::error::internal)?;
    let evaluated = Evaluated {
        run_id: run.id,
        alert_id: alert.id,
        state: &state_json,
        state_label: report::state_label(report::overall(&next)),
        detail: &detail,
        error: error.as_deref(),
        row_count: error.is_none().then_some(eval.row_count as i64),
        deliveries,
        lease_until: rt.lease_from(now),
    };
    let Some(stored) = repo::record_evaluation(&state.db, &evaluated, &rt.worker, now).await?
    else {
        return Ok(None);
    };
    let mut planned: Vec<Option<NewDelivery>> =
        evaluated.deliveries.into_iter().map(Some).collect();
    let deliveries = stored
        .into_iter()
        .filter_map(|(i, id)| Some((id, planned.get_mut(i)?.take()?)))
        .collect();
    Ok(Some(Fresh {
        deliveries,
        channels,
    }))
}

/// Runs the insight with the alert's fixed parameter values (read-only, bounded).
async fn query(
    state: &AppState,
    insight: InsightId,
    params: &UrlValues,
    sink: &mut Collect,
) -> Result<(), String> {
    let p = insights::prepare(state, insight, params)
        .await
        .map_err(|e| e.to_string())?;
    p.run(state, MAX_ROWS, CancellationToken::new(), sink)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The insight with the alert's values, when the server knows its public address.
fn link(state: &AppState, insight: i64, params: &UrlValues) -> Option<String> {
    let base = state.settings.public_url.trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    let mut url = url::Url::parse(&format!("{base}/insights/{insight}")).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (name, values) in params {
            for v in values {
                q.append_pair(&format!("p_{name}"), v);
            }
        }
    }
    let mut s = url.to_string();
    if s.ends_with('?') {
        s.pop();
    }
    Some(s)
}

// -------------------------------------------------------------------- delivery

/// Sends what an evaluation stored, each channel's settings opened once; returns the
/// outcomes for [`repo::complete_run`].
async fn send_fresh(state: &AppState, rt: &Runtime, fresh: Fresh) -> Vec<DeliveryOutcome> {
    if fresh.deliveries.is_empty() {
        return vec![];
    }
    let email = fresh.channels.iter().any(|c| c.kind == "email");
    let ctx = match context_for(state, email).await {
        Ok(ctx) => ctx,
        // The SMTP settings could not be read: leave the deliveries pending; they are free
        // for the retry sweep when this worker's lease ends.
        Err(e) => {
            tracing::warn!(error = %e, "alert delivery context unavailable");
            return vec![];
        }
    };
    let configs: Vec<(i64, Result<ChannelConfig, ChannelError>)> = fresh
        .channels
        .iter()
        .map(|c| {
            let config = open_channel(state, &c.sealed).map_err(|_| {
                ChannelError::Config("the channel's settings cannot be opened".into())
            });
            (c.id, config)
        })
        .collect();
    let mut outcomes = Vec::with_capacity(fresh.deliveries.len());
    for (id, d) in fresh.deliveries {
        let sent = match configs.iter().find(|(c, _)| *c == d.channel_id) {
            Some((_, Ok(config))) => send_message(config, &d.message, &ctx).await,
            Some((_, Err(e))) => Err(e.clone()),
            None => Err(ChannelError::Config("the channel was deleted".into())),
        };
        let now = rt.now();
        outcomes.push(outcome(id, &d.channel_name, 1, now, now, sent));
    }
    outcomes
}

/// Sends the run's pending deliveries (each once; failures wait for their retry time).
pub async fn deliver_run(state: &AppState, rt: &Runtime, run_id: i64) -> Result<(), AppError> {
    let pending = repo::pending_deliveries(&state.db, Some(run_id), rt.now(), 1000).await?;
    if pending.is_empty() {
        return Ok(());
    }
    let ctx = delivery_context(state).await?;
    for d in pending {
        deliver(state, rt, &ctx, d).await?;
    }
    Ok(())
}

/// Retries deliveries whose time has come; returns how many were attempted.
pub async fn retry_deliveries(state: &AppState, rt: &Runtime) -> Result<usize, AppError> {
    let due = repo::pending_deliveries(&state.db, None, rt.now(), 200).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let ctx = delivery_context(state).await?;
    let n = due.len();
    for d in due {
        deliver(state, rt, &ctx, d).await?;
    }
    Ok(n)
}

/// One attempt at one stored delivery, under a lease so no other worker sends it meanwhile.
async fn deliver(
    state: &AppState,
    rt: &Runtime,
    ctx: &DeliveryContext,
    d: DeliveryRow,
) -> Result<(), AppError> {
    let now = rt.now();
    if !repo::claim_delivery(&state.db, d.id, now, rt.lease_from(now)).await? {
        return Ok(());
    }
    let sent = send(state, ctx, &d).await;
    let o = outcome(
        d.id,
        &d.channel_name,
        d.attempts + 1,
        d.created_at,
        rt.now(),
        sent,
    );
    repo::finish_delivery(
        &state.db,
        o.id,
        o.status,
        o.error.as_deref(),
        o.next_attempt_at,
        rt.now(),
    )
    .await?;
    Ok(())
}

/// What a send's result means for its delivery: sent, retried later with backoff (up to
/// [`MAX_ATTEMPTS`] attempts or a day), or given up.
fn outcome(
    id: i64,
    channel: &str,
    attempts: i64,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    sent: Result<(), ChannelError>,
) -> DeliveryOutcome {
    let Err(e) = sent else {
        return DeliveryOutcome {
            id,
            status: "sent",
            error: None,
            next_attempt_at: None,
        };
    };
    let text = e.to_string();
    let too_old =
        now.signed_duration_since(created_at) > chrono::Duration::hours(GIVE_UP_AFTER_HOURS);
    if e.is_retryable() && attempts < MAX_ATTEMPTS && !too_old {
        let backoff = e.retry_after().unwrap_or_else(|| backoff(attempts));
        let at = now + chrono::Duration::from_std(backoff).unwrap_or_default();
        tracing::warn!(delivery = id, channel, attempts, error = %text,
            "alert delivery failed; will retry");
        DeliveryOutcome {
            id,
            status: "pending",
            error: Some(text),
            next_attempt_at: Some(at),
        }
    } else {
        tracing::warn!(delivery = id, channel, attempts, error = %text,
            "alert delivery failed; given up");
        DeliveryOutcome {
            id,
            status: "failed",
            error: Some(text),
            next_attempt_at: None,
        }
    }
}

/// 30 s, 1 min, 2 min … at most 30 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 6)).unwrap_or(6);
    Duration::from_secs((30u64 << exp).min(1800))
}

/// Sends a stored delivery through its channel as it is now.
async fn send(
    state: &AppState,
    ctx: &DeliveryContext,
    d: &DeliveryRow,
) -> Result<(), ChannelError> {
    let Some(channel_id) = d.channel_id else {
        return Err(ChannelError::Config("the channel was deleted".into()));
    };
    let channel = repo::get_channel(&state.db, channel_id)
        .await
        .map_err(|_| ChannelError::Retryable {
            reason: "the metadata store is unavailable".into(),
            retry_after: None,
        })?
        .ok_or_else(|| ChannelError::Config("the channel was deleted".into()))?;
    let config = open_channel(state, &channel.sealed)
        .map_err(|_| ChannelError::Config("the channel's settings cannot be opened".into()))?;
    send_message(&config, &d.message, ctx).await
}

async fn send_message(
    config: &ChannelConfig,
    message: &str,
    ctx: &DeliveryContext,
) -> Result<(), ChannelError> {
    let message: Message = serde_json::from_str(message)
        .map_err(|_| ChannelError::Config("the stored message is unreadable".into()))?;
    channels::send(config, &message, ctx).await.map(|_| ())
}

// ---------------------------------------------------------------------- sweeper

/// Runs to hand to a worker again: queued ones nobody took within `stale` and running ones
/// whose worker's lease ended.
pub async fn orphaned(
    state: &AppState,
    rt: &Runtime,
    stale: Duration,
) -> Result<Vec<i64>, AppError> {
    let now = rt.now();
    let before = now - chrono::Duration::from_std(stale).unwrap_or_default();
    Ok(repo::orphaned_runs(&state.db, now, before, 1000).await?)
}
