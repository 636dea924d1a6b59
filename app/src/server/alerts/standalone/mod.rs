//! The standalone alert runner behind `sightline alerts run`: alerts, connections and channels
//! come from a YAML (or JSON) file ([`super::file_config`]) instead of the metadata store, and
//! states live in a small SQLite file ([`state_file`]). Each evaluation is the server's own
//! cycle ([`super::cycle`]): the same rule evaluation, state machine, messages, channels and
//! retry decisions; only where states are kept and how often a send is tried differ.
//!
//! Delivery is at least once with at most one duplicate: states and the notifications they
//! cause are written in one transaction (as `pending`), sent, then marked `sent`. Pending
//! deliveries are retried when the runner starts.
mod state_file;

use super::{
    channels::{self, ChannelError, Message},
    cycle::{self, AlertStore, Attempt, Decision, Planned, Prepared, RetryPolicy},
    file_config::{send_hint, AlertConfig, RunnerConfig},
    report::{one_line, Collect},
};
use crate::{
    model::alert::{DeliveryOutcome, DeliveryStatus},
    server::connectors::{Connector, ConnectorError, PoolOptions, RunLimits},
};
use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use state_file::{NewDelivery, StateFile};
use std::{collections::HashMap, future::Future, path::Path, time::Duration};

/// Alerts evaluated at the same time.
const CONCURRENCY: usize = 4;
/// The loop looks at the clock at least this often (clock changes, pending retries).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Three sends per attempt (1 s and 2 s apart), then again after 1, 2, 4 … minutes (at most
/// an hour), for up to a day.
pub const RETRY: RetryPolicy = RetryPolicy {
    tries_now: 3,
    max_tries: u32::MAX,
    give_up_after: chrono::Duration::hours(24),
    backoff: later,
};

fn later(tries: u32) -> Duration {
    let minutes = 1u64 << (tries / RETRY.tries_now).min(6);
    Duration::from_secs(minutes.min(60) * 60)
}

/// Where the runner's lines go: what each evaluation found to `out`, problems to `err`
/// (stdout and stderr for the command).
pub trait Console: Send + Sync {
    fn out(&self, line: &str);
    fn err(&self, line: &str);
}

/// The process's stdout and stderr.
pub struct Stdio;

impl Console for Stdio {
    fn out(&self, line: &str) {
        println!("{line}");
    }
    fn err(&self, line: &str) {
        eprintln!("{line}");
    }
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub struct Runner<'c> {
    config: RunnerConfig,
    connectors: HashMap<String, Connector>,
    state: StateFile,
    console: &'c dyn Console,
}

/// What one evaluation printed and what it could not deliver.
struct Report {
    line: String,
    undelivered: Vec<String>,
}

/// A channel of the config a delivery goes to, and how the delivery is named in messages.
#[derive(Clone)]
struct Target {
    channel: String,
    /// `pending firing notification` for a retried delivery; from the message otherwise.
    label: Option<String>,
}

impl Target {
    fn label(&self, message: &Message) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| format!("{} notification", message.transition.label()))
    }
}

/// The runner's side of the cycle for one evaluation of one alert.
struct FileCycle<'r, 'c> {
    runner: &'r Runner<'c>,
    alert: &'r str,
    /// Keys the deliveries.
    tick: DateTime<Utc>,
    /// Stored as the last scheduled tick.
    scheduled: Option<DateTime<Utc>>,
}

impl AlertStore for FileCycle<'_, '_> {
    type Channel = Target;
    type Error = anyhow::Error;

    async fn record(
        &self,
        decision: &Decision,
        deliveries: &[Planned<'_, Target>],
    ) -> Result<Option<Vec<Option<i64>>>> {
        let new: Vec<NewDelivery> = deliveries
            .iter()
            .map(|d| NewDelivery {
                channel: &d.channel.channel,
                instance: &d.instance,
                kind: d.kind,
                message: d.message,
            })
            .collect();
        let ids = self
            .runner
            .state
            .record(self.alert, &decision.next, self.scheduled, self.tick, &new)
            .await?;
        Ok(Some(ids))
    }

    async fn send(
        &self,
        target: &Target,
        message: &Message,
        attempt: u32,
    ) -> std::result::Result<(), ChannelError> {
        self.runner.send(self.alert, target, message, attempt).await
    }

    async fn finish(&self, outcomes: &[DeliveryOutcome]) -> Result<()> {
        self.runner.state.finish(outcomes).await
    }
}

impl<'c> Runner<'c> {
    /// Opens the config's connections (lazily connecting pools) and the state file.
    pub async fn start(
        config: RunnerConfig,
        state: &Path,
        console: &'c dyn Console,
    ) -> Result<Self> {
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
        let state = StateFile::open(state).await?;
        Ok(Runner {
            config,
            connectors,
            state,
            console,
        })
    }

    pub async fn close(&self) {
        for c in self.connectors.values() {
            c.close().await;
        }
        self.state.close().await;
    }

    /// `--once`: pending deliveries, then every alert now. Fails when a notification could
    /// not be delivered (it stays pending when it may still go through).
    pub async fn run_once(&self) -> Result<()> {
        let mut undelivered = self.retry_pending(None).await?;
        let now = Utc::now();
        let mut reports = futures::stream::iter(&self.config.alerts)
            .map(|a| self.evaluate(a, now, None))
            .buffered(CONCURRENCY);
        let mut broken = 0;
        while let Some(report) = reports.next().await {
            match report {
                Ok(r) => {
                    self.console.out(&r.line);
                    undelivered.extend(r.undelivered);
                }
                Err((name, e)) => {
                    self.console.err(&format!("{name}: {e:#}"));
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

    /// Runs on the schedules until `shutdown` resolves. After downtime each alert catches up
    /// once, for its latest missed tick.
    pub async fn run_forever(&self, shutdown: impl Future<Output = ()>) -> Result<()> {
        if let Some(a) = self.config.alerts.iter().find(|a| a.schedule.is_none()) {
            bail!(
                "alert \"{}\" has no schedule: add `schedule:` or run with --once",
                a.name
            );
        }
        tokio::pin!(shutdown);
        let mut last = HashMap::new();
        for a in &self.config.alerts {
            last.insert(a.name.clone(), self.state.load(&a.name).await?.1);
        }
        self.console.err(&format!(
            "alerts: running {} (Ctrl-C to stop)",
            plural(self.config.alerts.len(), "alert")
        ));
        let mut first = true;
        loop {
            let round = async {
                // Every pending delivery on start, then those whose retry is due.
                let due = (!first).then(Utc::now);
                for e in self.retry_pending(due).await? {
                    self.console.err(&e);
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
        self.console.err("alerts: stopped");
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
                        self.console.err(&format!("{}: {e}", a.name));
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
                    self.console.out(&r.line);
                    last.insert(a.name.clone(), Some(tick));
                }
                // Not recorded: the same tick is tried again on the next wake-up.
                Err((name, e)) => self.console.err(&format!("{name}: {e:#}")),
            }
        }
    }

    /// One cycle for `alert`: `tick` keys the deliveries; `scheduled` is stored as the last
    /// scheduled tick.
    async fn evaluate(
        &self,
        alert: &AlertConfig,
        tick: DateTime<Utc>,
        scheduled: Option<DateTime<Utc>>,
    ) -> std::result::Result<Report, (String, anyhow::Error)> {
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
        let (prev, _) = self.state.load(&alert.name).await?;
        let mut result = Collect::default();
        let ran = self.query(alert, &mut result).await.map_err(|e| {
            let e = e.to_string();
            let line = format!("{}: query failed: {}", alert.name, one_line(&e));
            self.console.err(&line);
            e
        });
        let prepared = Prepared {
            name: &alert.name,
            rule: &alert.rule,
            policy: &alert.policy,
            prev: &prev,
            link: alert.link.clone(),
        };
        let decision = cycle::decide(&prepared, &result, ran, Utc::now());
        let targets: Vec<Target> = alert
            .channels
            .iter()
            .map(|c| Target {
                channel: c.clone(),
                label: None,
            })
            .collect();
        let store = FileCycle {
            runner: self,
            alert: &alert.name,
            tick,
            scheduled,
        };
        let deliveries = cycle::plan(&decision, &targets);
        let done = cycle::record_and_deliver(&store, &RETRY, &Utc::now, &decision, deliveries)
            .await?
            .map(|c| c.delivered)
            .unwrap_or_default();
        let mut notified: Vec<&str> = Vec::new();
        let mut failed: Vec<&str> = Vec::new();
        let mut undelivered = Vec::new();
        for (d, outcome) in &done {
            let channel = d.channel.channel.as_str();
            if outcome.status == DeliveryStatus::Sent {
                if !notified.contains(&channel) {
                    notified.push(channel);
                }
            } else {
                failed.push(channel);
                let label = d.channel.label(d.message);
                let e = outcome.error.as_deref().unwrap_or_default();
                undelivered.push(format!("{}: {label} to {channel}: {e}", alert.name));
            }
        }
        let mut line = format!("{}: {}", alert.name, decision.detail);
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
            self.console.err(&format!(
                "{}: the result was cut at max_rows = {}; the rule saw only those rows",
                alert.name, alert.max_rows
            ));
        }
        Ok(())
    }

    /// One send; a failure goes to the console with a hint (errors from the channels carry
    /// no secret).
    async fn send(
        &self,
        alert: &str,
        target: &Target,
        message: &Message,
        attempt: u32,
    ) -> std::result::Result<(), ChannelError> {
        let name = &target.channel;
        let label = target.label(message);
        let Some(channel) = self.config.channels.get(name) else {
            let e = format!("channel \"{name}\" is no longer in the config");
            self.console
                .err(&format!("{alert}: {label} to {name}: {e}"));
            return Err(ChannelError::Config(e));
        };
        let error = match channels::send(channel, message, &self.config.delivery).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let hint = send_hint(&self.config.delivery.outbound, channel, &error).await;
        self.console.err(&format!(
            "{alert}: sending the {label} to {name} failed (attempt {attempt}): {error}{hint}"
        ));
        // A send refused for good keeps the hint in what is stored and summed up.
        if error.is_retryable() {
            Err(error)
        } else {
            Err(with_hint(error, hint))
        }
    }

    /// Sends recorded deliveries that are still pending (all of them, or those due by
    /// `due`). Returns what is still not delivered.
    async fn retry_pending(&self, due: Option<DateTime<Utc>>) -> Result<Vec<String>> {
        let mut undelivered = Vec::new();
        for p in self.state.pending(due).await? {
            let label = format!("pending {} notification", p.kind);
            let target = Target {
                channel: p.channel.clone(),
                label: Some(label.clone()),
            };
            let store = FileCycle {
                runner: self,
                alert: &p.alert,
                tick: p.created_at,
                scheduled: None,
            };
            let a = Attempt {
                id: p.id,
                channel: &target,
                message: &p.message,
                tries_before: p.attempts,
                created_at: p.created_at,
            };
            let outcome = cycle::attempt(&store, &RETRY, &Utc::now, a).await;
            self.state.finish(std::slice::from_ref(&outcome)).await?;
            match (&outcome.status, &outcome.error) {
                (DeliveryStatus::Sent, _) => self.console.err(&format!(
                    "{}: delivered the {label} to {}",
                    p.alert, p.channel
                )),
                (_, e) => undelivered.push(format!(
                    "{}: {label} to {}: {}",
                    p.alert,
                    p.channel,
                    e.as_deref().unwrap_or_default()
                )),
            }
        }
        Ok(undelivered)
    }
}

/// `e` with `hint` added to its text.
fn with_hint(e: ChannelError, hint: &str) -> ChannelError {
    if hint.is_empty() {
        return e;
    }
    match e {
        ChannelError::Refused(m) => ChannelError::Refused(format!("{m}{hint}")),
        ChannelError::Config(m) => ChannelError::Config(format!("{m}{hint}")),
        ChannelError::Permanent(m) => ChannelError::Permanent(format!("{m}{hint}")),
        ChannelError::Retryable {
            reason,
            retry_after,
        } => ChannelError::Retryable {
            reason: format!("{reason}{hint}"),
            retry_after,
        },
    }
}
