//! Connections and the SQL workbench over HTTP, against the real local PostgreSQL, MariaDB
//! and SQLite: SQLite path confinement (SECURITY case 1) and escapes (2), connection-field
//! injection (3), server-side escapes with a least-privilege role (5), read-only bypasses
//! (7, 8, 9), stored credentials (16), statement timeouts (30), cancellation (31), pool
//! exhaustion (33), a data source that goes away (34), and who may see which run.
use crate::common;

use app::model::{
    connection::{ConnectionEdit, ConnectionSummary, SchemaTable, TestOutcome},
    run::{HistoryEntry, Page, RunState, RunView},
    Role,
};
use common::{mysql_form, pg_checksum, pg_form, spawn_app_with, Store, TestApp};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value as Json};
use sqlx::Connection;
use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU8, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime},
};

const MARIADB_URL: &str = "mysql://root@127.0.0.1:3306/test";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A short random tag for table names, files and SQL text, so concurrent runs never collide.
fn marker() -> String {
    format!("sl{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The body of a 200 answer, deserialized.
fn parse<T: DeserializeOwned>(what: &str, (status, body): (StatusCode, String)) -> T {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

/// The first field and message of a 400 validation answer.
fn invalid(what: &str, (status, body): (StatusCode, String)) -> (String, String) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    let v: Json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
    let first = &v["Validation"][0];
    let field = first["field"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: not a validation error: {body}"));
    (
        field.to_string(),
        first["message"].as_str().unwrap_or("").to_string(),
    )
}

async fn save(app: &TestApp, c: &Client, fields: &[(&str, &str)]) -> i64 {
    parse(
        &format!("save_connection {fields:?}"),
        app.form_call(c, "save_connection", fields).await,
    )
}

async fn get_connection(app: &TestApp, c: &Client, id: i64) -> (StatusCode, String) {
    app.call(c, "get_connection", &[("id", &id.to_string())])
        .await
}

/// Starts a run; `page_size` 0 answers after at most ~250 ms.
async fn start(app: &TestApp, c: &Client, conn: i64, sql: &str, page_size: u32) -> RunView {
    parse(
        &format!("run_sql {sql}"),
        app.call_json(
            c,
            "run_sql",
            &json!({"request": {"connection_id": conn, "sql": sql, "params": [], "page_size": page_size}}),
        )
        .await,
    )
}

async fn status(app: &TestApp, c: &Client, id: &str, wait_ms: u32) -> (StatusCode, String) {
    app.call_json(c, "run_status", &json!({"id": id, "wait_ms": wait_ms}))
        .await
}

/// Follows a run until it finished; panics when that takes longer than `limit`.
async fn wait_done(app: &TestApp, c: &Client, mut v: RunView, limit: Duration) -> RunView {
    let deadline = Instant::now() + limit;
    while !v.state.finished() {
        assert!(
            Instant::now() < deadline,
            "run did not finish within {limit:?}: {v:?}"
        );
        v = parse("run_status", status(app, c, &v.id.0, 500).await);
    }
    v
}

async fn run(app: &TestApp, c: &Client, conn: i64, sql: &str) -> RunView {
    let v = start(app, c, conn, sql, 100).await;
    wait_done(app, c, v, Duration::from_secs(30)).await
}

async fn cancel(app: &TestApp, c: &Client, id: &str) -> RunView {
    parse(
        "cancel_run",
        app.call_json(c, "cancel_run", &json!({"id": id})).await,
    )
}

async fn fetch(
    app: &TestApp,
    c: &Client,
    id: &str,
    offset: u64,
    limit: u32,
    sort: Json,
) -> (StatusCode, String) {
    app.call_json(
        c,
        "fetch_rows",
        &json!({"id": id, "offset": offset, "limit": limit, "sort": sort}),
    )
    .await
}

/// The rows of a run that must succeed.
async fn rows_of(app: &TestApp, c: &Client, conn: i64, sql: &str) -> Vec<Vec<Option<String>>> {
    let v = run(app, c, conn, sql).await;
    assert_eq!(v.state, RunState::Done, "{sql}: {v:?}");
    let page: Page = parse(
        "fetch_rows",
        fetch(app, c, &v.id.0, 0, 1000, Json::Null).await,
    );
    page.rows
}

fn message(v: &RunView) -> String {
    v.error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default()
}

fn code(v: &RunView) -> Option<String> {
    v.error.as_ref().and_then(|e| e.code.clone())
}

fn cell(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// Replaces (or adds) one field of a form.
fn with<'a>(form: &[(&'a str, &'a str)], key: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<_> = form.iter().filter(|(k, _)| *k != key).copied().collect();
    out.push((key, value));
    out
}

/// A fresh PostgreSQL database with a fixture table `t` (50 rows) and a sequence `s`.
async fn pg_fixture() -> (String, String) {
    let (name, url) = common::fresh_pg_database().await;
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    for stmt in [
        "CREATE TABLE t (id int PRIMARY KEY, name text)",
        "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 50) g",
        "CREATE SEQUENCE s",
    ] {
        sqlx::query(stmt).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();
    (name, url)
}

async fn pg_scalar(url: &str, sql: &str) -> i64 {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap();
    c.close().await.unwrap();
    n
}

/// Polls until no PostgreSQL backend is running a statement containing `tag`; false when
/// one is still there after `within`.
async fn pg_backend_gone(url: &str, tag: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
             AND pid <> pg_backend_pid() AND position($1 in query) > 0",
        )
        .bind(tag)
        .fetch_one(&mut c)
        .await
        .unwrap();
        if n == 0 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ends whatever backend still runs a statement containing `tag` (test clean-up).
async fn pg_terminate(url: &str, tag: &str) {
    if let Ok(mut c) = sqlx::PgConnection::connect(url).await {
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND position($1 in query) > 0",
        )
        .bind(tag)
        .execute(&mut c)
        .await;
    }
}

/// The same for MariaDB's process list.
async fn mariadb_query_gone(tag: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut c = sqlx::MySqlConnection::connect(MARIADB_URL).await.unwrap();
    loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query' AND LOCATE(?, INFO) > 0",
        )
        .bind(tag)
        .fetch_one(&mut c)
        .await
        .unwrap();
        if n == 0 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A SQLite file with a table `t` of `n` rows (rollback journal, so no -wal/-shm files).
async fn make_sqlite(path: &Path, n: i64) {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete);
    let mut w = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        .execute(&mut w)
        .await
        .unwrap();
    sqlx::query(
        "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?) \
         INSERT INTO t SELECT i, 'row ' || i FROM g",
    )
    .bind(n)
    .execute(&mut w)
    .await
    .unwrap();
    w.close().await.unwrap();
}

/// Every entry under `root` (symlinks not followed), sorted.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                todo.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

/// A TCP listener that counts the connections it receives (and closes them at once).
async fn capture_server() -> (u16, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    });
    (port, hits)
}

const PASS: u8 = 0;
const REFUSE: u8 = 1;
const BLACKHOLE: u8 = 2;

/// A TCP proxy in front of a database that can pass traffic, cut every connection and close
/// new ones (`REFUSE`), or hold connections open without forwarding anything (`BLACKHOLE`).
struct Proxy {
    port: u16,
    mode: Arc<AtomicU8>,
    changed: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Proxy {
    async fn start(target: &'static str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(PASS));
        let changed = Arc::new(tokio::sync::watch::channel(0u64).0);
        let (m, ch) = (mode.clone(), changed.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut rx = ch.subscribe();
                let mode = m.clone();
                tokio::spawn(async move {
                    match mode.load(Ordering::SeqCst) {
                        REFUSE => return,
                        BLACKHOLE => {
                            let _ = rx.changed().await;
                            return;
                        }
                        _ => {}
                    }
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {
                            if mode.load(Ordering::SeqCst) == BLACKHOLE {
                                // Both ends stay open, nothing is forwarded, until the next change.
                                let _ = rx.changed().await;
                            }
                        }
                    }
                });
            }
        });
        Proxy {
            port,
            mode,
            changed,
        }
    }

    /// Switches the mode; every connection in flight is cut (or held, for `BLACKHOLE`).
    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
        self.changed.send_modify(|g| *g += 1);
    }
}

// ---------------------------------------------------------------------------------------
// Case 1 and 2: SQLite
// ---------------------------------------------------------------------------------------

/// SECURITY 1 and 2. The store sits inside the allowed directory on purpose (an admin's
/// mistake): it, its -wal/-shm and the key files must still be refused.
#[tokio::test]
async fn sqlite_paths_are_confined_and_sqlite_sql_cannot_escape() {
    let app = spawn_app_with(Store::Sqlite, |a| {
        let allowed = a.store.data_dir.parent().unwrap().join("allowed");
        std::fs::create_dir_all(&allowed).unwrap();
        a.store.data_dir = allowed.join("data");
        a.engine.sqlite_dir = Some(allowed);
    })
    .await;
    let root = app.dir.path().canonicalize().unwrap();
    let allowed = root.join("allowed");
    let data = allowed.join("data");
    let store = data.join("sightline.db");
    assert!(store.is_file(), "the store is at {}", store.display());
    let fixture = allowed.join("fixture.sqlite");
    let outside = root.join("outside.sqlite");
    make_sqlite(&fixture, 3).await;
    make_sqlite(&outside, 3).await;
    std::os::unix::fs::symlink("/etc", allowed.join("etc")).unwrap();
    std::os::unix::fs::symlink(&root, allowed.join("up")).unwrap();
    std::os::unix::fs::symlink(&store, allowed.join("store-link.sqlite")).unwrap();
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (editor, _) = app.signed_in(Role::Editor).await;

    let d = |p: &Path| p.display().to_string();
    let a = d(&allowed);
    let mut refused: Vec<(String, Option<&str>)> = vec![
        ("/etc/passwd".into(), None),
        (format!("{a}/../outside.sqlite"), Some("must be inside")),
        (format!("{a}/up/outside.sqlite"), Some("must be inside")),
        (format!("{a}/etc/passwd"), Some("must be inside")),
        (d(&store), Some("metadata database")),
        (
            format!("{a}/data/../data/sightline.db"),
            Some("metadata database"),
        ),
        (format!("{a}/store-link.sqlite"), Some("metadata database")),
        (format!("{}-wal", d(&store)), None),
        (format!("{}-shm", d(&store)), None),
        (format!("{a}/never-created.sqlite"), None),
        (format!("file:{}?mode=rwc", d(&fixture)), None),
        ("file:/etc/passwd?mode=rwc".into(), None),
        (format!("{}?mode=rwc", d(&fixture)), None),
        (":memory:".into(), None),
        ("fixture.sqlite".into(), None),
        (format!("{}\0", d(&fixture)), None),
        (String::new(), None),
    ];
    for key in std::fs::read_dir(data.join("secrets")).unwrap().flatten() {
        refused.push((d(&key.path()), None));
    }
    let urls = [
        "sqlite:///etc/passwd".to_string(),
        format!("sqlite://{}", d(&store)),
        format!("sqlite://{a}/never-created.sqlite?mode=rwc"),
        format!("sqlite://{}?mode=ro", d(&fixture)),
        "sqlite::memory:".to_string(),
        "file:/etc/passwd?mode=rwc".to_string(),
    ];

    let files_before = files_under(&root);
    let store_mtime = mtime(&store);
    let fixture_mtime = mtime(&fixture);
    for (who, c) in [("admin", &admin), ("editor", &editor)] {
        for f in ["save_connection", "test_connection"] {
            for (path, says) in &refused {
                let (field, msg) = invalid(
                    &format!("{who} {f} path={path:?}"),
                    app.form_call(
                        c,
                        f,
                        &[("name", "lite"), ("kind", "sqlite"), ("path", path)],
                    )
                    .await,
                );
                assert_eq!(field, "path", "{who} {f} {path:?}: {msg}");
                if let Some(s) = says {
                    assert!(msg.contains(s), "{who} {f} {path:?}: {msg}");
                }
            }
            for url in &urls {
                let (field, msg) = invalid(
                    &format!("{who} {f} url={url}"),
                    app.form_call(c, f, &[("name", "lite"), ("url", url)]).await,
                );
                assert!(
                    ["url", "path"].contains(&field.as_str()),
                    "{url}: {field} {msg}"
                );
            }
        }
    }
    assert_eq!(
        files_under(&root),
        files_before,
        "no file appeared or vanished"
    );
    assert_eq!(mtime(&store), store_mtime, "the store file was not touched");
    let listed: Vec<ConnectionSummary> =
        parse("list", app.call(&admin, "list_connections", &[]).await);
    assert!(listed.is_empty(), "nothing was saved: {listed:?}");

    // A file inside the directory is accepted and readable.
    let id = save(
        &app,
        &editor,
        &[
            ("name", "fixture"),
            ("kind", "sqlite"),
            ("path", &d(&fixture)),
        ],
    )
    .await;
    let outcome: TestOutcome = parse(
        "test sqlite",
        app.form_call(
            &editor,
            "test_connection",
            &[
                ("name", "fixture"),
                ("kind", "sqlite"),
                ("path", &d(&fixture)),
            ],
        )
        .await,
    );
    assert!(outcome.version.starts_with("SQLite"), "{outcome:?}");
    assert_eq!(
        rows_of(&app, &editor, id, "SELECT count(*) AS n FROM t").await,
        [[cell("3")]]
    );

    // Case 2: user SQL cannot attach, vacuum into, load extensions or write.
    let pwn = format!("/tmp/sl-pwn-{}.db", marker());
    let pwn2 = allowed.join("pwn2.sqlite");
    for sql in [
        "ATTACH '/etc/passwd' AS x".to_string(),
        format!("ATTACH '{}' AS m", d(&store)),
        format!("ATTACH 'file:{}?mode=rwc' AS n", d(&pwn2)),
        format!("VACUUM INTO '{pwn}'"),
        format!("VACUUM INTO '{}'", d(&pwn2)),
        "SELECT load_extension('x')".to_string(),
        "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0')".to_string(),
        "PRAGMA writable_schema=1".to_string(),
        "PRAGMA query_only=0".to_string(),
        "PRAGMA journal_mode=WAL".to_string(),
        "DELETE FROM t".to_string(),
        "INSERT INTO t (id) VALUES (99)".to_string(),
        "CREATE TABLE pwned (a)".to_string(),
        "SELECT 1; DELETE FROM t".to_string(),
    ] {
        let v = run(&app, &editor, id, &sql).await;
        assert_eq!(v.state, RunState::Failed, "{sql}: {v:?}");
        assert!(!message(&v).is_empty(), "{sql}: {v:?}");
        // SQLite's result codes are not SQLSTATEs: none is shown as one.
        assert_eq!(code(&v), None, "{sql}: {v:?}");
    }
    // A write says what to do, in words.
    let v = run(&app, &editor, id, "DELETE FROM t").await;
    assert!(message(&v).contains("read-only"), "{v:?}");
    assert!(!message(&v).contains("SQLSTATE"), "{v:?}");
    assert!(!Path::new(&pwn).exists(), "VACUUM INTO wrote {pwn}");
    assert!(!pwn2.exists(), "a file appeared at {}", pwn2.display());
    assert_eq!(
        rows_of(&app, &editor, id, "SELECT count(*), max(name) FROM t").await,
        [[cell("3"), cell("row 3")]]
    );
    assert_eq!(
        mtime(&fixture),
        fixture_mtime,
        "the fixture was not written"
    );
    assert_eq!(mtime(&store), store_mtime, "the store file was not touched");
}

/// The schema (for autocomplete) of a SQLite connection lists its tables and columns.
#[tokio::test]
async fn sqlite_connection_schema_lists_tables() {
    let app = spawn_app_with(Store::Sqlite, |a| {
        let allowed = a.store.data_dir.parent().unwrap().join("allowed");
        std::fs::create_dir_all(&allowed).unwrap();
        a.engine.sqlite_dir = Some(allowed);
    })
    .await;
    let fixture = app.dir.path().join("allowed/fixture.sqlite");
    make_sqlite(&fixture, 3).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let path = fixture.display().to_string();
    let id = save(
        &app,
        &c,
        &[("name", "fixture"), ("kind", "sqlite"), ("path", &path)],
    )
    .await;
    let schema: Vec<SchemaTable> = parse(
        "schema",
        app.call(&c, "connection_schema", &[("id", &id.to_string())])
            .await,
    );
    assert_eq!(schema.len(), 1, "{schema:?}");
    assert_eq!(
        (schema[0].name.as_str(), schema[0].columns.clone()),
        ("t", vec!["id".to_string(), "name".to_string()])
    );
}

/// SECURITY 1: SQLite is off unless an admin names a directory.
#[tokio::test]
async fn sqlite_is_refused_unless_a_directory_is_allowed() {
    let app = common::spawn_app().await;
    let file = app.dir.path().join("fine.sqlite");
    make_sqlite(&file, 1).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let path = file.display().to_string();
    for f in ["save_connection", "test_connection"] {
        let (field, msg) = invalid(
            f,
            app.form_call(
                &admin,
                f,
                &[("name", "lite"), ("kind", "sqlite"), ("path", &path)],
            )
            .await,
        );
        assert_eq!(field, "path");
        assert!(msg.contains("turned off"), "{msg}");
    }
}

// ---------------------------------------------------------------------------------------
// Case 3: connection-field injection
// ---------------------------------------------------------------------------------------

/// SECURITY 3: separators and options smuggled through any field are refused with a 400
/// naming the field; a capture server named inside the payloads never hears from us.
#[tokio::test]
async fn connection_fields_cannot_smuggle_driver_options() {
    let app = common::spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let (cp, hits) = capture_server().await;
    let base = pg_form("inj", "test", "postgres");
    let fields: Vec<(&str, String, &str)> = vec![
        ("host", "127.0.0.1 host=evil".into(), "host"),
        ("host", format!("127.0.0.1 port={cp}"), "host"),
        ("host", format!("127.0.0.1:{cp}"), "host"),
        ("host", "127.0.0.1\0".into(), "host"),
        ("host", "127.0.0.1\r\nport=1".into(), "host"),
        ("host", "-oProxyCommand=x".into(), "host"),
        ("host", "127.0.0.1/evil".into(), "host"),
        ("port", format!("5432 port={cp}"), "port"),
        ("port", "0".into(), "port"),
        ("port", "70000".into(), "port"),
        ("database", "test;host=evil".into(), "database"),
        ("database", "test?sslmode=disable".into(), "database"),
        ("database", format!("test port={cp}"), "database"),
        (
            "database",
            "test&options=-c statement_timeout=0".into(),
            "database",
        ),
        ("database", "te\0st".into(), "database"),
        ("database", "test'".into(), "database"),
        ("user", "postgres=x".into(), "user"),
        ("user", "postgres options=-csearch_path=evil".into(), "user"),
        ("user", "post\0gres".into(), "user"),
        ("user", "postgres;INIT=x".into(), "user"),
        ("password", "pw\0x".into(), "password"),
        (
            "ssl_mode",
            "disable sslrootcert=/etc/passwd".into(),
            "ssl_mode",
        ),
        (
            "ssl_mode",
            "require&sslrootcert=/etc/passwd".into(),
            "ssl_mode",
        ),
        ("kind", "postgres;x".into(), "kind"),
    ];
    for (key, value, expect) in &fields {
        let form = with(&base, key, value);
        for f in ["save_connection", "test_connection"] {
            let (field, msg) = invalid(
                &format!("{f} {key}={value:?}"),
                app.form_call(&c, f, &form).await,
            );
            assert_eq!(&field, expect, "{f} {key}={value:?}: {msg}");
        }
    }
    let urls = [
        "postgres://postgres@127.0.0.1/test?options=-c%20statement_timeout%3D0".to_string(),
        "postgres://postgres@127.0.0.1/test?sslrootcert=/etc/passwd".to_string(),
        format!("postgres://postgres@127.0.0.1/test?host=127.0.0.1&port={cp}"),
        format!("postgres://postgres@127.0.0.1/test%3Fport%3D{cp}"),
        "postgres://postgres@127.0.0.1/test%3Bhost%3Devil".to_string(),
        "postgres://postgres@127.0.0.1/test%20host=evil".to_string(),
        "postgres://postgres%3Dx@127.0.0.1/test".to_string(),
        "postgres://postgres@127.0.0.1/test%00".to_string(),
        "postgres://postgres@127.0.0.1/test%ZZ".to_string(),
        "postgres://postgres@/test".to_string(),
        "mysql://root@127.0.0.1/test?allowLoadLocalInfile=true".to_string(),
        "mysql://root@127.0.0.1/test;INIT=x".to_string(),
        "mysql://root@127.0.0.1/test?local_infile=1".to_string(),
        "jdbc:postgresql://127.0.0.1/test".to_string(),
        "host=127.0.0.1 dbname=test".to_string(),
    ];
    for url in &urls {
        for f in ["save_connection", "test_connection"] {
            invalid(
                &format!("{f} url={url}"),
                app.form_call(&c, f, &[("name", "inj"), ("url", url)]).await,
            );
        }
    }
    let listed: Vec<ConnectionSummary> = parse("list", app.call(&c, "list_connections", &[]).await);
    assert!(listed.is_empty(), "nothing was saved: {listed:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the capture server was contacted"
    );

    // Controls: the clean form works for both engines, and the capture server does count a
    // connection that really goes to it.
    let ok: TestOutcome = parse("test pg", app.form_call(&c, "test_connection", &base).await);
    assert!(ok.version.contains("PostgreSQL"), "{ok:?}");
    let ok: TestOutcome = parse(
        "test mariadb",
        app.form_call(&c, "test_connection", &mysql_form("m")).await,
    );
    assert!(ok.version.contains("MariaDB"), "{ok:?}");
    let cps = cp.to_string();
    let (st, body) = app
        .form_call(&c, "test_connection", &with(&base, "port", &cps))
        .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        hits.load(Ordering::SeqCst) >= 1,
        "the control connection reached the capture server"
    );
}

// ---------------------------------------------------------------------------------------
// Case 5: server-side escapes
// ---------------------------------------------------------------------------------------

/// SECURITY 5: a superuser account is flagged when tested; with a least-privilege role the
/// server-side file and program functions are refused and nothing is written.
#[tokio::test]
async fn postgres_superuser_is_flagged_and_a_restricted_role_cannot_reach_files() {
    let (db, url) = pg_fixture().await;
    let role = format!("sl_ro_{}", marker());
    {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        for stmt in [
            format!("CREATE ROLE {role} LOGIN PASSWORD 'irrelevant-under-trust'"),
            format!("GRANT SELECT ON t TO {role}"),
        ] {
            sqlx::query(&stmt).execute(&mut c).await.unwrap();
        }
    }
    let app = common::spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;

    let su: TestOutcome = parse(
        "test as postgres",
        app.form_call(&c, "test_connection", &pg_form("su", &db, "postgres"))
            .await,
    );
    let warning = su.warning.expect("a superuser is flagged");
    assert!(warning.contains("superuser"), "{warning}");
    let my: TestOutcome = parse(
        "test mariadb root",
        app.form_call(&c, "test_connection", &mysql_form("m")).await,
    );
    assert!(
        my.warning.is_some_and(|w| w.contains("FILE")),
        "root on MariaDB is flagged"
    );

    let form = with(&pg_form("restricted", &db, &role), "password", "whatever");
    let ro: TestOutcome = parse(
        "test restricted",
        app.form_call(&c, "test_connection", &form).await,
    );
    assert_eq!(ro.warning, None, "{ro:?}");
    let id = save(&app, &c, &form).await;
    assert_eq!(
        rows_of(&app, &c, id, "SELECT count(*) FROM t").await,
        [[cell("50")]]
    );

    let touched = format!("/tmp/sl-{}", marker());
    for sql in [
        format!("COPY (SELECT 1) TO PROGRAM 'touch {touched}'"),
        format!("COPY (SELECT 1) TO '{touched}'"),
        "SELECT pg_read_file('/etc/passwd')".to_string(),
        "SELECT pg_read_binary_file('/etc/passwd')".to_string(),
        "SELECT lo_import('/etc/passwd')".to_string(),
        format!("SELECT lo_export(1, '{touched}')"),
        "SELECT pg_ls_dir('/tmp')".to_string(),
    ] {
        let v = run(&app, &c, id, &sql).await;
        assert_eq!(v.state, RunState::Failed, "{sql}: {v:?}");
        let m = message(&v).to_lowercase();
        assert!(
            matches!(code(&v).as_deref(), Some("42501") | Some("25006"))
                && (m.contains("permission denied")
                    || m.contains("must be superuser")
                    || m.contains("read-only")),
            "{sql}: {v:?}"
        );
    }
    assert!(!Path::new(&touched).exists(), "{touched} was created");

    app.cleanup().await;
    common::drop_pg_database(&db).await;
    let mut c = sqlx::PgConnection::connect(&common::pg_admin_url())
        .await
        .unwrap();
    let _ = sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
        .execute(&mut c)
        .await;
}

// ---------------------------------------------------------------------------------------
// Cases 7 and 8: PostgreSQL read-only
// ---------------------------------------------------------------------------------------

/// SECURITY 7 and 8, through HTTP as an editor on a superuser account, with one pooled
/// connection so anything a payload left in the session would meet the next run.
#[tokio::test]
async fn postgres_read_only_holds_against_transaction_control_and_hidden_writes() {
    let (db, url) = pg_fixture().await;
    let app = spawn_app_with(Store::Sqlite, |a| a.engine.pool_size = 1).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let id = save(&app, &c, &pg_form("fixture", &db, "postgres")).await;
    let before = pg_checksum(&url).await;

    enum Expect {
        OneStatement,
        ReadOnly,
        Fails,
    }
    use Expect::*;
    let payloads: Vec<(&str, Expect)> = vec![
        ("SELECT 1; COMMIT; DELETE FROM t", OneStatement),
        ("SELECT 1;\nDELETE FROM t;", OneStatement),
        ("COMMIT; DELETE FROM t", OneStatement),
        ("SET TRANSACTION READ WRITE", Fails),
        (
            "SELECT set_config('transaction_read_only', 'off', true)",
            Fails,
        ),
        ("DELETE FROM t", ReadOnly),
        ("UPDATE t SET name = 'x' WHERE id = 1", ReadOnly),
        (
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            ReadOnly,
        ),
        ("SELECT * INTO t2 FROM t", ReadOnly),
        ("CREATE TABLE t3 AS SELECT * FROM t", ReadOnly),
        ("EXPLAIN ANALYZE DELETE FROM t", ReadOnly),
        ("SELECT nextval('s')", ReadOnly),
        ("SELECT setval('s', 100)", ReadOnly),
        (
            "SELECT query_to_xml('delete from t', true, true, '')",
            Fails,
        ),
        ("DO $$ BEGIN DELETE FROM t; END $$", ReadOnly),
        ("TRUNCATE t", ReadOnly),
        // The lexer reads this as one statement (standard strings have no backslash
        // escapes); the extended protocol still refuses a second command.
        ("SELECT '\\'; DELETE FROM t; --'", Fails),
    ];
    for (sql, expect) in &payloads {
        let v = run(&app, &c, id, sql).await;
        assert_eq!(v.state, RunState::Failed, "{sql}: {v:?}");
        let m = message(&v);
        match expect {
            OneStatement => assert!(m.contains("one statement"), "{sql}: {m}"),
            // The SQLSTATE itself is checked in `read_only_errors_carry_the_sqlstate`.
            ReadOnly => assert!(m.contains("read-only"), "{sql}: {m}"),
            Fails => assert!(!m.is_empty(), "{sql}: {v:?}"),
        }
    }
    // Transaction control that the server accepts must leave nothing behind: after each, a
    // write on the same pooled session is still refused.
    for sql in [
        "COMMIT",
        "BEGIN READ WRITE",
        "ROLLBACK",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
        "PREPARE sl_p AS DELETE FROM t",
        "EXECUTE sl_p",
        "SET statement_timeout = 0",
    ] {
        let v = run(&app, &c, id, sql).await;
        assert!(v.state.finished(), "{sql}: {v:?}");
        eprintln!("{sql} -> {:?} {}", v.state, message(&v));
        let w = run(&app, &c, id, "DELETE FROM t").await;
        assert_eq!(w.state, RunState::Failed, "DELETE after {sql}: {w:?}");
        assert!(
            message(&w).contains("read-only"),
            "DELETE after {sql}: {w:?}"
        );
    }
    assert_eq!(
        rows_of(&app, &c, id, "SELECT count(*) FROM t").await,
        [[cell("50")]],
        "the connection still answers"
    );
    assert_eq!(
        pg_checksum(&url).await,
        before,
        "rows and sequence unchanged"
    );
    let stuck = pg_scalar(
        &url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'sightline' AND state LIKE 'idle in transaction%'",
    )
    .await;
    assert_eq!(stuck, 0, "a backend was left idle in a transaction");
    let ours = pg_scalar(
        &url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'sightline'",
    )
    .await;
    assert!(
        ours >= 1,
        "the pooled connection is visible (the filter above matches it)"
    );
    app.cleanup().await;
    common::drop_pg_database(&db).await;
}

/// SECURITY 8: a refused write reports the database's SQLSTATE (25006) along with the
/// read-only message, as `RunError.code` promises ("when the database gave one").
#[tokio::test]
async fn read_only_errors_carry_the_sqlstate() {
    let (db, _url) = pg_fixture().await;
    let app = common::spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let id = save(&app, &c, &pg_form("fixture", &db, "postgres")).await;
    let v = run(&app, &c, id, "DELETE FROM t").await;
    common::drop_pg_database(&db).await;
    assert_eq!(v.state, RunState::Failed, "{v:?}");
    assert!(message(&v).contains("read-only"), "{v:?}");
    assert_eq!(code(&v).as_deref(), Some("25006"), "{v:?}");
}

// ---------------------------------------------------------------------------------------
// Case 9: MariaDB read-only
// ---------------------------------------------------------------------------------------

async fn mariadb_table(table: &str) -> sqlx::MySqlConnection {
    let mut admin = sqlx::MySqlConnection::connect(MARIADB_URL)
        .await
        .expect("local MariaDB (see README)");
    for stmt in [
        format!("CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(20))"),
        format!("INSERT INTO {table} VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
    ] {
        sqlx::query(&stmt).execute(&mut admin).await.unwrap();
    }
    admin
}

async fn mariadb_rows(admin: &mut sqlx::MySqlConnection, table: &str) -> Vec<(i32, String)> {
    sqlx::query_as(&format!("SELECT id, name FROM {table} ORDER BY id"))
        .fetch_all(admin)
        .await
        .unwrap()
}

/// SECURITY 9: writes, `SET SESSION TRANSACTION READ WRITE`, server files and several
/// statements are refused; one pooled connection, so session state would carry over.
#[tokio::test]
async fn mariadb_read_only_holds_and_server_files_are_refused() {
    let tag = marker();
    let table = format!("{tag}_t");
    let mut admin = mariadb_table(&table).await;
    let app = spawn_app_with(Store::Sqlite, |a| a.engine.pool_size = 1).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let id = save(&app, &c, &mysql_form("maria")).await;
    let out = format!("/tmp/sl-{tag}.txt");

    let v = run(&app, &c, id, "SET SESSION TRANSACTION READ WRITE").await;
    assert!(v.state.finished(), "{v:?}");
    eprintln!(
        "SET SESSION TRANSACTION READ WRITE -> {:?} {}",
        v.state,
        message(&v)
    );
    for sql in [
        format!("DELETE FROM {table}"),
        format!("UPDATE {table} SET name = 'x'"),
        format!("INSERT INTO {table} VALUES (4, 'd')"),
    ] {
        let v = run(&app, &c, id, &sql).await;
        assert_eq!(v.state, RunState::Failed, "{sql}: {v:?}");
        assert!(message(&v).contains("read-only"), "{sql}: {v:?}");
    }
    for (sql, says) in [
        (format!("SELECT 1 INTO OUTFILE '{out}'"), "INTO OUTFILE"),
        (
            format!("SELECT * FROM {table} INTO DUMPFILE '{out}'"),
            "INTO DUMPFILE",
        ),
        (format!("select   1\ninto\toutfile '{out}'"), "INTO OUTFILE"),
        ("SELECT LOAD_FILE('/etc/passwd')".to_string(), "LOAD_FILE"),
        (
            "SELECT load_file ('/etc/passwd') AS x".to_string(),
            "LOAD_FILE",
        ),
        (
            format!("LOAD DATA INFILE '/etc/passwd' INTO TABLE {table}"),
            "LOAD DATA",
        ),
        (format!("SELECT 1; DELETE FROM {table}"), "one statement"),
        (format!("SELECT 1;\nSELECT 1 INTO OUTFILE '{out}'"), ""),
    ] {
        let v = run(&app, &c, id, &sql).await;
        assert_eq!(v.state, RunState::Failed, "{sql}: {v:?}");
        assert!(message(&v).contains(says), "{sql}: {v:?}");
    }
    // A backslash escape the lexer may misread: the prepared-statement protocol still takes
    // one statement only.
    let v = run(
        &app,
        &c,
        id,
        &format!("SELECT \"\\\"\"; DELETE FROM {table}"),
    )
    .await;
    assert_eq!(v.state, RunState::Failed, "{v:?}");
    assert!(!Path::new(&out).exists(), "{out} was written");
    let read: Option<Vec<u8>> = sqlx::query_scalar(&format!("SELECT LOAD_FILE('{out}')"))
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(read, None, "the server wrote {out} where it can see it");
    assert_eq!(
        rows_of(&app, &c, id, &format!("SELECT count(*) FROM {table}")).await,
        [[cell("3")]]
    );
    assert_eq!(
        mariadb_rows(&mut admin, &table).await,
        [
            (1, "a".to_string()),
            (2, "b".to_string()),
            (3, "c".to_string())
        ]
    );
    sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
        .execute(&mut admin)
        .await
        .unwrap();
}

/// SECURITY 9: statements that commit implicitly (DDL) must not escape the read-only run.
/// MariaDB ends a READ ONLY transaction implicitly before DDL and then runs it.
#[tokio::test]
async fn mariadb_ddl_cannot_escape_the_read_only_run() {
    let tag = marker();
    let table = format!("{tag}_t");
    let mut admin = mariadb_table(&table).await;
    let victim = format!("{tag}_v");
    sqlx::query(&format!("CREATE TABLE {victim} (a INT)"))
        .execute(&mut admin)
        .await
        .unwrap();
    let app = common::spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let id = save(&app, &c, &mysql_form("maria")).await;
    let mut outcomes = vec![];
    for sql in [
        format!("CREATE TABLE {tag}_made (a INT)"),
        format!("DROP TABLE {victim}"),
        format!("ALTER TABLE {table} ADD COLUMN z INT"),
        format!("TRUNCATE TABLE {table}"),
        format!("RENAME TABLE {table} TO {tag}_moved"),
    ] {
        let v = run(&app, &c, id, &sql).await;
        outcomes.push(format!("{sql} -> {:?} {}", v.state, message(&v)));
    }
    let tables: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = 'test' AND table_name LIKE '{tag}%'"
    ))
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let columns: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'test' AND table_name = '{table}'"
    ))
    .fetch_one(&mut admin)
    .await
    .unwrap();
    let rows = if tables.contains(&table) {
        mariadb_rows(&mut admin, &table).await.len()
    } else {
        0
    };
    for t in [
        table.clone(),
        victim.clone(),
        format!("{tag}_made"),
        format!("{tag}_moved"),
    ] {
        let _ = sqlx::query(&format!("DROP TABLE IF EXISTS {t}"))
            .execute(&mut admin)
            .await;
    }
    let mut expected = vec![table.clone(), victim.clone()];
    expected.sort();
    let mut tables = tables;
    tables.sort();
    assert_eq!(tables, expected, "tables after the payloads; {outcomes:#?}");
    assert_eq!(columns, 2, "columns of {table}; {outcomes:#?}");
    assert_eq!(rows, 3, "rows of {table}; {outcomes:#?}");
    assert!(
        outcomes.iter().all(|o| o.contains("Failed")),
        "{outcomes:#?}"
    );
}

/// SECURITY 9: the server-file guard must not be bypassed by MariaDB's executable comments
/// (`/*! … */`, `/*M! … */`), which the server runs but the guard blanks out.
#[tokio::test]
async fn mariadb_executable_comments_cannot_reach_server_files() {
    let tag = marker();
    let app = common::spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let id = save(&app, &c, &mysql_form("maria")).await;
    let out1 = format!("/tmp/sl-{tag}-1.txt");
    let out2 = format!("/tmp/sl-{tag}-2.txt");
    let mut outcomes = vec![];
    for sql in [
        format!("SELECT 1 /*! INTO OUTFILE '{out1}' */"),
        format!("SELECT 1 /*M! INTO DUMPFILE '{out2}' */"),
        "SELECT /*! LOAD_FILE('/etc/passwd') */ AS x".to_string(),
    ] {
        let v = run(&app, &c, id, &sql).await;
        outcomes.push((sql, v.state, message(&v)));
    }
    let written: Vec<&String> = [&out1, &out2]
        .into_iter()
        .filter(|p| Path::new(p).exists())
        .collect();
    for p in &written {
        let _ = std::fs::remove_file(p);
    }
    assert!(
        written.is_empty(),
        "files written: {written:?}; {outcomes:#?}"
    );
    assert!(
        outcomes.iter().all(|(_, s, _)| *s == RunState::Failed),
        "{outcomes:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Case 16: stored credentials
// ---------------------------------------------------------------------------------------

/// SECURITY 16: the password never comes back (page HTML, list, get, runs, history) and is
/// not stored in clear; changing the target needs it again; a rename keeps it. Also checks
/// how `form[id]` and `form[writable]` arrive, and that only admins set writable.
#[tokio::test]
async fn stored_passwords_are_write_only_and_cannot_follow_a_new_host() {
    const PW: &str = "S3cret-Pa55-xyz";
    let (db, _url) = pg_fixture().await;
    let app = common::spawn_app().await;
    let (editor, _) = app.signed_in(Role::Editor).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let form = with(&pg_form("Secret PG", &db, "postgres"), "password", PW);
    let id = save(&app, &editor, &form).await;
    let ids = id.to_string();

    let page = app.get(&editor, "/connections").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Secret PG"), "the page lists the connection");
    assert!(!html.contains(PW), "the password is in the page HTML");
    let (st, list) = app.call(&editor, "list_connections", &[]).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        list.contains(&format!("postgres@127.0.0.1:5432/{db}")),
        "{list}"
    );
    assert!(!list.contains(PW), "{list}");
    let (st, got) = get_connection(&app, &editor, id).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!got.contains(PW), "{got}");
    let edit: ConnectionEdit = serde_json::from_str(&got).unwrap();
    assert!(edit.has_password);
    assert_eq!(edit.config.network().unwrap().password, None);
    let (st, ran) = app
        .call_json(&editor, "run_sql", &json!({"request": {"connection_id": id, "sql": "SELECT current_user", "page_size": 10}}))
        .await;
    assert_eq!(st, StatusCode::OK, "{ran}");
    assert!(!ran.contains(PW), "{ran}");
    let (_, history) = app
        .call_json(&editor, "query_history", &json!({"search": null}))
        .await;
    assert!(!history.contains(PW), "{history}");
    // Not in clear at rest either (the store and its write-ahead log).
    let data = app.dir.path().join("data");
    for f in ["sightline.db", "sightline.db-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(f)) {
            assert!(
                !bytes.windows(PW.len()).any(|w| w == PW.as_bytes()),
                "{f} holds the password in clear"
            );
        }
    }

    // Host swap: a changed target without the password is refused, and nothing is dialled.
    let (cp, hits) = capture_server().await;
    let cps = cp.to_string();
    let keep = with(
        &with(&pg_form("Secret PG", &db, "postgres"), "id", &ids),
        "password",
        "",
    );
    for (key, value) in [
        ("host", "localhost"),
        ("port", cps.as_str()),
        ("user", "someone_else"),
        ("database", "postgres"),
        ("ssl_mode", "require"),
    ] {
        for f in ["save_connection", "test_connection"] {
            let (field, msg) = invalid(
                &format!("{f} {key}={value} without password"),
                app.form_call(&editor, f, &with(&keep, key, value)).await,
            );
            assert_eq!(field, "password", "{f} {key}: {msg}");
        }
    }
    let url_swap = format!("postgres://postgres@127.0.0.1:{cp}/{db}?sslmode=disable");
    let (field, _) = invalid(
        "url swap",
        app.form_call(
            &editor,
            "test_connection",
            &[("id", &ids), ("name", "Secret PG"), ("url", &url_swap)],
        )
        .await,
    );
    assert_eq!(field, "password");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the stored password went to a new host"
    );
    let edit: ConnectionEdit = parse("get", get_connection(&app, &editor, id).await);
    let n = edit.config.network().unwrap();
    assert_eq!((n.host.as_str(), n.port), ("127.0.0.1", 5432));
    assert!(edit.has_password);

    // Renaming alone keeps the password (and `form[id]` updates, not inserts).
    let same = save(&app, &editor, &with(&keep, "name", "Secret PG renamed")).await;
    assert_eq!(same, id);
    let edit: ConnectionEdit = parse("get", get_connection(&app, &editor, id).await);
    assert_eq!(edit.name, "Secret PG renamed");
    assert!(edit.has_password, "a rename kept the password");
    let listed: Vec<ConnectionSummary> =
        parse("list", app.call(&editor, "list_connections", &[]).await);
    assert_eq!(listed.len(), 1);
    assert_eq!(
        rows_of(&app, &editor, id, "SELECT current_user::text").await,
        [[cell("postgres")]]
    );

    // Only an admin may mark a connection writable (`form[writable]=true`).
    let renamed = with(&keep, "name", "Secret PG renamed");
    let writable = with(&renamed, "writable", "true");
    let (field, _) = invalid(
        "editor sets writable",
        app.form_call(&editor, "save_connection", &writable).await,
    );
    assert_eq!(field, "writable");
    assert!(!parse::<ConnectionEdit>("get", get_connection(&app, &editor, id).await).writable);
    assert_eq!(save(&app, &admin, &writable).await, id);
    let edit: ConnectionEdit = parse("get", get_connection(&app, &admin, id).await);
    assert!(edit.writable && edit.has_password, "{edit:?}");
    // An editor saving it (without the flag) cannot quietly turn it off either.
    let (field, _) = invalid(
        "editor clears writable",
        app.form_call(&editor, "save_connection", &renamed).await,
    );
    assert_eq!(field, "writable");
    assert_eq!(save(&app, &admin, &renamed).await, id);

    // A new target with a new password is fine.
    let moved = with(&with(&renamed, "port", "5432"), "password", "N3w-Pa55");
    assert_eq!(
        save(&app, &editor, &with(&moved, "database", "test")).await,
        id
    );
    let edit: ConnectionEdit = parse("get", get_connection(&app, &editor, id).await);
    assert_eq!(edit.config.network().unwrap().database, "test");
    assert!(edit.has_password);
    common::drop_pg_database(&db).await;
}

// ---------------------------------------------------------------------------------------
// Case 30: statement timeout
// ---------------------------------------------------------------------------------------

/// SECURITY 30: a 2 s limit the SQL cannot lift, on PostgreSQL and MariaDB; the statement
/// really stops in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_holds_and_stops_the_statement_in_the_database() {
    let (db, url) = pg_fixture().await;
    let app = spawn_app_with(Store::Sqlite, |a| a.engine.query_timeout = 2).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let pg = save(&app, &c, &pg_form("pg", &db, "postgres")).await;
    let my = save(&app, &c, &mysql_form("maria")).await;
    let tag = marker();

    let t = Instant::now();
    let v = run(&app, &c, pg, "SET statement_timeout=0; SELECT pg_sleep(60)").await;
    assert_eq!(v.state, RunState::Failed, "{v:?}");
    assert!(message(&v).contains("one statement"), "{v:?}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "refused before running"
    );

    // (connection, SQL, limit): the plain ones stop at the database's own limit; the ones
    // that lift it for themselves are stopped by the server's backstop.
    let cases = [
        (pg, format!("SELECT pg_sleep(60) AS {tag}_a"), 4.5),
        (
            pg,
            format!("SELECT set_config('statement_timeout', '0', true), pg_sleep(60) AS {tag}_b"),
            6.5,
        ),
        (my, format!("SELECT SLEEP(60) AS {tag}_c"), 4.5),
        (
            my,
            format!("SET STATEMENT max_statement_time = 0 FOR SELECT SLEEP(60) AS {tag}_d"),
            6.5,
        ),
    ];
    let started = futures::future::join_all(cases.iter().map(|(conn, sql, _)| {
        let (app, c) = (&app, &c);
        async move { (Instant::now(), start(app, c, *conn, sql, 0).await) }
    }))
    .await;
    for ((t0, v), (_, sql, limit)) in started.into_iter().zip(&cases) {
        let v = wait_done(&app, &c, v, Duration::from_secs(10)).await;
        let took = t0.elapsed();
        assert_eq!(v.state, RunState::Failed, "{sql}: {v:?}");
        assert!(message(&v).contains("2 s limit"), "{sql}: {v:?}");
        assert!(
            took < Duration::from_secs_f64(*limit),
            "{sql}: took {took:?}"
        );
    }
    assert!(
        pg_backend_gone(&url, &tag, Duration::from_secs(2)).await,
        "a pg_sleep backend is left"
    );
    assert!(
        mariadb_query_gone(&tag, Duration::from_secs(2)).await,
        "a SLEEP query is left"
    );
    // The connections went back usable.
    assert_eq!(rows_of(&app, &c, pg, "SELECT 1").await, [[cell("1")]]);
    assert_eq!(rows_of(&app, &c, my, "SELECT 1").await, [[cell("1")]]);
    pg_terminate(&url, &tag).await;
    app.cleanup().await;
    common::drop_pg_database(&db).await;
}

// ---------------------------------------------------------------------------------------
// Case 31: cancel
// ---------------------------------------------------------------------------------------

/// SECURITY 31: cancel reaches the database, the state is truthful, and a run cancelled
/// while it waits for a connection never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_statement_and_works_before_dispatch() {
    let (db, url) = pg_fixture().await;
    let app = spawn_app_with(Store::Sqlite, |a| a.engine.pool_size = 1).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let pg = save(&app, &c, &pg_form("pg", &db, "postgres")).await;
    let tag = marker();

    let v = start(&app, &c, pg, &format!("SELECT pg_sleep(60) AS {tag}_a"), 0).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let v: RunView = parse("status", status(&app, &c, &v.id.0, 0).await);
    assert_eq!(v.state, RunState::Running, "{v:?}");
    assert!(
        !pg_backend_gone(&url, &format!("{tag}_a"), Duration::ZERO).await,
        "the sleep runs"
    );
    let t = Instant::now();
    let cv = cancel(&app, &c, &v.id.0).await;
    assert_eq!(cv.state, RunState::Cancelled, "{cv:?}");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "cancel took {:?}",
        t.elapsed()
    );
    assert!(
        pg_backend_gone(&url, &format!("{tag}_a"), Duration::from_secs(2)).await,
        "backend left"
    );

    // Before dispatch: the only connection is busy, so the second run waits in the queue.
    let blocker = start(&app, &c, pg, &format!("SELECT pg_sleep(60) AS {tag}_b"), 0).await;
    let blocker = {
        let mut b = blocker;
        let until = Instant::now() + Duration::from_secs(5);
        while b.state != RunState::Running && Instant::now() < until {
            b = parse("status", status(&app, &c, &b.id.0, 200).await);
        }
        b
    };
    assert_eq!(blocker.state, RunState::Running, "{blocker:?}");
    let q = start(&app, &c, pg, &format!("SELECT 1 AS {tag}_c"), 0).await;
    assert_eq!(q.state, RunState::Queued, "{q:?}");
    assert_eq!(q.queue_position, Some(0), "{q:?}");
    let t = Instant::now();
    let cq = cancel(&app, &c, &q.id.0).await;
    assert_eq!(cq.state, RunState::Cancelled, "{cq:?}");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let cb = cancel(&app, &c, &blocker.id.0).await;
    assert_eq!(cb.state, RunState::Cancelled, "{cb:?}");
    // Cancel right after the start.
    let r = start(&app, &c, pg, &format!("SELECT pg_sleep(60) AS {tag}_d"), 0).await;
    let cr = cancel(&app, &c, &r.id.0).await;
    assert_eq!(cr.state, RunState::Cancelled, "{cr:?}");
    assert!(
        pg_backend_gone(&url, &tag, Duration::from_secs(2)).await,
        "a backend is left"
    );
    // The states are recorded truthfully, and the one connection is clean and usable.
    assert_eq!(rows_of(&app, &c, pg, "SELECT 1").await, [[cell("1")]]);
    let until = Instant::now() + Duration::from_secs(2);
    let states = loop {
        let history: Vec<HistoryEntry> = parse(
            "history",
            app.call_json(&c, "query_history", &json!({"search": tag}))
                .await,
        );
        let states: Vec<(String, RunState)> =
            history.iter().map(|h| (h.sql.clone(), h.state)).collect();
        if states.iter().all(|(_, s)| s.finished()) || Instant::now() > until {
            break states;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(states.len(), 4, "{states:?}");
    assert!(
        states.iter().all(|(_, s)| *s == RunState::Cancelled),
        "{states:?}"
    );
    pg_terminate(&url, &tag).await;
    app.cleanup().await;
    common::drop_pg_database(&db).await;
}

// ---------------------------------------------------------------------------------------
// Case 33: pool exhaustion
// ---------------------------------------------------------------------------------------

/// SECURITY 33: with two connections and a 1 s queue limit, six long runs leave two
/// running and four refused as busy quickly, while the app keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_data_source_refuses_fast_and_the_app_stays_responsive() {
    let (db, url) = pg_fixture().await;
    let app = spawn_app_with(Store::Sqlite, |a| {
        a.engine.pool_size = 2;
        a.engine.queue_timeout = 1;
    })
    .await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let pg = save(&app, &c, &pg_form("pg", &db, "postgres")).await;
    let tag = marker();
    let t0 = Instant::now();
    let sqls: Vec<String> = (0..6)
        .map(|i| format!("SELECT pg_sleep(5) AS {tag}_{i}"))
        .collect();
    let mut views: Vec<RunView> =
        futures::future::join_all(sqls.iter().map(|s| start(&app, &c, pg, s, 0))).await;
    let mut slowest = Duration::ZERO;
    while t0.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        let (st, _) = app.call(&viewer, "list_connections", &[]).await;
        assert_eq!(st, StatusCode::OK);
        slowest = slowest.max(t.elapsed());
        for v in views.iter_mut().filter(|v| !v.state.finished()) {
            *v = parse("status", status(&app, &c, &v.id.0, 0).await);
        }
        if views.iter().filter(|v| v.state == RunState::Failed).count() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let busy = views
        .iter()
        .filter(|v| v.state == RunState::Failed && message(v).contains("busy"))
        .count();
    let running = views
        .iter()
        .filter(|v| v.state == RunState::Running)
        .count();
    assert_eq!(
        (busy, running),
        (4, 2),
        "after {:?}: {views:#?}",
        t0.elapsed()
    );
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert!(
        slowest < Duration::from_millis(500),
        "list_connections took {slowest:?}"
    );
    for v in views.iter().filter(|v| v.state == RunState::Running) {
        assert_eq!(cancel(&app, &c, &v.id.0).await.state, RunState::Cancelled);
    }
    assert_eq!(rows_of(&app, &c, pg, "SELECT 1").await, [[cell("1")]]);
    pg_terminate(&url, &tag).await;
    app.cleanup().await;
    common::drop_pg_database(&db).await;
}

// ---------------------------------------------------------------------------------------
// Case 34: the data source goes away
// ---------------------------------------------------------------------------------------

/// SECURITY 34: connections cut mid-query end the run with a clean error (no password, no
/// URL); while the database is unreachable runs fail clearly; once it is back the next run
/// succeeds without restarting the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_fails_the_run_and_recovers() {
    const PW: &str = "Pr0xy-Secret-991";
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let app = spawn_app_with(Store::Sqlite, |a| {
        a.engine.query_timeout = 5;
        a.engine.queue_timeout = 2;
    })
    .await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let port = proxy.port.to_string();
    let form = with(
        &with(&pg_form("via proxy", "test", "postgres"), "port", &port),
        "password",
        PW,
    );
    let id = save(&app, &c, &form).await;
    assert_eq!(rows_of(&app, &c, id, "SELECT 1").await, [[cell("1")]]);

    let tag = marker();
    let t0 = Instant::now();
    let v = start(&app, &c, id, &format!("SELECT pg_sleep(10) AS {tag}"), 0).await;
    assert_eq!(v.state, RunState::Running, "{v:?}");
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(t0.elapsed())).await;
    proxy.set(REFUSE);
    let v = wait_done(&app, &c, v, Duration::from_secs(10)).await;
    assert_eq!(v.state, RunState::Failed, "{v:?}");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    let m = message(&v);
    for secret in [PW, "://", "password"] {
        assert!(!m.contains(secret), "error text {m:?} contains {secret:?}");
    }

    // While it is down: a clear, quick failure (not a hang), again without secrets.
    let t = Instant::now();
    let v = run(&app, &c, id, "SELECT 1").await;
    assert_eq!(v.state, RunState::Failed, "{v:?}");
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert!(
        !message(&v).contains(PW) && !message(&v).contains("://"),
        "{v:?}"
    );
    let (st, body) = app.form_call(&c, "test_connection", &form).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(!body.contains(PW), "{body}");

    proxy.set(PASS);
    assert_eq!(
        rows_of(&app, &c, id, "SELECT 1").await,
        [[cell("1")]],
        "recovers without a restart"
    );
    assert_eq!(rows_of(&app, &c, id, "SELECT 2").await, [[cell("2")]]);
    pg_terminate(&common::pg_admin_url(), &tag).await;
}

/// SECURITY 34, blackhole: the database stops answering (packets vanish) mid-query. The run
/// must still end with an error within the timeout + 5 s, and recover afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_database_fails_the_run_within_the_timeout() {
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let app = spawn_app_with(Store::Sqlite, |a| a.engine.query_timeout = 2).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let port = proxy.port.to_string();
    let id = save(
        &app,
        &c,
        &with(&pg_form("via proxy", "test", "postgres"), "port", &port),
    )
    .await;
    assert_eq!(rows_of(&app, &c, id, "SELECT 1").await, [[cell("1")]]);
    let tag = marker();
    let t0 = Instant::now();
    let v = start(&app, &c, id, &format!("SELECT pg_sleep(10) AS {tag}"), 0).await;
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(t0.elapsed())).await;
    proxy.set(BLACKHOLE);
    let mut v = v;
    while !v.state.finished() && t0.elapsed() < Duration::from_secs(30) {
        v = parse("status", status(&app, &c, &v.id.0, 500).await);
    }
    let took = t0.elapsed();
    proxy.set(PASS);
    pg_terminate(&common::pg_admin_url(), &tag).await;
    assert_eq!(v.state, RunState::Failed, "{v:?}");
    assert!(
        took < Duration::from_secs(2 + 5),
        "the run ended after {took:?}: {v:?}"
    );
    assert_eq!(
        rows_of(&app, &c, id, "SELECT 1").await,
        [[cell("1")]],
        "recovers"
    );
}

// ---------------------------------------------------------------------------------------
// Roles, ownership, paging
// ---------------------------------------------------------------------------------------

/// Viewers cannot run SQL or open connections; anonymous callers get 401; one user's run is
/// invisible to another (404, like a run that does not exist); results page and sort on the
/// server; inactive connections refuse runs.
#[tokio::test]
async fn runs_belong_to_their_owner_and_results_page_and_sort() {
    let app = common::spawn_app().await;
    let (a, _) = app.signed_in(Role::Editor).await;
    let (b, _) = app.signed_in(Role::Editor).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let anon = app.client();
    let id = save(&app, &a, &pg_form("pg", "test", "postgres")).await;
    let ids = id.to_string();
    let run_body = json!({"request": {"connection_id": id, "sql": "SELECT 1", "page_size": 10}});

    // Viewers: the list without targets, nothing else.
    let listed: Vec<ConnectionSummary> = parse(
        "viewer list",
        app.call(&viewer, "list_connections", &[]).await,
    );
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].target, None, "{listed:?}");
    let listed: Vec<ConnectionSummary> =
        parse("editor list", app.call(&a, "list_connections", &[]).await);
    assert_eq!(
        listed[0].target.as_deref(),
        Some("postgres@127.0.0.1:5432/test")
    );
    let form = pg_form("v", "test", "postgres");
    for (what, (st, body)) in [
        (
            "run_sql",
            app.call_json(&viewer, "run_sql", &run_body).await,
        ),
        ("get_connection", get_connection(&app, &viewer, id).await),
        (
            "save_connection",
            app.form_call(&viewer, "save_connection", &form).await,
        ),
        (
            "test_connection",
            app.form_call(&viewer, "test_connection", &form).await,
        ),
        (
            "delete_connection",
            app.call(&viewer, "delete_connection", &[("id", &ids)])
                .await,
        ),
        (
            "set_connection_active",
            app.call(
                &viewer,
                "set_connection_active",
                &[("id", &ids), ("active", "false")],
            )
            .await,
        ),
        (
            "connection_schema",
            app.call(&viewer, "connection_schema", &[("id", &ids)])
                .await,
        ),
        (
            "reset_session",
            app.call_json(&viewer, "reset_session", &json!({"connection_id": id}))
                .await,
        ),
        (
            "query_history",
            app.call_json(&viewer, "query_history", &json!({"search": null}))
                .await,
        ),
    ] {
        assert_eq!(st, StatusCode::FORBIDDEN, "viewer {what}: {body}");
    }
    for (what, (st, body)) in [
        ("run_sql", app.call_json(&anon, "run_sql", &run_body).await),
        (
            "list_connections",
            app.call(&anon, "list_connections", &[]).await,
        ),
    ] {
        assert_eq!(st, StatusCode::UNAUTHORIZED, "anonymous {what}: {body}");
    }
    let listed: Vec<ConnectionSummary> = parse("list", app.call(&a, "list_connections", &[]).await);
    assert!(listed[0].active, "the viewer changed nothing");

    // Paging and sorting a 1,000-row result.
    let sql = "SELECT g AS n, md5(g::text) AS h FROM generate_series(1, 1000) g";
    let v = start(&app, &a, id, sql, 100).await;
    let first = v
        .page
        .clone()
        .expect("the first page comes with the answer");
    let v = wait_done(&app, &a, v, Duration::from_secs(10)).await;
    assert_eq!(
        (v.state, v.row_count, v.truncated),
        (RunState::Done, 1000, false),
        "{v:?}"
    );
    let cols: Vec<(&str, &str)> = v
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_name.as_str()))
        .collect();
    assert_eq!(cols, [("n", "INT4"), ("h", "TEXT")]);
    assert_eq!(first.rows.len(), 100);
    assert_eq!(
        first.rows[0],
        [cell("1"), cell("c4ca4238a0b923820dcc509a6f75849b")]
    );
    let run_id = v.id.0.clone();
    let p: Page = parse("page 0", fetch(&app, &a, &run_id, 0, 100, Json::Null).await);
    assert_eq!((p.offset, p.rows.len()), (0, 100));
    assert_eq!(
        (p.rows[0][0].clone(), p.rows[99][0].clone()),
        (cell("1"), cell("100"))
    );
    let p: Page = parse(
        "page 900",
        fetch(&app, &a, &run_id, 900, 100, Json::Null).await,
    );
    assert_eq!((p.offset, p.rows.len()), (900, 100));
    assert_eq!(
        (p.rows[0][0].clone(), p.rows[99][0].clone()),
        (cell("901"), cell("1000"))
    );
    let p: Page = parse(
        "page 990",
        fetch(&app, &a, &run_id, 990, 100, Json::Null).await,
    );
    assert_eq!(p.rows.len(), 10);
    let p: Page = parse(
        "sorted",
        fetch(
            &app,
            &a,
            &run_id,
            0,
            3,
            json!({"column": 0, "descending": true}),
        )
        .await,
    );
    let firsts: Vec<Option<String>> = p.rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        firsts,
        [cell("1000"), cell("999"), cell("998")],
        "numbers sort as numbers"
    );
    let p: Page = parse(
        "sorted by text",
        fetch(
            &app,
            &a,
            &run_id,
            0,
            1000,
            json!({"column": 1, "descending": false}),
        )
        .await,
    );
    assert_eq!(p.rows.len(), 1000);
    assert!(p.rows.windows(2).all(|w| w[0][1] <= w[1][1]), "sorted by h");
    let p: Page = parse(
        "sorted last page",
        fetch(
            &app,
            &a,
            &run_id,
            999,
            10,
            json!({"column": 0, "descending": true}),
        )
        .await,
    );
    assert_eq!(
        p.rows,
        [[cell("1"), cell("c4ca4238a0b923820dcc509a6f75849b")]]
    );

    // Another editor sees nothing of it, exactly as if it did not exist.
    let missing = uuid::Uuid::new_v4().to_string();
    for rid in [run_id.as_str(), missing.as_str()] {
        let (st, body) = status(&app, &b, rid, 0).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
        let (st, _) = fetch(&app, &b, rid, 0, 10, Json::Null).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = app.call_json(&b, "cancel_run", &json!({"id": rid})).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        status(&app, &b, &run_id, 0).await.1,
        status(&app, &b, &missing, 0).await.1
    );
    let theirs: Vec<HistoryEntry> = parse(
        "history b",
        app.call_json(&b, "query_history", &json!({"search": null}))
            .await,
    );
    assert!(theirs.is_empty(), "{theirs:?}");
    let mine: Vec<HistoryEntry> = parse(
        "history a",
        app.call_json(&a, "query_history", &json!({"search": "generate_series"}))
            .await,
    );
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].sql.as_str(), mine[0].state, mine[0].row_count),
        (sql, RunState::Done, Some(1000))
    );
    // The owner still reads it.
    let p: Page = parse(
        "owner again",
        fetch(&app, &a, &run_id, 0, 1, Json::Null).await,
    );
    assert_eq!(p.rows[0][0], cell("1"));

    // Inactive connections refuse runs; reactivated, they work; a session reset is harmless.
    let (st, body) = app
        .call(
            &a,
            "set_connection_active",
            &[("id", &ids), ("active", "false")],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = app.call_json(&a, "run_sql", &run_body).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    let (st, body) = app
        .call(
            &a,
            "set_connection_active",
            &[("id", &ids), ("active", "true")],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = app
        .call_json(&a, "reset_session", &json!({"connection_id": id}))
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(rows_of(&app, &a, id, "SELECT 41 + 1").await, [[cell("42")]]);
    // A run on a connection that does not exist is a 404.
    let (st, body) = app
        .call_json(
            &a,
            "run_sql",
            &json!({"request": {"connection_id": id + 1000, "sql": "SELECT 1"}}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
}

// ---------------------------------------------------------------------------------------
// Issue 13, item 7: bounded results; a reset does not fail others' queued runs
// ---------------------------------------------------------------------------------------

/// A snapshot has a byte cap as well as a row cap: one huge cell, or a wide result, ends
/// the run "truncated by size" (with the rows that fit kept and readable), on PostgreSQL,
/// MariaDB and SQLite alike, and the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_stops_at_the_byte_cap_and_says_truncated_by_size() {
    let (db, _url) = pg_fixture().await;
    let sqlite_dir = tempfile::tempdir().unwrap();
    let lite = sqlite_dir.path().join("wide.db");
    make_sqlite(&lite, 10).await;
    let dir = sqlite_dir.path().to_path_buf();
    let app = spawn_app_with(Store::Sqlite, move |a| {
        a.engine.max_result_mb = 1;
        a.engine.sqlite_dir = Some(dir);
    })
    .await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let pg = save(&app, &admin, &pg_form("pg", &db, "postgres")).await;
    let my = save(&app, &admin, &mysql_form("maria")).await;
    let lite_path = lite.to_string_lossy().to_string();
    let sq = save(
        &app,
        &admin,
        &[("name", "lite"), ("kind", "sqlite"), ("path", &lite_path)],
    )
    .await;

    let cases = [
        // One cell of 3 MB: nothing fits.
        (pg, "SELECT repeat('x', 3000000) AS big", 0u64..=0),
        (my, "SELECT REPEAT('x', 3000000) AS big", 0..=0),
        (sq, "SELECT printf('%.3000000c', 'x') AS big", 0..=0),
        // 20 kB rows: about fifty fit under 1 MB, of 1000.
        (
            pg,
            "SELECT g, repeat('y', 20000) AS wide FROM generate_series(1, 1000) g",
            40..=60,
        ),
        (
            my,
            "SELECT seq, REPEAT('y', 20000) AS wide FROM seq_1_to_1000",
            40..=60,
        ),
    ];
    for (conn, sql, kept) in cases {
        let v = run(&app, &c, conn, sql).await;
        assert_eq!(v.state, RunState::Done, "{sql}: {v:?}");
        assert!(v.truncated && v.truncated_by_size, "{sql}: {v:?}");
        assert!(
            kept.contains(&v.row_count),
            "{sql}: {} rows kept",
            v.row_count
        );
        if v.row_count > 0 {
            let p: Page = parse(
                "fetch_rows",
                fetch(&app, &c, &v.id.0, v.row_count - 1, 10, Json::Null).await,
            );
            assert_eq!(p.rows.len(), 1, "{sql}: the last kept row reads back");
        }
        // The snapshot file stays near the cap.
        let biggest = files_under(app.dir.path())
            .iter()
            .filter(|p| p.to_string_lossy().contains("results"))
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .max()
            .unwrap_or(0);
        assert!(
            biggest < 4 << 20,
            "{sql}: a result file has {biggest} bytes"
        );
        // The row cap alone is reported as before; the connection still answers.
        let small = run(&app, &c, conn, "SELECT 1").await;
        assert_eq!(small.state, RunState::Done, "{small:?}");
        assert!(!small.truncated && !small.truncated_by_size, "{small:?}");
    }
    app.cleanup().await;
    common::drop_pg_database(&db).await;
}

/// "Reset session" by one user cancels that user's runs and gives the connection a fresh
/// pool, but another user's runs carry on: the one running finishes, and the ones still
/// waiting for a turn (in the workbench and through a direct run such as an export or a
/// dropdown) run on the new pool instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_by_one_user_does_not_fail_another_users_queued_runs() {
    let (db, url) = pg_fixture().await;
    let app = spawn_app_with(Store::Sqlite, |a| {
        a.engine.pool_size = 2;
        a.engine.queue_timeout = 30;
    })
    .await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (a, _) = app.signed_in(Role::Editor).await;
    let (b, _) = app.signed_in(Role::Editor).await;
    let pg = save(&app, &admin, &pg_form("pg", &db, "postgres")).await;
    let tag = marker();

    let mine = start(&app, &a, pg, &format!("SELECT pg_sleep(30) AS {tag}_a"), 0).await;
    let running = start(
        &app,
        &b,
        pg,
        &format!("SELECT pg_sleep(1.5) AS {tag}_b, 7"),
        0,
    )
    .await;
    // Both connections are busy: B's next runs wait in the queue.
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let m: RunView = parse("status", status(&app, &a, &mine.id.0, 100).await);
        let r: RunView = parse("status", status(&app, &b, &running.id.0, 100).await);
        if m.state == RunState::Running && r.state == RunState::Running {
            break;
        }
        assert!(Instant::now() < until, "{m:?} {r:?}");
    }
    let queued = start(&app, &b, pg, "SELECT 42", 0).await;
    assert_eq!(queued.state, RunState::Queued, "{queued:?}");
    // A direct run of B (as an export or a parameter dropdown runs) waits too.
    let row = app::server::connections::row(&app.state, app::model::connection::ConnectionId(pg))
        .await
        .unwrap();
    let state = app.state.clone();
    let direct = tokio::spawn(async move {
        #[derive(Default)]
        struct Rows(Vec<Vec<app::model::query::Value>>);
        impl app::server::connectors::RowSink for Rows {
            fn columns(
                &mut self,
                _: &[app::model::query::Column],
            ) -> Result<(), app::server::connectors::ConnectorError> {
                Ok(())
            }
            fn row(
                &mut self,
                r: Vec<app::model::query::Value>,
            ) -> Result<(), app::server::connectors::ConnectorError> {
                self.0.push(r);
                Ok(())
            }
        }
        let mut rows = Rows::default();
        let r = state
            .engine
            .run_direct(&row, "SELECT 43", &[], 10, Default::default(), &mut rows)
            .await;
        r.map(|_| rows.0.len())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (st, body) = app
        .call_json(&a, "reset_session", &json!({"connection_id": pg}))
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");

    let mine = wait_done(&app, &a, mine, Duration::from_secs(10)).await;
    assert_eq!(mine.state, RunState::Cancelled, "{mine:?}");
    let running = wait_done(&app, &b, running, Duration::from_secs(10)).await;
    assert_eq!(running.state, RunState::Done, "{running:?}");
    let queued = wait_done(&app, &b, queued, Duration::from_secs(10)).await;
    assert_eq!(
        queued.state,
        RunState::Done,
        "B's queued run failed: {queued:?}"
    );
    let p: Page = parse(
        "rows",
        fetch(&app, &b, &queued.id.0, 0, 10, Json::Null).await,
    );
    assert_eq!(p.rows, [[cell("42")]]);
    let direct = tokio::time::timeout(Duration::from_secs(10), direct)
        .await
        .expect("the direct run ends")
        .unwrap();
    assert_eq!(direct, Ok(1), "B's direct run failed");
    // The old pool's connections are closed once its runs are done.
    assert!(
        pg_backend_gone(&url, &format!("{tag}_a"), Duration::from_secs(3)).await,
        "A's cancelled statement is still running"
    );
    assert_eq!(rows_of(&app, &a, pg, "SELECT 1").await, [[cell("1")]]);
    app.cleanup().await;
    common::drop_pg_database(&db).await;
}
