//! Repository for alerts, channels, runs and deliveries. The scheduling and delivery
//! guarantees live in these statements:
//! - one run per (alert, scheduled time): `UNIQUE (alert_id, scheduled_for)` and
//!   `ON CONFLICT DO NOTHING`, and the alert's schedule advances only from the value read;
//! - one running run per alert: a partial unique index; a second claim is skipped;
//! - a run or a delivery belongs to a worker until its lease ends; after that another worker
//!   takes it over (at least once, with at most one duplicate per crash);
//! - the new state and its deliveries are stored in one transaction, guarded by
//!   `evaluated_at IS NULL`, so a run is evaluated into the store once.
use super::{is_unique_violation, on_pool, Db};
use crate::model::alert::{
    AlertRunStatus, AlertState, ChannelKind, DeliveryOutcome, DeliveryStatus, NotificationKind,
};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub kind: ChannelKind,
    pub sealed: String,
    pub summary: String,
    pub alerts: i64,
    pub for_everyone: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub insight_id: i64,
    pub insight_name: Option<String>,
    pub name: String,
    pub params: String,
    pub rule: String,
    pub policy: String,
    pub cron: String,
    pub timezone: String,
    pub channels: String,
    pub enabled: bool,
    pub mute_until: Option<DateTime<Utc>>,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub state: String,
    #[sqlx(try_from = "String")]
    pub state_label: AlertState,
    pub last_evaluated_at: Option<DateTime<Utc>>,
    pub last_scheduled_for: Option<DateTime<Utc>>,
    pub next_run_at: DateTime<Utc>,
    pub skipped_overlaps: i64,
}

const SELECT_ALERT: &str = "SELECT a.id, a.insight_id, i.name AS insight_name, a.name, \
     a.params, a.rule, a.policy, a.cron, a.timezone, a.channels, a.enabled, a.mute_until, \
     a.owner_id, u.email AS owner, a.state, a.state_label, a.last_evaluated_at, \
     a.last_scheduled_for, a.next_run_at, a.skipped_overlaps \
     FROM alerts a LEFT JOIN insights i ON i.id = a.insight_id \
     LEFT JOIN users u ON u.id = a.owner_id";

/// The stored form of an alert's editable fields (JSON parts already serialized).
pub struct StoredAlert<'a> {
    pub insight_id: i64,
    pub name: &'a str,
    pub params: &'a str,
    pub rule: &'a str,
    pub policy: &'a str,
    pub cron: &'a str,
    pub timezone: &'a str,
    pub channels: &'a str,
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub alert_id: i64,
    pub scheduled_for: DateTime<Utc>,
    pub manual: bool,
    #[sqlx(try_from = "String")]
    pub status: AlertRunStatus,
    pub attempts: i64,
    pub evaluated_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub state_label: Option<String>,
    pub detail: Option<String>,
    pub error: Option<String>,
    pub row_count: Option<i64>,
}

const SELECT_RUN: &str = "SELECT id, alert_id, scheduled_for, manual, status, attempts, \
     evaluated_at, finished_at, state_label, detail, error, row_count FROM alert_runs";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub run_id: i64,
    pub alert_id: i64,
    pub channel_id: Option<i64>,
    pub channel_name: String,
    #[sqlx(try_from = "String")]
    pub kind: NotificationKind,
    pub instance: String,
    pub message: String,
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const SELECT_DELIVERY: &str = "SELECT id, run_id, alert_id, channel_id, channel_name, kind, \
     instance, message, status, attempts, next_attempt_at, last_error, created_at, sent_at \
     FROM alert_deliveries";

/// A notification to record with the evaluation that caused it.
pub struct NewDelivery {
    pub channel_id: i64,
    pub channel_name: String,
    pub kind: NotificationKind,
    pub instance: String,
    pub message: String,
}

/// What an evaluation stores, in one transaction.
pub struct Evaluated<'a> {
    pub run_id: i64,
    pub alert_id: i64,
    pub state: &'a str,
    pub state_label: AlertState,
    pub detail: &'a str,
    pub error: Option<&'a str>,
    pub row_count: Option<i64>,
    pub deliveries: Vec<NewDelivery>,
    /// The deliveries start held by the evaluating worker until then (its run's lease), so it
    /// sends them without claiming each; if it dies they are free when the lease ends.
    pub lease_until: DateTime<Utc>,
}

// ------------------------------------------------------------------ channels

// One column per argument of the row being inserted.
#[allow(clippy::too_many_arguments)]
pub async fn insert_channel(
    db: &Db,
    name: &str,
    kind: ChannelKind,
    sealed: &str,
    summary: &str,
    for_everyone: bool,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO alert_channels (name, kind, sealed, summary, created_by, created_at, \
               updated_at, for_everyone) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id";
    on_pool!(db, p => sqlx::query_scalar(sql).bind(name).bind(kind.as_str()).bind(sealed).bind(summary)
        .bind(by).bind(now).bind(for_everyone).fetch_one(p).await)
}

/// The alerts sending to channel `c`: `channels` holds a JSON array of ids such as [1,12],
/// so the id is matched as a whole element.
const ALERTS_USING: &str = "(SELECT count(*) FROM alerts a WHERE \
     ',' || replace(replace(replace(a.channels, '[', ''), ']', ''), ' ', '') || ',' \
     LIKE '%,' || CAST(c.id AS TEXT) || ',%')";

pub async fn list_channels(db: &Db) -> Result<Vec<ChannelRow>, sqlx::Error> {
    let sql = format!(
        "SELECT c.id, c.name, c.kind, c.sealed, c.summary, {ALERTS_USING} AS alerts, \
         c.for_everyone FROM alert_channels c ORDER BY lower(c.name), c.id"
    );
    on_pool!(db, p => sqlx::query_as::<_, ChannelRow>(&sql).fetch_all(p).await)
}

/// How many alerts send to the channel; `None` when it does not exist.
pub async fn channel_use(db: &Db, id: i64) -> Result<Option<i64>, sqlx::Error> {
    let sql = format!("SELECT {ALERTS_USING} FROM alert_channels c WHERE c.id = $1");
    on_pool!(db, p => sqlx::query_scalar(&sql).bind(id).fetch_optional(p).await)
}

pub async fn get_channel(db: &Db, id: i64) -> Result<Option<ChannelRow>, sqlx::Error> {
    let sql = "SELECT id, name, kind, sealed, summary, CAST(0 AS BIGINT) AS alerts, for_everyone \
               FROM alert_channels WHERE id = $1";
    on_pool!(db, p => sqlx::query_as::<_, ChannelRow>(sql).bind(id).fetch_optional(p).await)
}

/// Replaces a channel's name and sealed settings; false when it no longer exists.
pub async fn update_channel(
    db: &Db,
    id: i64,
    name: &str,
    sealed: &str,
    summary: &str,
    for_everyone: bool,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE alert_channels SET name = $2, sealed = $3, summary = $4, updated_at = $5, \
               for_everyone = $6 WHERE id = $1";
    let n = on_pool!(db, p => sqlx::query(sql).bind(id).bind(name).bind(sealed).bind(summary)
        .bind(now).bind(for_everyone).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// `$1, $2, … $n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The channels with these ids that still exist.
pub async fn channels_by_ids(db: &Db, ids: &[i64]) -> Result<Vec<ChannelRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT id, name, kind, sealed, summary, CAST(0 AS BIGINT) AS alerts, for_everyone \
         FROM alert_channels WHERE id IN ({}) ORDER BY id",
        placeholders(ids.len())
    );
    on_pool!(db, p => {
        let mut q = sqlx::query_as::<_, ChannelRow>(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(p).await
    })
}

pub async fn delete_channel(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let n = on_pool!(db, p => sqlx::query("DELETE FROM alert_channels WHERE id = $1").bind(id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

// -------------------------------------------------------------------- alerts

pub async fn insert_alert(
    db: &Db,
    a: &StoredAlert<'_>,
    owner: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO alerts (insight_id, name, params, rule, policy, cron, timezone, \
               channels, enabled, owner_id, next_run_at, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id";
    on_pool!(db, p => sqlx::query_scalar(sql).bind(a.insight_id).bind(a.name).bind(a.params)
        .bind(a.rule).bind(a.policy).bind(a.cron).bind(a.timezone).bind(a.channels)
        .bind(a.enabled).bind(owner).bind(a.next_run_at).bind(now).fetch_one(p).await)
}

/// Saves the form's fields. A changed schedule starts from now (no catch-up of the old one).
pub async fn update_alert(
    db: &Db,
    id: i64,
    a: &StoredAlert<'_>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE alerts SET name = $2, params = $3, rule = $4, policy = $5, \
               last_scheduled_for = CASE WHEN cron = $6 AND timezone = $7 \
                 THEN last_scheduled_for ELSE NULL END, \
               cron = $6, timezone = $7, channels = $8, enabled = $9, next_run_at = $10, \
               updated_at = $11 WHERE id = $1";
    let n = on_pool!(db, p => sqlx::query(sql).bind(id).bind(a.name).bind(a.params)
        .bind(a.rule).bind(a.policy).bind(a.cron).bind(a.timezone).bind(a.channels)
        .bind(a.enabled).bind(a.next_run_at).bind(now).execute(p).await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn get_alert(db: &Db, id: i64) -> Result<Option<AlertRow>, sqlx::Error> {
    let sql = format!("{SELECT_ALERT} WHERE a.id = $1");
    on_pool!(db, p => sqlx::query_as::<_, AlertRow>(&sql).bind(id).fetch_optional(p).await)
}

/// All alerts, or those on one insight.
pub async fn list_alerts(db: &Db, insight: Option<i64>) -> Result<Vec<AlertRow>, sqlx::Error> {
    let sql = match insight {
        Some(_) => format!("{SELECT_ALERT} WHERE a.insight_id = $1 ORDER BY lower(a.name), a.id"),
        None => format!("{SELECT_ALERT} ORDER BY lower(a.name), a.id LIMIT 10000"),
    };
    on_pool!(db, p => {
        let q = sqlx::query_as::<_, AlertRow>(&sql);
        let q = match insight { Some(i) => q.bind(i), None => q };
        q.fetch_all(p).await
    })
}

pub async fn delete_alert(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let n = on_pool!(db, p => sqlx::query("DELETE FROM alerts WHERE id = $1").bind(id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn set_mute(
    db: &Db,
    id: i64,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE alerts SET mute_until = $2, updated_at = $3 WHERE id = $1";
    on_pool!(db, p => sqlx::query(sql).bind(id).bind(until).bind(now).execute(p).await
        .map(|_| ()))
}

// ---------------------------------------------------------------- scheduling

/// An enabled alert whose next run time has come.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueAlert {
    pub id: i64,
    pub cron: String,
    pub timezone: String,
    pub last_scheduled_for: Option<DateTime<Utc>>,
    pub next_run_at: DateTime<Utc>,
}

pub async fn due_alerts(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueAlert>, sqlx::Error> {
    let sql = "SELECT id, cron, timezone, last_scheduled_for, next_run_at FROM alerts \
               WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at, id LIMIT $2";
    on_pool!(db, p => sqlx::query_as::<_, DueAlert>(sql).bind(now).bind(limit).fetch_all(p).await)
}

/// What the scheduler decided for one due alert: the tick to run (none when its schedule
/// is broken) and when it is due next.
#[derive(Debug, Clone)]
pub struct TickPlan {
    pub due: DueAlert,
    pub tick: Option<DateTime<Utc>>,
    pub next_run_at: DateTime<Utc>,
}

/// Creates the runs of a batch of ticks (each once, whoever asks) and moves each alert's
/// schedule forward from the value that was read, in one transaction. Returns the runs this
/// call created. Another scheduler working on the same alerts waits for this one's commit
/// (PostgreSQL row locks, SQLite's write lock), then finds them moved on and makes nothing.
pub async fn schedule_ticks(
    db: &Db,
    plans: &[TickPlan],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    on_pool!(db, p => {
        let mut tx = p.begin().await?;
        let mut created = Vec::new();
        for plan in plans {
            let advanced = sqlx::query(
                "UPDATE alerts SET last_scheduled_for = COALESCE($2, last_scheduled_for), \
                 next_run_at = $3 WHERE id = $1 AND next_run_at = $4 AND enabled",
            )
            .bind(plan.due.id)
            .bind(plan.tick)
            .bind(plan.next_run_at)
            .bind(plan.due.next_run_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // 0: another scheduler got here first (or the alert changed); it made the run.
            let Some(tick) = plan.tick.filter(|_| advanced == 1) else {
                continue;
            };
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO alert_runs (alert_id, scheduled_for, created_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (alert_id, scheduled_for) DO NOTHING \
                 RETURNING id",
            )
            .bind(plan.due.id)
            .bind(tick)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            created.extend(id);
        }
        tx.commit().await?;
        Ok(created)
    })
}

/// An "evaluate now" run.
pub async fn insert_manual_run(
    db: &Db,
    alert: i64,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO alert_runs (alert_id, scheduled_for, manual, created_at, requested_by) \
               VALUES ($1, $2, TRUE, $2, $3) RETURNING id";
    on_pool!(db, p => sqlx::query_scalar(sql).bind(alert).bind(now).bind(by).fetch_one(p).await)
}

/// When the "evaluate now" runs `user` asked for after `since` were created, oldest first.
pub async fn manual_runs_since(
    db: &Db,
    user: i64,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, sqlx::Error> {
    let sql = "SELECT created_at FROM alert_runs WHERE manual AND requested_by = $1 \
               AND created_at > $2 ORDER BY created_at";
    on_pool!(db, p => sqlx::query_scalar(sql).bind(user).bind(since).fetch_all(p).await)
}

/// Alerts `user` owns.
pub async fn alerts_owned(db: &Db, user: i64) -> Result<i64, sqlx::Error> {
    let sql = "SELECT count(*) FROM alerts WHERE owner_id = $1";
    on_pool!(db, p => sqlx::query_scalar(sql).bind(user).fetch_one(p).await)
}

/// What taking a run gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This worker holds the run until the lease ends.
    Taken(RunRow),
    /// Another run of the same alert is running: this one was skipped and counted.
    Overlap,
    /// Done, skipped, or held by a live lease elsewhere.
    NotAvailable,
}

/// Takes a queued run, or a running one whose lease ended (its worker died).
pub async fn claim_run(
    db: &Db,
    run_id: i64,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Claim, sqlx::Error> {
    let sql = "UPDATE alert_runs SET status = 'running', attempts = attempts + 1, worker = $2, \
         lease_until = $3, started_at = COALESCE(started_at, $4) WHERE id = $1 AND \
         (status = 'queued' OR (status = 'running' AND lease_until < $4)) \
         RETURNING id, alert_id, scheduled_for, manual, status, attempts, evaluated_at, \
         finished_at, state_label, detail, error, row_count";
    let taken = on_pool!(db, p => sqlx::query_as::<_, RunRow>(sql).bind(run_id).bind(worker)
        .bind(lease_until).bind(now).fetch_optional(p).await);
    match taken {
        Ok(Some(r)) => Ok(Claim::Taken(r)),
        Ok(None) => Ok(Claim::NotAvailable),
        Err(e) if is_unique_violation(&e) => {
            let skipped = on_pool!(db, p => {
                let mut tx = p.begin().await?;
                let n = sqlx::query(
                    "UPDATE alert_runs SET status = 'skipped', finished_at = $2, \
                     detail = 'Skipped: the previous evaluation of this alert was still running.' \
                     WHERE id = $1 AND status = 'queued'",
                )
                .bind(run_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 1 {
                    sqlx::query(
                        "UPDATE alerts SET skipped_overlaps = skipped_overlaps + 1 \
                         WHERE id = (SELECT alert_id FROM alert_runs WHERE id = $1)",
                    )
                    .bind(run_id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(n)
            })?;
            Ok(if skipped == 1 {
                Claim::Overlap
            } else {
                Claim::NotAvailable
            })
        }
        Err(e) => Err(e),
    }
}

/// Stores the new state, the run's outcome and its deliveries (pending, held by `worker`
/// until `e.lease_until`) at once. Returns each stored delivery's index in `e.deliveries`
/// and id; `None` when the run was already evaluated (by a worker that held it before) or is
/// no longer ours.
pub async fn record_evaluation(
    db: &Db,
    e: &Evaluated<'_>,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<(usize, i64)>>, sqlx::Error> {
    on_pool!(db, p => {
        let mut tx = p.begin().await?;
        let mine = sqlx::query(
            "UPDATE alert_runs SET evaluated_at = $2, state_label = $3, detail = $4, \
             error = $5, row_count = $6 WHERE id = $1 AND status = 'running' AND worker = $7 \
             AND evaluated_at IS NULL",
        )
        .bind(e.run_id)
        .bind(now)
        .bind(e.state_label.as_str())
        .bind(e.detail)
        .bind(e.error)
        .bind(e.row_count)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if mine != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query(
            "UPDATE alerts SET state = $2, state_label = $3, last_evaluated_at = $4 \
             WHERE id = $1",
        )
        .bind(e.alert_id)
        .bind(e.state)
        .bind(e.state_label.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut stored = Vec::with_capacity(e.deliveries.len());
        for (i, d) in e.deliveries.iter().enumerate() {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO alert_deliveries (run_id, alert_id, channel_id, channel_name, kind, \
                 instance, message, next_attempt_at, created_at, lease_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) \
                 ON CONFLICT (run_id, channel_name, instance, kind) DO NOTHING RETURNING id",
            )
            .bind(e.run_id)
            .bind(e.alert_id)
            .bind(d.channel_id)
            .bind(&d.channel_name)
            .bind(d.kind.as_str())
            .bind(&d.instance)
            .bind(&d.message)
            .bind(now)
            .bind(e.lease_until)
            .fetch_optional(&mut *tx)
            .await?;
            stored.extend(id.map(|id| (i, id)));
        }
        tx.commit().await?;
        Ok(Some(stored))
    })
}

/// Stores the outcomes of the sends a worker made for its run and marks the run done, in one
/// transaction (a crash before it sends those deliveries again: at most one duplicate).
pub async fn complete_run(
    db: &Db,
    run_id: i64,
    worker: &str,
    outcomes: &[DeliveryOutcome],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_pool!(db, p => {
        let mut tx = p.begin().await?;
        for o in outcomes {
            sqlx::query(FINISH_DELIVERY_COUNTED)
                .bind(o.id)
                .bind(o.status.as_str())
                .bind(o.error.as_deref())
                .bind(o.next_attempt_at)
                .bind(now)
                .bind(i64::from(o.tries))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "UPDATE alert_runs SET status = 'done', finished_at = $2, lease_until = NULL \
             WHERE id = $1 AND status = 'running' AND worker = $3",
        )
        .bind(run_id)
        .bind(now)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    })
}

/// Runs to hand to a worker again: queued ones nobody took for `stale_before`, and running
/// ones whose worker's lease ended.
pub async fn orphaned_runs(
    db: &Db,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let sql = "SELECT id FROM alert_runs WHERE (status = 'queued' AND created_at < $2) \
               OR (status = 'running' AND lease_until < $1) ORDER BY id LIMIT $3";
    on_pool!(db, p => sqlx::query_scalar(sql).bind(now).bind(stale_before).bind(limit)
        .fetch_all(p).await)
}

pub async fn get_run(db: &Db, id: i64) -> Result<Option<RunRow>, sqlx::Error> {
    let sql = format!("{SELECT_RUN} WHERE id = $1");
    on_pool!(db, p => sqlx::query_as::<_, RunRow>(&sql).bind(id).fetch_optional(p).await)
}

pub async fn recent_runs(db: &Db, alert: i64, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    let sql =
        format!("{SELECT_RUN} WHERE alert_id = $1 ORDER BY scheduled_for DESC, id DESC LIMIT $2");
    on_pool!(db, p => sqlx::query_as::<_, RunRow>(&sql).bind(alert).bind(limit).fetch_all(p).await)
}

// ---------------------------------------------------------------- deliveries

pub async fn deliveries_of_runs(db: &Db, runs: &[i64]) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    if runs.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "{SELECT_DELIVERY} WHERE run_id IN ({}) ORDER BY id",
        placeholders(runs.len())
    );
    on_pool!(db, p => {
        let mut q = sqlx::query_as::<_, DeliveryRow>(&sql);
        for id in runs {
            q = q.bind(*id);
        }
        q.fetch_all(p).await
    })
}

/// Pending deliveries of one run (any retry time), or of all runs whose retry time has come.
pub async fn pending_deliveries(
    db: &Db,
    run: Option<i64>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let sql = match run {
        Some(_) => format!(
            "{SELECT_DELIVERY} WHERE run_id = $1 AND status = 'pending' ORDER BY id LIMIT $2"
        ),
        None => format!(
            "{SELECT_DELIVERY} WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_attempt_at, id LIMIT $2"
        ),
    };
    on_pool!(db, p => {
        let q = sqlx::query_as::<_, DeliveryRow>(&sql);
        let q = match run { Some(r) => q.bind(r), None => q.bind(now) };
        q.bind(limit).fetch_all(p).await
    })
}

/// Takes one pending delivery for a send (false: someone else holds it, or it is done).
pub async fn claim_delivery(
    db: &Db,
    id: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE alert_deliveries SET lease_until = $3, attempts = attempts + 1 \
               WHERE id = $1 AND status = 'pending' AND (lease_until IS NULL OR lease_until < $2)";
    let n = on_pool!(db, p => sqlx::query(sql).bind(id).bind(now).bind(lease_until).execute(p)
        .await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Records a send's outcome: `sent`, `failed` (given up), or `pending` again with a retry
/// time; frees the delivery. `$1` id, `$2` status, `$3` error, `$4` retry time, `$5` now.
const FINISH_DELIVERY: &str = "UPDATE alert_deliveries SET status = $2, last_error = $3, \
     next_attempt_at = COALESCE($4, next_attempt_at), lease_until = NULL, \
     sent_at = CASE WHEN $2 = 'sent' THEN $5 ELSE sent_at END WHERE id = $1";
/// The same for a delivery sent without a claim (a claim counts one attempt): `$6` sends.
const FINISH_DELIVERY_COUNTED: &str = "UPDATE alert_deliveries SET status = $2, \
     last_error = $3, next_attempt_at = COALESCE($4, next_attempt_at), lease_until = NULL, \
     attempts = attempts + $6, sent_at = CASE WHEN $2 = 'sent' THEN $5 ELSE sent_at END \
     WHERE id = $1";

/// Records the outcome of a claimed delivery's send.
pub async fn finish_delivery(
    db: &Db,
    o: &DeliveryOutcome,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query(FINISH_DELIVERY).bind(o.id).bind(o.status.as_str())
        .bind(o.error.as_deref()).bind(o.next_attempt_at).bind(now).execute(p).await.map(|_| ()))
}
