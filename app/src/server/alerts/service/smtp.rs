//! The server's SMTP settings (admins): shown without the password, saved sealed, tested.
use super::channels::{channel_problem, report_of};
use crate::{
    error::AppError,
    model::{
        alert::{SmtpForm, SmtpView, TestReport},
        Permission,
    },
    server::{
        alerts::{
            channels::{self, ChannelConfig, DeliveryContext, Message, SmtpSettings, SmtpTls},
            engine::{self, SMTP_KEY, SMTP_SEAL},
        },
        db::connections::set_setting,
        AppState, Principal,
    },
};
use std::time::Duration;

fn tls_name(t: SmtpTls) -> &'static str {
    match t {
        SmtpTls::None => "none",
        SmtpTls::Starttls => "starttls",
        SmtpTls::Tls => "tls",
    }
}

pub async fn get_smtp(state: &AppState, me: &Principal) -> Result<SmtpView, AppError> {
    me.require(Permission::ManageUsers)?;
    let from_config = state.settings.alerts.smtp.is_some();
    let current = engine::smtp_settings(state).await?;
    Ok(match current {
        Some(s) => SmtpView {
            form: SmtpForm {
                host: s.host.clone(),
                port: s.port,
                tls: tls_name(s.tls).into(),
                username: s.username.clone().unwrap_or_default(),
                password: None,
                from: s.from.clone(),
            },
            has_password: s.password.is_some(),
            from_config,
            configured: true,
        },
        None => SmtpView {
            form: SmtpForm {
                port: 587,
                tls: "starttls".into(),
                ..SmtpForm::default()
            },
            has_password: false,
            from_config,
            configured: false,
        },
    })
}

fn smtp_of(form: &SmtpForm, keep_password: Option<String>) -> Result<SmtpSettings, AppError> {
    let host = form.host.trim().to_string();
    if host.is_empty() || host.contains(['\r', '\n', ' ', '/']) {
        return Err(AppError::field(
            "host",
            "Enter the SMTP server's host name.",
        ));
    }
    if form.port == 0 {
        return Err(AppError::field(
            "port",
            "Enter a port (587 for STARTTLS, 465 for TLS).",
        ));
    }
    let tls = match form.tls.as_str() {
        "none" => SmtpTls::None,
        "starttls" => SmtpTls::Starttls,
        "tls" => SmtpTls::Tls,
        _ => return Err(AppError::field("tls", "Choose STARTTLS, TLS or none.")),
    };
    let from = form.from.trim().to_string();
    if from.parse::<lettre::message::Mailbox>().is_err() || from.contains(['\r', '\n']) {
        return Err(AppError::field(
            "from",
            "Enter the sender as an address, e.g. Sightline <alerts@example.com>.",
        ));
    }
    let password = match &form.password {
        None => keep_password,
        Some(p) if p.is_empty() => None,
        Some(p) => Some(p.clone()),
    };
    Ok(SmtpSettings {
        host,
        port: form.port,
        tls,
        username: Some(form.username.trim().to_string()).filter(|u| !u.is_empty()),
        password,
        from,
        timeout: Duration::from_secs(30),
    })
}

#[derive(serde::Serialize)]
struct StoredSmtp<'a> {
    host: &'a str,
    port: u16,
    tls: SmtpTls,
    username: &'a Option<String>,
    password: &'a Option<String>,
    from: &'a str,
    timeout: Duration,
}

pub async fn save_smtp(
    state: &AppState,
    me: &Principal,
    form: SmtpForm,
) -> Result<SmtpView, AppError> {
    me.require(Permission::ManageUsers)?;
    if state.settings.alerts.smtp.is_some() {
        return Err(AppError::Conflict(
            "SMTP is set in the server's configuration (SIGHTLINE_SMTP_*); change it there.".into(),
        ));
    }
    let stored = engine::smtp_settings(state).await?;
    // The stored password goes only to the server it was entered for.
    let same_server = |old: &SmtpSettings| {
        old.host.eq_ignore_ascii_case(form.host.trim())
            && old.port == form.port
            && old.username.as_deref().unwrap_or("") == form.username.trim()
            && tls_name(old.tls) == form.tls
    };
    let keep = match stored {
        Some(old) if old.password.is_some() && form.password.is_none() && !same_server(&old) => {
            return Err(AppError::field(
                "password",
                "Enter the password again: the stored password is kept only while the host, \
                 port, username and security stay the same.",
            ));
        }
        Some(old) => old.password,
        None => None,
    };
    let s = smtp_of(&form, keep)?;
    let json = serde_json::to_string(&StoredSmtp {
        host: &s.host,
        port: s.port,
        tls: s.tls,
        username: &s.username,
        password: &s.password,
        from: &s.from,
        timeout: s.timeout,
    })
    .map_err(crate::error::internal)?;
    set_setting(&state.db, SMTP_KEY, &state.secrets.seal(&json, SMTP_SEAL)).await?;
    get_smtp(state, me).await
}

/// Sends a test email to `to` with the settings in effect.
pub async fn test_smtp(
    state: &AppState,
    me: &Principal,
    to: String,
) -> Result<TestReport, AppError> {
    me.require(Permission::ManageUsers)?;
    let ctx: DeliveryContext = engine::delivery_context(state).await?;
    if ctx.smtp.is_none() {
        return Err(AppError::Conflict("Save the SMTP settings first.".into()));
    }
    let channel = ChannelConfig::Email {
        to: vec![to.trim().to_string()],
        subject: None,
    };
    channel
        .validate(&ctx.outbound)
        .map_err(|e| AppError::field("test_to", channel_problem(&e)))?;
    let link = Some(state.settings.public_url.clone()).filter(|u| !u.is_empty());
    let r = channels::send(&channel, &Message::test("SMTP settings", link), &ctx).await;
    Ok(report_of(r.map(|_| ()), to.trim()))
}
