//! `sightline alerts run|validate`: the standalone runner against the local PostgreSQL
//! database `test` and a signed-webhook receiver on 127.0.0.1, as an operator runs it.
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use sqlx::{postgres::PgPoolOptions, PgPool};
use std::{
    path::{Path, PathBuf},
    process::{Output, Stdio},
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

const PG: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Trust auth ignores it; it must never show up in the runner's output.
const DB_URL_WITH_PASSWORD: &str = "postgres://postgres:db-pw-never-printed@127.0.0.1:5432/test";
const SECRET: &str = "whsec-never-printed-7f3a9c";

// ------------------------------------------------------------------ receiver

#[derive(Clone)]
struct Receiver {
    hits: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    status: Arc<AtomicU16>,
    port: u16,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            hits: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            port: listener.local_addr().unwrap().port(),
        };
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        r
    }

    fn count(&self) -> usize {
        self.hits.lock().unwrap().len()
    }

    fn hit(&self, i: usize) -> (HeaderMap, Bytes) {
        self.hits.lock().unwrap()[i].clone()
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.hits.lock().unwrap().push((headers, body));
    StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap()
}

/// Checks the signature as a receiver would, and returns the JSON body.
fn verified(headers: &HeaderMap, body: &[u8]) -> serde_json::Value {
    let timestamp = headers["x-sightline-timestamp"].to_str().unwrap();
    assert_eq!(
        headers["x-sightline-signature"].to_str().unwrap(),
        crate::common::webhook_signature(SECRET, timestamp, body),
        "HMAC-SHA256 over timestamp.body"
    );
    serde_json::from_slice(body).unwrap()
}

// ------------------------------------------------------------------ database

struct Table {
    pool: PgPool,
    name: String,
}

impl Table {
    /// A fresh table `alerts_runner_<uuid>(status text)` with `failed` rows.
    async fn with_failed(failed: i64) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(PG)
            .await
            .expect("local PostgreSQL (database test) is running");
        let name = format!("alerts_runner_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE TABLE {name} (status text NOT NULL)"))
            .execute(&pool)
            .await
            .unwrap();
        let t = Table { pool, name };
        t.set_failed(failed).await;
        t
    }

    async fn set_failed(&self, n: i64) {
        let name = &self.name;
        sqlx::query(&format!("DELETE FROM {name}"))
            .execute(&self.pool)
            .await
            .unwrap();
        sqlx::query(&format!(
            "INSERT INTO {name} SELECT 'failed' FROM generate_series(1, $1)"
        ))
        .bind(n)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    async fn drop_table(&self) {
        sqlx::query(&format!("DROP TABLE IF EXISTS {}", self.name))
            .execute(&self.pool)
            .await
            .unwrap();
    }
}

// ------------------------------------------------------------------ the binary

fn command(args: &[&str], envs: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sightline"));
    cmd.args(args)
        .env_remove("SIGHTLINE_ALERTS_CONFIG")
        .env_remove("SIGHTLINE_ALERTS_STATE")
        .env("ALERTS_TEST_DB", DB_URL_WITH_PASSWORD)
        .env("ALERTS_TEST_SECRET", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn sightline(args: &[&str], envs: &[(&str, &str)]) -> Run {
    let out: Output = tokio::time::timeout(Duration::from_secs(60), command(args, envs).output())
        .await
        .expect("sightline exits within 60 s")
        .unwrap();
    let run = Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for secret in ["db-pw-never-printed", SECRET] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret was printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

async fn once(config: &Path) -> Run {
    sightline(&["alerts", "run", "--once", "--config", path(config)], &[]).await
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `alerts.yaml` in a fresh folder: one threshold alert on `table` to the signed webhook.
fn write_config(dir: &Path, table: &str, hook_url: &str, allow: &str, schedule: &str) -> PathBuf {
    let yaml = format!(
        r#"connections:
  shop: {{ url: "${{ALERTS_TEST_DB}}" }}
channels:
  hook: {{ kind: webhook, url: "{hook_url}", secret: "${{ALERTS_TEST_SECRET}}" }}
egress: {{ allow_hosts: [{allow}] }}
alerts:
  - name: failed-orders
    connection: shop
    sql: "select count(*) as n from {table} where status = $1"
    params: ["failed"]
    rule: {{ kind: threshold, column: n, selector: first, op: ">", value: 50 }}
    schedule: "{schedule}"
    channels: [hook]
"#
    );
    let config = dir.join("alerts.yaml");
    std::fs::write(&config, yaml).unwrap();
    config
}

fn local_hook(r: &Receiver) -> String {
    format!("http://127.0.0.1:{}/hook", r.port)
}

// ------------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fires_once_stays_quiet_while_unchanged_then_resolves() {
    let table = Table::with_failed(73).await;
    let hook = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &table.name,
        &local_hook(&hook),
        "\"127.0.0.1\"",
        "*/5 * * * *",
    );

    let run = once(&config).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("failed-orders: Ok -> Firing (n = 73), notified hook"),
        "{}",
        run.stdout
    );
    assert_eq!(hook.count(), 1);
    let (headers, body) = hook.hit(0);
    assert_eq!(headers["x-sightline-event"], "firing");
    let json = verified(&headers, &body);
    assert_eq!(json["alert"], "failed-orders");
    assert_eq!(json["state"], "firing");
    assert_eq!(json["value"], "73");
    assert!(
        dir.path().join("alerts.state.db").exists(),
        "state next to the config"
    );

    // Same data: the state is remembered, nothing is sent again.
    let run = once(&config).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("failed-orders: Firing (n = 73)") && !run.stdout.contains("notified"),
        "{}",
        run.stdout
    );
    assert_eq!(hook.count(), 1, "no second notification");

    // The condition clears: Resolved.
    table.set_failed(10).await;
    let run = once(&config).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("failed-orders: Firing -> Ok (n = 10), notified hook"),
        "{}",
        run.stdout
    );
    assert_eq!(hook.count(), 2);
    let (headers, body) = hook.hit(1);
    assert_eq!(headers["x-sightline-event"], "resolved");
    assert_eq!(verified(&headers, &body)["state"], "resolved");
    table.drop_table().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_sql_is_an_error_not_a_resolution() {
    let table = Table::with_failed(73).await;
    let hook = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &table.name,
        &local_hook(&hook),
        "\"127.0.0.1\"",
        "*/5 * * * *",
    );
    assert!(once(&config).await.ok);
    assert_eq!(hook.count(), 1);

    table.drop_table().await;
    let run = once(&config).await;
    // A failing query is reported, not fatal.
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("failed-orders: Firing -> Error (error: relation")
            && run.stdout.contains("does not exist), notified hook"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("failed-orders: query failed: relation"),
        "{}",
        run.stderr
    );
    assert_eq!(hook.count(), 2);
    let (headers, body) = hook.hit(1);
    let json = verified(&headers, &body);
    assert_eq!(json["state"], "error");
    assert!(json["value"].as_str().unwrap().contains("does not exist"));

    // The query works again and the condition is clear: Ok, but no Resolved for an episode
    // that ended in an error.
    let again = Table::with_failed(10).await;
    let yaml = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&table.name, &again.name);
    std::fs::write(&config, yaml).unwrap();
    let run = once(&config).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("failed-orders: Error -> Ok (n = 10)")
            && !run.stdout.contains("notified"),
        "{}",
        run.stdout
    );
    assert_eq!(hook.count(), 2, "no Resolved after an error");
    again.drop_table().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_notification_stays_pending_and_is_sent_once_on_the_next_start() {
    let table = Table::with_failed(73).await;
    let hook = Receiver::start().await;
    hook.answer(503);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &table.name,
        &local_hook(&hook),
        "\"127.0.0.1\"",
        "*/5 * * * *",
    );

    let run = once(&config).await;
    assert!(!run.ok, "an undelivered notification fails --once");
    assert!(
        run.stdout
            .contains("failed-orders: Ok -> Firing (n = 73), not delivered to hook"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("HTTP 503") && run.stderr.contains("(attempt 3)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .count(),
        1,
        "one error line: {}",
        run.stderr
    );
    assert_eq!(hook.count(), 3, "retried with backoff within the run");

    // The receiver is back: the pending Firing goes out once, and the unchanged condition
    // does not add another.
    hook.answer(200);
    let run = once(&config).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("failed-orders: delivered the pending firing notification to hook"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("failed-orders: Firing (n = 73)") && !run.stdout.contains("notified"),
        "{}",
        run.stdout
    );
    assert_eq!(hook.count(), 4);
    let (headers, body) = hook.hit(3);
    assert_eq!(verified(&headers, &body)["state"], "firing");

    assert!(once(&config).await.ok);
    assert_eq!(hook.count(), 4, "nothing is delivered twice");
    table.drop_table().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_names_file_line_column_variables_and_references() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alerts.yaml");
    let validate = |c: PathBuf| async move {
        sightline(&["alerts", "validate", "--config", path(&c)], &[]).await
    };
    let base = r#"connections:
  shop: { url: "postgres://postgres@127.0.0.1:5432/test" }
channels:
  hook: { kind: webhook, url: "https://example.com/hook", secret: "${ALERTS_TEST_SECRET}" }
alerts:
  - name: failed-orders
    connection: shop
    sql: "select 1 as n"
    rule: { kind: threshold, column: n, op: ">", value: 50 }
    schedule: "*/5 * * * *"
    channels: [hook]
"#;
    std::fs::write(&config, base).unwrap();
    let run = validate(config.clone()).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(run
        .stdout
        .contains("alerts.yaml: valid (1 alert, 1 channel, 1 connection)"));

    // A misspelt field, at its line and column.
    std::fs::write(&config, base.replace("    schedule:", "    schedul:")).unwrap();
    let run = validate(config.clone()).await;
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains("alerts.yaml:10:5: alerts[0]: unknown field `schedul`"),
        "{}",
        run.stderr
    );

    // An unset variable, named, at the value's position.
    std::fs::write(
        &config,
        base.replace(
            "postgres://postgres@127.0.0.1:5432/test",
            "${ALERTS_TEST_SURELY_UNSET}",
        ),
    )
    .unwrap();
    let run = validate(config.clone()).await;
    assert!(!run.ok);
    assert!(
        run.stderr.contains(
            "alerts.yaml:2:16: connections.shop.url: unknown variable ${ALERTS_TEST_SURELY_UNSET}"
        ),
        "{}",
        run.stderr
    );

    // Unknown channel and connection references name the alert.
    std::fs::write(
        &config,
        base.replace("[hook]", "[hook, pager]")
            .replace("connection: shop", "connection: shopp"),
    )
    .unwrap();
    let run = validate(config.clone()).await;
    assert!(!run.ok);
    for want in [
        "alerts.yaml: alert \"failed-orders\": unknown channel \"pager\" (defined: hook)",
        "alerts.yaml: alert \"failed-orders\": unknown connection \"shopp\" (defined: shop)",
        "error: ",
    ] {
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
    }

    // A rule field that does not belong to its kind, and a bad schedule.
    std::fs::write(
        &config,
        base.replace("kind: threshold, column: n", "kind: any_rows, column: n"),
    )
    .unwrap();
    let run = validate(config.clone()).await;
    assert!(
        run.stderr
            .contains("alerts[0].rule: `column` is not a setting of any_rows rules"),
        "{}",
        run.stderr
    );
    std::fs::write(&config, base.replace("*/5 * * * *", "*/5 * * *")).unwrap();
    let run = validate(config.clone()).await;
    assert!(
        run.stderr
            .contains("alerts.yaml:10:15: alerts[0].schedule: invalid cron expression"),
        "{}",
        run.stderr
    );

    // JSON works the same way.
    let json = dir.path().join("alerts.json");
    std::fs::write(
        &json,
        "{\"connections\": {\"shop\": {\"url\": \"postgres://postgres@127.0.0.1/test\"}},\n\
         \"alerts\": [{\"name\": \"a\", \"connection\": \"shop\", \"sql\": \"select 1\",\n\
         \"rule\": {\"kind\": \"any_rows\"}, \"chanels\": []}]}",
    )
    .unwrap();
    let run = validate(json.clone()).await;
    assert!(
        run.stderr
            .contains("alerts.json:3:39: unknown field `chanels`"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_config_validates_with_its_variables_set() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../alerts.example.yaml");
    let run = sightline(
        &["alerts", "validate", "--config", path(&example)],
        &[
            (
                "SHOP_DATABASE_URL",
                "postgres://reader:pw@db.internal:5432/shop",
            ),
            (
                "SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T000/B000/XXXX",
            ),
            ("HOOK_SECRET", "example-secret"),
            ("SMTP_PASSWORD", "example-password"),
        ],
    )
    .await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(run
        .stdout
        .contains("valid (2 alerts, 3 channels, 1 connection)"));
    // Without them, the first unset variable is named.
    let run = sightline(&["alerts", "validate", "--config", path(&example)], &[]).await;
    assert!(!run.ok);
    assert!(
        run.stderr.contains("${SHOP_DATABASE_URL}"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_webhook_not_allow_listed_is_refused_by_the_ssrf_policy() {
    let table = Table::with_failed(73).await;
    let hook = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();

    // A loopback address in the URL: refused when the file is checked.
    let literal = format!("https://127.0.0.1:{}/hook", hook.port);
    let config = write_config(dir.path(), &table.name, &literal, "", "*/5 * * * *");
    let run = sightline(&["alerts", "validate", "--config", path(&config)], &[]).await;
    assert!(!run.ok);
    assert!(
        run.stderr.contains(
            "channel \"hook\": refused: 127.0.0.1 is 127.0.0.1, a loopback or private address"
        ) && run.stderr.contains("list it under egress.allow_hosts"),
        "{}",
        run.stderr
    );
    let run = once(&config).await;
    assert!(!run.ok);
    assert!(
        run.stderr.contains("loopback or private address"),
        "{}",
        run.stderr
    );

    // A name that resolves to loopback: refused when sending, nothing reaches the receiver.
    let named = format!("https://localhost:{}/hook", hook.port);
    let config = write_config(dir.path(), &table.name, &named, "", "*/5 * * * *");
    let run = once(&config).await;
    assert!(!run.ok);
    assert!(
        run.stdout
            .contains("failed-orders: Ok -> Firing (n = 73), not delivered to hook"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("refused: localhost is")
            && run.stderr.contains("a loopback or private address")
            && run.stderr.contains("egress.allow_hosts"),
        "{}",
        run.stderr
    );
    assert_eq!(hook.count(), 0, "the SSRF policy stopped the request");
    table.drop_table().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runner_evaluates_the_due_tick_and_stops_on_sigterm() {
    let table = Table::with_failed(73).await;
    let hook = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &table.name,
        &local_hook(&hook),
        "\"127.0.0.1\"",
        "* * * * *",
    );
    let child = command(&["alerts", "run", "--config", path(&config)], &[])
        .spawn()
        .unwrap();
    // Never run before: the latest tick is due at once.
    for _ in 0..200 {
        if hook.count() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hook.count(), 1);
    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("stops within 10 s of SIGTERM")
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("failed-orders: Ok -> Firing (n = 73), notified hook"),
        "{stdout}"
    );
    assert!(stderr.contains("alerts: stopped"), "{stderr}");
    table.drop_table().await;
}
