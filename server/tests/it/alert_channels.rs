//! Alert delivery channels end to end on loopback: email through a real SMTP conversation,
//! Slack and signed webhooks to a local receiver, and the outbound guard (SSRF refusals,
//! pinning, no redirects), header injection and retry classification.
use app::server::alerts::{
    channels::{
        send, ChannelConfig, ChannelError, DeliveryContext, Message, SmtpSettings, SmtpTls,
        TableExcerpt, Transition, SIGNATURE_HEADER, TIMESTAMP_HEADER,
    },
    outbound::OutboundPolicy,
};
use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Router,
};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

const SLACK_PATH: &str = "/services/T0SECRET/B0SECRET/xoxSECRETtoken";

fn message() -> Message {
    Message {
        alert: "Daily revenue <EU>".into(),
        transition: Transition::Firing,
        value: Some("1200.50".into()),
        excerpt: Some(TableExcerpt::new(
            vec!["region".into(), "revenue".into()],
            vec![
                vec!["eu-west".into(), "1200.50".into()],
                vec!["us-east".into(), "980.00".into()],
                vec!["<script>".into(), "0".into()],
            ],
            10,
        )),
        link: Some("https://sightline.example/alerts/7".into()),
        at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

fn loopback_policy() -> OutboundPolicy {
    OutboundPolicy {
        allow_hosts: vec!["127.0.0.1".into()],
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
    }
}

fn ctx(policy: OutboundPolicy) -> DeliveryContext {
    DeliveryContext {
        outbound: policy,
        smtp: None,
    }
}

// ------------------------------------------------------------------ HTTP receiver

#[derive(Clone, Default)]
struct Hits(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

impl Hits {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn take(&self) -> Vec<(HeaderMap, Bytes)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A loopback HTTP receiver recording every request and answering with `respond()`.
async fn receiver<F>(respond: F) -> (SocketAddr, Hits)
where
    F: Fn() -> Response + Clone + Send + Sync + 'static,
{
    let hits = Hits::default();
    let recorded = hits.clone();
    let app = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let recorded = recorded.clone();
        let respond = respond.clone();
        async move {
            recorded.0.lock().unwrap().push((headers, body));
            respond()
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

fn ok_response() -> Response {
    (StatusCode::OK, "ok").into_response()
}

// ------------------------------------------------------------------ SMTP server

#[derive(Debug, Clone, Default)]
struct Mail {
    from: String,
    rcpt: Vec<String>,
    data: String,
}

#[derive(Clone, Default)]
struct Mailbox {
    mails: Arc<Mutex<Vec<Mail>>>,
    connections: Arc<Mutex<usize>>,
}

/// A tiny SMTP server on loopback: EHLO/HELO, MAIL, RCPT (answered with `rcpt_reply`),
/// DATA (dot-unstuffed), RSET, NOOP, QUIT.
async fn smtp_server(rcpt_reply: &'static str) -> (SocketAddr, Mailbox) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mailbox = Mailbox::default();
    let shared = mailbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            *shared.connections.lock().unwrap() += 1;
            let shared = shared.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r);
                let mut mail = Mail::default();
                w.write_all(b"220 test.local ESMTP ready\r\n")
                    .await
                    .unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250-test.local greets you\r\n250 HELP\r\n".into()
                    } else if upper.starts_with("MAIL FROM:") {
                        mail.from = line[10..].trim().to_string();
                        "250 OK\r\n".into()
                    } else if upper.starts_with("RCPT TO:") {
                        mail.rcpt.push(line[8..].trim().to_string());
                        format!("{rcpt_reply}\r\n")
                    } else if upper.starts_with("DATA") {
                        w.write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                            .await
                            .unwrap();
                        let mut data = String::new();
                        loop {
                            let mut l = String::new();
                            if lines.read_line(&mut l).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if l == ".\r\n" {
                                break;
                            }
                            data.push_str(l.strip_prefix('.').unwrap_or(&l));
                        }
                        mail.data = data;
                        shared.mails.lock().unwrap().push(std::mem::take(&mut mail));
                        "250 OK queued\r\n".into()
                    } else if upper.starts_with("RSET") {
                        mail = Mail::default();
                        "250 OK\r\n".into()
                    } else if upper.starts_with("NOOP") {
                        "250 OK\r\n".into()
                    } else if upper.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        "502 not implemented\r\n".into()
                    };
                    if w.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, mailbox)
}

fn smtp_settings(addr: SocketAddr) -> SmtpSettings {
    SmtpSettings {
        host: addr.ip().to_string(),
        port: addr.port(),
        tls: SmtpTls::None,
        username: None,
        password: Some("smtp-pa55word".into()),
        from: "Sightline <alerts@sightline.example>".into(),
        timeout: Duration::from_secs(5),
    }
}

fn email_ctx(addr: SocketAddr) -> DeliveryContext {
    DeliveryContext {
        outbound: OutboundPolicy::default(),
        smtp: Some(smtp_settings(addr)),
    }
}

/// Undoes quoted-printable soft breaks and escapes, in case a part was encoded that way.
fn unqp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.map(|h| u8::from_str_radix(h, 16)) {
            Some(Ok(v)) if b[i] == b'=' => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ------------------------------------------------------------------ email

#[tokio::test]
async fn email_goes_through_a_real_smtp_conversation_with_both_parts_and_the_table() {
    let (addr, mailbox) = smtp_server("250 OK").await;
    let channel = ChannelConfig::Email {
        to: vec!["Ops <ops@example.com>".into(), "oncall@example.com".into()],
        subject: Some("ALERT {{alert}} is {{state}}".into()),
    };
    channel.validate(&OutboundPolicy::default()).unwrap();
    let receipt = send(&channel, &message(), &email_ctx(addr)).await.unwrap();
    assert_eq!(receipt.recipients, 2);
    assert_eq!(receipt.status, Some(250));

    let mails = mailbox.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "one message delivered");
    let mail = &mails[0];
    assert_eq!(mail.from, "<alerts@sightline.example>");
    assert_eq!(
        mail.rcpt,
        vec![
            "<ops@example.com>".to_string(),
            "<oncall@example.com>".to_string()
        ]
    );
    let data = unqp(&mail.data);
    assert!(
        data.contains("Subject: ALERT Daily revenue <EU> is Firing"),
        "{data}"
    );
    assert!(data.contains("From: Sightline <alerts@sightline.example>"));
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(data.contains("Content-Type: text/html; charset=utf-8"));
    // Plain part: a monospace table.
    assert!(data.contains("region   | revenue"), "{data}");
    assert!(data.contains("eu-west  | 1200.50"), "{data}");
    // HTML part: an escaped table.
    assert!(data.contains("<th>region</th><th>revenue</th>"), "{data}");
    assert!(data.contains("<td>eu-west</td><td>1200.50</td>"), "{data}");
    assert!(data.contains("<td>&lt;script&gt;</td>"), "{data}");
    assert!(
        !data.contains("<td><script>"),
        "data must be escaped in HTML"
    );
    assert!(data.contains("<h2>Daily revenue &lt;EU&gt; is Firing</h2>"));
    assert!(data.contains("href=\"https://sightline.example/alerts/7\""));
    assert!(!data.contains("smtp-pa55word"));
}

#[tokio::test]
async fn email_subject_or_recipient_with_crlf_is_refused_before_any_connection() {
    let (addr, mailbox) = smtp_server("250 OK").await;
    let cases = [
        ChannelConfig::Email {
            to: vec!["ops@example.com".into()],
            subject: Some("Alert\r\nBcc: victim@example.com".into()),
        },
        ChannelConfig::Email {
            to: vec!["ops@example.com".into()],
            subject: Some("Alert\nX-Injected: 1".into()),
        },
        ChannelConfig::Email {
            to: vec!["ops@example.com\r\nBcc: victim@example.com".into()],
            subject: None,
        },
        ChannelConfig::Email {
            to: vec!["Ops\n <ops@example.com>".into()],
            subject: None,
        },
    ];
    for channel in cases {
        let saved = channel.validate(&OutboundPolicy::default());
        assert!(
            matches!(&saved, Err(ChannelError::Config(m)) if m.contains("line break")),
            "{channel:?}: {saved:?}"
        );
        let sent = send(&channel, &message(), &email_ctx(addr)).await;
        assert!(
            matches!(&sent, Err(ChannelError::Config(m)) if m.contains("line break")),
            "{channel:?}: {sent:?}"
        );
    }
    // An alert name carrying a line break can't smuggle a header either.
    let mut m = message();
    m.alert = "Revenue\r\nBcc: victim@example.com".into();
    let channel = ChannelConfig::Email {
        to: vec!["ops@example.com".into()],
        subject: None,
    };
    let sent = send(&channel, &m, &email_ctx(addr)).await;
    assert!(matches!(sent, Err(ChannelError::Config(_))), "{sent:?}");
    // A sender (from) with CR/LF in the server settings is refused too.
    let mut ctx = email_ctx(addr);
    ctx.smtp.as_mut().unwrap().from = "alerts@sightline.example\r\nBcc: v@example.com".into();
    let sent = send(&channel, &message(), &ctx).await;
    assert!(
        matches!(&sent, Err(ChannelError::Config(m)) if m.contains("from")),
        "{sent:?}"
    );
    assert_eq!(*mailbox.connections.lock().unwrap(), 0, "nothing was sent");
}

#[tokio::test]
async fn email_with_a_bad_mailbox_or_no_recipient_is_refused() {
    let (addr, mailbox) = smtp_server("250 OK").await;
    for to in [
        vec!["not an address".to_string()],
        vec!["ops@example.com".into(), "@nope".into()],
        vec!["ops@".into()],
        vec![],
    ] {
        let channel = ChannelConfig::Email {
            to: to.clone(),
            subject: None,
        };
        assert!(
            matches!(
                channel.validate(&OutboundPolicy::default()),
                Err(ChannelError::Config(_))
            ),
            "{to:?}"
        );
        let sent = send(&channel, &message(), &email_ctx(addr)).await;
        assert!(
            matches!(sent, Err(ChannelError::Config(_))),
            "{to:?}: {sent:?}"
        );
    }
    // No SMTP settings on the server: a clear configuration error.
    let channel = ChannelConfig::Email {
        to: vec!["ops@example.com".into()],
        subject: None,
    };
    let sent = send(&channel, &message(), &ctx(OutboundPolicy::default())).await;
    assert!(
        matches!(&sent, Err(ChannelError::Config(m)) if m.contains("SMTP")),
        "{sent:?}"
    );
    assert_eq!(*mailbox.connections.lock().unwrap(), 0);
}

#[tokio::test]
async fn smtp_rejections_are_typed_550_permanent_451_retryable() {
    let channel = ChannelConfig::Email {
        to: vec!["ops@example.com".into()],
        subject: None,
    };
    let (addr, _) = smtp_server("550 5.1.1 no such user").await;
    let sent = send(&channel, &message(), &email_ctx(addr)).await;
    assert!(
        matches!(&sent, Err(ChannelError::Permanent(m)) if m.contains("550")),
        "{sent:?}"
    );
    let (addr, _) = smtp_server("451 4.3.0 try again later").await;
    let sent = send(&channel, &message(), &email_ctx(addr)).await;
    assert!(matches!(&sent, Err(e) if e.is_retryable()), "{sent:?}");
    // Nobody listening: a network failure, retryable.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = closed.local_addr().unwrap();
    drop(closed);
    let sent = send(&channel, &message(), &email_ctx(gone)).await;
    assert!(matches!(&sent, Err(e) if e.is_retryable()), "{sent:?}");
}

// ------------------------------------------------------------------ Slack and webhook

#[tokio::test]
async fn slack_message_reaches_an_allow_listed_receiver() {
    let (addr, hits) = receiver(ok_response).await;
    let channel = ChannelConfig::Slack {
        url: format!("http://{addr}{SLACK_PATH}"),
    };
    channel.validate(&loopback_policy()).unwrap();
    let receipt = send(&channel, &message(), &ctx(loopback_policy()))
        .await
        .unwrap();
    assert_eq!(receipt.status, Some(200));

    let got = hits.take();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    assert_eq!(headers["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    let text = json["text"].as_str().unwrap();
    assert!(
        text.contains("*Daily revenue &lt;EU&gt;* is *Firing*"),
        "{text}"
    );
    assert!(text.contains("Value: 1200.50"), "{text}");
    assert!(
        text.contains("```\nregion   | revenue\n---------+--------\neu-west  | 1200.50\n"),
        "{text}"
    );
    assert!(text.contains("&lt;script&gt;"), "{text}");
    assert!(
        text.contains("<https://sightline.example/alerts/7|Open in Sightline>"),
        "{text}"
    );
}

#[tokio::test]
async fn webhook_body_is_signed_with_hmac_over_timestamp_and_body() {
    let (addr, hits) = receiver(ok_response).await;
    let secret = "whsec-correct-horse";
    let channel = ChannelConfig::Webhook {
        url: format!("http://{addr}/hooks/sightline"),
        secret: Some(secret.into()),
    };
    channel.validate(&loopback_policy()).unwrap();
    let receipt = send(&channel, &message(), &ctx(loopback_policy()))
        .await
        .unwrap();
    assert_eq!(receipt.status, Some(200));

    let got = hits.take();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    let ts = headers[TIMESTAMP_HEADER].to_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now - ts.parse::<i64>().unwrap()).abs() < 60,
        "fresh timestamp"
    );
    let sig = headers[SIGNATURE_HEADER].to_str().unwrap();
    assert_eq!(
        sig,
        crate::common::webhook_signature(secret, ts, body),
        "HMAC verifies with the secret"
    );
    assert_ne!(
        sig,
        crate::common::webhook_signature("wrong secret", ts, body)
    );
    // The timestamp is part of the signed content: a replay with a new timestamp fails.
    assert_ne!(
        sig,
        crate::common::webhook_signature(secret, &(now + 600).to_string(), body)
    );
    assert_eq!(headers["x-sightline-event"], "firing");

    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["alert"], "Daily revenue <EU>");
    assert_eq!(json["state"], "firing");
    assert_eq!(json["value"], "1200.50");
    assert_eq!(
        json["excerpt"]["columns"],
        serde_json::json!(["region", "revenue"])
    );
    assert_eq!(
        json["excerpt"]["rows"][0],
        serde_json::json!(["eu-west", "1200.50"])
    );
    assert_eq!(json["link"], "https://sightline.example/alerts/7");
    assert_eq!(json["at"], "2023-11-14T22:13:20Z");
    assert!(!String::from_utf8_lossy(body).contains(secret));

    // Without a secret: delivered, unsigned.
    let unsigned = ChannelConfig::Webhook {
        url: format!("http://{addr}/hooks/sightline"),
        secret: None,
    };
    send(&unsigned, &message(), &ctx(loopback_policy()))
        .await
        .unwrap();
    let got = hits.take();
    assert!(got[0].0.get(SIGNATURE_HEADER).is_none());
    assert!(got[0].0.get(TIMESTAMP_HEADER).is_some());
}

// ------------------------------------------------------------------ outbound guard

#[tokio::test]
async fn outbound_refuses_loopback_private_metadata_and_mapped_addresses() {
    let (addr, hits) = receiver(ok_response).await;
    let port = addr.port();
    let strict = OutboundPolicy {
        allow_hosts: vec![],
        ..loopback_policy()
    };
    // Even with the receiver's own address allowed, other spellings and metadata stay refused.
    let allowing = OutboundPolicy {
        allow_hosts: vec![
            "127.0.0.1".into(),
            "169.254.169.254".into(),
            "100.100.100.200".into(),
            "fd00:ec2::254".into(),
        ],
        ..loopback_policy()
    };
    let refused_everywhere = [
        format!("https://169.254.169.254:{port}/latest/meta-data/"),
        format!("http://169.254.169.254:{port}/latest/meta-data/"),
        format!("https://[::ffff:169.254.169.254]:{port}/"),
        format!("https://[fd00:ec2::254]:{port}/"),
        format!("https://100.100.100.200:{port}/"),
        format!("https://0.0.0.0:{port}/"),
        format!("https://[::]:{port}/"),
        format!("https://224.0.0.1:{port}/"),
        format!("https://[fe80::1]:{port}/"),
        format!("https://10.0.0.1:{port}/"),
        format!("https://192.168.1.1:{port}/"),
        format!("https://100.64.0.1:{port}/"),
        format!("https://[fd12::1]:{port}/"),
        format!("https://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("https://[64:ff9b::7f00:1]:{port}/"),
        format!("https://[2002:7f00:1::1]:{port}/"),
        format!("https://[::1]:{port}/"),
        format!("https://localhost:{port}/"),
        format!("http://localhost:{port}/"),
        format!("https://LOCALHOST.:{port}/"),
    ];
    let refused_when_strict = [
        format!("http://127.0.0.1:{port}/"),
        format!("https://127.0.0.1:{port}/"),
        format!("https://0x7f.1:{port}/"),
        format!("https://2130706433:{port}/"),
        format!("https://0177.0.0.1:{port}/"),
    ];
    for (policy, urls) in [
        (
            &strict,
            refused_everywhere
                .iter()
                .chain(&refused_when_strict)
                .collect::<Vec<_>>(),
        ),
        (&allowing, refused_everywhere.iter().collect()),
    ] {
        for url in urls {
            for channel in [
                ChannelConfig::Webhook {
                    url: url.clone(),
                    secret: Some("s".into()),
                },
                ChannelConfig::Slack { url: url.clone() },
            ] {
                let sent = send(&channel, &message(), &ctx(policy.clone())).await;
                assert!(
                    matches!(&sent, Err(ChannelError::Refused(_))),
                    "{url} must be refused under {:?}: {sent:?}",
                    policy.allow_hosts
                );
                assert!(!sent.unwrap_err().is_retryable());
                // Names are judged once resolved; every address literal already at save.
                let named = url.to_ascii_lowercase().contains("localhost");
                assert!(
                    channel.validate(policy).is_err() || named,
                    "{url} passed save"
                );
            }
        }
    }
    assert_eq!(hits.count(), 0, "the receiver was never reached");
    // The same receiver is reachable by its allow-listed spelling only.
    let ok = ChannelConfig::Webhook {
        url: format!("http://127.0.0.1:{port}/"),
        secret: None,
    };
    send(&ok, &message(), &ctx(allowing)).await.unwrap();
    assert_eq!(hits.count(), 1);
}

#[tokio::test]
async fn bad_url_forms_are_config_errors_at_save() {
    for url in [
        "ftp://hooks.slack.com/services/x",
        "file:///etc/passwd",
        "https://user:pass@hooks.slack.com/services/x",
        "https://hooks.slack.com\r\n/services/x",
        "not a url",
        "",
    ] {
        let channel = ChannelConfig::Slack { url: url.into() };
        assert!(
            matches!(
                channel.validate(&OutboundPolicy::default()),
                Err(ChannelError::Config(_))
            ),
            "{url:?}"
        );
    }
}

#[tokio::test]
async fn slack_url_must_be_on_slack_host() {
    let (addr, hits) = receiver(ok_response).await;
    let policy = OutboundPolicy::default();
    for url in [
        "https://example.com/services/T0/B0/x".to_string(),
        "https://hooks.slack.com.evil.example/services/T0/B0/x".into(),
        "https://evil.example/hooks.slack.com/services/x".into(),
        "http://hooks.slack.com/services/T0/B0/x".into(),
    ] {
        let channel = ChannelConfig::Slack { url: url.clone() };
        assert!(
            matches!(channel.validate(&policy), Err(ChannelError::Refused(_))),
            "{url}"
        );
        let sent = send(&channel, &message(), &ctx(policy.clone())).await;
        assert!(
            matches!(sent, Err(ChannelError::Refused(_))),
            "{url}: {sent:?}"
        );
    }
    assert!(ChannelConfig::Slack {
        url: "https://hooks.slack.com/services/T0/B0/x".into()
    }
    .validate(&policy)
    .is_ok());
    // A webhook may go to any public https host, but not a Slack channel to a random one.
    assert!(ChannelConfig::Webhook {
        url: "https://example.com/services/T0/B0/x".into(),
        secret: None,
    }
    .validate(&policy)
    .is_ok());
    // A loopback "Slack" is only possible because 127.0.0.1 is allow-listed.
    let slack = ChannelConfig::Slack {
        url: format!("http://{addr}{SLACK_PATH}"),
    };
    assert!(slack.validate(&policy).is_err());
    assert!(slack.validate(&loopback_policy()).is_ok());
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (second, second_hits) = receiver(ok_response).await;
    let location = format!("http://{second}/landing");
    let (first, first_hits) = receiver(move || {
        (
            StatusCode::FOUND,
            [(axum::http::header::LOCATION, location.clone())],
            "",
        )
            .into_response()
    })
    .await;
    for channel in [
        ChannelConfig::Webhook {
            url: format!("http://{first}/hook"),
            secret: Some("s".into()),
        },
        ChannelConfig::Slack {
            url: format!("http://{first}{SLACK_PATH}"),
        },
    ] {
        let sent = send(&channel, &message(), &ctx(loopback_policy())).await;
        assert!(
            matches!(&sent, Err(ChannelError::Permanent(m)) if m.contains("redirect")),
            "{sent:?}"
        );
    }
    assert_eq!(first_hits.count(), 2);
    assert_eq!(
        second_hits.count(),
        0,
        "the redirect target was never requested"
    );
}

#[tokio::test]
async fn status_500_is_retryable_and_400_is_permanent() {
    let (e500, _) = receiver(|| (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()).await;
    let (e400, _) = receiver(|| (StatusCode::BAD_REQUEST, "invalid_payload").into_response()).await;
    let (e404, _) = receiver(|| (StatusCode::NOT_FOUND, "no_service").into_response()).await;
    let (e429, _) = receiver(|| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, "7")],
            "rate_limited",
        )
            .into_response()
    })
    .await;
    let c = ctx(loopback_policy());
    for make in [
        (|a: SocketAddr| ChannelConfig::Webhook {
            url: format!("http://{a}/hook"),
            secret: Some("s".into()),
        }) as fn(SocketAddr) -> ChannelConfig,
        |a| ChannelConfig::Slack {
            url: format!("http://{a}{SLACK_PATH}"),
        },
    ] {
        let r = send(&make(e500), &message(), &c).await.unwrap_err();
        assert!(r.is_retryable(), "{r:?}");
        let r = send(&make(e400), &message(), &c).await.unwrap_err();
        assert!(
            matches!(&r, ChannelError::Permanent(m) if m.contains("400")),
            "{r:?}"
        );
        let r = send(&make(e404), &message(), &c).await.unwrap_err();
        assert!(!r.is_retryable(), "{r:?}");
        let r = send(&make(e429), &message(), &c).await.unwrap_err();
        assert!(r.is_retryable(), "{r:?}");
        assert_eq!(r.retry_after(), Some(Duration::from_secs(7)));
    }
    // Slack's refusal reason is shown (it is Slack's word, not a secret).
    let r = send(
        &ChannelConfig::Slack {
            url: format!("http://{e400}{SLACK_PATH}"),
        },
        &message(),
        &c,
    )
    .await
    .unwrap_err();
    assert!(r.to_string().contains("invalid_payload"), "{r}");
    // Nobody listening: retryable.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = closed.local_addr().unwrap();
    drop(closed);
    let r = send(
        &ChannelConfig::Webhook {
            url: format!("http://{gone}/hook"),
            secret: None,
        },
        &message(),
        &c,
    )
    .await
    .unwrap_err();
    assert!(r.is_retryable(), "{r:?}");
}

#[tokio::test]
async fn errors_and_debug_never_show_secrets() {
    let (e400, _) = receiver(|| (StatusCode::BAD_REQUEST, "invalid_token").into_response()).await;
    let slack = ChannelConfig::Slack {
        url: format!("http://{e400}{SLACK_PATH}"),
    };
    let webhook = ChannelConfig::Webhook {
        url: format!("http://{e400}/hook/path-token-123?key=query-token-456"),
        secret: Some("whsec-do-not-print".into()),
    };
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = closed.local_addr().unwrap();
    drop(closed);
    let unreachable = ChannelConfig::Slack {
        url: format!("http://{gone}{SLACK_PATH}"),
    };
    let refused = ChannelConfig::Slack {
        url: format!("https://10.1.2.3{SLACK_PATH}"),
    };
    let secrets = [
        "SECRET",
        "path-token-123",
        "query-token-456",
        "whsec-do-not-print",
        "smtp-pa55word",
    ];
    let c = ctx(loopback_policy());
    let mut shown = vec![
        format!("{slack:?}"),
        format!("{webhook:?}"),
        format!("{:?}", smtp_settings(gone)),
        format!("{:?}", email_ctx(gone)),
    ];
    for channel in [&slack, &webhook, &unreachable, &refused] {
        let e = send(channel, &message(), &c).await.unwrap_err();
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
    }
    let e = send(
        &ChannelConfig::Email {
            to: vec!["ops@example.com".into()],
            subject: None,
        },
        &message(),
        &email_ctx(gone),
    )
    .await
    .unwrap_err();
    shown.push(format!("{e} {e:?}"));
    for text in &shown {
        for s in secrets {
            assert!(!text.contains(s), "{s} leaked in: {text}");
        }
    }
}
