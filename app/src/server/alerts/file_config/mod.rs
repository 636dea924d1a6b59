//! The alerts file of the standalone runner (`sightline alerts run|validate`): YAML or JSON
//! with connections, channels, SMTP, egress and alerts, `${VAR}` references to the
//! environment, read and checked into a [`RunnerConfig`]. Every problem is reported with its
//! file, line and column; nothing is connected to while checking. `raw` holds the file's
//! shape and its strict deserializers.
mod raw;

use self::raw::*;
use crate::{
    model::{
        alert::{Op, RowCondition, Rule, Selector, StatePolicy, Threshold},
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
        },
        connectors::Param,
    },
};
use serde::{
    de::{self, value::MapAccessDeserializer, MapAccess, SeqAccess, Visitor},
    Deserialize, Deserializer,
};
use std::{
    collections::BTreeMap,
    fmt,
    marker::PhantomData,
    path::{Path, PathBuf},
    time::Duration,
};

/// Problems found in a config file, each starting with `file[:line:col]: `.
#[derive(Debug)]
pub struct ConfigError(pub Vec<String>);

impl ConfigError {
    pub fn one_line(&self) -> String {
        self.0.join("; ")
    }
}

/// The checked configuration. `Debug` shows no secret: connection passwords, channel URLs and
/// secrets, and the SMTP password are redacted by their own types, parameters are not shown.
#[derive(Debug)]
pub struct RunnerConfig {
    pub connections: BTreeMap<String, ConnectionConfig>,
    pub channels: BTreeMap<String, ChannelConfig>,
    pub delivery: DeliveryContext,
    pub state_path: PathBuf,
    pub alerts: Vec<AlertConfig>,
}

pub struct AlertConfig {
    pub name: String,
    pub connection: String,
    pub sql: String,
    pub params: Vec<Param>,
    pub rule: Rule,
    pub schedule: Option<Schedule>,
    pub policy: StatePolicy,
    pub channels: Vec<String>,
    pub link: Option<String>,
    pub timeout: Duration,
    pub max_rows: u64,
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
pub fn load(path: &Path) -> Result<RunnerConfig, ConfigError> {
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
        problems.extend(check_channel(
            file,
            &name,
            &channel,
            &outbound,
            smtp.as_ref(),
        ));
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
        problems.extend(check_references(
            &at,
            &a.connection,
            &a.channels,
            &connections,
            &channels,
        ));
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

/// A channel's own settings, and for email its recipients with the sender of `smtp:`.
fn check_channel(
    file: &str,
    name: &str,
    channel: &ChannelConfig,
    outbound: &OutboundPolicy,
    smtp: Option<&SmtpSettings>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let valid = channel.validate(outbound);
    if let Err(e) = &valid {
        problems.push(format!(
            "{file}: channel \"{name}\": {e}{}",
            egress_hint(outbound, channel, e)
        ));
    }
    // Recipients and subject are checked above; this checks them with the sender.
    if let (Ok(()), ChannelConfig::Email { to, subject }) = (&valid, channel) {
        match smtp {
            None => problems.push(format!(
                "{file}: channel \"{name}\": an email channel needs the smtp: section"
            )),
            Some(smtp) => {
                let probe = Message::test(name, None);
                if let Err(e) = channels::build_email(to, subject.as_deref(), &probe, smtp) {
                    problems.push(format!("{file}: channel \"{name}\": {e}"));
                }
            }
        }
    }
    problems
}

/// An alert's connection and channels name ones the file defines, each channel once.
fn check_references(
    at: &str,
    connection: &str,
    chosen: &[String],
    connections: &BTreeMap<String, ConnectionConfig>,
    channels: &BTreeMap<String, ChannelConfig>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if !connections.contains_key(connection) {
        problems.push(format!(
            "{at}: unknown connection \"{}\" ({})",
            connection,
            known("connections", connections.keys())
        ));
    }
    for (i, c) in chosen.iter().enumerate() {
        if !channels.contains_key(c) {
            problems.push(format!(
                "{at}: unknown channel \"{c}\" ({})",
                known("channels", channels.keys())
            ));
        } else if chosen[..i].contains(c) {
            problems.push(format!("{at}: channel \"{c}\" is listed twice"));
        }
    }
    problems
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
pub async fn send_hint(
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

#[cfg(test)]
mod tests {
    use super::{raw::*, *};

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
