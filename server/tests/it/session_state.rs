//! Issue 13, item 1: a pooled data-source connection comes back clean. On a pool of one
//! connection, user A leaves every kind of session state the engine has (settings, roles,
//! variables, locks, prepared statements, cursors, listeners, temporary tables, sequence
//! values, the random seed…) and user B's next run sees a fresh session, on PostgreSQL and
//! MariaDB, on read-only and writable connections, after successful, failed, timed-out and
//! cancelled runs.
use crate::common;

use app::model::{
    run::{Page, RunState, RunView},
    Role,
};
use common::{mysql_form, pg_form, spawn_app_with, Store, TestApp};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value as Json};
use sqlx::Connection;
use std::time::{Duration, Instant};

const MARIADB_URL: &str = "mysql://root@127.0.0.1:3306/test";

fn marker() -> String {
    format!("sl{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn parse<T: DeserializeOwned>(what: &str, (status, body): (StatusCode, String)) -> T {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

async fn save(app: &TestApp, c: &Client, fields: &[(&str, &str)]) -> i64 {
    let owned: Vec<(String, &str)> = fields
        .iter()
        .map(|(k, v)| (format!("form[{k}]"), *v))
        .collect();
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    parse(
        &format!("save_connection {fields:?}"),
        app.call(c, "save_connection", &pairs).await,
    )
}

async fn start(app: &TestApp, c: &Client, conn: i64, sql: &str) -> RunView {
    parse(
        &format!("run_sql {sql}"),
        app.call_json(
            c,
            "run_sql",
            &json!({"request": {"connection_id": conn, "sql": sql, "params": [], "page_size": 100}}),
        )
        .await,
    )
}

async fn wait_done(app: &TestApp, c: &Client, mut v: RunView) -> RunView {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !v.state.finished() {
        assert!(Instant::now() < deadline, "run did not finish: {v:?}");
        v = parse(
            "run_status",
            app.call_json(c, "run_status", &json!({"id": v.id.0, "wait_ms": 500}))
                .await,
        );
    }
    v
}

/// What a run gave: its rows as text, or `error <code>` (the SQLSTATE, or the message).
async fn outcome(app: &TestApp, c: &Client, conn: i64, sql: &str) -> String {
    let v = start(app, c, conn, sql).await;
    let v = wait_done(app, c, v).await;
    match v.state {
        RunState::Done => {
            let page: Page = parse(
                "fetch_rows",
                app.call_json(
                    c,
                    "fetch_rows",
                    &json!({"id": v.id.0, "offset": 0, "limit": 100, "sort": Json::Null}),
                )
                .await,
            );
            page.rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| c.clone().unwrap_or_else(|| "NULL".into()))
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect::<Vec<_>>()
                .join(";")
        }
        _ => {
            let e = v
                .error
                .unwrap_or_else(|| panic!("{sql}: no error: {:?}", v.state));
            format!("error {}", e.code.unwrap_or(e.message))
        }
    }
}

/// One kind of session state: what A runs to leave it, and what B runs to look for it.
struct Case {
    what: &'static str,
    leave: String,
    look: String,
}

fn case(what: &'static str, leave: impl Into<String>, look: impl Into<String>) -> Case {
    Case {
        what,
        leave: leave.into(),
        look: look.into(),
    }
}

/// For each case: B looks (the fresh state), A leaves its state, B looks again and must
/// see exactly what it saw before. Returns the cases that leaked, with what B saw.
async fn leaks(app: &TestApp, a: &Client, b: &Client, conn: i64, cases: &[Case]) -> Vec<String> {
    let mut leaked = vec![];
    for k in cases {
        let before = outcome(app, b, conn, &k.look).await;
        let left = outcome(app, a, conn, &k.leave).await;
        let after = outcome(app, b, conn, &k.look).await;
        if before != after {
            leaked.push(format!(
                "{}: A ran `{}` ({left}); B's `{}` gave {after:?}, a fresh session {before:?}",
                k.what, k.leave, k.look
            ));
        }
    }
    leaked
}

/// PostgreSQL's session state, per its manual (DISCARD, SET, PREPARE, DECLARE, LISTEN,
/// advisory locks, sequence functions, temporary tables, SET ROLE / SESSION AUTHORIZATION,
/// setseed). Read-only runs can leave what a rollback does not undo; writable runs commit.
fn pg_cases(tag: &str, lock_key: i64, role: &str, seeded: &str) -> Vec<Case> {
    vec![
        case(
            "custom setting (set_config, session)",
            format!("SELECT set_config('{tag}.secret', 'A-was-here', false)"),
            format!("SELECT coalesce(current_setting('{tag}.secret', true), '')"),
        ),
        case(
            "search_path",
            "SELECT set_config('search_path', 'pg_catalog', false)",
            "SELECT current_setting('search_path')",
        ),
        case(
            "time zone (SET)",
            "SET TIME ZONE 'Pacific/Chatham'",
            "SELECT current_setting('TimeZone')",
        ),
        case(
            "lock_timeout",
            "SET lock_timeout = '1ms'",
            "SELECT current_setting('lock_timeout')",
        ),
        case(
            "application_name",
            "SELECT set_config('application_name', 'user-A', false)",
            "SELECT current_setting('application_name')",
        ),
        case(
            "default transaction mode",
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SELECT current_setting('default_transaction_isolation')",
        ),
        case(
            "role (SET ROLE)",
            format!("SET ROLE {role}"),
            "SELECT current_user::text",
        ),
        case(
            "role (set_config)",
            format!("SELECT set_config('role', '{role}', false)"),
            "SELECT current_user::text",
        ),
        case(
            "session authorization",
            format!("SET SESSION AUTHORIZATION {role}"),
            "SELECT session_user::text || '/' || current_user::text",
        ),
        case(
            "advisory lock (session)",
            format!("SELECT pg_advisory_lock({lock_key})"),
            format!(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {lock_key}"
            ),
        ),
        case(
            "advisory lock (shared)",
            format!("SELECT pg_advisory_lock_shared({})", lock_key + 1),
            format!(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {}",
                lock_key + 1
            ),
        ),
        case(
            "prepared statement (PREPARE)",
            format!("PREPARE {tag}_p AS SELECT 'A-secret'"),
            format!("SELECT count(*) FROM pg_prepared_statements WHERE name = '{tag}_p'"),
        ),
        case(
            "cursor WITH HOLD",
            format!("DECLARE {tag}_c CURSOR WITH HOLD FOR SELECT 'A-secret'"),
            format!("SELECT count(*) FROM pg_cursors WHERE name = '{tag}_c'"),
        ),
        case(
            "LISTEN",
            format!("LISTEN {tag}_ch"),
            format!("SELECT count(*) FROM pg_listening_channels() c WHERE c = '{tag}_ch'"),
        ),
        case(
            "sequence currval/lastval",
            format!("SELECT nextval('{tag}_seq')"),
            "SELECT lastval()",
        ),
        case(
            "temporary table",
            format!("CREATE TEMP TABLE {tag}_tmp AS SELECT 'A-secret' AS v"),
            format!("SELECT to_regclass('pg_temp.{tag}_tmp') IS NOT NULL"),
        ),
        case(
            "random seed (setseed)",
            "SELECT setseed(0.5)",
            // True when B's random() is the one that follows setseed(0.5).
            format!("SELECT random()::text = '{seeded}'"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_session_state_does_not_reach_the_next_user() {
    let (db, url) = common::fresh_pg_database().await;
    let tag = marker();
    let role = format!("{tag}_role");
    let lock_key = 900_000 + i64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 10;
    let mut admin_db = sqlx::PgConnection::connect(&url).await.unwrap();
    for stmt in [
        format!("CREATE ROLE {role}"),
        format!("CREATE SEQUENCE {tag}_seq"),
    ] {
        sqlx::query(&stmt).execute(&mut admin_db).await.unwrap();
    }
    // What random() gives right after setseed(0.5): what A could predict for B.
    sqlx::query("SELECT setseed(0.5)")
        .execute(&mut admin_db)
        .await
        .unwrap();
    let seeded: String = sqlx::query_scalar("SELECT random()::text")
        .fetch_one(&mut admin_db)
        .await
        .unwrap();

    let app = spawn_app_with(Store::Sqlite, |a| {
        a.engine.pool_size = 1;
        a.engine.query_timeout = 2;
    })
    .await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (user_a, _) = app.signed_in(Role::Editor).await;
    let (user_b, _) = app.signed_in(Role::Editor).await;
    let ro = save(&app, &admin, &pg_form("pg read-only", &db, "postgres")).await;
    let mut rw_form = pg_form("pg writable", &db, "postgres");
    rw_form.push(("writable", "true"));
    let rw = save(&app, &admin, &rw_form).await;

    // The pool of one is reused (the reset keeps the connection), not reopened per run.
    let pid = outcome(&app, &user_b, ro, "SELECT pg_backend_pid()").await;
    assert_eq!(
        outcome(&app, &user_a, ro, "SELECT pg_backend_pid()").await,
        pid
    );

    let cases = pg_cases(&tag, lock_key, &role, &seeded);
    let mut leaked = vec![];
    for (name, conn) in [("read-only", ro), ("writable", rw)] {
        for l in leaks(&app, &user_a, &user_b, conn, &cases).await {
            leaked.push(format!("[{name}] {l}"));
        }
    }
    assert!(
        leaked.is_empty(),
        "session state leaked:\n{}",
        leaked.join("\n")
    );

    // State left by runs that failed, timed out or were cancelled after leaving it.
    let after_failure = [
        (
            "failed run",
            // Evaluated per row, after the lock (not folded when the plan is made).
            format!(
                "SELECT pg_advisory_lock({0}), 1 / (pg_backend_pid() * 0)",
                lock_key + 2
            ),
        ),
        (
            "timed-out run",
            format!("SELECT pg_advisory_lock({0}), pg_sleep(10)", lock_key + 2),
        ),
    ];
    let look = format!(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {}",
        lock_key + 2
    );
    for conn in [ro, rw] {
        for (what, sql) in &after_failure {
            let left = outcome(&app, &user_a, conn, sql).await;
            assert!(left.starts_with("error"), "{what}: {left}");
            let seen = outcome(&app, &user_b, conn, &look).await;
            if seen != "0" {
                leaked.push(format!("{what} ({left}) left an advisory lock: {seen}"));
            }
        }
        // Cancelled while it holds the lock.
        let v = start(
            &app,
            &user_a,
            conn,
            &format!("SELECT pg_advisory_lock({}), pg_sleep(10)", lock_key + 2),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let cv: RunView = parse(
            "cancel_run",
            app.call_json(&user_a, "cancel_run", &json!({"id": v.id.0}))
                .await,
        );
        assert_eq!(cv.state, RunState::Cancelled, "{cv:?}");
        let seen = outcome(&app, &user_b, conn, &look).await;
        if seen != "0" {
            leaked.push(format!("cancelled run left an advisory lock: {seen}"));
        }
    }
    assert!(
        leaked.is_empty(),
        "session state leaked:\n{}",
        leaked.join("\n")
    );

    app.cleanup().await;
    admin_db.close().await.unwrap();
    common::drop_pg_database(&db).await;
    if let Ok(mut c) = sqlx::PgConnection::connect(&common::pg_admin_url()).await {
        let _ = sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
            .execute(&mut c)
            .await;
    }
}

/// MariaDB's session state, per its manual: user variables, session system variables,
/// temporary tables, named locks (GET_LOCK), prepared statements, LAST_INSERT_ID, sequence
/// values (LASTVAL), roles, transaction characteristics, table locks.
fn mariadb_cases(tag: &str) -> Vec<Case> {
    vec![
        case(
            "user variable (SET)",
            format!("SET @{tag}_v = 'A-was-here'"),
            format!("SELECT COALESCE(@{tag}_v, 'unset')"),
        ),
        case(
            "user variable (:=)",
            format!("SELECT @{tag}_w := 'A-was-here'"),
            format!("SELECT COALESCE(@{tag}_w, 'unset')"),
        ),
        case(
            "session variable (sql_mode)",
            "SET SESSION sql_mode = 'ANSI'",
            "SELECT @@SESSION.sql_mode",
        ),
        case(
            "session variable (time_zone)",
            "SET SESSION time_zone = '+05:00'",
            "SELECT @@SESSION.time_zone",
        ),
        case(
            "session variable (sql_select_limit)",
            "SET SESSION sql_select_limit = 1",
            "SELECT 1 UNION ALL SELECT 2",
        ),
        case(
            "session variable (autocommit)",
            "SET autocommit = 0",
            "SELECT @@SESSION.autocommit",
        ),
        case(
            "transaction characteristics",
            "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SELECT @@SESSION.tx_isolation",
        ),
        case(
            "temporary table",
            format!("CREATE TEMPORARY TABLE {tag}_tmp AS SELECT 'A-secret' AS v"),
            format!("SELECT v FROM {tag}_tmp"),
        ),
        case(
            "named lock (GET_LOCK)",
            format!("SELECT GET_LOCK('{tag}_lock', 0)"),
            format!("SELECT COALESCE(IS_USED_LOCK('{tag}_lock') = CONNECTION_ID(), 0)"),
        ),
        case(
            "prepared statement (PREPARE)",
            format!("PREPARE {tag}_p FROM 'SELECT ''A-secret'''"),
            format!("EXECUTE {tag}_p"),
        ),
        case(
            "LAST_INSERT_ID",
            "SELECT LAST_INSERT_ID(4242)",
            "SELECT LAST_INSERT_ID()",
        ),
        case(
            "sequence value (LASTVAL)",
            format!("SELECT NEXTVAL({tag}_seq)"),
            format!("SELECT COALESCE(LASTVAL({tag}_seq), 'none')"),
        ),
        case(
            "role (SET ROLE)",
            format!("SET ROLE {tag}_role"),
            "SELECT COALESCE(CURRENT_ROLE(), 'none')",
        ),
        case(
            "table lock (LOCK TABLES)",
            format!("LOCK TABLES {tag}_t READ"),
            format!("SELECT COUNT(*) FROM {tag}_u"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_session_state_does_not_reach_the_next_user() {
    let tag = marker();
    let mut root = sqlx::MySqlConnection::connect(MARIADB_URL)
        .await
        .expect("local MariaDB (see README) must be running");
    for stmt in [
        format!("CREATE SEQUENCE {tag}_seq"),
        format!("CREATE TABLE {tag}_t (id INT)"),
        format!("CREATE TABLE {tag}_u (id INT)"),
        format!("INSERT INTO {tag}_u VALUES (1), (2)"),
        format!("CREATE ROLE {tag}_role"),
        format!("GRANT {tag}_role TO root@localhost"),
        format!("GRANT {tag}_role TO root@'127.0.0.1'"),
    ] {
        // root may exist under either host name; one GRANT may fail.
        if let Err(e) = sqlx::raw_sql(&stmt).execute(&mut root).await {
            assert!(stmt.starts_with("GRANT"), "{stmt}: {e}");
        }
    }

    let app = spawn_app_with(Store::Sqlite, |a| {
        a.engine.pool_size = 1;
        a.engine.query_timeout = 2;
    })
    .await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (user_a, _) = app.signed_in(Role::Editor).await;
    let (user_b, _) = app.signed_in(Role::Editor).await;
    let ro = save(&app, &admin, &mysql_form("maria read-only")).await;
    let mut rw_form = mysql_form("maria writable");
    rw_form.push(("writable", "true"));
    let rw = save(&app, &admin, &rw_form).await;

    let cases = mariadb_cases(&tag);
    let mut leaked = vec![];
    for (name, conn) in [("read-only", ro), ("writable", rw)] {
        for l in leaks(&app, &user_a, &user_b, conn, &cases).await {
            leaked.push(format!("[{name}] {l}"));
        }
    }
    assert!(
        leaked.is_empty(),
        "session state leaked:\n{}",
        leaked.join("\n")
    );
    // After a failed, a timed-out and a cancelled run.
    let look = format!("SELECT COALESCE(IS_USED_LOCK('{tag}_l2') = CONNECTION_ID(), 0)");
    for conn in [ro, rw] {
        for sql in [
            // A failure after the lock was taken: the first argument is evaluated first.
            format!("SELECT GET_LOCK('{tag}_l2', 0), (SELECT id FROM {tag}_u)"),
            // Stopped by the execution-time limit.
            format!("SELECT GET_LOCK('{tag}_l2', 0), SLEEP(10)"),
        ] {
            let left = outcome(&app, &user_a, conn, &sql).await;
            assert!(left.starts_with("error"), "{sql}: {left}");
            let seen = outcome(&app, &user_b, conn, &look).await;
            if seen != "0" {
                leaked.push(format!("`{sql}` ({left}) left its named lock to B: {seen}"));
            }
        }
        let v = start(
            &app,
            &user_a,
            conn,
            &format!("SELECT GET_LOCK('{tag}_l2', 0), SLEEP(10)"),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let cv: RunView = parse(
            "cancel_run",
            app.call_json(&user_a, "cancel_run", &json!({"id": v.id.0}))
                .await,
        );
        assert_eq!(cv.state, RunState::Cancelled, "{cv:?}");
        let seen = outcome(&app, &user_b, conn, &look).await;
        if seen != "0" {
            leaked.push(format!("a cancelled run left its named lock to B: {seen}"));
        }
    }
    assert!(
        leaked.is_empty(),
        "session state leaked:\n{}",
        leaked.join("\n")
    );
    // The sessions A left are gone on the server too: their named locks are free.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let free: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT IS_FREE_LOCK('{tag}_lock') AND IS_FREE_LOCK('{tag}_l2')"
        ))
        .fetch_one(&mut root)
        .await
        .unwrap();
        if free == Some(1) {
            break;
        }
        assert!(Instant::now() < deadline, "a named lock of A is still held");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    app.cleanup().await;
    for stmt in [
        format!("DROP SEQUENCE IF EXISTS {tag}_seq"),
        format!("DROP TABLE IF EXISTS {tag}_t, {tag}_u"),
        format!("DROP ROLE IF EXISTS {tag}_role"),
    ] {
        let _ = sqlx::raw_sql(&stmt).execute(&mut root).await;
    }
    let _ = root.close().await;
}
