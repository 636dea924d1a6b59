//! Slack incoming webhooks: the mrkdwn text of a message and its delivery.
use super::*;

/// Slack mrkdwn: `&`, `<` and `>` are control characters.
pub(super) fn slack_escape(s: &str) -> String {
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

pub(super) async fn send_slack(
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
