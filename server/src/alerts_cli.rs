//! `sightline alerts run|validate`: the standalone alert runner. Alerts, connections and
//! channels come from a YAML (or JSON) file instead of the metadata store; evaluation and the
//! state machine are the server's own (`app::model::alert`, `app::model::schedule`), delivery
//! is `app::server::alerts::channels`, and state lives in a small SQLite file.
//!
//! Delivery is at least once with at most one duplicate: states and the notifications they
//! cause are written in one transaction (as `pending`), sent, then marked `sent`. Pending
//! deliveries are retried when the runner starts, and an (alert, tick, channel, instance,
//! kind) is recorded once, so a restart neither re-notifies nor forgets.
use anyhow::{anyhow, bail, Context, Result};
use app::{
    model::{
        alert::{
            evaluate, step_alert, AlertStates, Evaluation, Notification, NotificationKind, Op,
            RowCondition, Rule, Selector, StatePolicy, Threshold,
        },
        connection::ConnectionConfig,
        schedule::{Schedule, DEFAULT_TIMEZONE},
    },
    server::{
        alerts::{
            channels::{
                self, ChannelConfig, ChannelError, ChannelKind, DeliveryContext, Message,
                SmtpSettings, SmtpTls,
            },
            outbound::{OutboundPolicy, UrlKind},
            report::{self, kind_label, kind_name, one_line, Collect},
        },
        connectors::{Connector, ConnectorError, Param, PoolOptions, RunLimits},
    },
};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use futures::StreamExt;
use serde::{
    de::{self, value::MapAccessDeserializer, MapAccess, SeqAccess, Visitor},
    Deserialize, Deserializer,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    marker::PhantomData,
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

// ===================================================================== configuration

/// Problems found in a config file, each starting with `file[:line:col]: `.
#[derive(Debug)]
struct ConfigError(Vec<String>);

impl ConfigError {
    fn one_line(&self) -> String {
        self.0.join("; ")
    }
}

/// The checked configuration. `Debug` shows no secret: connection passwords, channel URLs and
/// secrets, and the SMTP password are redacted by their own types, parameters are not shown.
#[derive(Debug)]
struct RunnerConfig {
    connections: BTreeMap<String, ConnectionConfig>,
    channels: BTreeMap<String, ChannelConfig>,
    delivery: DeliveryContext,
    state_path: PathBuf,
    alerts: Vec<AlertConfig>,
}

struct AlertConfig {
    name: String,
    connection: String,
    sql: String,
    params: Vec<Param>,
    rule: Rule,
    schedule: Option<Schedule>,
    policy: StatePolicy,
    channels: Vec<String>,
    link: Option<String>,
    timeout: Duration,
    max_rows: u64,
}

impl fmt::Debug for AlertConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertConfig")
            .field("name", &self.name)
            .field("connection", &self.connection)
            .field("sql", &self.sql)
            .field("params", &format_args!("<{} redacted>", self.params.len()))
            .field("rule", &self.rule)
            .field("schedule", &self.schedule)
            .field("policy", &self.policy)
            .field("channels", &self.channels)
            .field("timeout", &self.timeout)
            .field("max_rows", &self.max_rows)
            .finish()
    }
}

const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_MAX_ROWS: u64 = 10_000;

/// Reads, parses and checks a config file.
fn load(path: &Path) -> Result<RunnerConfig, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(vec![format!("{file}: cannot read the file: {e}")]))?;
    let raw = parse(&file, path, &text).map_err(|e| ConfigError(vec![e]))?;
    check(&file, path, raw).map_err(ConfigError)
}

/// JSON for `.json` files (or text starting with `{` under another name), YAML otherwise.
fn parse(file: &str, path: &Path, text: &str) -> Result<RawConfig, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let json = match ext.as_deref() {
        Some("json") => true,
        Some("yaml" | "yml") => false,
        _ => text.trim_start().starts_with('{'),
    };
    if json {
        serde_json::from_str(text).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            located(file, e.to_string(), (line > 0).then_some((line, column)))
        })
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| {
            let at = e.location().map(|l| (l.line(), l.column()));
            located(file, e.to_string(), at)
        })
    }
}

/// `file:line:col: message` (the parser's own " at line L column C" moved to the front).
fn located(file: &str, message: String, at: Option<(usize, usize)>) -> String {
    match at {
        Some((line, column)) => {
            let position = format!(" at line {line} column {column}");
            let message = message.replacen(&position, "", 1);
            format!("{file}:{line}:{column}: {message}")
        }
        None => format!("{file}: {message}"),
    }
}

/// Resolves references and checks what needs the whole file (egress for channels, SMTP for
/// email, names); every problem is reported, not only the first.
fn check(file: &str, path: &Path, raw: RawConfig) -> Result<RunnerConfig, Vec<String>> {
    let mut problems = Vec::new();
    let outbound = OutboundPolicy::new(raw.egress.allow_hosts.into_iter().map(|h| h.0).collect());
    let smtp = raw.smtp.map(|s| s.0);
    let connections: BTreeMap<String, ConnectionConfig> = raw
        .connections
        .0
        .into_iter()
        .map(|(name, c)| (name, c.0))
        .collect();
    let mut channels = BTreeMap::new();
    for (name, channel) in raw.channels.0 {
        let channel = channel.0;
        let valid = channel.validate(&outbound);
        if let Err(e) = &valid {
            problems.push(format!(
                "{file}: channel \"{name}\": {e}{}",
                egress_hint(&outbound, &channel, e)
            ));
        }
        // Recipients and subject are checked above; this checks them with the sender.
        if let (Ok(()), ChannelConfig::Email { to, subject }) = (&valid, &channel) {
            match &smtp {
                None => problems.push(format!(
                    "{file}: channel \"{name}\": an email channel needs the smtp: section"
                )),
                Some(smtp) => {
                    let probe = Message::test(&name, None);
                    if let Err(e) = channels::build_email(to, subject.as_deref(), &probe, smtp) {
                        problems.push(format!("{file}: channel \"{name}\": {e}"));
                    }
                }
            }
        }
        channels.insert(name, channel);
    }
    let link = raw.link.map(|l| l.0);
    if let Some(l) = &link {
        check_link(l).unwrap_or_else(|e| problems.push(format!("{file}: link: {e}")));
    }
    let default_tz = raw.timezone.map(|t| t.0);
    let mut alerts: Vec<AlertConfig> = Vec::new();
    for a in raw.alerts {
        let name = a.name.0;
        let at = format!("{file}: alert \"{name}\"");
        if alerts.iter().any(|b| b.name == name) {
            problems.push(format!(
                "{at} is defined twice (alert names key the state file)"
            ));
        }
        if !connections.contains_key(&a.connection) {
            problems.push(format!(
                "{at}: unknown connection \"{}\" ({})",
                a.connection,
                known("connections", connections.keys())
            ));
        }
        for (i, c) in a.channels.iter().enumerate() {
            if !channels.contains_key(c) {
                problems.push(format!(
                    "{at}: unknown channel \"{c}\" ({})",
                    known("channels", channels.keys())
                ));
            } else if a.channels[..i].contains(c) {
                problems.push(format!("{at}: channel \"{c}\" is listed twice"));
            }
        }
        if a.sql.trim().is_empty() {
            problems.push(format!("{at}: sql is empty"));
        }
        let tz = a
            .timezone
            .map(|t| t.0)
            .or_else(|| default_tz.clone())
            .unwrap_or_else(|| DEFAULT_TIMEZONE.to_string());
        let schedule = match a.schedule.map(|c| Schedule::new(&c.0, &tz)).transpose() {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{at}: {e}"));
                None
            }
        };
        let alert_link = a.link.map(|l| l.0);
        if let Some(l) = &alert_link {
            check_link(l).unwrap_or_else(|e| problems.push(format!("{at}: link: {e}")));
        }
        alerts.push(AlertConfig {
            name,
            connection: a.connection,
            sql: a.sql,
            params: a.params.into_iter().map(|p| p.0).collect(),
            rule: a.rule.0,
            schedule,
            policy: StatePolicy {
                pending_for: a.pending_for,
                cooldown_secs: a.cooldown.map_or(0, |c| c.0),
                ..StatePolicy::default()
            },
            channels: a.channels,
            link: alert_link.or_else(|| link.clone()),
            timeout: a
                .timeout
                .map_or(DEFAULT_QUERY_TIMEOUT, |t| Duration::from_secs(t.0.max(1))),
            max_rows: a.max_rows.unwrap_or(DEFAULT_MAX_ROWS).max(1),
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let state_path = match raw.state {
        Some(s) => base.join(s.0),
        None => {
            let stem = path
                .file_stem()
                .map_or("alerts".into(), |s| s.to_string_lossy().into_owned());
            base.join(format!("{stem}.state.db"))
        }
    };
    Ok(RunnerConfig {
        connections,
        channels,
        delivery: DeliveryContext { outbound, smtp },
        state_path,
        alerts,
    })
}

fn known<'a>(what: &str, names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        format!("no {what} are defined")
    } else {
        format!("defined: {}", names.join(", "))
    }
}

const ALLOW_HINT: &str = " (to allow this host, list it under egress.allow_hosts)";

/// For an HTTP channel: its URL, its kind, and the policy with the URL's host allowed.
fn with_host_allowed<'a>(
    policy: &OutboundPolicy,
    channel: &'a ChannelConfig,
) -> Option<(&'a str, UrlKind, OutboundPolicy)> {
    let (url, kind) = match channel {
        ChannelConfig::Slack { url } => (url, UrlKind::Slack),
        ChannelConfig::Webhook { url, .. } => (url, UrlKind::Webhook),
        ChannelConfig::Email { .. } => return None,
    };
    let host = url::Url::parse(url.trim()).ok()?.host_str()?.to_string();
    let mut allowed = policy.clone();
    allowed.allow_hosts.push(host);
    Some((url, kind, allowed))
}

/// A refusal that listing the host under `egress.allow_hosts` would lift says so (never
/// for link-local or metadata addresses, which stay refused). No network.
fn egress_hint(policy: &OutboundPolicy, channel: &ChannelConfig, e: &ChannelError) -> &'static str {
    let lifts = matches!(e, ChannelError::Refused(_))
        && with_host_allowed(policy, channel)
            .is_some_and(|(url, kind, allowed)| allowed.validate_url(url, kind).is_ok());
    if lifts {
        ALLOW_HINT
    } else {
        ""
    }
}

/// [`egress_hint`] at send time, when the refusal may come from the resolved address.
async fn send_hint(
    policy: &OutboundPolicy,
    channel: &ChannelConfig,
    e: &ChannelError,
) -> &'static str {
    if !matches!(e, ChannelError::Refused(_)) {
        return "";
    }
    match with_host_allowed(policy, channel) {
        Some((url, kind, allowed)) if allowed.resolve(url, kind).await.is_ok() => ALLOW_HINT,
        _ => "",
    }
}

fn check_link(link: &str) -> Result<(), String> {
    match url::Url::parse(link.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err("must be an absolute http:// or https:// URL".into()),
    }
}

// ----------------------------------------------------------------- raw file shape

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    connections: Named<ConnectionSpec>,
    #[serde(default)]
    channels: Named<ChannelSpec>,
    #[serde(default)]
    egress: EgressSpec,
    #[serde(default)]
    smtp: Option<SmtpSpec>,
    /// The state file, relative to the config file's folder.
    #[serde(default)]
    state: Option<Text>,
    /// Link back to Sightline (or a runbook) put in every message.
    #[serde(default)]
    link: Option<Text>,
    /// The time zone of schedules that name none (default UTC).
    #[serde(default)]
    timezone: Option<TimeZoneName>,
    alerts: Vec<AlertSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertSpec {
    name: Name,
    connection: String,
    /// Used as written: values go in `params` (`$1`, `?`), never spliced into the SQL.
    sql: String,
    #[serde(default)]
    params: Vec<ParamSpec>,
    rule: RuleSpec,
    #[serde(default)]
    schedule: Option<CronText>,
    #[serde(default)]
    timezone: Option<TimeZoneName>,
    #[serde(default)]
    pending_for: u32,
    #[serde(default)]
    cooldown: Option<Seconds>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    link: Option<Text>,
    #[serde(default)]
    timeout: Option<Seconds>,
    #[serde(default)]
    max_rows: Option<u64>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EgressSpec {
    /// Hosts allowed despite the SSRF policy (plain http, loopback, private addresses).
    #[serde(default)]
    allow_hosts: Vec<Text>,
}

/// A connection: its URL, parsed and checked where it is written.
struct ConnectionSpec(ConnectionConfig);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    url: Text,
}

impl<'de> Deserialize<'de> for ConnectionSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(
            d,
            "a connection such as { url: \"postgres://…\" }",
            |r: RawConnection| {
                ConnectionConfig::from_url(&r.url.0)
                    .map(ConnectionSpec)
                    .map_err(|e| format!("url: {e}"))
            },
        )
    }
}

/// A channel: `{ kind: slack|email|webhook, … }` with only that kind's fields.
struct ChannelSpec(ChannelConfig);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    kind: ChannelKind,
    #[serde(default)]
    url: Option<Text>,
    #[serde(default)]
    secret: Option<Text>,
    #[serde(default)]
    to: Option<Vec<Text>>,
    #[serde(default)]
    subject: Option<Text>,
}

impl<'de> Deserialize<'de> for ChannelSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(
            d,
            "a channel such as { kind: slack, url: … }",
            |r: RawChannel| {
                let kind = match r.kind {
                    ChannelKind::Slack => "slack",
                    ChannelKind::Email => "email",
                    ChannelKind::Webhook => "webhook",
                };
                let not_for = |field: &str, set: bool| {
                    if set {
                        Err(format!("`{field}` is not a setting of {kind} channels"))
                    } else {
                        Ok(())
                    }
                };
                let url = || {
                    r.url
                        .clone()
                        .map(|u| u.0)
                        .ok_or_else(|| format!("{kind} channels need `url`"))
                };
                let config = match r.kind {
                    ChannelKind::Slack => {
                        not_for("secret", r.secret.is_some())?;
                        not_for("to", r.to.is_some())?;
                        not_for("subject", r.subject.is_some())?;
                        ChannelConfig::Slack { url: url()? }
                    }
                    ChannelKind::Webhook => {
                        not_for("to", r.to.is_some())?;
                        not_for("subject", r.subject.is_some())?;
                        ChannelConfig::Webhook {
                            url: url()?,
                            secret: r.secret.clone().map(|s| s.0),
                        }
                    }
                    ChannelKind::Email => {
                        not_for("url", r.url.is_some())?;
                        not_for("secret", r.secret.is_some())?;
                        let to = r.to.clone().ok_or("email channels need `to`")?;
                        ChannelConfig::Email {
                            to: to.into_iter().map(|t| t.0).collect(),
                            subject: r.subject.clone().map(|s| s.0),
                        }
                    }
                };
                Ok(ChannelSpec(config))
            },
        )
    }
}

/// The server's SMTP settings for email channels.
struct SmtpSpec(SmtpSettings);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Text,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    tls: SmtpTls,
    #[serde(default)]
    username: Option<Text>,
    #[serde(default)]
    password: Option<Text>,
    from: Text,
    #[serde(default)]
    timeout: Option<Seconds>,
}

impl<'de> Deserialize<'de> for SmtpSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(d, "SMTP settings { host, port, tls, … }", |r: RawSmtp| {
            if r.host.0.trim().is_empty() {
                return Err("host is empty".into());
            }
            Ok(SmtpSpec(SmtpSettings {
                host: r.host.0,
                port: r.port.unwrap_or(match r.tls {
                    SmtpTls::None => 25,
                    SmtpTls::Starttls => 587,
                    SmtpTls::Tls => 465,
                }),
                tls: r.tls,
                username: r.username.map(|u| u.0).filter(|u| !u.is_empty()),
                password: r.password.map(|p| p.0),
                from: r.from.0,
                timeout: Duration::from_secs(r.timeout.map_or(30, |t| t.0.max(1))),
            }))
        })
    }
}

/// A rule, written as `app::model::alert::Rule` is serialized, but strict: a field that
/// does not belong to the rule's kind is an error rather than ignored.
struct RuleSpec(Rule);

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RuleKind {
    Threshold,
    AnyRows,
    NoRows,
    PerRow,
    Always,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    kind: RuleKind,
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    selector: Option<Selector>,
    #[serde(default)]
    op: Option<Op>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    key_column: Option<String>,
    #[serde(default)]
    condition: Option<RawCondition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    column: String,
    op: Op,
    value: f64,
}

impl<'de> Deserialize<'de> for RuleSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(
            d,
            "a rule such as { kind: threshold, … }",
            |r: RawRule| {
                let (kind, allowed): (&str, &[&str]) = match r.kind {
                    RuleKind::Threshold => ("threshold", &["column", "selector", "op", "value"]),
                    RuleKind::AnyRows => ("any_rows", &[]),
                    RuleKind::NoRows => ("no_rows", &[]),
                    RuleKind::PerRow => ("per_row", &["key_column", "condition"]),
                    RuleKind::Always => ("always", &[]),
                };
                let present = [
                    ("column", r.column.is_some()),
                    ("selector", r.selector.is_some()),
                    ("op", r.op.is_some()),
                    ("value", r.value.is_some()),
                    ("key_column", r.key_column.is_some()),
                    ("condition", r.condition.is_some()),
                ];
                if let Some((field, _)) =
                    present.iter().find(|(f, set)| *set && !allowed.contains(f))
                {
                    return Err(format!("`{field}` is not a setting of {kind} rules"));
                }
                let need = |what: &str| format!("{kind} rules need `{what}`");
                Ok(RuleSpec(match r.kind {
                    RuleKind::Threshold => Rule::Threshold(Threshold {
                        column: r.column.ok_or_else(|| need("column"))?,
                        selector: r.selector.unwrap_or_default(),
                        op: r.op.ok_or_else(|| need("op"))?,
                        value: r.value.ok_or_else(|| need("value"))?,
                    }),
                    RuleKind::AnyRows => Rule::AnyRows,
                    RuleKind::NoRows => Rule::NoRows,
                    RuleKind::Always => Rule::Always,
                    RuleKind::PerRow => Rule::PerRow {
                        key_column: r.key_column.ok_or_else(|| need("key_column"))?,
                        condition: r.condition.map(|c| RowCondition {
                            column: c.column,
                            op: c.op,
                            value: c.value,
                        }),
                    },
                }))
            },
        )
    }
}

/// Deserializes `R` from a mapping, then converts it with `f`; an error from `f` is
/// reported at the mapping's position in the file.
fn checked_map<'de, D, R, T, F>(d: D, expecting: &'static str, f: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    R: Deserialize<'de>,
    F: FnOnce(R) -> Result<T, String>,
{
    struct V<R, F>(F, &'static str, PhantomData<R>);
    impl<'de, R, T, F> Visitor<'de> for V<R, F>
    where
        R: Deserialize<'de>,
        F: FnOnce(R) -> Result<T, String>,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.1)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            let raw = R::deserialize(MapAccessDeserializer::new(map))?;
            (self.0)(raw).map_err(de::Error::custom)
        }
    }
    d.deserialize_map(V(f, expecting, PhantomData))
}

/// A mapping of names to `T`, in file order; a name given twice is an error.
struct Named<T>(Vec<(String, T)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Named<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named<T>, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some(name) = map.next_key::<Name>()? {
                    if out.iter().any(|(n, _)| *n == name.0) {
                        return Err(de::Error::custom(format!(
                            "\"{}\" is defined twice",
                            name.0
                        )));
                    }
                    let value = map.next_value::<T>()?;
                    out.push((name.0, value));
                }
                Ok(Named(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A name of an alert, connection or channel: one line of printable text.
struct Name(String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_with(d, "a name", |s| {
            let s = s.trim();
            if s.is_empty() {
                Err("a name cannot be empty".into())
            } else if s.chars().count() > 100 {
                Err("a name has at most 100 characters".into())
            } else if s.chars().any(char::is_control) {
                Err("a name cannot contain control characters".into())
            } else {
                Ok(Name(s.to_string()))
            }
        })
    }
}

/// A string value with `${VAR}` references replaced from the environment, checked where it
/// is written so an unset variable is reported at its line and column. `$${` is a literal
/// `${`; a `$` not followed by `{` stays as it is.
#[derive(Clone)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_with(d, "a string", |s| substitute(s, env_var).map(Text))
    }
}

fn env_var(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "the environment variable {name} is not valid UTF-8"
        )),
    }
}

/// Replaces `${NAME}` with `lookup(NAME)`. Errors name the variable, never a value.
fn substitute(
    raw: &str,
    lookup: impl Fn(&str) -> Result<Option<String>, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or("`${` is not closed by `}` (write `$${` for a literal `${`)")?;
            let name = &after[..end];
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "`${{{name}}}` is not a variable reference: names are letters, digits and _ \
                     (write `$${{` for a literal `${{`)"
                ));
            }
            match lookup(name)? {
                Some(v) => out.push_str(&v),
                None => {
                    return Err(format!(
                        "unknown variable ${{{name}}}: it is not set in the environment"
                    ))
                }
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A query parameter: a string (with `${VAR}`), a number, a boolean, null, or a list of those.
struct ParamSpec(Param);

impl<'de> Deserialize<'de> for ParamSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ParamSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ParamSpec, E> {
                substitute(s, env_var)
                    .map(|t| ParamSpec(Param::Text(t)))
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ParamSpec, E> {
                Ok(ParamSpec(Param::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ParamSpec, E> {
                Ok(ParamSpec(
                    i64::try_from(v).map_or(Param::Number(v.to_string()), Param::Int),
                ))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ParamSpec, E> {
                if v.is_finite() {
                    Ok(ParamSpec(Param::Number(v.to_string())))
                } else {
                    Err(E::custom("a parameter must be a finite number"))
                }
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ParamSpec, E> {
                Ok(ParamSpec(Param::Bool(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ParamSpec, E> {
                Ok(ParamSpec(Param::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<ParamSpec, E> {
                Ok(ParamSpec(Param::Null))
            }
            /// A list, for `= ANY($1)` on PostgreSQL (one placeholder per item elsewhere).
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ParamSpec, A::Error> {
                let mut items = Vec::new();
                while let Some(ParamSpec(p)) = seq.next_element()? {
                    if matches!(p, Param::List(_)) {
                        return Err(de::Error::custom("a list parameter cannot hold lists"));
                    }
                    items.push(p);
                }
                Ok(ParamSpec(Param::List(items)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration in seconds: a number of seconds, or `90s`, `5m`, `2h`, `1d`.
struct Seconds(u64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 90s, 5m, 2h or 1d")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                u64::try_from(v)
                    .map(Seconds)
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Seconds, E> {
                parse_duration(s).map(Seconds).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let bad = || format!("\"{s}\" is not a duration: write e.g. 90s, 5m, 2h or 1d");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// A 5-field cron expression or `@hourly`-style nickname, checked where it is written.
struct CronText(String);

impl<'de> Deserialize<'de> for CronText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_with(d, "a cron expression such as \"*/5 * * * *\"", |s| {
            Schedule::new(s, DEFAULT_TIMEZONE)
                .map(|s| CronText(s.cron))
                .map_err(|e| e.to_string())
        })
    }
}

/// An IANA time zone name, checked where it is written.
struct TimeZoneName(String);

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_with(d, "a time zone such as Europe/Paris", |s| {
            Schedule::new("0 0 * * *", s)
                .map(|s| TimeZoneName(s.timezone))
                .map_err(|e| e.to_string())
        })
    }
}

/// Reads a string and converts it inside the visitor, so that the parser reports an error
/// at the string's own line and column.
fn string_with<'de, D, T, F>(d: D, expecting: &'static str, f: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    struct V<F>(F, &'static str);
    impl<'de, T, F: FnOnce(&str) -> Result<T, String>> Visitor<'de> for V<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.1)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
            (self.0)(s).map_err(E::custom)
        }
    }
    d.deserialize_str(V(f, expecting))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Result<Option<String>, String> {
        Ok(match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        })
    }

    #[test]
    fn substitution() {
        let table = [
            ("plain", Ok("plain")),
            ("${A}", Ok("alpha")),
            ("x${A}y${A}", Ok("xalphayalpha")),
            ("${EMPTY}", Ok("")),
            ("$$ and $1 and $", Ok("$$ and $1 and $")),
            ("$${A}", Ok("${A}")),
        ];
        for (raw, want) in table {
            assert_eq!(
                substitute(raw, vars).as_deref(),
                want.map_err(|e: &str| e.to_string()).as_deref(),
                "{raw}"
            );
        }
        assert!(substitute("${NOPE}", vars).unwrap_err().contains("${NOPE}"));
        assert!(substitute("${A", vars).unwrap_err().contains("not closed"));
        assert!(substitute("${1A}", vars).is_err());
    }

    #[test]
    fn debug_shows_no_secret() {
        let dir = std::env::temp_dir();
        let yaml = r#"
connections:
  shop: { url: "postgres://reader:db-pass-1@db.example.com/shop" }
channels:
  hook: { kind: webhook, url: "https://example.com/hook/path-token-2", secret: "hook-secret-3" }
  ops: { kind: slack, url: "https://hooks.slack.com/services/T0/B0/slack-token-4" }
  mail: { kind: email, to: [oncall@example.com] }
smtp: { host: smtp.example.com, password: "smtp-pass-5", from: alerts@example.com }
alerts:
  - name: a
    connection: shop
    sql: "select 1 where $1 = ANY($2)"
    params: ["param-6", [1, 2]]
    rule: { kind: any_rows }
    channels: [hook, ops, mail]
"#;
        let path = dir.join("debug-check.yaml");
        let raw = parse("debug-check.yaml", &path, yaml).unwrap();
        let config = check("debug-check.yaml", &path, raw).unwrap();
        let shown = format!("{config:?}");
        for secret in [
            "db-pass-1",
            "path-token-2",
            "hook-secret-3",
            "slack-token-4",
            "smtp-pass-5",
            "param-6",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert_eq!(config.state_path, dir.join("debug-check.state.db"));
        assert_eq!(
            config.alerts[0].params,
            [
                Param::Text("param-6".into()),
                Param::List(vec![Param::Int(1), Param::Int(2)])
            ]
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("m").is_err());
    }
}
