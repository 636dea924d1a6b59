//! Email through the server's SMTP settings: recipients, subject template, the plain and
//! HTML parts, and the SMTP conversation.
use super::*;

/// Recipients one email channel may have.
pub const MAX_RECIPIENTS: usize = 50;

/// The subject used when a channel has none.
pub const DEFAULT_SUBJECT: &str = "[Sightline] {{alert}}: {{state}}";

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

pub(super) fn default_smtp_timeout() -> Duration {
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

pub(super) fn parse_mailbox(what: &str, raw: &str) -> Result<Mailbox, ChannelError> {
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

pub(super) fn html_escape(s: &str) -> String {
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

pub(super) fn smtp_error(e: lettre::transport::smtp::Error) -> ChannelError {
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

pub(super) async fn send_email(
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
