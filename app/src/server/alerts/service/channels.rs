//! Channel services: listing (viewers see only shared channels, nobody sees secrets),
//! creating and editing through the egress policy, deleting and sending a test.
use super::name_problem;
use crate::{
    error::AppError,
    model::{
        alert::{ChannelDraft, ChannelId, ChannelSummary, TestReport},
        Permission,
    },
    server::{
        alerts::{
            channels::{self, ChannelConfig, ChannelError, Message},
            engine::{self, CHANNEL_SEAL},
            outbound::{redact_url, OutboundPolicy},
            report,
        },
        db::{alerts as repo, is_unique_violation},
        AppState, Principal,
    },
};
use chrono::Utc;

pub async fn list_channels(
    state: &AppState,
    me: &Principal,
) -> Result<Vec<ChannelSummary>, AppError> {
    me.require(Permission::ViewInsights)?;
    let all = me.can(Permission::EditInsights);
    Ok(repo::list_channels(&state.db)
        .await?
        .into_iter()
        .filter(|c| all || c.for_everyone)
        .map(|c| ChannelSummary {
            id: ChannelId(c.id),
            name: c.name,
            kind: c.kind,
            summary: c.summary,
            alerts: c.alerts,
            for_everyone: c.for_everyone,
        })
        .collect())
}

fn policy(state: &AppState) -> OutboundPolicy {
    OutboundPolicy::new(state.settings.alerts.allow_hosts.clone())
}

/// The draft as a channel configuration, checked (URL policy, recipients, subject).
fn config_of(state: &AppState, d: &ChannelDraft) -> Result<(ChannelConfig, String), AppError> {
    let (config, field, summary) = match d {
        ChannelDraft::Slack { url, .. } => (
            ChannelConfig::Slack {
                url: url.trim().to_string(),
            },
            "url",
            format!("Slack: {}", redact_url(url.trim())),
        ),
        ChannelDraft::Webhook { url, secret, .. } => (
            ChannelConfig::Webhook {
                url: url.trim().to_string(),
                secret: Some(secret.trim().to_string()).filter(|s| !s.is_empty()),
            },
            "url",
            format!(
                "Webhook: {}{}",
                redact_url(url.trim()),
                if secret.trim().is_empty() {
                    ""
                } else {
                    " (signed)"
                }
            ),
        ),
        ChannelDraft::Email { to, subject, .. } => {
            let to: Vec<String> = to
                .split([',', ';', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let summary = format!("Email: {}", to.join(", "));
            (
                ChannelConfig::Email {
                    to,
                    subject: Some(subject.trim().to_string()).filter(|s| !s.is_empty()),
                },
                "to",
                summary,
            )
        }
    };
    config
        .validate(&policy(state))
        .map_err(|e| AppError::field(field, channel_problem(&e)))?;
    Ok((config, report::cut(&summary, 200)))
}

pub(super) fn channel_problem(e: &ChannelError) -> String {
    match e {
        ChannelError::Refused(m) | ChannelError::Config(m) | ChannelError::Permanent(m) => {
            let mut s = m.clone();
            if let Some(first) = s.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            s
        }
        other => other.to_string(),
    }
}

pub async fn create_channel(
    state: &AppState,
    me: &Principal,
    draft: ChannelDraft,
) -> Result<ChannelSummary, AppError> {
    me.require(Permission::EditInsights)?;
    let name = channel_name(&draft)?;
    let (config, summary) = config_of(state, &draft)?;
    let sealed = seal_channel(state, &config)?;
    let kind = config.kind();
    let id = repo::insert_channel(
        &state.db,
        &name,
        kind,
        &sealed,
        &summary,
        draft.for_everyone(),
        me.user_id.map(|u| u.0),
        Utc::now(),
    )
    .await
    .map_err(name_taken)?;
    Ok(ChannelSummary {
        id: ChannelId(id),
        name,
        kind,
        summary,
        alerts: 0,
        for_everyone: draft.for_everyone(),
    })
}

/// Changes a channel's name and settings; empty URL, secret, recipients or subject fields
/// keep what is stored (they are never sent back to be shown). The kind stays. A stored
/// signing secret is kept only while the URL stays: a new URL needs the secret again.
pub async fn update_channel(
    state: &AppState,
    me: &Principal,
    id: ChannelId,
    draft: ChannelDraft,
) -> Result<ChannelSummary, AppError> {
    me.require(Permission::EditInsights)?;
    let row = repo::get_channel(&state.db, id.0)
        .await?
        .ok_or_else(|| AppError::NotFound("That channel".into()))?;
    let name = channel_name(&draft)?;
    let stored = engine::open_channel(state, &row.sealed)?;
    let for_everyone = draft.for_everyone();
    let keep = |new: String, old: &str| {
        if new.trim().is_empty() {
            old.to_string()
        } else {
            new
        }
    };
    let merged = match (draft, stored) {
        (ChannelDraft::Slack { url, .. }, ChannelConfig::Slack { url: old }) => {
            ChannelDraft::Slack {
                name: name.clone(),
                url: keep(url, &old),
                for_everyone,
            }
        }
        (
            ChannelDraft::Webhook { url, secret, .. },
            ChannelConfig::Webhook {
                url: old,
                secret: old_secret,
            },
        ) => {
            let moved = !url.trim().is_empty() && url.trim() != old.trim();
            if moved && old_secret.is_some() && secret.trim().is_empty() {
                // Check the URL first, so a refused URL is named as such.
                config_of(
                    state,
                    &ChannelDraft::Webhook {
                        name: name.clone(),
                        url: url.trim().to_string(),
                        secret: String::new(),
                        for_everyone,
                    },
                )?;
                return Err(AppError::field(
                    "secret",
                    "Enter the signing secret again: a stored secret is not sent to a new URL.",
                ));
            }
            ChannelDraft::Webhook {
                name: name.clone(),
                url: keep(url, &old),
                secret: keep(secret, old_secret.as_deref().unwrap_or("")),
                for_everyone,
            }
        }
        (
            ChannelDraft::Email { to, subject, .. },
            ChannelConfig::Email {
                to: old,
                subject: old_subject,
            },
        ) => ChannelDraft::Email {
            name: name.clone(),
            to: keep(to, &old.join(", ")),
            subject: keep(subject, old_subject.as_deref().unwrap_or("")),
            for_everyone,
        },
        _ => {
            return Err(AppError::field(
                "kind",
                "A channel keeps its kind: add a new channel instead.",
            ))
        }
    };
    let (config, summary) = config_of(state, &merged)?;
    let sealed = seal_channel(state, &config)?;
    if !repo::update_channel(
        &state.db,
        id.0,
        &name,
        &sealed,
        &summary,
        for_everyone,
        Utc::now(),
    )
    .await
    .map_err(name_taken)?
    {
        return Err(AppError::NotFound("That channel".into()));
    }
    Ok(ChannelSummary {
        id,
        name,
        kind: config.kind(),
        summary,
        alerts: repo::channel_use(&state.db, id.0).await?.unwrap_or(0),
        for_everyone,
    })
}

/// The draft's name, trimmed and checked.
fn channel_name(draft: &ChannelDraft) -> Result<String, AppError> {
    let name = draft.name().trim().to_string();
    if name.is_empty() {
        return Err(AppError::field("name", "Give the channel a name."));
    }
    if name.chars().count() > 100 {
        return Err(AppError::field("name", "Use at most 100 characters."));
    }
    if let Some(problem) = name_problem(&name) {
        return Err(AppError::field("name", problem));
    }
    Ok(name)
}

fn seal_channel(state: &AppState, config: &ChannelConfig) -> Result<String, AppError> {
    let json = serde_json::to_string(config).map_err(crate::error::internal)?;
    Ok(state.secrets.seal(&json, CHANNEL_SEAL))
}

fn name_taken(e: sqlx::Error) -> AppError {
    if is_unique_violation(&e) {
        AppError::field("name", "A channel with this name exists already.")
    } else {
        e.into()
    }
}

pub async fn delete_channel(
    state: &AppState,
    me: &Principal,
    id: ChannelId,
) -> Result<(), AppError> {
    me.require(Permission::EditInsights)?;
    let used = repo::channel_use(&state.db, id.0)
        .await?
        .ok_or_else(|| AppError::NotFound("That channel".into()))?;
    if used > 0 {
        return Err(AppError::Conflict(format!(
            "{used} alert(s) send to this channel; remove it from them first."
        )));
    }
    repo::delete_channel(&state.db, id.0).await?;
    Ok(())
}

/// Sends a test message through the channel now (with the send-time SSRF checks).
pub async fn test_channel(
    state: &AppState,
    me: &Principal,
    id: ChannelId,
) -> Result<TestReport, AppError> {
    me.require(Permission::EditInsights)?;
    let c = repo::get_channel(&state.db, id.0)
        .await?
        .ok_or_else(|| AppError::NotFound("That channel".into()))?;
    let config = engine::open_channel(state, &c.sealed)?;
    let ctx = engine::delivery_context(state).await?;
    let link = Some(state.settings.public_url.clone()).filter(|u| !u.is_empty());
    let message = Message::test(&c.name, link);
    Ok(report_of(
        channels::send(&config, &message, &ctx).await.map(|_| ()),
        &c.name,
    ))
}

pub(super) fn report_of(r: Result<(), ChannelError>, name: &str) -> TestReport {
    match r {
        Ok(()) => TestReport {
            ok: true,
            message: format!("Sent a test message to {name}."),
        },
        Err(e) => TestReport {
            ok: false,
            message: format!("The test message was not delivered: {e}"),
        },
    }
}
