//! The standalone runner's state: a small SQLite file with, per alert, its states and last
//! scheduled tick, and the delivery log. It is the runner's side of the shared cycle
//! ([`super::super::cycle::AlertStore`], implemented in `mod.rs` over this file).
//!
//! States and the deliveries they cause are written in one transaction (as `pending`), and an
//! (alert, tick, channel, instance, kind) is recorded once, so a restart neither re-notifies
//! nor forgets.
use crate::{
    model::alert::{AlertStates, DeliveryOutcome, DeliveryStatus, NotificationKind},
    server::alerts::channels::Message,
};
use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::{path::Path, time::Duration};

pub struct StateFile {
    pool: SqlitePool,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_state (
    alert TEXT PRIMARY KEY NOT NULL,
    states TEXT NOT NULL,
    last_scheduled TEXT,
    updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS delivery (
    id INTEGER PRIMARY KEY,
    alert TEXT NOT NULL,
    tick TEXT NOT NULL,
    channel TEXT NOT NULL,
    instance TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (alert, tick, channel, instance, kind)
) STRICT;
CREATE INDEX IF NOT EXISTS delivery_pending ON delivery (next_attempt_at) WHERE status = 'pending';
";

/// A notification to one channel, about to be recorded as pending.
pub struct NewDelivery<'a> {
    pub channel: &'a str,
    pub instance: &'a str,
    pub kind: NotificationKind,
    pub message: &'a Message,
}

/// A recorded delivery not yet sent.
pub struct Pending {
    pub id: i64,
    pub alert: String,
    pub channel: String,
    pub kind: String,
    pub message: Message,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl StateFile {
    /// Opens (creating) the file and forgets finished deliveries older than 90 days.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the folder of {}", path.display()))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        // One connection: writes are few and small, and this keeps them in order.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .with_context(|| format!("opening the state file {}", path.display()))?;
        sqlx::raw_sql(SCHEMA)
            .execute(&pool)
            .await
            .with_context(|| format!("preparing the state file {}", path.display()))?;
        let horizon = ts(Utc::now() - chrono::Duration::days(90));
        sqlx::query("DELETE FROM delivery WHERE status <> 'pending' AND created_at < ?1")
            .bind(horizon)
            .execute(&pool)
            .await?;
        Ok(StateFile { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The alert's states and last scheduled tick (defaults for a new alert).
    pub async fn load(&self, alert: &str) -> Result<(AlertStates, Option<DateTime<Utc>>)> {
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT states, last_scheduled FROM alert_state WHERE alert = ?1")
                .bind(alert)
                .fetch_optional(&self.pool)
                .await?;
        let Some((states, last)) = row else {
            return Ok((AlertStates::default(), None));
        };
        let states = serde_json::from_str(&states)
            .with_context(|| format!("the stored state of alert \"{alert}\" is unreadable"))?;
        Ok((states, last.as_deref().and_then(parse_ts)))
    }

    /// Saves the new states (and the tick, when scheduled) together with the notifications
    /// they cause, as pending. Returns, for each delivery, its id to send now, or `None`
    /// when the same delivery was already recorded for this tick (it is not sent again).
    pub async fn record(
        &self,
        alert: &str,
        states: &AlertStates,
        scheduled: Option<DateTime<Utc>>,
        tick: DateTime<Utc>,
        deliveries: &[NewDelivery<'_>],
    ) -> Result<Vec<Option<i64>>> {
        let now = ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO alert_state (alert, states, last_scheduled, updated_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (alert) DO UPDATE SET \
             states = excluded.states, \
             last_scheduled = COALESCE(excluded.last_scheduled, alert_state.last_scheduled), \
             updated_at = excluded.updated_at",
        )
        .bind(alert)
        .bind(serde_json::to_string(states)?)
        .bind(scheduled.map(ts))
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let mut ids = Vec::new();
        for d in deliveries {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO delivery (alert, tick, channel, instance, kind, message, status, \
                 created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(alert)
            .bind(ts(tick))
            .bind(d.channel)
            .bind(d.instance)
            .bind(d.kind.as_str())
            .bind(serde_json::to_string(d.message)?)
            .bind(&now)
            .fetch_optional(&mut *tx)
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Pending deliveries, oldest first; with `due`, only those whose next attempt is due.
    /// One whose message cannot be read is given up here.
    pub async fn pending(&self, due: Option<DateTime<Utc>>) -> Result<Vec<Pending>> {
        let rows: Vec<(i64, String, String, String, String, i64, String)> = sqlx::query_as(
            "SELECT id, alert, channel, kind, message, attempts, created_at FROM delivery \
             WHERE status = 'pending' AND (?1 IS NULL OR next_attempt_at <= ?1) ORDER BY id",
        )
        .bind(due.map(ts))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for (id, alert, channel, kind, message, attempts, created_at) in rows {
            let Ok(message) = serde_json::from_str::<Message>(&message) else {
                let unreadable = DeliveryOutcome {
                    id,
                    status: DeliveryStatus::Failed,
                    error: Some("the stored message is unreadable".into()),
                    next_attempt_at: None,
                    tries: 0,
                };
                self.finish(&[unreadable]).await?;
                continue;
            };
            out.push(Pending {
                id,
                alert,
                channel,
                kind,
                message,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                created_at: parse_ts(&created_at).unwrap_or_else(Utc::now),
            });
        }
        Ok(out)
    }

    /// Records how deliveries went (each outcome counts its sends as attempts).
    pub async fn finish(&self, outcomes: &[DeliveryOutcome]) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        for o in outcomes {
            sqlx::query(
                "UPDATE delivery SET status = ?2, attempts = attempts + ?3, error = ?4, \
                 next_attempt_at = COALESCE(?5, next_attempt_at), \
                 sent_at = CASE WHEN ?2 = 'sent' THEN ?6 ELSE sent_at END WHERE id = ?1",
            )
            .bind(o.id)
            .bind(o.status.as_str())
            .bind(i64::from(o.tries))
            .bind(o.error.as_deref())
            .bind(o.next_attempt_at.map(ts))
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
