//! In-app alerts end to end, on a clock the test controls: alerts and channels are created
//! over HTTP as a user would; scheduling, evaluation and delivery are driven through the
//! engine's steps so workers can be "killed" between them (SECURITY.md cases 35–39). The
//! data source is the local PostgreSQL `test` database; notifications go to a local HTTP
//! receiver.
use crate::common;

use app::{
    model::{
        alert::{AlertDetail, AlertRunStatus, AlertSummary, ChannelSummary, DeliveryStatus},
        Role,
    },
    server::{
        alerts::engine::{self, Processed, Runtime},
        db::alerts as repo,
    },
};
use axum::{
    body::Bytes,
    http::StatusCode,
    response::{IntoResponse, Response},
    Router,
};
use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use common::{spawn_app_on, Store, TestApp};
use reqwest::Client;
use serde::de::DeserializeOwned;
use serde_json::json;
use sqlx::Connection;
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::net::TcpListener;

// ------------------------------------------------------------------------ helpers

fn pg_test_url() -> String {
    let admin = common::pg_admin_url();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/test")
}

fn marker() -> String {
    format!("al{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn parse<T: DeserializeOwned>(what: &str, (status, body): (StatusCode, String)) -> T {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

/// A webhook receiver: records every body; answers with the scripted statuses (then 200),
/// after `delay`.
#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<serde_json::Value>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    delay: Arc<Mutex<Duration>>,
}

impl Receiver {
    async fn start() -> (String, Receiver) {
        let r = Receiver::default();
        let shared = r.clone();
        let app = Router::new().fallback(move |body: Bytes| {
            let r = shared.clone();
            async move {
                r.hits
                    .lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap_or(json!(null)));
                let delay = *r.delay.lock().unwrap();
                tokio::time::sleep(delay).await;
                let status = r.script.lock().unwrap().pop_front().unwrap_or(200);
                let resp: Response = (StatusCode::from_u16(status).unwrap(), "ok").into_response();
                resp
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://127.0.0.1:{}/hook", addr.port()), r)
    }

    fn count(&self) -> usize {
        self.hits.lock().unwrap().len()
    }

    fn states(&self) -> Vec<String> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .map(|h| h["state"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}

/// A clock the test moves.
#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn at(t: DateTime<Utc>) -> Self {
        TestClock(Arc::new(Mutex::new(t)))
    }
    fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
    fn advance(&self, by: Span) {
        *self.0.lock().unwrap() += by;
    }
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    fn worker(&self, name: &str) -> Runtime {
        let c = self.0.clone();
        Runtime {
            worker: name.into(),
            clock: Arc::new(move || *c.lock().unwrap()),
            lease: Duration::from_secs(60),
        }
    }
}

/// An app with an admin, a PostgreSQL connection, an orders table of `failed` rows, an
/// insight counting them, a webhook channel to a local receiver and an alert firing when
/// the count exceeds 50, every 5 minutes.
struct Fixture {
    app: TestApp,
    admin: Client,
    table: String,
    alert: i64,
    insight: i64,
    receiver: Receiver,
}

impl Fixture {
    async fn new(store: Store, failed_rows: i64) -> Fixture {
        let app = spawn_app_on(store).await;
        let (admin, _) = app.signed_in(Role::Admin).await;
        let table = marker();
        let mut pg = sqlx::PgConnection::connect(&pg_test_url()).await.unwrap();
        sqlx::query(&format!(
            "CREATE TABLE {table} AS SELECT 'failed'::text AS status FROM generate_series(1, {failed_rows})"
        ))
        .execute(&mut pg)
        .await
        .unwrap();
        let conn: i64 = parse(
            "save_connection",
            app.call(
                &admin,
                "save_connection",
                &[
                    ("form[name]", &format!("pg {table}")),
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
        let insight = create_insight(
            &app,
            &admin,
            conn,
            &format!("select count(*) as n from {table} where status = 'failed'"),
        )
        .await;
        let (url, receiver) = Receiver::start().await;
        let channel: ChannelSummary = parse(
            "create_channel",
            app.call_json(
                &admin,
                "create_channel",
                &json!({"draft": {"kind": "webhook", "name": format!("hook {table}"), "url": url, "secret": "s3cret"}}),
            )
            .await,
        );
        let alert: AlertSummary = parse(
            "save_alert",
            app.call_json(
                &admin,
                "save_alert",
                &json!({"id": null, "draft": {
                    "insight_id": insight, "name": "failed orders",
                    "rule": {"kind": "threshold", "column": "n", "selector": "first", "op": ">", "value": 50},
                    "cron": "*/5 * * * *", "timezone": "UTC", "channels": [channel.id.0]
                }}),
            )
            .await,
        );
        Fixture {
            app,
            admin,
            table,
            alert: alert.id.0,
            insight,
            receiver,
        }
    }

    async fn next_run_at(&self) -> DateTime<Utc> {
        repo::get_alert(&self.app.state.db, self.alert)
            .await
            .unwrap()
            .unwrap()
            .next_run_at
    }

    async fn detail(&self) -> AlertDetail {
        parse(
            "get_alert",
            self.app
                .call_json(&self.admin, "get_alert", &json!({"id": self.alert}))
                .await,
        )
    }

    async fn set_failed(&self, n: i64) {
        let mut pg = sqlx::PgConnection::connect(&pg_test_url()).await.unwrap();
        sqlx::raw_sql(&format!(
            "DELETE FROM {t}; INSERT INTO {t} SELECT 'failed' FROM generate_series(1, {n})",
            t = self.table
        ))
        .execute(&mut pg)
        .await
        .unwrap();
    }

    async fn done(self) {
        let mut pg = sqlx::PgConnection::connect(&pg_test_url()).await.unwrap();
        let _ = sqlx::query(&format!("DROP TABLE IF EXISTS {}", self.table))
            .execute(&mut pg)
            .await;
        self.app.cleanup().await;
    }
}

async fn create_insight(app: &TestApp, c: &Client, conn: i64, sql: &str) -> i64 {
    let saved: serde_json::Value = parse(
        "save_insight",
        app.call_json(
            c,
            "save_insight",
            &json!({"id": null, "base_version": null,
                    "draft": {"name": format!("insight {}", marker()), "connection_id": conn, "sql": sql}}),
        )
        .await,
    );
    saved["id"].as_i64().unwrap()
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, h, m, 0).unwrap()
}

// -------------------------------------------------------------------------- tests

#[tokio::test]
async fn after_three_missed_hours_an_alert_catches_up_once() {
    for store in [Store::Sqlite, Store::Postgres] {
        let f = Fixture::new(store, 73).await;
        let first = f.next_run_at().await;
        // The workers were down for three hours after the first tick.
        let clock = TestClock::at(first + Span::hours(3) + Span::seconds(20));
        let w = clock.worker("w1");
        let runs = engine::schedule_due(&f.app.state, &w).await.unwrap();
        assert_eq!(runs.len(), 1, "one catch-up run, not 36");
        let run = repo::get_run(&f.app.state.db, runs[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            run.scheduled_for,
            first + Span::hours(3),
            "the latest missed tick"
        );
        assert!(engine::schedule_due(&f.app.state, &w)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            engine::process_run(&f.app.state, &w, runs[0])
                .await
                .unwrap(),
            Processed::Done
        );
        assert_eq!(f.receiver.states(), ["firing"]);
        // The next tick is the next 5-minute mark after now, not one of the missed ones.
        assert_eq!(
            f.next_run_at().await,
            first + Span::hours(3) + Span::minutes(5)
        );
        clock.advance(Span::minutes(5));
        let runs = engine::schedule_due(&f.app.state, &w).await.unwrap();
        assert_eq!(runs.len(), 1);
        engine::process_run(&f.app.state, &w, runs[0])
            .await
            .unwrap();
        assert_eq!(
            f.receiver.count(),
            1,
            "still firing: no second notification"
        );
        f.done().await;
    }
}

#[tokio::test]
async fn two_workers_at_once_make_one_run_and_one_delivery() {
    for store in [Store::Sqlite, Store::Postgres] {
        let f = Fixture::new(store, 73).await;
        let clock = TestClock::at(f.next_run_at().await + Span::seconds(1));
        let (w1, w2) = (clock.worker("w1"), clock.worker("w2"));
        let (a, b) = tokio::join!(
            engine::schedule_due(&f.app.state, &w1),
            engine::schedule_due(&f.app.state, &w2)
        );
        let mut runs = a.unwrap();
        runs.extend(b.unwrap());
        assert_eq!(runs.len(), 1, "two schedulers, one run");
        // The job reaches both workers (apalis re-queues jobs it thinks orphaned).
        let (a, b) = tokio::join!(
            engine::process_run(&f.app.state, &w1, runs[0]),
            engine::process_run(&f.app.state, &w2, runs[0])
        );
        let mut outcomes = vec![a.unwrap(), b.unwrap()];
        outcomes.sort_by_key(|p| format!("{p:?}"));
        assert_eq!(outcomes, [Processed::Done, Processed::NotAvailable]);
        assert_eq!(f.receiver.count(), 1, "one delivery");
        f.done().await;
    }
}

#[tokio::test]
async fn a_worker_killed_before_sending_is_replaced_and_the_notification_goes_once() {
    let f = Fixture::new(Store::Sqlite, 73).await;
    let clock = TestClock::at(f.next_run_at().await + Span::seconds(1));
    let (w1, w2) = (clock.worker("w1"), clock.worker("w2"));
    let run = engine::schedule_due(&f.app.state, &w1).await.unwrap()[0];
    // w1 takes the run, stores the new state and the pending delivery, then dies.
    let taken = engine::take(&f.app.state, &w1, run).await.unwrap().unwrap();
    assert!(engine::evaluate_run(&f.app.state, &w1, &taken)
        .await
        .unwrap());
    assert_eq!(f.receiver.count(), 0);
    // Before the lease ends nobody else takes it.
    assert_eq!(
        engine::process_run(&f.app.state, &w2, run).await.unwrap(),
        Processed::NotAvailable
    );
    assert!(engine::orphaned(&f.app.state, &w2, Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());
    clock.advance(Span::seconds(61));
    assert_eq!(
        engine::orphaned(&f.app.state, &w2, Duration::from_secs(60))
            .await
            .unwrap(),
        [run]
    );
    assert_eq!(
        engine::process_run(&f.app.state, &w2, run).await.unwrap(),
        Processed::Done
    );
    assert_eq!(
        f.receiver.states(),
        ["firing"],
        "sent once, by the second worker"
    );
    let d = f.detail().await;
    assert_eq!(d.runs[0].attempts, 2, "the run was taken twice");
    assert_eq!(
        d.runs[0].deliveries.len(),
        1,
        "evaluated once: one delivery recorded"
    );
    assert_eq!(d.runs[0].deliveries[0].status, DeliveryStatus::Sent);
    assert_eq!(d.summary.state, app::model::alert::AlertState::Firing);
    f.done().await;
}

#[tokio::test]
async fn a_worker_killed_while_sending_causes_at_most_one_duplicate() {
    let f = Fixture::new(Store::Sqlite, 73).await;
    let clock = TestClock::at(f.next_run_at().await + Span::seconds(1));
    let (w1, w2) = (clock.worker("w1"), clock.worker("w2"));
    let run = engine::schedule_due(&f.app.state, &w1).await.unwrap()[0];
    // The receiver takes its time; w1 dies after the message reached it, before it could
    // record the delivery as sent.
    *f.receiver.delay.lock().unwrap() = Duration::from_secs(5);
    let state = f.app.state.clone();
    let w1_task = tokio::spawn(async move { engine::process_run(&state, &w1, run).await });
    for _ in 0..100 {
        if f.receiver.count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(f.receiver.count(), 1);
    w1_task.abort();
    let _ = w1_task.await;
    *f.receiver.delay.lock().unwrap() = Duration::ZERO;
    clock.advance(Span::seconds(61));
    for id in engine::orphaned(&f.app.state, &w2, Duration::from_secs(60))
        .await
        .unwrap()
    {
        engine::process_run(&f.app.state, &w2, id).await.unwrap();
    }
    assert_eq!(
        f.receiver.states(),
        ["firing", "firing"],
        "one duplicate, no more"
    );
    let d = f.detail().await;
    assert_eq!(d.runs[0].status, AlertRunStatus::Done);
    assert_eq!(d.runs[0].deliveries[0].status, DeliveryStatus::Sent);
    // Nothing is left to retry.
    clock.advance(Span::hours(1));
    assert_eq!(
        engine::retry_deliveries(&f.app.state, &w2).await.unwrap(),
        0
    );
    assert_eq!(f.receiver.count(), 2);
    f.done().await;
}

#[tokio::test]
async fn an_overlapping_tick_is_skipped_and_counted() {
    let f = Fixture::new(Store::Sqlite, 73).await;
    let clock = TestClock::at(f.next_run_at().await + Span::seconds(1));
    let (w1, w2) = (clock.worker("w1"), clock.worker("w2"));
    let first = engine::schedule_due(&f.app.state, &w1).await.unwrap()[0];
    engine::take(&f.app.state, &w1, first)
        .await
        .unwrap()
        .unwrap();
    // The next tick comes while the first evaluation still runs.
    clock.advance(Span::minutes(5));
    let second = engine::schedule_due(&f.app.state, &w2).await.unwrap()[0];
    assert_eq!(
        engine::process_run(&f.app.state, &w2, second)
            .await
            .unwrap(),
        Processed::Skipped
    );
    let d = f.detail().await;
    assert_eq!(d.summary.skipped_overlaps, 1);
    let skipped = d.runs.iter().find(|r| r.id == second).unwrap();
    assert_eq!(skipped.status, AlertRunStatus::Skipped);
    assert!(skipped.detail.as_deref().unwrap().contains("still running"));
    f.done().await;
}

#[tokio::test]
async fn more_due_alerts_than_workers_with_one_slow_alert() {
    let f = Fixture::new(Store::Sqlite, 73).await;
    let conn_of = |detail: &AlertDetail| detail.draft.insight_id;
    let d = f.detail().await;
    let insight: serde_json::Value = parse(
        "get_insight",
        f.app
            .call_json(&f.admin, "get_insight", &json!({"id": conn_of(&d).0}))
            .await,
    );
    let conn = insight["draft"]["connection_id"].as_i64().unwrap();
    let channel = d.draft.channels[0].0;
    // One slow alert (3 s) and five fast ones, all due in the same minute.
    let mut names = vec![];
    for (i, sql) in std::iter::once("select pg_sleep(3), 1 as n".to_string())
        .chain((0..5).map(|i| format!("select {i} + 100 as n")))
        .enumerate()
    {
        let insight = create_insight(&f.app, &f.admin, conn, &sql).await;
        let name = if i == 0 {
            "slow".to_string()
        } else {
            format!("fast {i}")
        };
        let _: AlertSummary = parse(
            "save_alert",
            f.app
                .call_json(
                    &f.admin,
                    "save_alert",
                    &json!({"id": null, "draft": {
                        "insight_id": insight, "name": name,
                        "rule": {"kind": "threshold", "column": "n", "op": ">", "value": 50},
                        "cron": "*/5 * * * *", "timezone": "UTC", "channels": [channel]
                    }}),
                )
                .await,
        );
        names.push(name);
    }
    let clock = TestClock::at(Utc::now() + Span::minutes(6));
    let runs = engine::schedule_due(&f.app.state, &clock.worker("scheduler"))
        .await
        .unwrap();
    assert_eq!(runs.len(), 7, "the fixture's alert and the six new ones");
    // Two workers take runs from one queue.
    let queue = Arc::new(Mutex::new(VecDeque::from(runs)));
    let started = std::time::Instant::now();
    let mut workers = vec![];
    for w in ["w1", "w2"] {
        let (queue, state, rt) = (queue.clone(), f.app.state.clone(), clock.worker(w));
        workers.push(tokio::spawn(async move {
            let mut finished = vec![];
            loop {
                let Some(run) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                engine::process_run(&state, &rt, run).await.unwrap();
                finished.push((run, started.elapsed()));
            }
            finished
        }));
    }
    let mut finished = vec![];
    for w in workers {
        finished.extend(w.await.unwrap());
    }
    assert_eq!(finished.len(), 7);
    let total = started.elapsed();
    assert!(
        total < Duration::from_secs(8),
        "the slow alert held one worker only: {total:?}"
    );
    // Every alert fired once: the fixture's (73 > 50), the slow one is 1 (Ok), the fast
    // ones are 100..104 (> 50).
    let mut states = f.receiver.states();
    states.sort();
    assert_eq!(states, vec!["firing"; 6]);
    let list: Vec<AlertSummary> = parse(
        "list_alerts",
        f.app
            .call_json(&f.admin, "list_alerts", &json!({"insight": null}))
            .await,
    );
    for a in list {
        assert!(
            a.last_evaluated_at.is_some(),
            "{} was not evaluated",
            a.name
        );
    }
    f.done().await;
}

#[tokio::test]
async fn the_store_unavailable_for_a_while_delays_but_loses_nothing() {
    let f = Fixture::new(Store::Postgres, 73).await;
    let first = f.next_run_at().await;
    let clock = TestClock::at(first + Span::seconds(1));
    let w = clock.worker("w1");
    let db_name = match &f.app.state.db {
        app::server::db::Db::Postgres(p) => p.connect_options().get_database().unwrap().to_string(),
        _ => unreachable!(),
    };
    let mut admin = sqlx::PgConnection::connect(&common::pg_admin_url())
        .await
        .unwrap();
    sqlx::query(&format!("ALTER DATABASE {db_name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&db_name)
        .execute(&mut admin)
        .await
        .unwrap();
    // The scheduler fails (with an error, not a panic) while the store is away…
    assert!(engine::schedule_due(&f.app.state, &w).await.is_err());
    clock.advance(Span::minutes(12));
    assert!(engine::schedule_due(&f.app.state, &w).await.is_err());
    sqlx::query(&format!("ALTER DATABASE {db_name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    // … and when it is back, the missed ticks become one run, delivered once.
    let mut runs = vec![];
    for _ in 0..20 {
        match engine::schedule_due(&f.app.state, &w).await {
            Ok(r) => {
                runs = r;
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    assert_eq!(runs.len(), 1);
    engine::process_run(&f.app.state, &w, runs[0])
        .await
        .unwrap();
    assert_eq!(f.receiver.states(), ["firing"]);
    f.done().await;
}

#[tokio::test]
async fn channel_failures_retry_with_backoff_and_show_in_the_history() {
    let f = Fixture::new(Store::Sqlite, 73).await;
    let clock = TestClock::at(f.next_run_at().await + Span::seconds(1));
    let w = clock.worker("w1");
    f.receiver.script.lock().unwrap().extend([503, 503]);
    let run = engine::schedule_due(&f.app.state, &w).await.unwrap()[0];
    engine::process_run(&f.app.state, &w, run).await.unwrap();
    let d = f.detail().await;
    let delivery = &d.runs[0].deliveries[0];
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    assert_eq!(delivery.attempts, 1);
    assert!(
        delivery.last_error.as_deref().unwrap().contains("503"),
        "{delivery:?}"
    );
    let retry_at = delivery.next_attempt_at.unwrap();
    assert_eq!(retry_at, clock.now() + Span::seconds(30));
    // Not before its time…
    assert_eq!(engine::retry_deliveries(&f.app.state, &w).await.unwrap(), 0);
    clock.set(retry_at);
    assert_eq!(engine::retry_deliveries(&f.app.state, &w).await.unwrap(), 1);
    let d = f.detail().await;
    assert_eq!(d.runs[0].deliveries[0].attempts, 2);
    assert_eq!(
        d.runs[0].deliveries[0].next_attempt_at.unwrap(),
        clock.now() + Span::seconds(60),
        "the backoff doubles"
    );
    clock.advance(Span::seconds(60));
    assert_eq!(engine::retry_deliveries(&f.app.state, &w).await.unwrap(), 1);
    let d = f.detail().await;
    assert_eq!(d.runs[0].deliveries[0].status, DeliveryStatus::Sent);
    assert_eq!(f.receiver.count(), 3);
    f.done().await;
}

#[tokio::test]
async fn resolved_after_the_condition_clears_and_errors_never_resolve() {
    let f = Fixture::new(Store::Sqlite, 73).await;
    let clock = TestClock::at(f.next_run_at().await + Span::seconds(1));
    let w = clock.worker("w1");
    let tick = || {
        let f = &f;
        let w = w.clone();
        let clock = clock.clone();
        async move {
            let runs = engine::schedule_due(&f.app.state, &w).await.unwrap();
            for r in runs {
                engine::process_run(&f.app.state, &w, r).await.unwrap();
            }
            clock.advance(Span::minutes(5));
        }
    };
    tick().await; // 73: firing
    let mut pg = sqlx::PgConnection::connect(&pg_test_url()).await.unwrap();
    sqlx::query(&format!(
        "ALTER TABLE {} RENAME TO {}_gone",
        f.table, f.table
    ))
    .execute(&mut pg)
    .await
    .unwrap();
    tick().await; // the query fails: Error, no Resolved
    sqlx::query(&format!(
        "ALTER TABLE {}_gone RENAME TO {}",
        f.table, f.table
    ))
    .execute(&mut pg)
    .await
    .unwrap();
    f.set_failed(3).await;
    tick().await; // 3: Ok, but after an Error in between: still no Resolved
    f.set_failed(80).await;
    tick().await; // firing again
    f.set_failed(1).await;
    tick().await; // resolved
    assert_eq!(
        f.receiver.states(),
        ["firing", "error", "firing", "resolved"]
    );
    let d = f.detail().await;
    assert!(d.runs.iter().any(|r| r
        .error
        .as_deref()
        .is_some_and(|e| e.contains("does not exist"))));
    f.done().await;
}

#[tokio::test]
async fn who_may_see_and_change_alerts_and_channels() {
    let f = Fixture::new(Store::Sqlite, 73).await;
    let (viewer, _) = f.app.signed_in(Role::Viewer).await;
    // Viewers see alerts of insights they can open, and channel names without their URLs.
    let list: Vec<AlertSummary> = parse(
        "list_alerts as viewer",
        f.app
            .call_json(&viewer, "list_alerts", &json!({"insight": f.insight}))
            .await,
    );
    assert_eq!(list.len(), 1);
    assert!(!list[0].can_edit);
    let (status, body) = f.app.call_json(&viewer, "list_channels", &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // The host is shown (people need to tell channels apart); the path and secret are not.
    assert!(!body.contains("s3cret"), "{body}");
    assert!(!body.contains("/hook"), "{body}");
    // … but cannot change someone else's alert.
    let (status, _) = f
        .app
        .call_json(&viewer, "delete_alert", &json!({"id": f.alert}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = f
        .app
        .call_json(
            &viewer,
            "mute_alert",
            &json!({"id": f.alert, "until": null}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Evaluate now queues a run that a worker takes.
    let run: i64 = parse(
        "evaluate_alert",
        f.app
            .call_json(&viewer, "evaluate_alert", &json!({"id": f.alert}))
            .await,
    );
    let w = TestClock::at(Utc::now()).worker("w1");
    assert_eq!(
        engine::process_run(&f.app.state, &w, run).await.unwrap(),
        Processed::Done
    );
    assert_eq!(f.receiver.states(), ["firing"]);
    // SSRF: metadata addresses are refused at save, even allow-listed ones.
    let (status, body) = f
        .app
        .call_json(
            &f.admin,
            "create_channel",
            &json!({"draft": {"kind": "webhook", "name": "meta", "url": "http://169.254.169.254/latest", "secret": ""}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("url"), "{body}");
    // A bad schedule says what is wrong, on its field.
    let (status, body) = f
        .app
        .call_json(
            &f.admin,
            "save_alert",
            &json!({"id": f.alert, "draft": {
                "insight_id": f.insight, "name": "x", "rule": {"kind": "any_rows"},
                "cron": "every tuesday", "timezone": "UTC", "channels": d_channels(&f).await
            }}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("cron"), "{body}");
    // Muting holds notifications back; states still advance.
    let until = Utc::now() + Span::hours(1);
    let (status, body) = f
        .app
        .call_json(
            &f.admin,
            "mute_alert",
            &json!({"id": f.alert, "until": until}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The queue's migrations live beside ours: starting again migrates cleanly.
    app::server::alerts::worker::queue(&f.app.state)
        .await
        .unwrap();
    f.app.state.db.migrate().await.unwrap();
    f.done().await;
}

async fn d_channels(f: &Fixture) -> Vec<i64> {
    f.detail()
        .await
        .draft
        .channels
        .iter()
        .map(|c| c.0)
        .collect()
}

#[tokio::test]
async fn a_fixed_time_is_used_for_every_time_of_the_clock() {
    // The clock type works as the tests expect (guards against a refactor of Runtime).
    let c = TestClock::at(at(10, 0));
    let w = c.worker("w");
    c.advance(Span::minutes(3));
    assert_eq!(w.now(), at(10, 3));
}

/// The real workers, as `sightline worker` runs them (apalis queue in the store, system
/// clock, runs queued in batches): 40 alerts due at once and two worker loops on the same
/// store, as two processes would be → every alert is notified exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_worker_loops_notify_a_burst_of_due_alerts_once() {
    const ALERTS: usize = 40;
    for store in [Store::Sqlite, Store::Postgres] {
        let f = Fixture::new(store, 73).await;
        let copy = "INSERT INTO alerts (insight_id, name, params, rule, policy, cron, timezone, \
                    channels, enabled, owner_id, state, state_label, next_run_at, created_at, \
                    updated_at) SELECT insight_id, $2, params, rule, policy, cron, timezone, \
                    channels, enabled, owner_id, state, state_label, next_run_at, created_at, \
                    updated_at FROM alerts WHERE id = $1";
        let due = "UPDATE alerts SET next_run_at = $1";
        let past = Utc::now() - Span::minutes(1);
        match &f.app.state.db {
            app::server::db::Db::Sqlite(p) => {
                for i in 1..ALERTS {
                    let name = format!("copy {i:02}");
                    sqlx::query(copy)
                        .bind(f.alert)
                        .bind(name)
                        .execute(p)
                        .await
                        .unwrap();
                }
                sqlx::query(due).bind(past).execute(p).await.unwrap();
            }
            app::server::db::Db::Postgres(p) => {
                for i in 1..ALERTS {
                    let name = format!("copy {i:02}");
                    sqlx::query(copy)
                        .bind(f.alert)
                        .bind(name)
                        .execute(p)
                        .await
                        .unwrap();
                }
                sqlx::query(due).bind(past).execute(p).await.unwrap();
            }
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let loops: Vec<_> = (0..2)
            .map(|_| {
                let (state, mut stopped) = (f.app.state.clone(), stopped.clone());
                tokio::spawn(async move {
                    app::server::alerts::worker::run(state, 4, async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await
                })
            })
            .collect();
        let names = || {
            let mut n: Vec<String> = f
                .receiver
                .hits
                .lock()
                .unwrap()
                .iter()
                .map(|h| h["alert"].as_str().unwrap_or("?").to_string())
                .collect();
            n.sort();
            n
        };
        for _ in 0..600 {
            if names().len() >= ALERTS {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Late duplicates would show within a second.
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.send(true).unwrap();
        for l in loops {
            l.await.unwrap().unwrap();
        }
        let got = names();
        let mut unique = got.clone();
        unique.dedup();
        assert_eq!(
            unique.len(),
            ALERTS,
            "{store:?}: every alert notified: {got:?}"
        );
        assert_eq!(got.len(), ALERTS, "{store:?}: no duplicates: {got:?}");
        f.done().await;
    }
}

/// A channel is renamed or repointed in place: fields left empty keep the stored URL and
/// secret (never sent back), a new URL passes the same checks as a new channel's, the kind
/// stays, and only editors may.
#[tokio::test]
async fn channels_are_edited_keeping_what_is_left_empty() {
    let f = Fixture::new(Store::Sqlite, 73).await;
    let channel = d_channels(&f).await[0];
    let update = |c: &Client, draft: serde_json::Value| {
        let body = json!({"id": channel, "draft": draft});
        let (app, c) = (&f.app, c.clone());
        async move { app.call_json(&c, "update_channel", &body).await }
    };
    let (status, body) = update(
        &f.admin,
        json!({"kind": "webhook", "name": "renamed hook", "url": "", "secret": ""}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list: Vec<ChannelSummary> = parse(
        "list_channels",
        f.app.call_json(&f.admin, "list_channels", &json!({})).await,
    );
    let c = list.iter().find(|c| c.id.0 == channel).unwrap();
    assert_eq!(c.name, "renamed hook");
    assert!(
        c.summary.contains("(signed)"),
        "the secret stayed: {}",
        c.summary
    );
    // The stored URL still works.
    let (status, body) = f
        .app
        .call_json(&f.admin, "test_channel", &json!({"id": channel}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("true"), "{body}");
    assert_eq!(f.receiver.count(), 1);
    // A test says it is one: no receiver takes it for a firing alert.
    assert_eq!(f.receiver.states(), vec!["test".to_string()]);
    // A new URL is checked as at creation: a metadata address is refused, nothing changes.
    let (status, body) = update(
        &f.admin,
        json!({"kind": "webhook", "name": "renamed hook", "url": "http://169.254.169.254/x", "secret": ""}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("url"), "{body}");
    let (status, _) = f
        .app
        .call_json(&f.admin, "test_channel", &json!({"id": channel}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.receiver.count(), 2, "the old URL is still in use");
    // The kind stays.
    let (status, body) = update(
        &f.admin,
        json!({"kind": "slack", "name": "renamed hook", "url": ""}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("kind"), "{body}");
    // Viewers may not.
    let (viewer, _) = f.app.signed_in(Role::Viewer).await;
    let (status, _) = update(
        &viewer,
        json!({"kind": "webhook", "name": "mine now", "url": "", "secret": ""}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    f.done().await;
}
