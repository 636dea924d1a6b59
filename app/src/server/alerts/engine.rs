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
    channels::{
        self, ChannelConfig, ChannelError, ChannelKind, DeliveryContext, Message, SmtpSettings,
    },
    cycle::{self, AlertStore, Attempt, Decision, Planned, Prepared, RetryPolicy},
    outbound::OutboundPolicy,
    report::{self, Collect},
    stored::{self, AlertColumns},
};
use crate::{
    error::AppError,
    model::{
        alert::{DeliveryOutcome, DeliveryStatus, StatePolicy},
        insight::{InsightId, UrlValues},
        schedule::Schedule,
    },
    server::{
        db::{
            alerts::{
                self as repo, ChannelRow, Claim, DeliveryRow, Evaluated, NewDelivery, RunRow,
                TickPlan,
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
pub const MAX_ATTEMPTS: u32 = 10;
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
    Ok(DeliveryContext {
        outbound: OutboundPolicy::new(state.settings.alerts.allow_hosts.clone()),
        smtp: smtp_settings(state).await?,
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
    if run.evaluated_at.is_none() {
        // The usual path: the deliveries are stored held by this worker, sent as they are,
        // and every outcome is stored with the run's end.
        if evaluate(state, rt, &run, true).await?.is_none() {
            return Ok(Processed::NotAvailable);
        }
    } else {
        // A worker before us stored the evaluation and stopped: claim each delivery.
        deliver_run(state, rt, run.id).await?;
        repo::complete_run(&state.db, run.id, &rt.worker, &[], rt.now()).await?;
    }
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
/// causes, without sending them (the first half of [`process_run`], on its own for tests that
/// stop a worker between the two). False when the run was no longer ours to evaluate.
pub async fn evaluate_run(state: &AppState, rt: &Runtime, run: &RunRow) -> Result<bool, AppError> {
    Ok(evaluate(state, rt, run, false).await?.is_some())
}

/// The server's side of the shared cycle: states go to the metadata store under the run's
/// lease, and the run ends when the outcomes of its sends are stored.
struct RunStore<'s> {
    state: &'s AppState,
    rt: &'s Runtime,
    run_id: i64,
    alert_id: i64,
    /// How to send.
    ctx: DeliveryContext,
    /// Why email cannot go out now (the SMTP settings could not be read): email sends then
    /// fail as retryable; the other channels are not affected.
    smtp_error: Option<String>,
}

/// The delivery context with the SMTP settings read only when `email` is to go out; a failure
/// to read them is logged and returned beside it (it concerns email sends only).
async fn sending(state: &AppState, email: bool) -> (DeliveryContext, Option<String>) {
    let outbound = OutboundPolicy::new(state.settings.alerts.allow_hosts.clone());
    let (smtp, error) = if email {
        match smtp_settings(state).await {
            Ok(smtp) => (smtp, None),
            Err(e) => {
                tracing::warn!(error = %e, "the SMTP settings cannot be read; email waits");
                (
                    None,
                    Some("the server's email settings cannot be read".to_string()),
                )
            }
        }
    } else {
        (None, None)
    };
    (DeliveryContext { outbound, smtp }, error)
}

/// A channel with its settings opened (or why they cannot be).
#[derive(Clone)]
pub struct OpenChannel {
    id: i64,
    name: String,
    config: Result<ChannelConfig, ChannelError>,
}

impl OpenChannel {
    fn open(state: &AppState, row: &ChannelRow) -> Self {
        let config = open_channel(state, &row.sealed)
            .map_err(|_| ChannelError::Config("the channel's settings cannot be opened".into()));
        OpenChannel {
            id: row.id,
            name: row.name.clone(),
            config,
        }
    }
}

impl AlertStore for RunStore<'_> {
    type Channel = OpenChannel;
    type Error = AppError;

    async fn record(
        &self,
        decision: &Decision,
        deliveries: &[Planned<'_, OpenChannel>],
    ) -> Result<Option<Vec<Option<i64>>>, AppError> {
        let mut new = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            new.push(NewDelivery {
                channel_id: d.channel.id,
                channel_name: d.channel.name.clone(),
                kind: d.kind,
                instance: d.instance.clone(),
                message: serde_json::to_string(d.message).map_err(crate::error::internal)?,
            });
        }
        let state_json = serde_json::to_string(&decision.next).map_err(crate::error::internal)?;
        let now = self.rt.now();
        let evaluated = Evaluated {
            run_id: self.run_id,
            alert_id: self.alert_id,
            state: &state_json,
            state_label: report::overall(&decision.next),
            detail: &decision.detail,
            error: decision.error.as_deref(),
            row_count: decision
                .error
                .is_none()
                .then_some(decision.eval.row_count as i64),
            deliveries: new,
            lease_until: self.rt.lease_from(now),
        };
        let Some(stored) =
            repo::record_evaluation(&self.state.db, &evaluated, &self.rt.worker, now).await?
        else {
            return Ok(None);
        };
        let mut ids = vec![None; deliveries.len()];
        for (i, id) in stored {
            if let Some(slot) = ids.get_mut(i) {
                *slot = Some(id);
            }
        }
        Ok(Some(ids))
    }

    async fn send(
        &self,
        channel: &OpenChannel,
        message: &Message,
        attempt: u32,
    ) -> Result<(), ChannelError> {
        let sent = match (&channel.config, &self.smtp_error) {
            (Err(e), _) => Err(e.clone()),
            (Ok(ChannelConfig::Email { .. }), Some(reason)) => Err(ChannelError::Retryable {
                reason: reason.clone(),
                retry_after: None,
            }),
            (Ok(config), _) => channels::send(config, message, &self.ctx).await.map(|_| ()),
        };
        if let Err(e) = &sent {
            tracing::warn!(run = self.run_id, channel = %channel.name, attempt, error = %e,
                "alert delivery failed");
        }
        sent
    }

    async fn finish(&self, outcomes: &[DeliveryOutcome]) -> Result<(), AppError> {
        let now = self.rt.now();
        repo::complete_run(&self.state.db, self.run_id, &self.rt.worker, outcomes, now).await?;
        Ok(())
    }
}

/// Deliveries are tried once per attempt, then after 30 s, 1 min, 2 min … at most 30 minutes,
/// up to [`MAX_ATTEMPTS`] times or a day. One send per attempt: the store counts an attempt
/// when a delivery is claimed or finished unclaimed (`db/alerts.rs`), not per send.
pub const RETRY: RetryPolicy = RetryPolicy {
    tries_now: 1,
    max_tries: MAX_ATTEMPTS,
    give_up_after: chrono::Duration::hours(GIVE_UP_AFTER_HOURS),
    backoff,
};
const _: () = assert!(
    RETRY.tries_now == 1,
    "the store counts one send per attempt"
);

/// The cycle for one run: prepare (the alert row, decoded once), run the insight, decide,
/// record and, with `send`, deliver and end the run. `None` when the run was no longer ours.
async fn evaluate(
    state: &AppState,
    rt: &Runtime,
    run: &RunRow,
    send: bool,
) -> Result<Option<()>, AppError> {
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
    let ran = query(state, InsightId(alert.insight_id), &params, &mut result).await;
    let prepared = Prepared {
        name: &alert.name,
        rule: &rule,
        policy: &policy,
        prev: &prev,
        link: link(state, alert.insight_id, &params),
    };
    let decision = cycle::decide(&prepared, &result, ran, rt.now());
    let rows = if decision.notes.is_empty() {
        vec![]
    } else {
        repo::channels_by_ids(&state.db, &channel_ids).await?
    };
    let channels: Vec<OpenChannel> = rows.iter().map(|c| OpenChannel::open(state, c)).collect();
    let (ctx, smtp_error) = sending(state, rows.iter().any(|c| c.kind == ChannelKind::Email)).await;
    let store = RunStore {
        state,
        rt,
        run_id: run.id,
        alert_id: alert.id,
        ctx,
        smtp_error,
    };
    let deliveries = cycle::plan(&decision, &channels);
    let Some(to_send) = cycle::record(&store, &decision, deliveries).await? else {
        return Ok(None);
    };
    if send {
        cycle::deliver(&store, &RETRY, &*rt.clock, to_send).await?;
    }
    Ok(Some(()))
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

/// Sends the run's pending deliveries (each once; failures wait for their retry time).
pub async fn deliver_run(state: &AppState, rt: &Runtime, run_id: i64) -> Result<(), AppError> {
    let pending = repo::pending_deliveries(&state.db, Some(run_id), rt.now(), 1000).await?;
    deliver_pending(state, rt, pending).await
}

/// Retries deliveries whose time has come; returns how many were attempted.
pub async fn retry_deliveries(state: &AppState, rt: &Runtime) -> Result<usize, AppError> {
    let due = repo::pending_deliveries(&state.db, None, rt.now(), 200).await?;
    let n = due.len();
    deliver_pending(state, rt, due).await?;
    Ok(n)
}

/// One attempt at each stored delivery, each under a lease so no other worker sends it
/// meanwhile; the channel is read as it is now.
async fn deliver_pending(
    state: &AppState,
    rt: &Runtime,
    pending: Vec<DeliveryRow>,
) -> Result<(), AppError> {
    if pending.is_empty() {
        return Ok(());
    }
    // The channels' kinds are known only once each is read: the SMTP settings are read
    // once, and a failure to read them holds back email only.
    let (ctx, smtp_error) = sending(state, true).await;
    let mut store = RunStore {
        state,
        rt,
        run_id: 0,
        alert_id: 0,
        ctx,
        smtp_error,
    };
    for d in pending {
        let now = rt.now();
        if !repo::claim_delivery(&state.db, d.id, now, rt.lease_from(now)).await? {
            continue;
        }
        store.run_id = d.run_id;
        let channel = match stored_channel(state, d.channel_id).await {
            Ok(row) => OpenChannel::open(state, &row),
            Err(e) => OpenChannel {
                id: d.channel_id.unwrap_or_default(),
                name: d.channel_name.clone(),
                config: Err(e),
            },
        };
        let outcome = match serde_json::from_str::<Message>(&d.message) {
            Ok(message) => {
                let a = Attempt {
                    id: d.id,
                    channel: &channel,
                    message: &message,
                    // The claim counted this attempt.
                    tries_before: u32::try_from(d.attempts).unwrap_or(u32::MAX),
                    created_at: d.created_at,
                };
                cycle::attempt(&store, &RETRY, &*rt.clock, a).await
            }
            Err(_) => DeliveryOutcome {
                id: d.id,
                status: DeliveryStatus::Failed,
                error: Some("the stored message is unreadable".into()),
                next_attempt_at: None,
                tries: 0,
            },
        };
        repo::finish_delivery(&state.db, &outcome, rt.now()).await?;
    }
    Ok(())
}

/// A stored delivery's channel as it is now.
async fn stored_channel(state: &AppState, id: Option<i64>) -> Result<ChannelRow, ChannelError> {
    let Some(id) = id else {
        return Err(ChannelError::Config("the channel was deleted".into()));
    };
    repo::get_channel(&state.db, id)
        .await
        .map_err(|_| ChannelError::Retryable {
            reason: "the metadata store is unavailable".into(),
            retry_after: None,
        })?
        .ok_or_else(|| ChannelError::Config("the channel was deleted".into()))
}

/// 30 s, 1 min, 2 min … at most 30 minutes, after `tries` failed sends.
pub fn backoff(tries: u32) -> Duration {
    let exp = tries.saturating_sub(1).min(6);
    Duration::from_secs((30u64 << exp).min(1800))
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
