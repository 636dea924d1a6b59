//! Alert delivery channels: Slack incoming webhooks, signed generic webhooks and email.
//!
//! [`send`] delivers one [`Message`] to one [`ChannelConfig`] and says whether a failure is
//! worth retrying ([`ChannelError::is_retryable`]); the worker owns retries and backoff.
//! HTTP channels go through [`OutboundPolicy`] (checked at save, test and send). Secrets
//! (webhook secret, SMTP password, the path of a Slack URL) never appear in errors or `Debug`.
//!
//! `message`: what is sent (the message, its table excerpt); `slack`, `webhook`, `email`: one
//! file per channel.
mod email;
mod message;
mod slack;
mod webhook;

pub use email::*;
pub use message::*;
use slack::send_slack;
pub use slack::slack_text;
pub use webhook::*;

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

pub use crate::model::alert::ChannelKind;

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

// ---------------------------------------------------------------- webhook

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
