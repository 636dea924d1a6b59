//! Alert delivery channels: Slack incoming webhooks, signed generic webhooks and email.
//!
//! [`send`] delivers one [`Message`] to one [`ChannelConfig`] and says whether a failure is
//! worth retrying ([`ChannelError::is_retryable`]); the worker owns retries and backoff.
//! HTTP channels go through [`OutboundPolicy`] (checked at save, test and send). Secrets
//! (webhook secret, SMTP password, the path of a Slack URL) never appear in errors or `Debug`.
//!
//! # Webhook signature
//!
//! A webhook is a `POST` of the JSON [`WebhookPayload`] with these headers:
//!
//! * `X-Sightline-Timestamp`: Unix time in seconds when the request was signed;
//! * `X-Sightline-Signature: sha256=<hex>` (only when the channel has a secret), where
//!   `<hex>` is the lowercase hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, of
//!   `<timestamp>.<raw body bytes>` (the timestamp header value, one `.`, the body as sent).
//!
//! A receiver recomputes the HMAC over the raw body, compares it in constant time, and rejects
//! timestamps more than a few minutes from its clock, so a captured request can't be replayed.
use super::outbound::{redact_url, OutboundError, OutboundPolicy, Reply, UrlKind};
use crate::model::query::{Column, Value};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use lettre::{
    message::{Mailbox, MultiPart},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::{fmt, fmt::Write as _, time::Duration};

/// Rows an excerpt keeps by default.
pub const EXCERPT_MAX_ROWS: usize = 10;
/// Columns an excerpt keeps (wider results are cut, with a note).
pub const EXCERPT_MAX_COLUMNS: usize = 12;
/// Characters a cell keeps in an excerpt.
const MAX_CELL_CHARS: usize = 60;
/// Recipients one email channel may have.
pub const MAX_RECIPIENTS: usize = 50;
/// The subject used when a channel has none.
pub const DEFAULT_SUBJECT: &str = "[Sightline] {{alert}}: {{state}}";

pub const SIGNATURE_HEADER: &str = "x-sightline-signature";
pub const TIMESTAMP_HEADER: &str = "x-sightline-timestamp";
pub const EVENT_HEADER: &str = "x-sightline-event";

/// Where an alert's notifications go. Stored as JSON (`{"kind": "slack", "url": …}`); the
/// webhook secret and the Slack URL are secrets: encrypt them at rest, never send them back
/// to the browser, and use `Debug` (redacted) in logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelConfig {
    /// A Slack incoming webhook (`https://hooks.slack.com/services/…`).
    Slack { url: String },
    Email {
        to: Vec<String>,
        /// A template with `{{alert}}` and `{{state}}`; [`DEFAULT_SUBJECT`] when absent.
        #[serde(default)]
        subject: Option<String>,
    },
    /// A JSON POST, signed when a secret is set (see the module docs).
    Webhook {
        url: String,
        #[serde(default)]
        secret: Option<String>,
    },
}

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Slack { url } => f
                .debug_struct("Slack")
                .field("url", &redact_url(url))
                .finish(),
            Self::Email { to, subject } => f
                .debug_struct("Email")
                .field("to", to)
                .field("subject", subject)
                .finish(),
            Self::Webhook { url, secret } => f
                .debug_struct("Webhook")
                .field("url", &redact_url(url))
                .field("secret", &secret.as_ref().map(|_| "<redacted>"))
                .finish(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Slack,
    Email,
    Webhook,
}

impl ChannelConfig {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Self::Slack { .. } => ChannelKind::Slack,
            Self::Email { .. } => ChannelKind::Email,
            Self::Webhook { .. } => ChannelKind::Webhook,
        }
    }

    /// The save-time check (no network): URL form and policy, recipients, subject template.
    pub fn validate(&self, policy: &OutboundPolicy) -> Result<(), ChannelError> {
        match self {
            Self::Slack { url } => {
                policy.validate_url(url, UrlKind::Slack)?;
            }
            Self::Webhook { url, secret } => {
                policy.validate_url(url, UrlKind::Webhook)?;
                if secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
                    return Err(ChannelError::Config(
                        "the signing secret is empty (leave it out to send unsigned)".into(),
                    ));
                }
            }
            Self::Email { to, subject } => {
                parse_recipients(to)?;
                if let Some(s) = subject {
                    header_text("subject template", s)?;
                }
            }
        }
        Ok(())
    }
}

/// The state change a message reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Firing,
    Resolved,
    /// The alert's query failed; not a resolution.
    Error,
    /// The query returned nothing the rule could judge; not a resolution either.
    NoData,
    /// A periodic summary.
    Digest,
    /// A channel's "Send test": says nothing about any alert's state.
    Test,
}

impl Transition {
    pub fn label(self) -> &'static str {
        match self {
            Self::Firing => "Firing",
            Self::Resolved => "Resolved",
            Self::Error => "Error",
            Self::NoData => "No data",
            Self::Digest => "Digest",
            Self::Test => "Test",
        }
    }

    fn emoji(self) -> &'static str {
        match self {
            Self::Firing => ":rotating_light:",
            Self::Resolved => ":white_check_mark:",
            Self::Error => ":warning:",
            Self::NoData => ":grey_question:",
            Self::Digest => ":bar_chart:",
            Self::Test => ":test_tube:",
        }
    }
}

/// The first rows of the alert's result, as display text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableExcerpt {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows in the whole result, when more than `rows` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_rows: Option<u64>,
    /// Columns in the whole result, when more than `columns` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_columns: Option<u64>,
}

impl TableExcerpt {
    /// Keeps at most `max_rows` rows and [`EXCERPT_MAX_COLUMNS`] columns, cells cut to a
    /// readable length.
    pub fn new(columns: Vec<String>, rows: Vec<Vec<String>>, max_rows: usize) -> Self {
        let total_rows = (rows.len() > max_rows).then_some(rows.len() as u64);
        let total_columns = (columns.len() > EXCERPT_MAX_COLUMNS).then_some(columns.len() as u64);
        let width = columns.len().min(EXCERPT_MAX_COLUMNS);
        let columns = columns.into_iter().take(width).map(|c| cell(&c)).collect();
        let rows = rows
            .into_iter()
            .take(max_rows)
            .map(|r| {
                let mut r: Vec<String> = r.iter().take(width).map(|c| cell(c)).collect();
                r.resize(width, String::new());
                r
            })
            .collect();
        Self {
            columns,
            rows,
            total_rows,
            total_columns,
        }
    }

    /// From a query result's columns and rows (NULL shown as `NULL`).
    pub fn from_values(columns: &[Column], rows: &[Vec<Value>], max_rows: usize) -> Self {
        let mut ex = Self::new(
            columns.iter().map(|c| c.name.clone()).collect(),
            rows.iter()
                .take(max_rows)
                .map(|r| {
                    r.iter()
                        .map(|v| v.display().unwrap_or_else(|| "NULL".into()))
                        .collect()
                })
                .collect(),
            max_rows,
        );
        if rows.len() > max_rows {
            ex.total_rows = Some(rows.len() as u64);
        }
        ex
    }

    /// "Showing 10 of 250 rows." and the like, when the excerpt is cut.
    fn note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(t) = self.total_rows {
            parts.push(format!("{} of {t} rows", self.rows.len()));
        }
        if let Some(t) = self.total_columns {
            parts.push(format!("{} of {t} columns", self.columns.len()));
        }
        (!parts.is_empty()).then(|| format!("Showing {}.", parts.join(", ")))
    }
}

/// One cell on one line, cut to [`MAX_CELL_CHARS`].
fn cell(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > MAX_CELL_CHARS {
        let mut cut: String = flat.chars().take(MAX_CELL_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

/// What an alert says, whatever the channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The alert's name.
    pub alert: String,
    pub transition: Transition,
    /// The observed value, as text (or why, for [`Transition::Error`] and
    /// [`Transition::NoData`]).
    pub value: Option<String>,
    pub excerpt: Option<TableExcerpt>,
    /// Back to the alert or insight in Sightline (absolute http/https URL).
    pub link: Option<String>,
    pub at: DateTime<Utc>,
}

impl Message {
    /// The message sent by a channel's "send test" button.
    pub fn test(alert: &str, link: Option<String>) -> Self {
        Self {
            alert: alert.to_string(),
            transition: Transition::Test,
            value: Some("test message: no action needed".into()),
            excerpt: Some(TableExcerpt::new(
                vec!["check".into(), "status".into()],
                vec![vec!["channel".into(), "ok".into()]],
                EXCERPT_MAX_ROWS,
            )),
            link,
            at: Utc::now(),
        }
    }

    /// The link, if it is an absolute http(s) URL (anything else is not linked).
    fn safe_link(&self) -> Option<String> {
        let link = self.link.as_deref()?.trim();
        let url = url::Url::parse(link).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| url.to_string())
    }
}

/// TLS towards the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain text (local relays only).
    None,
    /// STARTTLS, required (typically port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, typically port 465).
    Tls,
}

/// The server's SMTP settings (admin configuration, not per channel).
#[derive(Clone, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// The sender mailbox, e.g. `Sightline <alerts@example.com>`.
    pub from: String,
    /// For the whole SMTP conversation.
    #[serde(default = "default_smtp_timeout")]
    pub timeout: Duration,
}

fn default_smtp_timeout() -> Duration {
    Duration::from_secs(30)
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What a send needs besides the channel and the message.
#[derive(Debug, Clone, Default)]
pub struct DeliveryContext {
    pub outbound: OutboundPolicy,
    /// `None` when the server has no email set up.
    pub smtp: Option<SmtpSettings>,
}

/// Proof of a delivery, for the alert's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryReceipt {
    pub kind: ChannelKind,
    /// HTTP status for Slack and webhooks, SMTP reply code for email.
    pub status: Option<u16>,
    /// Email recipients accepted (1 for HTTP channels).
    pub recipients: usize,
}

/// Why a delivery failed. Messages are safe to show to the channel's owner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The outbound policy refuses the destination.
    #[error("refused: {0}")]
    Refused(String),
    /// The channel or the server's email settings are wrong; fix them, don't retry.
    #[error("invalid channel settings: {0}")]
    Config(String),
    /// Network trouble, a 5xx or a rate limit: try again later.
    #[error("delivery failed, will retry: {reason}")]
    Retryable {
        reason: String,
        /// What the receiver asked for (`Retry-After`), if anything.
        retry_after: Option<Duration>,
    },
    /// The receiver refused the message (4xx, SMTP 5xx): retrying won't help.
    #[error("delivery failed: {0}")]
    Permanent(String),
}

impl ChannelError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Retryable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn retry(reason: impl Into<String>) -> Self {
        Self::Retryable {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

impl From<OutboundError> for ChannelError {
    fn from(e: OutboundError) -> Self {
        match e {
            OutboundError::InvalidUrl(m) => Self::Config(m.into()),
            OutboundError::Refused(m) => Self::Refused(m),
            e => Self::retry(e.to_string()),
        }
    }
}

/// Delivers `message` to `channel`. Checks the destination again (policy, resolution, pin)
/// and classifies failures for the worker's retry with backoff.
pub async fn send(
    channel: &ChannelConfig,
    message: &Message,
    ctx: &DeliveryContext,
) -> Result<DeliveryReceipt, ChannelError> {
    match channel {
        ChannelConfig::Slack { url } => send_slack(url, message, &ctx.outbound).await,
        ChannelConfig::Webhook { url, secret } => {
            send_webhook(url, secret.as_deref(), message, &ctx.outbound).await
        }
        ChannelConfig::Email { to, subject } => {
            send_email(to, subject.as_deref(), message, ctx.smtp.as_ref()).await
        }
    }
}

/// Maps an HTTP answer to success or a typed failure. `detail` is safe receiver text.
fn judge(reply: &Reply, kind: ChannelKind, detail: bool) -> Result<DeliveryReceipt, ChannelError> {
    let status = reply.status;
    let said = if detail {
        let text = cell(reply.body.trim());
        if text.is_empty() {
            String::new()
        } else {
            format!(": {text}")
        }
    } else {
        String::new()
    };
    match status {
        200..=299 => Ok(DeliveryReceipt {
            kind,
            status: Some(status),
            recipients: 1,
        }),
        300..=399 => Err(ChannelError::Permanent(format!(
            "the receiver answered with a redirect (HTTP {status}); redirects are not followed, \
             use the final URL"
        ))),
        408 | 425 | 429 | 500..=599 => Err(ChannelError::Retryable {
            reason: format!("the receiver answered HTTP {status}{said}"),
            retry_after: reply.retry_after,
        }),
        _ => Err(ChannelError::Permanent(format!(
            "the receiver refused the message (HTTP {status}{said})"
        ))),
    }
}

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h
}

// ---------------------------------------------------------------- Slack

/// Slack mrkdwn: `&`, `<` and `>` are control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Slack `text` for a message: headline, value, table in a code block, link back.
pub fn slack_text(m: &Message) -> String {
    let mut t = format!(
        "{} *{}* is *{}*",
        m.transition.emoji(),
        slack_escape(&cell(&m.alert)),
        m.transition.label()
    );
    if let Some(v) = &m.value {
        let _ = write!(t, "\nValue: {}", slack_escape(&cell(v)));
    }
    if let Some(ex) = &m.excerpt {
        // A backtick run inside would close the code block.
        let table = text_table(ex).replace('`', "'");
        let _ = write!(t, "\n```\n{}\n```", slack_escape(&table));
        if let Some(note) = ex.note() {
            let _ = write!(t, "\n_{note}_");
        }
    }
    if let Some(link) = m.safe_link() {
        let link = slack_escape(&link).replace('|', "%7C");
        let _ = write!(t, "\n<{link}|Open in Sightline>");
    }
    let _ = write!(t, "\n{}", m.at.format("%Y-%m-%d %H:%M:%S UTC"));
    t
}

async fn send_slack(
    url: &str,
    m: &Message,
    policy: &OutboundPolicy,
) -> Result<DeliveryReceipt, ChannelError> {
    let body = serde_json::json!({ "text": slack_text(m), "mrkdwn": true });
    let body = serde_json::to_vec(&body).map_err(|_| ChannelError::Config("bad message".into()))?;
    let reply = policy
        .post(url, UrlKind::Slack, json_headers(), body)
        .await?;
    // Slack explains refusals in plain words (`invalid_token`, `channel_is_archived`).
    judge(&reply, ChannelKind::Slack, true)
}

// ---------------------------------------------------------------- webhook

/// The JSON body of a webhook (versioned: fields are only ever added).
#[derive(Debug, Serialize)]
pub struct WebhookPayload<'a> {
    pub version: u32,
    pub alert: &'a str,
    pub state: Transition,
    pub value: Option<&'a str>,
    pub excerpt: Option<&'a TableExcerpt>,
    pub link: Option<String>,
    pub at: DateTime<Utc>,
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let mut out = String::from("sha256=");
    for b in mac.finalize().into_bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

async fn send_webhook(
    url: &str,
    secret: Option<&str>,
    m: &Message,
    policy: &OutboundPolicy,
) -> Result<DeliveryReceipt, ChannelError> {
    let payload = WebhookPayload {
        version: 1,
        alert: &m.alert,
        state: m.transition,
        value: m.value.as_deref(),
        excerpt: m.excerpt.as_ref(),
        link: m.safe_link(),
        at: m.at,
    };
    let body =
        serde_json::to_vec(&payload).map_err(|_| ChannelError::Config("bad message".into()))?;
    let timestamp = Utc::now().timestamp();
    let mut headers = json_headers();
    headers.insert(TIMESTAMP_HEADER, HeaderValue::from(timestamp));
    headers.insert(
        EVENT_HEADER,
        HeaderValue::from_static(match m.transition {
            Transition::Firing => "firing",
            Transition::Resolved => "resolved",
            Transition::Error => "error",
            Transition::NoData => "no_data",
            Transition::Digest => "digest",
            Transition::Test => "test",
        }),
    );
    if let Some(secret) = secret {
        let sig = webhook_signature(secret, timestamp, &body);
        headers.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(&sig)
                .map_err(|_| ChannelError::Config("bad signature".into()))?,
        );
    }
    let reply = policy.post(url, UrlKind::Webhook, headers, body).await?;
    // A foreign receiver's body may echo anything: report the status only.
    judge(&reply, ChannelKind::Webhook, false)
}

// ---------------------------------------------------------------- email

/// Refuses CR/LF (header injection) and other control characters in a header value.
fn header_text<'a>(what: &str, v: &'a str) -> Result<&'a str, ChannelError> {
    if v.contains(['\r', '\n']) {
        return Err(ChannelError::Config(format!(
            "the {what} contains a line break (CR or LF), which is not allowed in an email header"
        )));
    }
    if v.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ChannelError::Config(format!(
            "the {what} contains control characters"
        )));
    }
    Ok(v)
}

fn parse_mailbox(what: &str, raw: &str) -> Result<Mailbox, ChannelError> {
    let raw = header_text(what, raw)?.trim();
    raw.parse::<Mailbox>().map_err(|_| {
        ChannelError::Config(format!(
            "the {what} \"{}\" is not a valid email address",
            cell(raw)
        ))
    })
}

/// Parses and checks an email channel's recipients.
pub fn parse_recipients(to: &[String]) -> Result<Vec<Mailbox>, ChannelError> {
    if to.is_empty() {
        return Err(ChannelError::Config("add at least one recipient".into()));
    }
    if to.len() > MAX_RECIPIENTS {
        return Err(ChannelError::Config(format!(
            "at most {MAX_RECIPIENTS} recipients per channel"
        )));
    }
    to.iter().map(|r| parse_mailbox("recipient", r)).collect()
}

/// Fills `{{alert}}` and `{{state}}` in a subject template; the result must be one line.
pub fn render_subject(template: &str, m: &Message) -> Result<String, ChannelError> {
    header_text("subject template", template)?;
    let subject = template
        .replace("{{alert}}", &m.alert)
        .replace("{{ alert }}", &m.alert)
        .replace("{{state}}", m.transition.label())
        .replace("{{ state }}", m.transition.label());
    header_text("subject (after filling in the alert name)", &subject)?;
    Ok(subject)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A monospace table: header, rule, rows.
pub fn text_table(ex: &TableExcerpt) -> String {
    let n = ex.columns.len();
    let mut widths: Vec<usize> = ex.columns.iter().map(|c| c.chars().count()).collect();
    for row in &ex.rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, w) in widths.iter().enumerate() {
            let c = cells.get(i).map(String::as_str).unwrap_or("");
            if i > 0 {
                l.push_str(" | ");
            }
            l.push_str(c);
            if i + 1 < n {
                l.extend(std::iter::repeat_n(' ', w - c.chars().count()));
            }
        }
        l.trim_end().to_string()
    };
    let mut out = line(&ex.columns);
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-"),
    );
    for row in &ex.rows {
        out.push('\n');
        out.push_str(&line(row));
    }
    out
}

/// The plain-text part of an alert email.
pub fn email_text(m: &Message) -> String {
    let mut t = format!("{} is {}\n", cell(&m.alert), m.transition.label());
    if let Some(v) = &m.value {
        let _ = writeln!(t, "Value: {}", cell(v));
    }
    if let Some(ex) = &m.excerpt {
        let _ = write!(t, "\n{}\n", text_table(ex));
        if let Some(note) = ex.note() {
            let _ = writeln!(t, "{note}");
        }
    }
    if let Some(link) = m.safe_link() {
        let _ = write!(t, "\nOpen in Sightline: {link}\n");
    }
    let _ = write!(t, "\n{}\n", m.at.format("%Y-%m-%d %H:%M:%S UTC"));
    t
}

/// The HTML part of an alert email; every piece of data is escaped.
pub fn email_html(m: &Message) -> String {
    let mut h =
        String::from("<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif;color:#222\">\n");
    let _ = writeln!(
        h,
        "<h2>{} is {}</h2>",
        html_escape(&m.alert),
        m.transition.label()
    );
    if let Some(v) = &m.value {
        let _ = writeln!(h, "<p>Value: <strong>{}</strong></p>", html_escape(v));
    }
    if let Some(ex) = &m.excerpt {
        h.push_str(
            "<table cellpadding=\"4\" cellspacing=\"0\" style=\"border-collapse:collapse;\
             font-family:monospace\" border=\"1\">\n<thead><tr>",
        );
        for c in &ex.columns {
            let _ = write!(h, "<th>{}</th>", html_escape(c));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for row in &ex.rows {
            h.push_str("<tr>");
            for c in row {
                let _ = write!(h, "<td>{}</td>", html_escape(c));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table>\n");
        if let Some(note) = ex.note() {
            let _ = writeln!(h, "<p><em>{}</em></p>", html_escape(&note));
        }
    }
    if let Some(link) = m.safe_link() {
        let _ = writeln!(
            h,
            "<p><a href=\"{}\">Open in Sightline</a></p>",
            html_escape(&link)
        );
    }
    let _ = writeln!(
        h,
        "<p style=\"color:#666\">{}</p>\n</body></html>",
        m.at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    h
}

/// Builds the email (headers checked, multipart plain + HTML) without sending it.
pub fn build_email(
    to: &[String],
    subject: Option<&str>,
    m: &Message,
    smtp: &SmtpSettings,
) -> Result<lettre::Message, ChannelError> {
    let from = parse_mailbox("sender address (from)", &smtp.from)?;
    let to = parse_recipients(to)?;
    let subject = render_subject(subject.unwrap_or(DEFAULT_SUBJECT), m)?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(subject)
        .date(m.at.into());
    for mb in to {
        builder = builder.to(mb);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email_text(m),
            email_html(m),
        ))
        .map_err(|_| ChannelError::Config("the email could not be built".into()))
}

fn smtp_error(e: lettre::transport::smtp::Error) -> ChannelError {
    // The server's reply text is dropped: only the code is kept (it can't carry credentials).
    let code = e
        .status()
        .map(|c| format!(" (SMTP {c})"))
        .unwrap_or_default();
    tracing::debug!(permanent = e.is_permanent(), code = %code, "SMTP delivery failed");
    if e.is_permanent() {
        ChannelError::Permanent(format!("the mail server refused the message{code}"))
    } else if e.is_transient() {
        ChannelError::retry(format!("the mail server deferred the message{code}"))
    } else if e.is_timeout() {
        ChannelError::retry("the mail server did not answer in time")
    } else if e.is_tls() {
        ChannelError::Permanent("the TLS handshake with the mail server failed".into())
    } else {
        ChannelError::retry("could not talk to the mail server")
    }
}

async fn send_email(
    to: &[String],
    subject: Option<&str>,
    m: &Message,
    smtp: Option<&SmtpSettings>,
) -> Result<DeliveryReceipt, ChannelError> {
    let smtp = smtp.ok_or_else(|| {
        ChannelError::Config("email is not set up on this server (no SMTP settings)".into())
    })?;
    let email = build_email(to, subject, m, smtp)?;
    let recipients = email.envelope().to().len();
    let code = deliver_email(email, smtp).await?;
    Ok(DeliveryReceipt {
        kind: ChannelKind::Email,
        status: Some(code),
        recipients,
    })
}

/// Sends a built email through the server's SMTP settings; the SMTP reply code on success.
pub async fn deliver_email(
    email: lettre::Message,
    smtp: &SmtpSettings,
) -> Result<u16, ChannelError> {
    let host = smtp.host.trim();
    let tls = match smtp.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls | SmtpTls::Tls => {
            let params = TlsParameters::new(host.to_string()).map_err(|_| {
                ChannelError::Config("the SMTP host is not a valid TLS server name".into())
            })?;
            if smtp.tls == SmtpTls::Tls {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        }
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(smtp.timeout));
    if let Some(user) = smtp.username.as_deref().filter(|u| !u.is_empty()) {
        transport = transport.credentials(Credentials::new(
            user.to_string(),
            smtp.password.clone().unwrap_or_default(),
        ));
    }
    let transport = transport.build();
    let reply = tokio::time::timeout(smtp.timeout, transport.send(email))
        .await
        .map_err(|_| ChannelError::retry("the mail server did not answer in time"))?
        .map_err(smtp_error)?;
    Ok(u16::from(reply.code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> Message {
        Message {
            alert: "Revenue <drop> & co".into(),
            transition: Transition::Firing,
            value: Some("42".into()),
            excerpt: Some(TableExcerpt::new(
                vec!["region".into(), "total".into()],
                vec![
                    vec!["<b>eu</b>".into(), "1".into()],
                    vec!["us".into(), "22".into()],
                    vec!["apac".into(), "333".into()],
                ],
                2,
            )),
            link: Some("https://sightline.example/alerts/7".into()),
            at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn excerpt_is_cut_and_noted() {
        let ex = msg().excerpt.unwrap();
        assert_eq!(ex.rows.len(), 2);
        assert_eq!(ex.total_rows, Some(3));
        assert_eq!(ex.note().as_deref(), Some("Showing 2 of 3 rows."));
        assert_eq!(
            text_table(&ex),
            "region    | total\n----------+------\n<b>eu</b> | 1\nus        | 22"
        );
    }

    #[test]
    fn html_and_slack_escape_data() {
        let m = msg();
        let html = email_html(&m);
        assert!(html.contains("&lt;b&gt;eu&lt;/b&gt;"));
        assert!(html.contains("Revenue &lt;drop&gt; &amp; co"));
        assert!(!html.contains("<b>eu"));
        let s = slack_text(&m);
        assert!(s.contains("*Revenue &lt;drop&gt; &amp; co* is *Firing*"));
        assert!(s.contains("<https://sightline.example/alerts/7|Open in Sightline>"));
        let mut js = m.clone();
        js.link = Some("javascript:alert(1)".into());
        assert!(!email_html(&js).contains("javascript:"));
        assert!(!slack_text(&js).contains("javascript:"));
    }

    #[test]
    fn subject_template_and_header_injection() {
        let m = msg();
        assert_eq!(
            render_subject(DEFAULT_SUBJECT, &m).unwrap(),
            "[Sightline] Revenue <drop> & co: Firing"
        );
        assert!(render_subject("x\r\nBcc: a@b.c", &m).is_err());
        let mut nl = m.clone();
        nl.alert = "a\nBcc: evil@example.com".into();
        assert!(render_subject("{{alert}}", &nl).is_err());
    }

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // HMAC-SHA256(key "key", "1.{}"), computed independently (Python hmac).
        assert_eq!(
            webhook_signature("key", 1, b"{}"),
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = ChannelConfig::Webhook {
            url: "https://example.com/hook/tok3n?k=v".into(),
            secret: Some("s3cret".into()),
        };
        let d = format!("{c:?}");
        assert!(!d.contains("s3cret") && !d.contains("tok3n"), "{d}");
        let s = ChannelConfig::Slack {
            url: "https://hooks.slack.com/services/T0/B0/XYZ".into(),
        };
        assert!(!format!("{s:?}").contains("XYZ"));
        let smtp = SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: Some("u".into()),
            password: Some("pa55".into()),
            from: "a@example.com".into(),
            timeout: Duration::from_secs(5),
        };
        assert!(!format!("{smtp:?}").contains("pa55"));
    }
}
