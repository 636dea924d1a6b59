//! Signed generic webhooks.
//!
//! # Signature
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
use super::*;

pub const SIGNATURE_HEADER: &str = "x-sightline-signature";

pub const TIMESTAMP_HEADER: &str = "x-sightline-timestamp";

pub const EVENT_HEADER: &str = "x-sightline-event";

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

pub(super) async fn send_webhook(
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
