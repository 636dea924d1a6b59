//! What viewers (and everyone) may do with alerts, over HTTP as the browser calls it:
//! viewers send only to channels marked for everyone, schedules run at most every
//! `--alert-min-interval`, a user owns at most `--alert-max-per-user` alerts, "Evaluate now"
//! is limited per user and minute, and names with control characters are refused. And a
//! stored secret never follows a new destination: a webhook's signing secret and the SMTP
//! password must be entered again when the URL or the server changes.
use crate::common;

use app::{
    error::AppError,
    model::{
        alert::{AlertSummary, ChannelSummary, SmtpView},
        Role,
    },
};
use axum::{body::Bytes, http::HeaderMap, Router};
use common::{spawn_app_on, spawn_app_with, Store, TestApp};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value as Json};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

// ------------------------------------------------------------------------ helpers

fn parse<T: DeserializeOwned>(what: &str, (status, body): (StatusCode, String)) -> T {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

/// The message on `field` of a 400 with field errors.
fn field_message(what: &str, field: &str, (status, body): (StatusCode, String)) -> String {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    let e: AppError = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}"));
    e.field_message(field)
        .unwrap_or_else(|| panic!("{what}: no error on {field}: {body}"))
}

/// An insight (on the local PostgreSQL `test` database) everyone may view.
async fn new_insight(app: &TestApp, admin: &Client) -> i64 {
    let conn: i64 = parse(
        "save_connection",
        app.call(
            admin,
            "save_connection",
            &[
                (
                    "form[name]",
                    &format!("pg {}", uuid::Uuid::new_v4().simple()),
                ),
                ("form[kind]", "postgres"),
                ("form[host]", "127.0.0.1"),
                ("form[port]", "5432"),
                ("form[database]", "test"),
                ("form[user]", "postgres"),
                ("form[ssl_mode]", "disable"),
            ],
        )
        .await,
    );
    let saved: Json = parse(
        "save_insight",
        app.call_json(
            admin,
            "save_insight",
            &json!({"id": null, "base_version": null,
                    "draft": {"name": format!("insight {}", uuid::Uuid::new_v4().simple()),
                              "connection_id": conn, "sql": "select 1 as n"}}),
        )
        .await,
    );
    saved["id"].as_i64().unwrap()
}

/// A webhook receiver that records the signature header of every request.
#[derive(Clone, Default)]
struct Receiver {
    signatures: Arc<Mutex<Vec<Option<String>>>>,
}

impl Receiver {
    async fn start() -> (String, Receiver) {
        let r = Receiver::default();
        let shared = r.clone();
        let app = Router::new().fallback(move |headers: HeaderMap, _body: Bytes| {
            let r = shared.clone();
            async move {
                r.signatures.lock().unwrap().push(
                    headers
                        .get("x-sightline-signature")
                        .and_then(|v| v.to_str().ok())
                        .map(String::from),
                );
                "ok"
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://127.0.0.1:{}/hook", addr.port()), r)
    }

    fn count(&self) -> usize {
        self.signatures.lock().unwrap().len()
    }
}

async fn channel(app: &TestApp, c: &Client, name: &str, for_everyone: bool) -> ChannelSummary {
    let (url, _) = Receiver::start().await;
    parse(
        "create_channel",
        app.call_json(
            c,
            "create_channel",
            &json!({"draft": {"kind": "webhook", "name": name, "url": url, "secret": "",
                              "for_everyone": for_everyone}}),
        )
        .await,
    )
}

fn draft(insight: i64, name: &str, cron: &str, channels: &[i64]) -> Json {
    json!({
        "insight_id": insight, "name": name, "rule": {"kind": "any_rows"},
        "cron": cron, "timezone": "UTC", "channels": channels
    })
}

async fn save_alert(app: &TestApp, c: &Client, d: Json) -> (StatusCode, String) {
    app.call_json(c, "save_alert", &json!({"id": null, "draft": d}))
        .await
}

// -------------------------------------------------------------------------- tests

/// Viewers list, and their alerts send to, only channels an editor marked for everyone;
/// editors see every channel and may open one to everyone later.
#[tokio::test]
async fn viewers_use_only_channels_marked_for_everyone() {
    for store in [Store::Sqlite, Store::Postgres] {
        let app = spawn_app_on(store).await;
        let (admin, _) = app.signed_in(Role::Admin).await;
        let (editor, _) = app.signed_in(Role::Editor).await;
        let (viewer, _) = app.signed_in(Role::Viewer).await;
        let insight = new_insight(&app, &admin).await;
        let private = channel(&app, &editor, "team only", false).await;
        let open = channel(&app, &editor, "everyone", true).await;
        assert!(!private.for_everyone && open.for_everyone);

        let seen: Vec<ChannelSummary> = parse(
            "list_channels as viewer",
            app.call_json(&viewer, "list_channels", &json!({})).await,
        );
        assert_eq!(
            seen.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["everyone"],
            "{store:?}"
        );
        let all: Vec<ChannelSummary> = parse(
            "list_channels as editor",
            app.call_json(&editor, "list_channels", &json!({})).await,
        );
        assert_eq!(all.len(), 2, "{store:?}");

        let message = field_message(
            "a viewer's alert to a private channel",
            "channels",
            save_alert(
                &app,
                &viewer,
                draft(insight, "mine", "*/5 * * * *", &[private.id.0]),
            )
            .await,
        );
        assert!(
            message.contains("team only") && message.contains("not open to everyone"),
            "{message}"
        );
        let ok: AlertSummary = parse(
            "a viewer's alert to an open channel",
            save_alert(
                &app,
                &viewer,
                draft(insight, "mine", "*/5 * * * *", &[open.id.0]),
            )
            .await,
        );
        assert_eq!(ok.channels, ["everyone"]);
        // Editors may send anywhere.
        let _: AlertSummary = parse(
            "an editor's alert to a private channel",
            save_alert(
                &app,
                &editor,
                draft(insight, "theirs", "*/5 * * * *", &[private.id.0]),
            )
            .await,
        );
        // An editor opens the private channel; the flag survives an edit that leaves the
        // URL and secret empty.
        let updated: ChannelSummary = parse(
            "update_channel",
            app.call_json(
                &editor,
                "update_channel",
                &json!({"id": private.id, "draft": {"kind": "webhook", "name": "team only",
                        "url": "", "secret": "", "for_everyone": true}}),
            )
            .await,
        );
        assert!(updated.for_everyone);
        let seen: Vec<ChannelSummary> = parse(
            "list_channels as viewer",
            app.call_json(&viewer, "list_channels", &json!({})).await,
        );
        assert_eq!(seen.len(), 2, "{store:?}");
        // Viewers still cannot create or change channels.
        let (status, _) = app
            .call_json(
                &viewer,
                "create_channel",
                &json!({"draft": {"kind": "webhook", "name": "v", "url": "http://127.0.0.1:9/x",
                                  "secret": "", "for_everyone": true}}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        app.cleanup().await;
    }
}

/// A schedule firing closer than the minimum interval is refused on the cron field, for
/// viewers and editors alike; the minimum is a setting.
#[tokio::test]
async fn schedules_closer_than_the_minimum_interval_are_refused() {
    let app = spawn_app_on(Store::Sqlite).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let insight = new_insight(&app, &admin).await;
    let open = channel(&app, &admin, "everyone", true).await;
    for (who, c) in [("viewer", &viewer), ("admin", &admin)] {
        // Every minute, every 2 minutes, twice a day a minute apart, :59 then :00.
        for cron in ["* * * * *", "*/2 * * * *", "0,1 9 * * *", "0,59 * * * *"] {
            let message = field_message(
                cron,
                "cron",
                save_alert(&app, c, draft(insight, "often", cron, &[open.id.0])).await,
            );
            assert!(
                message.contains("at most every 5 minutes")
                    && message.contains("SIGHTLINE_ALERT_MIN_INTERVAL"),
                "{who} {cron}: {message}"
            );
        }
        let _: AlertSummary = parse(
            "every 5 minutes",
            save_alert(&app, c, draft(insight, "ok", "*/5 * * * *", &[open.id.0])).await,
        );
    }
    app.cleanup().await;

    let app = spawn_app_with(Store::Sqlite, |a| a.engine.alerts.alert_min_interval = 60).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let insight = new_insight(&app, &admin).await;
    let open = channel(&app, &admin, "everyone", true).await;
    let message = field_message(
        "every 5 minutes with a 60-minute minimum",
        "cron",
        save_alert(
            &app,
            &admin,
            draft(insight, "x", "*/5 * * * *", &[open.id.0]),
        )
        .await,
    );
    assert!(message.contains("5 minutes apart"), "{message}");
    assert!(message.contains("at most every 60 minutes"), "{message}");
    let _: AlertSummary = parse(
        "hourly",
        save_alert(&app, &admin, draft(insight, "x", "0 * * * *", &[open.id.0])).await,
    );
    app.cleanup().await;
}

/// A user owns at most `--alert-max-per-user` alerts; others are not affected.
#[tokio::test]
async fn a_user_owns_at_most_the_configured_number_of_alerts() {
    let app = spawn_app_with(Store::Sqlite, |a| a.engine.alerts.alert_max_per_user = 2).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let insight = new_insight(&app, &admin).await;
    let open = channel(&app, &admin, "everyone", true).await;
    for i in 0..2 {
        let _: AlertSummary = parse(
            "within the limit",
            save_alert(
                &app,
                &viewer,
                draft(insight, &format!("a{i}"), "*/5 * * * *", &[open.id.0]),
            )
            .await,
        );
    }
    let (status, body) = save_alert(
        &app,
        &viewer,
        draft(insight, "a3", "*/5 * * * *", &[open.id.0]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("You have 2 alerts") && body.contains("SIGHTLINE_ALERT_MAX_PER_USER"),
        "{body}"
    );
    // Someone else still may.
    let _: AlertSummary = parse(
        "another user",
        save_alert(
            &app,
            &admin,
            draft(insight, "b", "*/5 * * * *", &[open.id.0]),
        )
        .await,
    );
    app.cleanup().await;
}

/// "Evaluate now" is limited per user and minute, with a 429 that says when to try again.
#[tokio::test]
async fn evaluate_now_is_rate_limited_per_user() {
    let app = spawn_app_with(Store::Sqlite, |a| {
        a.engine.alerts.alert_evaluate_per_minute = 3
    })
    .await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let insight = new_insight(&app, &admin).await;
    let open = channel(&app, &admin, "everyone", true).await;
    let alert: AlertSummary = parse(
        "save_alert",
        save_alert(
            &app,
            &viewer,
            draft(insight, "a", "*/5 * * * *", &[open.id.0]),
        )
        .await,
    );
    let evaluate = |c: &Client| {
        let (app, c) = (&app, c.clone());
        async move {
            app.call_json(&c, "evaluate_alert", &json!({"id": alert.id}))
                .await
        }
    };
    for _ in 0..3 {
        let (status, body) = evaluate(&viewer).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = evaluate(&viewer).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let e: AppError = serde_json::from_str(&body).unwrap();
    let AppError::RateLimited(wait) = e else {
        panic!("{body}")
    };
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(e.to_string().contains("Try again in"), "{e}");
    // The limit is per user.
    let (status, body) = evaluate(&admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.cleanup().await;
}

/// Alert and channel names with control characters are refused on the name field.
#[tokio::test]
async fn names_with_control_characters_are_refused() {
    let app = spawn_app_on(Store::Sqlite).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let insight = new_insight(&app, &admin).await;
    let open = channel(&app, &admin, "everyone", true).await;
    for bad in [
        "two\nlines",
        "tab\there",
        "bell\u{7}",
        "esc\u{1b}[31mred",
        "nel\u{85}x",
    ] {
        let message = field_message(
            &format!("alert {bad:?}"),
            "name",
            save_alert(
                &app,
                &viewer,
                draft(insight, bad, "*/5 * * * *", &[open.id.0]),
            )
            .await,
        );
        assert!(message.contains("control characters"), "{message}");
        let message = field_message(
            &format!("channel {bad:?}"),
            "name",
            app.call_json(
                &admin,
                "create_channel",
                &json!({"draft": {"kind": "email", "name": bad, "to": "a@example.com"}}),
            )
            .await,
        );
        assert!(message.contains("control characters"), "{message}");
        let message = field_message(
            &format!("renamed channel {bad:?}"),
            "name",
            app.call_json(
                &admin,
                "update_channel",
                &json!({"id": open.id, "draft": {"kind": "webhook", "name": bad, "url": "",
                                                 "secret": ""}}),
            )
            .await,
        );
        assert!(message.contains("control characters"), "{message}");
    }
    // Ordinary names with accents and symbols pass.
    let _: AlertSummary = parse(
        "a plain name",
        save_alert(
            &app,
            &viewer,
            draft(insight, "Ventes — été ≥ 5 %", "*/5 * * * *", &[open.id.0]),
        )
        .await,
    );
    app.cleanup().await;
}

/// Repointing a signed webhook without its secret is refused on the secret field and the
/// channel keeps sending (signed) to the old URL; with the secret it moves.
#[tokio::test]
async fn a_new_webhook_url_needs_the_signing_secret_again() {
    let app = spawn_app_on(Store::Sqlite).await;
    let (editor, _) = app.signed_in(Role::Editor).await;
    let (old_url, old) = Receiver::start().await;
    let (new_url, new) = Receiver::start().await;
    let c: ChannelSummary = parse(
        "create_channel",
        app.call_json(
            &editor,
            "create_channel",
            &json!({"draft": {"kind": "webhook", "name": "signed", "url": old_url, "secret": "0ld-s3cret"}}),
        )
        .await,
    );
    let update = |draft: Json| {
        let (app, editor) = (&app, editor.clone());
        async move {
            app.call_json(
                &editor,
                "update_channel",
                &json!({"id": c.id, "draft": draft}),
            )
            .await
        }
    };
    let send_test = || {
        let (app, editor) = (&app, editor.clone());
        async move {
            let (status, body) = app
                .call_json(&editor, "test_channel", &json!({"id": c.id}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    };
    let message = field_message(
        "a new URL without the secret",
        "secret",
        update(json!({"kind": "webhook", "name": "signed", "url": new_url, "secret": ""})).await,
    );
    assert!(message.contains("signing secret again"), "{message}");
    send_test().await;
    assert_eq!((old.count(), new.count()), (1, 0), "the old URL is kept");
    assert!(old.signatures.lock().unwrap()[0].is_some());
    // The same URL typed again keeps the secret.
    let (status, body) =
        update(json!({"kind": "webhook", "name": "signed", "url": old_url, "secret": ""})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // With the secret, the channel moves.
    let (status, body) = update(
        json!({"kind": "webhook", "name": "signed", "url": new_url, "secret": "n3w-s3cret"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    send_test().await;
    assert_eq!((old.count(), new.count()), (1, 1));
    assert!(new.signatures.lock().unwrap()[0].is_some());
    // A webhook without a secret has nothing to carry: its URL changes freely.
    let plain: ChannelSummary = parse(
        "create_channel",
        app.call_json(
            &editor,
            "create_channel",
            &json!({"draft": {"kind": "webhook", "name": "plain", "url": old_url, "secret": ""}}),
        )
        .await,
    );
    let (status, body) = app
        .call_json(
            &editor,
            "update_channel",
            &json!({"id": plain.id, "draft": {"kind": "webhook", "name": "plain", "url": new_url, "secret": ""}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.cleanup().await;
}

/// The stored SMTP password is kept only while host, port, username and security stay;
/// changing any of them without the password is refused on the password field.
#[tokio::test]
async fn a_new_smtp_server_needs_the_password_again() {
    let app = spawn_app_on(Store::Sqlite).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let form = |host: &str, port: u16, username: &str, tls: &str, password: Option<&str>| {
        json!({"form": {"host": host, "port": port, "tls": tls, "username": username,
                        "password": password, "from": "Sightline <alerts@example.com>"}})
    };
    let v: SmtpView = parse(
        "save_smtp",
        app.call_json(
            &admin,
            "save_smtp",
            &form("smtp.example.com", 587, "u", "starttls", Some("pa55")),
        )
        .await,
    );
    assert!(v.has_password);
    for (what, changed) in [
        (
            "host",
            form("smtp.attacker.example", 587, "u", "starttls", None),
        ),
        (
            "port",
            form("smtp.example.com", 2525, "u", "starttls", None),
        ),
        (
            "username",
            form("smtp.example.com", 587, "other", "starttls", None),
        ),
        ("security", form("smtp.example.com", 587, "u", "none", None)),
    ] {
        let message = field_message(
            what,
            "password",
            app.call_json(&admin, "save_smtp", &changed).await,
        );
        assert!(message.contains("password again"), "{what}: {message}");
    }
    // Nothing changed in the store.
    let v: SmtpView = parse(
        "get_smtp",
        app.call_json(&admin, "get_smtp", &json!({})).await,
    );
    assert_eq!(v.form.host, "smtp.example.com");
    assert!(v.has_password);
    // The same server keeps the password (here the sender changes).
    let v: SmtpView = parse(
        "same server",
        app.call_json(
            &admin,
            "save_smtp",
            &json!({"form": {"host": "SMTP.example.com", "port": 587, "tls": "starttls",
                    "username": "u", "password": null, "from": "Other <o@example.com>"}}),
        )
        .await,
    );
    assert!(v.has_password);
    // A new server with its password is fine.
    let v: SmtpView = parse(
        "new server with password",
        app.call_json(
            &admin,
            "save_smtp",
            &form("smtp.other.example", 465, "u", "tls", Some("n3w")),
        )
        .await,
    );
    assert_eq!(v.form.host, "smtp.other.example");
    assert!(v.has_password);
    app.cleanup().await;
}
