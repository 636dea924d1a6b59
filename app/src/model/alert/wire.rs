//! What the alerts pages and the server exchange: alert drafts and summaries, run and
//! delivery history, channels (never with their secrets) and the SMTP form.
use super::{AlertState, DeliveryStatus, NotificationKind, Rule};
use crate::model::{
    insight::{InsightId, UrlValues},
    words::stored_words,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Id of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertId(pub i64);

/// Id of a notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub i64);

/// An alert as its form edits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDraft {
    pub insight_id: InsightId,
    pub name: String,
    /// The insight's parameter values the alert always runs with (URL form).
    #[serde(default)]
    pub params: UrlValues,
    pub rule: Rule,
    /// Evaluations the condition must hold before Firing (1 = at once).
    #[serde(default)]
    pub pending_for: u32,
    /// Minutes after a Resolved before another Firing is sent (against flapping).
    #[serde(default)]
    pub cooldown_minutes: u32,
    #[serde(default)]
    pub notify_no_data: bool,
    pub cron: String,
    pub timezone: String,
    pub channels: Vec<ChannelId>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// One line of the alerts list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertSummary {
    pub id: AlertId,
    pub name: String,
    pub insight_id: InsightId,
    pub insight_name: String,
    pub state: AlertState,
    pub enabled: bool,
    pub muted_until: Option<DateTime<Utc>>,
    /// The schedule in words ("every 5 minutes (UTC)").
    pub schedule: String,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_evaluated_at: Option<DateTime<Utc>>,
    pub channels: Vec<String>,
    pub owner: Option<String>,
    /// Ticks skipped because the previous evaluation was still running.
    pub skipped_overlaps: i64,
    /// Whether the caller may change, mute or delete it (owner, editors, admins).
    pub can_edit: bool,
}

/// An alert with its form values and recent history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDetail {
    pub summary: AlertSummary,
    pub draft: AlertDraft,
    /// The state's last number or message, for the header.
    pub observed: Option<String>,
    pub runs: Vec<RunRecord>,
}

/// One evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: i64,
    pub scheduled_for: DateTime<Utc>,
    pub manual: bool,
    pub status: AlertRunStatus,
    /// The alert's state after this run evaluated it.
    pub state: Option<AlertState>,
    pub detail: Option<String>,
    pub error: Option<String>,
    pub row_count: Option<i64>,
    pub attempts: i64,
    pub finished_at: Option<DateTime<Utc>>,
    pub deliveries: Vec<DeliveryRecord>,
}

/// Where one scheduled (or "evaluate now") run of an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertRunStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds its lease.
    Running,
    /// Evaluated and recorded (its deliveries may still be pending).
    Done,
    /// Not run: the previous run of the same alert was still running.
    Skipped,
}

stored_words!(AlertRunStatus, "alert run status", {
    Queued => "queued",
    Running => "running",
    Done => "done",
    Skipped => "skipped",
});

impl AlertRunStatus {
    /// Still to finish: the page polls while a run is in this state.
    pub fn in_progress(self) -> bool {
        matches!(self, AlertRunStatus::Queued | AlertRunStatus::Running)
    }
}

/// One notification to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub channel: String,
    pub kind: NotificationKind,
    pub instance: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Where a channel sends: stored by its serde name (`slack`, `email`, `webhook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Slack,
    Email,
    Webhook,
}

stored_words!(ChannelKind, "channel kind", {
    Slack => "slack",
    Email => "email",
    Webhook => "webhook",
});

/// A channel as lists show it: no URL path, no secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSummary {
    pub id: ChannelId,
    pub name: String,
    pub kind: ChannelKind,
    /// "hooks.slack.com", "2 recipients: a@x.com, b@x.com", "https://example.com/…"
    pub summary: String,
    pub alerts: i64,
    /// An editor opened it to everyone: viewers' alerts may send to it.
    #[serde(default)]
    pub for_everyone: bool,
}

/// A new channel. URLs and secrets go one way: they are never sent back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelDraft {
    Slack {
        name: String,
        url: String,
        /// Viewers' alerts may send to it.
        #[serde(default)]
        for_everyone: bool,
    },
    Email {
        name: String,
        to: String,
        #[serde(default)]
        subject: String,
        #[serde(default)]
        for_everyone: bool,
    },
    Webhook {
        name: String,
        url: String,
        #[serde(default)]
        secret: String,
        #[serde(default)]
        for_everyone: bool,
    },
}

impl ChannelDraft {
    pub fn name(&self) -> &str {
        match self {
            Self::Slack { name, .. } | Self::Email { name, .. } | Self::Webhook { name, .. } => {
                name
            }
        }
    }

    /// Whether viewers' alerts may send to the channel.
    pub fn for_everyone(&self) -> bool {
        match self {
            Self::Slack { for_everyone, .. }
            | Self::Email { for_everyone, .. }
            | Self::Webhook { for_everyone, .. } => *for_everyone,
        }
    }
}

/// The result of "Send test".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    pub ok: bool,
    pub message: String,
}

/// The SMTP form of the admin settings. The password is write-only: `None` keeps the stored
/// one, `Some("")` clears it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SmtpForm {
    pub host: String,
    pub port: u16,
    /// none, starttls, tls
    pub tls: String,
    pub username: String,
    #[serde(default)]
    pub password: Option<String>,
    pub from: String,
}

/// SMTP as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmtpView {
    pub form: SmtpForm,
    pub has_password: bool,
    /// Set by the server's configuration (environment): the form is read-only.
    pub from_config: bool,
    pub configured: bool,
}

/// Presets offered by the schedule picker; `cron` is what is stored.
pub const SCHEDULE_PRESETS: &[(&str, &str)] = &[
    ("*/5 * * * *", "Every 5 minutes"),
    ("*/15 * * * *", "Every 15 minutes"),
    ("0 * * * *", "Hourly"),
    ("0 9 * * *", "Daily at 09:00"),
    ("0 9 * * 1", "Weekly on Monday at 09:00"),
];

/// A state for people: "Firing", "No data".
pub fn state_label(s: AlertState) -> &'static str {
    match s {
        AlertState::Ok => "Ok",
        AlertState::Pending => "Pending",
        AlertState::Firing => "Firing",
        AlertState::NoData => "No data",
        AlertState::Error => "Error",
    }
}
