//! `sightline alerts run|validate`: the standalone alert runner. Alerts, connections and
//! channels come from a YAML (or JSON) file instead of the metadata store (read and checked by
//! `app::server::alerts::file_config`); evaluation and the
//! state machine are the server's own (`app::model::alert`, `app::model::schedule`), delivery
//! is `app::server::alerts::channels`, and state lives in a small SQLite file.
//!
//! Delivery is at least once with at most one duplicate: states and the notifications they
//! cause are written in one transaction (as `pending`), sent, then marked `sent`. Pending
//! deliveries are retried when the runner starts, and an (alert, tick, channel, instance,
//! kind) is recorded once, so a restart neither re-notifies nor forgets.
use anyhow::{anyhow, bail, Context, Result};
use app::{
    model::alert::{evaluate, step_alert, AlertStates, Evaluation, Notification, NotificationKind},
    server::{
        alerts::{
            channels::{self, Message},
            file_config::{load, send_hint, AlertConfig, RunnerConfig},
            report::{self, kind_label, kind_name, one_line, Collect},
        },
        connectors::{Connector, ConnectorError, PoolOptions, RunLimits},
    },
};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use futures::StreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

/// `sightline alerts …`, joined to the main command line in `main.rs`.
#[derive(Subcommand, Debug)]
pub enum Alerts {
    /// Run alerts from a YAML or JSON file without the web server (see alerts.example.yaml).
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum AlertsCommand {
    /// Run the alerts on their cron schedules until Ctrl-C or SIGTERM (or once, with --once).
    Run(RunArgs),
    /// Check the file: syntax, fields, ${VAR} references, schedules, connections, channels.
    /// Nothing is connected to and no state is written.
    Validate(ConfigArg),
}

#[derive(Args, Debug)]
pub struct ConfigArg {
    /// The alerts file (.yaml, .yml or .json).
    #[arg(long, short = 'c', env = "SIGHTLINE_ALERTS_CONFIG")]
    pub config: PathBuf,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Evaluate every alert once now (schedules ignored), deliver, and exit.
    #[arg(long)]
    pub once: bool,
    /// The state file; overrides `state:` in the config (default: next to the config file).
    #[arg(long, env = "SIGHTLINE_ALERTS_STATE")]
    pub state: Option<PathBuf>,
}

/// Runs `sightline alerts …`.
pub async fn run(cmd: Alerts) -> Result<()> {
    let Alerts::Alerts { command } = cmd;
    match command {
        AlertsCommand::Validate(args) => validate(&args.config),
        AlertsCommand::Run(args) => {
            let config = load(&args.config.config).map_err(|e| anyhow!("{}", e.one_line()))?;
            let state = args.state.unwrap_or_else(|| config.state_path.clone());
            let runner = Runner::start(config, &state).await?;
            let result = if args.once {
                runner.run_once().await
            } else {
                runner.run_forever().await
            };
            runner.close().await;
            result
        }
    }
}

fn validate(path: &Path) -> Result<()> {
    match load(path) {
        Ok(c) => {
            println!(
                "{}: valid ({}, {}, {})",
                path.display(),
                plural(c.alerts.len(), "alert"),
                plural(c.channels.len(), "channel"),
                plural(c.connections.len(), "connection"),
            );
            Ok(())
        }
        Err(e) => {
            for problem in &e.0 {
                eprintln!("{problem}");
            }
            bail!(
                "{} is not valid ({})",
                path.display(),
                plural(e.0.len(), "problem")
            )
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

// ===================================================================== state file

/// The runner's SQLite file: per alert its states and last scheduled tick, and the
/// delivery log.
struct Store {
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
struct NewDelivery {
    channel: String,
    instance: String,
    kind: NotificationKind,
    message: Message,
}

/// A recorded delivery not yet sent.
struct Pending {
    id: i64,
    alert: String,
    channel: String,
    kind: String,
    message: Message,
    attempts: u32,
    created_at: DateTime<Utc>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Store {
    async fn open(path: &Path) -> Result<Self> {
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
        // The log keeps 90 days of finished deliveries.
        let horizon = ts(Utc::now() - chrono::Duration::days(90));
        sqlx::query("DELETE FROM delivery WHERE status <> 'pending' AND created_at < ?1")
            .bind(horizon)
            .execute(&pool)
            .await?;
        Ok(Store { pool })
    }

    /// The alert's states and last scheduled tick (defaults for a new alert).
    async fn load(&self, alert: &str) -> Result<(AlertStates, Option<DateTime<Utc>>)> {
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
    async fn record(
        &self,
        alert: &str,
        states: &AlertStates,
        scheduled: Option<DateTime<Utc>>,
        tick: DateTime<Utc>,
        deliveries: &[NewDelivery],
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
            .bind(&d.channel)
            .bind(&d.instance)
            .bind(kind_name(d.kind))
            .bind(serde_json::to_string(&d.message)?)
            .bind(&now)
            .fetch_optional(&mut *tx)
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Pending deliveries, oldest first; with `due`, only those whose next attempt is due.
    async fn pending(&self, due: Option<DateTime<Utc>>) -> Result<Vec<Pending>> {
        let rows: Vec<(i64, String, String, String, String, i64, String)> = sqlx::query_as(
            "SELECT id, alert, channel, kind, message, attempts, created_at FROM delivery \
             WHERE status = 'pending' AND (?1 IS NULL OR next_attempt_at <= ?1) ORDER BY id",
        )
        .bind(due.map(ts))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for (id, alert, channel, kind, message, attempts, created_at) in rows {
            let message = match serde_json::from_str::<Message>(&message) {
                Ok(m) => m,
                Err(_) => {
                    self.finish(
                        id,
                        0,
                        &SendResult::Failed("the stored message is unreadable".into()),
                    )
                    .await?;
                    continue;
                }
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

    /// Records how a delivery went after `attempts` more tries.
    async fn finish(&self, id: i64, attempts: u32, how: &SendResult) -> Result<()> {
        let now = Utc::now();
        let (status, error, next) = match how {
            SendResult::Sent => ("sent", None, now),
            SendResult::Failed(e) => ("failed", Some(e.as_str()), now),
            SendResult::Later { error, at } => ("pending", Some(error.as_str()), *at),
        };
        sqlx::query(
            "UPDATE delivery SET status = ?2, attempts = attempts + ?3, error = ?4, \
             next_attempt_at = ?5, sent_at = CASE WHEN ?2 = 'sent' THEN ?6 ELSE sent_at END \
             WHERE id = ?1",
        )
        .bind(id)
        .bind(status)
        .bind(i64::from(attempts))
        .bind(error)
        .bind(ts(next))
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

// ===================================================================== running

/// Tries per delivery within one evaluation (or one retry of a pending delivery).
const ATTEMPTS_PER_RUN: u32 = 3;
/// Pending deliveries are given up this long after they were recorded.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);
/// Alerts evaluated at the same time.
const CONCURRENCY: usize = 4;
/// The loop looks at the clock at least this often (clock changes, pending retries).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How one delivery ended.
enum SendResult {
    Sent,
    /// Refused for good (or given up): not tried again.
    Failed(String),
    /// Still pending: tried again at `at`.
    Later {
        error: String,
        at: DateTime<Utc>,
    },
}

struct Runner {
    config: RunnerConfig,
    connectors: HashMap<String, Connector>,
    store: Store,
}

/// What one evaluation printed and what it could not deliver.
struct Report {
    line: String,
    undelivered: Vec<String>,
}

impl Runner {
    async fn start(config: RunnerConfig, state: &Path) -> Result<Self> {
        let mut connectors = HashMap::new();
        for (name, cfg) in &config.connections {
            let pool = PoolOptions {
                max_connections: 2,
                acquire_timeout: Duration::from_secs(30),
            };
            let c =
                Connector::open(cfg, &pool).map_err(|e| anyhow!("connection \"{name}\": {e}"))?;
            connectors.insert(name.clone(), c);
        }
        let store = Store::open(state).await?;
        Ok(Runner {
            config,
            connectors,
            store,
        })
    }

    async fn close(&self) {
        for c in self.connectors.values() {
            c.close().await;
        }
        self.store.pool.close().await;
    }

    /// `--once`: pending deliveries, then every alert now. Fails when a notification could
    /// not be delivered (it stays pending when it may still go through).
    async fn run_once(&self) -> Result<()> {
        let mut undelivered = self.retry_pending(None).await?;
        let now = Utc::now();
        let mut reports = futures::stream::iter(&self.config.alerts)
            .map(|a| self.evaluate(a, now, None))
            .buffered(CONCURRENCY);
        let mut broken = 0;
        while let Some(report) = reports.next().await {
            match report {
                Ok(r) => {
                    println!("{}", r.line);
                    undelivered.extend(r.undelivered);
                }
                Err((name, e)) => {
                    eprintln!("{name}: {e:#}");
                    broken += 1;
                }
            }
        }
        if broken > 0 {
            bail!("{} could not be evaluated", plural(broken, "alert"));
        }
        if !undelivered.is_empty() {
            bail!(
                "{} not delivered: {}",
                plural(undelivered.len(), "notification"),
                undelivered.join("; ")
            );
        }
        Ok(())
    }

    /// Runs on the schedules until Ctrl-C or SIGTERM. After downtime each alert catches up
    /// once, for its latest missed tick.
    async fn run_forever(&self) -> Result<()> {
        if let Some(a) = self.config.alerts.iter().find(|a| a.schedule.is_none()) {
            bail!(
                "alert \"{}\" has no schedule: add `schedule:` or run with --once",
                a.name
            );
        }
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let mut last = HashMap::new();
        for a in &self.config.alerts {
            last.insert(a.name.clone(), self.store.load(&a.name).await?.1);
        }
        eprintln!(
            "alerts: running {} (Ctrl-C to stop)",
            plural(self.config.alerts.len(), "alert")
        );
        let mut first = true;
        loop {
            let round = async {
                // Every pending delivery on start, then those whose retry is due.
                let due = (!first).then(Utc::now);
                for e in self.retry_pending(due).await? {
                    eprintln!("{e}");
                }
                self.run_due(&mut last).await;
                anyhow::Ok(())
            };
            tokio::select! {
                r = round => r?,
                _ = &mut shutdown => break,
            }
            first = false;
            let now = Utc::now();
            let next = self
                .config
                .alerts
                .iter()
                .filter_map(|a| a.schedule.as_ref()?.next_after(now).ok())
                .min();
            let wait = next
                .and_then(|t| (t - now).to_std().ok())
                .unwrap_or(MAX_SLEEP)
                .clamp(Duration::from_millis(100), MAX_SLEEP);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = &mut shutdown => break,
            }
        }
        eprintln!("alerts: stopped");
        Ok(())
    }

    /// Evaluates the alerts whose tick is due, each at most once.
    async fn run_due(&self, last: &mut HashMap<String, Option<DateTime<Utc>>>) {
        let now = Utc::now();
        let due: Vec<(&AlertConfig, DateTime<Utc>)> = self
            .config
            .alerts
            .iter()
            .filter_map(|a| {
                let schedule = a.schedule.as_ref()?;
                match schedule.due_ticks(last.get(&a.name).copied().flatten(), now) {
                    Ok(tick) => tick.map(|t| (a, t)),
                    Err(e) => {
                        eprintln!("{}: {e}", a.name);
                        None
                    }
                }
            })
            .collect();
        let mut reports = futures::stream::iter(due)
            .map(|(a, tick)| async move { (a, tick, self.evaluate(a, tick, Some(tick)).await) })
            .buffered(CONCURRENCY);
        while let Some((a, tick, report)) = reports.next().await {
            match report {
                Ok(r) => {
                    println!("{}", r.line);
                    last.insert(a.name.clone(), Some(tick));
                }
                // Not recorded: the same tick is tried again on the next wake-up.
                Err((name, e)) => eprintln!("{name}: {e:#}"),
            }
        }
    }

    /// Runs the alert's query, steps its states, records and sends the notifications.
    /// `tick` keys the deliveries; `scheduled` is stored as the last scheduled tick.
    async fn evaluate(
        &self,
        alert: &AlertConfig,
        tick: DateTime<Utc>,
        scheduled: Option<DateTime<Utc>>,
    ) -> Result<Report, (String, anyhow::Error)> {
        self.try_evaluate(alert, tick, scheduled)
            .await
            .map_err(|e| (alert.name.clone(), e))
    }

    async fn try_evaluate(
        &self,
        alert: &AlertConfig,
        tick: DateTime<Utc>,
        scheduled: Option<DateTime<Utc>>,
    ) -> Result<Report> {
        let (prev, _) = self.store.load(&alert.name).await?;
        let mut result = Collect::default();
        let eval = match self.query(alert, &mut result).await {
            Ok(()) => evaluate(&alert.rule, &result.columns, &result.rows),
            Err(e) => {
                eprintln!("{}: query failed: {}", alert.name, one_line(&e.to_string()));
                Evaluation::query_failed(e.to_string())
            }
        };
        let (next, notes) = step_alert(&prev, &eval, &alert.policy, Utc::now());
        let mut deliveries = Vec::new();
        for note in &notes {
            let message = self.message(alert, note, &result);
            for channel in &alert.channels {
                deliveries.push(NewDelivery {
                    channel: channel.clone(),
                    instance: note.instance.clone().unwrap_or_default(),
                    kind: note.kind,
                    message: message.clone(),
                });
            }
        }
        let ids = self
            .store
            .record(&alert.name, &next, scheduled, tick, &deliveries)
            .await?;
        let mut notified: Vec<&str> = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        let mut undelivered = Vec::new();
        // A delivery recorded earlier for this tick was sent, or is pending and retried on
        // its own.
        let to_send = ids
            .into_iter()
            .zip(&deliveries)
            .filter_map(|(id, d)| Some((id?, d)));
        for (id, d) in to_send {
            let label = format!("{} notification", kind_label(d.kind));
            let (sent, tries) = self
                .send(&alert.name, &d.channel, &label, &d.message, 0)
                .await;
            self.store.finish(id, tries, &sent).await?;
            match sent {
                SendResult::Sent => {
                    if !notified.contains(&d.channel.as_str()) {
                        notified.push(&d.channel);
                    }
                }
                SendResult::Failed(e) | SendResult::Later { error: e, .. } => {
                    failed.push(d.channel.clone());
                    undelivered.push(format!("{}: {label} to {}: {e}", alert.name, d.channel));
                }
            }
        }
        let mut line = describe(alert, &prev, &next, &eval);
        if !notified.is_empty() {
            line.push_str(&format!(", notified {}", notified.join(", ")));
        }
        if !failed.is_empty() {
            failed.dedup();
            line.push_str(&format!(", not delivered to {}", failed.join(", ")));
        }
        Ok(Report { line, undelivered })
    }

    async fn query(&self, alert: &AlertConfig, sink: &mut Collect) -> Result<(), ConnectorError> {
        let connector = self.connectors.get(&alert.connection).ok_or_else(|| {
            ConnectorError::Connect(format!("no connection \"{}\"", alert.connection))
        })?;
        let limits = RunLimits {
            timeout: alert.timeout,
            max_rows: alert.max_rows,
            writable: false,
            cancel: Default::default(),
        };
        let summary = connector
            .run(&alert.sql, &alert.params, &limits, sink)
            .await?;
        if summary.truncated {
            eprintln!(
                "{}: the result was cut at max_rows = {}; the rule saw only those rows",
                alert.name, alert.max_rows
            );
        }
        Ok(())
    }

    /// What the channels are told about one notification.
    fn message(&self, alert: &AlertConfig, note: &Notification, result: &Collect) -> Message {
        report::message(&alert.name, note, result, alert.link.clone())
    }

    /// Sends with a few tries and backoff; each failure goes to stderr (errors from the
    /// channels carry no secret). `before` is the number of earlier tries.
    async fn send(
        &self,
        alert: &str,
        channel_name: &str,
        label: &str,
        message: &Message,
        before: u32,
    ) -> (SendResult, u32) {
        let Some(channel) = self.config.channels.get(channel_name) else {
            let e = format!("channel \"{channel_name}\" is no longer in the config");
            eprintln!("{alert}: {label} to {channel_name}: {e}");
            return (SendResult::Failed(e), 0);
        };
        let mut tries = 0;
        loop {
            tries += 1;
            let error = match channels::send(channel, message, &self.config.delivery).await {
                Ok(_) => return (SendResult::Sent, tries),
                Err(e) => e,
            };
            let hint = send_hint(&self.config.delivery.outbound, channel, &error).await;
            eprintln!(
                "{alert}: sending the {label} to {channel_name} failed (attempt {}): {error}{hint}",
                before + tries
            );
            if !error.is_retryable() {
                return (SendResult::Failed(format!("{error}{hint}")), tries);
            }
            if tries >= ATTEMPTS_PER_RUN {
                let total = before + tries;
                // Later rounds back off: 1, 2, 4 … minutes, at most an hour.
                let minutes = 1i64 << (total / ATTEMPTS_PER_RUN).min(6);
                let at = Utc::now() + chrono::Duration::minutes(minutes.min(60));
                return (
                    SendResult::Later {
                        error: error.to_string(),
                        at,
                    },
                    tries,
                );
            }
            let backoff = Duration::from_secs(1 << (tries - 1));
            let wait = error
                .retry_after()
                .unwrap_or(backoff)
                .min(Duration::from_secs(30));
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends recorded deliveries that are still pending (all of them, or those due by
    /// `due`). Returns what is still not delivered.
    async fn retry_pending(&self, due: Option<DateTime<Utc>>) -> Result<Vec<String>> {
        let mut undelivered = Vec::new();
        for p in self.store.pending(due).await? {
            let label = format!("pending {} notification", p.kind);
            let (mut sent, tries) = self
                .send(&p.alert, &p.channel, &label, &p.message, p.attempts)
                .await;
            if let SendResult::Later { error, .. } = &sent {
                if Utc::now() - p.created_at > GIVE_UP_AFTER {
                    sent = SendResult::Failed(format!("given up after 24 hours: {error}"));
                }
            }
            self.store.finish(p.id, tries, &sent).await?;
            match sent {
                SendResult::Sent => {
                    eprintln!("{}: delivered the {label} to {}", p.alert, p.channel)
                }
                SendResult::Failed(e) | SendResult::Later { error: e, .. } => {
                    undelivered.push(format!("{}: {label} to {}: {e}", p.alert, p.channel))
                }
            }
        }
        Ok(undelivered)
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

// ===================================================================== output

/// `name: Ok -> Firing (n = 73)`, or `name: Firing (n = 73)` when nothing changed.
fn describe(
    alert: &AlertConfig,
    prev: &AlertStates,
    next: &AlertStates,
    eval: &Evaluation,
) -> String {
    format!(
        "{}: {}",
        alert.name,
        report::describe(&alert.rule, prev, next, eval)
    )
}
