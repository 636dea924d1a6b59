//! Insights over HTTP against the real local PostgreSQL, MariaDB and SQLite: parameter
//! values are always bound, never spliced, on every driver (SECURITY.md case 11); viewers
//! run the stored SQL only (case 12); parameter validation with messages; folders, versions
//! and the trash; and exports (CSV, JSON, XLSX) read back and compared with the run's pages.
use crate::common;

use app::{
    error::AppError,
    model::{
        connection::ConnectionId,
        insight::{
            ExportState, ExportStatus, Folder, FolderId, Insight, InsightDraft, InsightId, Tree,
            VersionEntry,
        },
        params::{EnumOption, ParamKind, ParamSpec, QuerySource},
        run::{Page, RunState, RunView},
        Role,
    },
};
use common::{spawn_app_with, Store, TestApp};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value as Json};
use sqlx::Connection;
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

const MARIADB_URL: &str = "mysql://root@127.0.0.1:3306/test";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A short random tag for table names and SQL text, so concurrent runs never collide.
fn marker() -> String {
    format!("sl{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The local PostgreSQL database `test`.
fn pg_test_url() -> String {
    let admin = common::pg_admin_url();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/test")
}

/// The body of a 200 answer, deserialized.
fn parse<T: DeserializeOwned>(what: &str, (status, body): (StatusCode, String)) -> T {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

/// The error of a failed server-function call, checking its status.
fn failed(what: &str, want: StatusCode, (status, body): (StatusCode, String)) -> AppError {
    assert_eq!(status, want, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: not an AppError ({e}): {body}"))
}

/// The first field and message of a 400 validation answer.
fn invalid(what: &str, answer: (StatusCode, String)) -> (String, String) {
    match failed(what, StatusCode::BAD_REQUEST, answer) {
        AppError::Validation(errors) => {
            let first = errors
                .first()
                .unwrap_or_else(|| panic!("{what}: empty validation error"));
            assert_user_facing(what, &first.message);
            (first.field.clone(), first.message.clone())
        }
        other => panic!("{what}: not a validation error: {other:?}"),
    }
}

/// A message meant for people: no driver, serde or Rust internals in it.
fn assert_user_facing(what: &str, message: &str) {
    assert!(!message.trim().is_empty(), "{what}: empty message");
    let lower = message.to_lowercase();
    for leak in [
        "sqlx",
        "error returned from database",
        "panicked",
        "called `",
        "unwrap",
        "sqlstate",
        "syntax error",
    ] {
        assert!(
            !lower.contains(leak),
            "{what}: the message leaks {leak:?}: {message}"
        );
    }
}

async fn save_connection(app: &TestApp, c: &Client, fields: &[(&str, &str)]) -> i64 {
    parse(
        &format!("save_connection {fields:?}"),
        app.form_call(c, "save_connection", fields).await,
    )
}

/// A connection to the local PostgreSQL database `test` as `postgres`.
async fn pg_connection(app: &TestApp, c: &Client, name: &str) -> i64 {
    save_connection(
        app,
        c,
        &[
            ("name", name),
            ("kind", "postgres"),
            ("host", "127.0.0.1"),
            ("port", "5432"),
            ("database", "test"),
            ("user", "postgres"),
            ("ssl_mode", "disable"),
        ],
    )
    .await
}

async fn mariadb_connection(app: &TestApp, c: &Client, name: &str) -> i64 {
    save_connection(
        app,
        c,
        &[
            ("name", name),
            ("kind", "mysql"),
            ("host", "127.0.0.1"),
            ("port", "3306"),
            ("database", "test"),
            ("user", "root"),
            ("ssl_mode", "disable"),
        ],
    )
    .await
}

/// A draft on a connection with these parameters.
fn draft(name: &str, conn: i64, sql: &str, params: Vec<ParamSpec>) -> InsightDraft {
    InsightDraft {
        name: name.into(),
        connection_id: Some(ConnectionId(conn)),
        sql: sql.into(),
        params,
        ..Default::default()
    }
}

fn param(name: &str, label: &str, kind: ParamKind) -> ParamSpec {
    ParamSpec {
        label: label.into(),
        ..ParamSpec::new(name, kind)
    }
}

fn options(values: &[&str]) -> Vec<EnumOption> {
    values
        .iter()
        .map(|v| EnumOption {
            value: v.to_string(),
            label: {
                let mut l = v.to_string();
                l[..1].make_ascii_uppercase();
                l
            },
        })
        .collect()
}

fn from_insight(source: &Insight, depends_on: &[(&str, &str)]) -> Option<QuerySource> {
    Some(QuerySource {
        insight_id: source.id.0,
        depends_on: depends_on
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    })
}

async fn save_insight(
    app: &TestApp,
    c: &Client,
    id: Option<InsightId>,
    base_version: Option<i64>,
    d: &InsightDraft,
) -> (StatusCode, String) {
    app.call_json(
        c,
        "save_insight",
        &json!({"id": id, "base_version": base_version, "draft": d}),
    )
    .await
}

async fn create_insight(app: &TestApp, c: &Client, d: &InsightDraft) -> Insight {
    parse(
        &format!("save_insight {}", d.name),
        save_insight(app, c, None, None, d).await,
    )
}

async fn get_insight(app: &TestApp, c: &Client, id: InsightId) -> Insight {
    parse(
        "get_insight",
        app.call_json(c, "get_insight", &json!({"id": id})).await,
    )
}

async fn tree(app: &TestApp, c: &Client, search: Option<&str>, trash: bool) -> Tree {
    parse(
        "insight_tree",
        app.call_json(
            c,
            "insight_tree",
            &json!({"search": search, "trash": trash}),
        )
        .await,
    )
}

async fn save_folder(
    app: &TestApp,
    c: &Client,
    id: Option<FolderId>,
    name: &str,
    parent: Option<FolderId>,
) -> (StatusCode, String) {
    app.call_json(
        c,
        "save_folder",
        &json!({"id": id, "name": name, "parent": parent}),
    )
    .await
}

async fn new_folder(app: &TestApp, c: &Client, name: &str, parent: Option<FolderId>) -> Folder {
    parse(
        &format!("save_folder {name}"),
        save_folder(app, c, None, name, parent).await,
    )
}

async fn versions(app: &TestApp, c: &Client, id: InsightId) -> Vec<VersionEntry> {
    parse(
        "insight_versions",
        app.call_json(c, "insight_versions", &json!({"id": id}))
            .await,
    )
}

/// The (value, label) choices of one parameter given the others' values.
async fn param_options(
    app: &TestApp,
    c: &Client,
    id: InsightId,
    name: &str,
    vals: Json,
) -> Vec<(String, String)> {
    let o: Vec<EnumOption> = parse(
        &format!("param_options {name} {vals}"),
        app.call_json(
            c,
            "param_options",
            &json!({"id": id, "name": name, "values": vals}),
        )
        .await,
    );
    o.into_iter().map(|o| (o.value, o.label)).collect()
}

/// Parameter values as the URL carries them: name → every value given.
fn values(pairs: &[(&str, &[&str])]) -> Json {
    let mut m = serde_json::Map::new();
    for (k, vs) in pairs {
        m.insert(k.to_string(), json!(vs));
    }
    Json::Object(m)
}

async fn run_insight(
    app: &TestApp,
    c: &Client,
    id: InsightId,
    values: &Json,
) -> (StatusCode, String) {
    app.call_json(
        c,
        "run_insight",
        &json!({"id": id, "values": values, "page_size": 10}),
    )
    .await
}

/// Follows a run until it finished (at most a minute).
async fn follow(app: &TestApp, c: &Client, mut v: RunView) -> RunView {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !v.state.finished() {
        assert!(Instant::now() < deadline, "the run did not finish: {v:?}");
        v = parse(
            "run_status",
            app.call_json(c, "run_status", &json!({"id": v.id, "wait_ms": 500}))
                .await,
        );
    }
    v
}

/// Every row of a finished run, read page by page as the grid does.
async fn all_rows(app: &TestApp, c: &Client, v: &RunView) -> Vec<Vec<Option<String>>> {
    let mut rows: Vec<Vec<Option<String>>> = vec![];
    while (rows.len() as u64) < v.row_count {
        let page: Page = parse(
            "fetch_rows",
            app.call_json(
                c,
                "fetch_rows",
                &json!({"id": v.id, "offset": rows.len(), "limit": 1000, "sort": null}),
            )
            .await,
        );
        assert_eq!(page.offset, rows.len() as u64);
        assert!(
            !page.rows.is_empty(),
            "a page short of {}: {v:?}",
            v.row_count
        );
        rows.extend(page.rows);
    }
    rows
}

/// Runs an insight that must succeed; its finished view and all its rows.
async fn run_ok(
    app: &TestApp,
    c: &Client,
    id: InsightId,
    vals: &Json,
) -> (RunView, Vec<Vec<Option<String>>>) {
    let what = format!("run_insight {id} {}", clip(&vals.to_string()));
    let v: RunView = parse(&what, run_insight(app, c, id, vals).await);
    let v = follow(app, c, v).await;
    assert_eq!(v.state, RunState::Done, "{what}: {v:?}");
    let rows = all_rows(app, c, &v).await;
    (v, rows)
}

fn clip(s: &str) -> String {
    if s.chars().count() <= 120 {
        s.to_string()
    } else {
        format!(
            "{}… ({} bytes)",
            s.chars().take(120).collect::<String>(),
            s.len()
        )
    }
}

fn cells(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|r| r.iter().map(|c| Some(c.to_string())).collect())
        .collect()
}

fn column_names(v: &RunView) -> Vec<String> {
    v.columns.iter().map(|c| c.name.clone()).collect()
}

// ---------------------------------------------------------------------------------------
// Case 11: injection corpus on every driver
// ---------------------------------------------------------------------------------------

/// A database the fixture table lives in, reached directly (not through the app).
enum Target {
    Postgres,
    Mariadb,
    Sqlite(PathBuf),
}

impl Target {
    fn name(&self) -> &'static str {
        match self {
            Target::Postgres => "PostgreSQL",
            Target::Mariadb => "MariaDB",
            Target::Sqlite(_) => "SQLite",
        }
    }

    async fn exec(&self, statements: &[String]) {
        match self {
            Target::Postgres => {
                let mut c = sqlx::PgConnection::connect(&pg_test_url())
                    .await
                    .expect("local PostgreSQL (see README)");
                for s in statements {
                    sqlx::query(s).execute(&mut c).await.unwrap();
                }
                c.close().await.unwrap();
            }
            Target::Mariadb => {
                let mut c = sqlx::MySqlConnection::connect(MARIADB_URL)
                    .await
                    .expect("local MariaDB (see README)");
                for s in statements {
                    sqlx::query(s).execute(&mut c).await.unwrap();
                }
                c.close().await.unwrap();
            }
            Target::Sqlite(path) => {
                use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Delete);
                let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
                for s in statements {
                    sqlx::query(s).execute(&mut c).await.unwrap();
                }
                c.close().await.unwrap();
            }
        }
    }

    /// The table's row count, or the error when it is gone.
    async fn count(&self, table: &str) -> Result<i64, String> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let e = |e: sqlx::Error| e.to_string();
        match self {
            Target::Postgres => {
                let mut c = sqlx::PgConnection::connect(&pg_test_url())
                    .await
                    .map_err(e)?;
                sqlx::query_scalar(&sql).fetch_one(&mut c).await.map_err(e)
            }
            Target::Mariadb => {
                let mut c = sqlx::MySqlConnection::connect(MARIADB_URL)
                    .await
                    .map_err(e)?;
                sqlx::query_scalar(&sql).fetch_one(&mut c).await.map_err(e)
            }
            Target::Sqlite(path) => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .read_only(true);
                let mut c = sqlx::SqliteConnection::connect_with(&opts)
                    .await
                    .map_err(e)?;
                sqlx::query_scalar(&sql).fetch_one(&mut c).await.map_err(e)
            }
        }
    }

    /// The fixture table: text, integer, decimal, date, boolean and timestamp columns.
    async fn create_fixture(&self, table: &str) {
        let create = match self {
            Target::Postgres => format!(
                "CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL, qty int, \
                 price numeric(10,2), day date, active boolean, ts timestamp)"
            ),
            Target::Mariadb => format!(
                "CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(200) NOT NULL, qty INT, \
                 price DECIMAL(10,2), day DATE, active BOOLEAN, ts DATETIME)"
            ),
            Target::Sqlite(_) => format!(
                "CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, \
                 price NUMERIC, day TEXT, active BOOLEAN, ts TEXT)"
            ),
        };
        let mut statements = vec![create];
        for (id, name, qty, price, day, active, ts) in FIXTURE {
            let active = match (self, active) {
                (Target::Sqlite(_), true) => "1",
                (Target::Sqlite(_), false) => "0",
                (_, true) => "TRUE",
                (_, false) => "FALSE",
            };
            statements.push(format!(
                "INSERT INTO {table} VALUES ({id}, '{name}', {qty}, {price}, '{day}', {active}, '{ts}')"
            ));
        }
        self.exec(&statements).await;
    }
}

type FixtureRow = (
    i64,
    &'static str,
    i64,
    &'static str,
    &'static str,
    bool,
    &'static str,
);

const FIXTURE: [FixtureRow; 3] = [
    (
        1,
        "alpha",
        10,
        "1.50",
        "2024-01-10",
        true,
        "2024-01-10 08:00:00",
    ),
    (
        2,
        "beta",
        20,
        "2.50",
        "2024-02-10",
        false,
        "2024-02-10 09:00:00",
    ),
    (
        3,
        "gamma",
        30,
        "3.50",
        "2024-03-10",
        true,
        "2024-03-10 10:00:00",
    ),
];

/// The ids of the fixture rows whose name is one of `names`: what binding the values as
/// literals selects.
fn ids_named(names: &[String]) -> Vec<Vec<Option<String>>> {
    FIXTURE
        .iter()
        .filter(|r| names.iter().any(|n| n == r.1))
        .map(|r| vec![Some(r.0.to_string())])
        .collect()
}

/// Values that would change the query if they were spliced into its text.
fn corpus(table: &str) -> Vec<String> {
    let mut out: Vec<String> = [
        "' OR '1'='1",
        "1; DROP TABLE {table}; --",
        "$$ select 1 $$",
        "’ OR 1=1 --",
        "{{other}}",
        "]] OR 1=1 [[",
        "?",
        "$1",
        "/* */",
        "\\' OR 1=1 #",
        "NULL",
        "alpha' --",
        "alpha'); DELETE FROM {table}; --",
    ]
    .iter()
    .map(|s| s.replace("{table}", table))
    .collect();
    // 100,000 bytes: the longest single value the server passes on.
    let unit = "' OR '1'='1' -- ";
    let mut big = unit.repeat(100_000 / unit.len() + 1);
    big.truncate(100_000);
    out.push(big);
    out
}

/// One insight per parameter kind, each filtering the fixture table on its parameter.
struct Case {
    spec: ParamSpec,
    sql: String,
    /// A benign value and the ids it selects.
    baseline: Vec<String>,
    baseline_ids: Vec<&'static str>,
    /// Free text (single or multi-select): any value runs, bound as a literal. Typed kinds
    /// must refuse junk with a 400 naming the field.
    free_text: bool,
}

fn cases(target: &Target, table: &str, source: &Insight) -> Vec<Case> {
    let sel = format!("SELECT id FROM {table} WHERE");
    let list_match = match target {
        Target::Postgres => "name = ANY({{names}})",
        _ => "name IN ({{names}})",
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        Case {
            spec: param("txt", "Name", ParamKind::Text),
            // An optional block around the filter: a value never opens or closes one.
            sql: format!("{sel} 1 = 1 [[AND name = {{{{txt}}}}]] ORDER BY id"),
            baseline: s(&["alpha"]),
            baseline_ids: vec!["1"],
            free_text: true,
        },
        Case {
            spec: param("num", "Price", ParamKind::Number),
            sql: format!("{sel} price = {{{{num}}}} ORDER BY id"),
            baseline: s(&["1.5"]),
            baseline_ids: vec!["1"],
            free_text: false,
        },
        Case {
            spec: param("qty", "Quantity", ParamKind::Integer),
            sql: format!("{sel} qty = {{{{qty}}}} ORDER BY id"),
            baseline: s(&["20"]),
            baseline_ids: vec!["2"],
            free_text: false,
        },
        Case {
            spec: param("flag", "Active", ParamKind::Boolean),
            sql: format!("{sel} active = {{{{flag}}}} ORDER BY id"),
            baseline: s(&["false"]),
            baseline_ids: vec!["2"],
            free_text: false,
        },
        Case {
            spec: param("day", "Day", ParamKind::Date),
            sql: format!("{sel} day = {{{{day}}}} ORDER BY id"),
            baseline: s(&["2024-03-10"]),
            baseline_ids: vec!["3"],
            free_text: false,
        },
        Case {
            spec: param("at", "At", ParamKind::DateTime),
            sql: format!("{sel} ts = {{{{at}}}} ORDER BY id"),
            baseline: s(&["2024-01-10T08:00:00"]),
            baseline_ids: vec!["1"],
            free_text: false,
        },
        Case {
            spec: param("period", "Period", ParamKind::DateRange),
            sql: format!(
                "{sel} day BETWEEN {{{{period.start}}}} AND {{{{period.end}}}} ORDER BY id"
            ),
            baseline: s(&["2024-02-01~2024-03-31"]),
            baseline_ids: vec!["2", "3"],
            free_text: false,
        },
        Case {
            spec: ParamSpec {
                options: options(&["alpha", "beta", "gamma"]),
                ..param("choice", "Choice", ParamKind::Enum)
            },
            sql: format!("{sel} name = {{{{choice}}}} ORDER BY id"),
            baseline: s(&["beta"]),
            baseline_ids: vec!["2"],
            free_text: false,
        },
        Case {
            spec: ParamSpec {
                multi: true,
                ..param("names", "Names", ParamKind::Text)
            },
            sql: format!("{sel} {list_match} ORDER BY id"),
            baseline: s(&["alpha", "gamma"]),
            baseline_ids: vec!["1", "3"],
            free_text: true,
        },
        Case {
            spec: ParamSpec {
                source: from_insight(source, &[]),
                ..param("picked", "Picked", ParamKind::Query)
            },
            sql: format!("{sel} name = {{{{picked}}}} ORDER BY id"),
            baseline: s(&["gamma"]),
            baseline_ids: vec!["3"],
            free_text: false,
        },
    ]
}

/// Runs every case of one driver with the baseline and each corpus value.
async fn injection_on(app: &TestApp, c: &Client, target: &Target, conn: i64, table: &str) {
    let driver = target.name();
    target.create_fixture(table).await;
    assert_eq!(target.count(table).await, Ok(3), "{driver} fixture");
    let source = create_insight(
        app,
        c,
        &draft(
            &format!("{driver} names"),
            conn,
            &format!("SELECT name FROM {table} ORDER BY name"),
            vec![],
        ),
    )
    .await;
    let corpus = corpus(table);
    for case in cases(target, table, &source) {
        let name = case.spec.name.clone();
        let kind = case.spec.kind;
        let what = format!("{driver} {kind:?} {name}");
        let insight = create_insight(
            app,
            c,
            &draft(&what, conn, &case.sql, vec![case.spec.clone()]),
        )
        .await;
        let base: Vec<&str> = case.baseline.iter().map(String::as_str).collect();
        let (v, rows) = run_ok(
            app,
            c,
            insight.id,
            &values(&[(name.as_str(), base.as_slice())]),
        )
        .await;
        let want: Vec<Vec<Option<String>>> = case
            .baseline_ids
            .iter()
            .map(|id| vec![Some(id.to_string())])
            .collect();
        assert_eq!(rows, want, "{what}: baseline {base:?}: {v:?}");
        let baseline_rows = rows.len();

        // Each value alone, then (for lists) all of them at once.
        let mut attempts: Vec<Vec<String>> = corpus.iter().map(|v| vec![v.clone()]).collect();
        if case.spec.multi {
            attempts.push(corpus.clone());
        }
        for given in attempts {
            let shown = clip(&format!("{given:?}"));
            let raw: Vec<&str> = given.iter().map(String::as_str).collect();
            let answer = run_insight(
                app,
                c,
                insight.id,
                &values(&[(name.as_str(), raw.as_slice())]),
            )
            .await;
            if !case.free_text {
                let (field, message) = invalid(&format!("{what} {shown}"), answer);
                assert_eq!(field, format!("p_{name}"), "{what} {shown}: {message}");
                assert!(
                    message.contains(case.spec.display_label()),
                    "{what} {shown}: the message names the parameter: {message}"
                );
                assert!(
                    message.len() < 300,
                    "{what} {shown}: the message does not echo the whole value: {}",
                    clip(&message)
                );
                continue;
            }
            let v: RunView = parse(&format!("{what} {shown}"), answer);
            let v = follow(app, c, v).await;
            assert_eq!(
                v.state,
                RunState::Done,
                "{what} {shown}: the value must be bound, not break the SQL: {v:?}"
            );
            let rows = all_rows(app, c, &v).await;
            assert!(
                rows.len() <= baseline_rows,
                "{what} {shown}: more rows than the baseline: {rows:?}"
            );
            assert_eq!(
                rows,
                ids_named(&given),
                "{what} {shown}: the rows binding the literal value selects"
            );
        }
        assert_eq!(
            target.count(table).await,
            Ok(3),
            "{what}: the table is intact"
        );
    }

    // A JSON object or array where a scalar is expected is refused before anything runs.
    let txt = create_insight(
        app,
        c,
        &draft(
            &format!("{driver} shapes"),
            conn,
            &format!("SELECT id FROM {table} WHERE name = {{{{txt}}}}"),
            vec![param("txt", "Name", ParamKind::Text)],
        ),
    )
    .await;
    for bad in [
        json!({"txt": [{"a": "b"}]}),
        json!({"txt": [["alpha"]]}),
        json!({"txt": {"a": "b"}}),
        json!({"txt": "alpha"}),
        json!({"txt": [1]}),
        json!({"txt": [null]}),
        json!([["txt", "alpha"]]),
        json!("txt=alpha"),
    ] {
        let e = failed(
            &format!("{driver} values {bad}"),
            StatusCode::BAD_REQUEST,
            run_insight(app, c, txt.id, &bad).await,
        );
        assert!(
            matches!(e, AppError::BadRequest(_)),
            "{driver} values {bad}: {e:?}"
        );
    }
    assert_eq!(
        target.count(table).await,
        Ok(3),
        "{driver}: the table is intact"
    );
}

/// SECURITY 11: every parameter kind on PostgreSQL, MariaDB and SQLite binds its values;
/// junk for typed kinds is a 400 naming `p_<name>`, free text selects exactly what the
/// literal selects, nothing errors and the table is intact afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_corpus_binds_values_on_every_driver() {
    let app = spawn_app_with(Store::Sqlite, |a| {
        let allowed = a.store.data_dir.parent().unwrap().join("allowed");
        std::fs::create_dir_all(&allowed).unwrap();
        a.engine.sqlite_dir = Some(allowed);
    })
    .await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let tag = marker();
    let table = format!("{tag}_inj");
    let lite_path = app.dir.path().join("allowed").join(format!("{tag}.sqlite"));

    let pg = pg_connection(&app, &c, "pg").await;
    let maria = mariadb_connection(&app, &c, "maria").await;
    let lite_target = Target::Sqlite(lite_path.clone());
    // The file must exist before the connection is saved.
    lite_target.exec(&[]).await;
    let lite = save_connection(
        &app,
        &c,
        &[
            ("name", "lite"),
            ("kind", "sqlite"),
            ("path", &lite_path.display().to_string()),
        ],
    )
    .await;

    let targets = [
        (Target::Postgres, pg),
        (Target::Mariadb, maria),
        (lite_target, lite),
    ];
    for (target, conn) in &targets {
        injection_on(&app, &c, target, *conn, &table).await;
    }
    for (target, _) in &targets {
        target.exec(&[format!("DROP TABLE {table}")]).await;
    }
    assert!(Path::new(&lite_path).is_file());
}

// ---------------------------------------------------------------------------------------
// Case 12: viewers run the stored SQL only
// ---------------------------------------------------------------------------------------

/// SECURITY 12: a viewer can neither run SQL nor change insights; whatever else a run
/// request carries, the stored SQL runs on the stored connection.
#[tokio::test]
async fn viewers_run_stored_sql_only() {
    let app = common::spawn_app().await;
    let (editor, _) = app.signed_in(Role::Editor).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let conn = pg_connection(&app, &editor, "pg").await;
    let stored_sql = "SELECT 'stored' AS origin, 42 AS answer";
    let insight = create_insight(&app, &editor, &draft("Stored", conn, stored_sql, vec![])).await;
    let folder = new_folder(&app, &editor, "Shared", None).await;

    // What only editors may do.
    let forbidden: Vec<(&str, Json)> = vec![
        (
            "run_sql",
            json!({"request": {"connection_id": conn, "sql": "select 666", "params": [], "page_size": 10}}),
        ),
        (
            "save_insight",
            json!({"id": null, "base_version": null, "draft": draft("Mine", conn, "select 666", vec![])}),
        ),
        (
            "save_insight",
            json!({"id": insight.id, "base_version": insight.version,
                   "draft": draft("Stored", conn, "select 666", vec![])}),
        ),
        ("trash_insight", json!({"id": insight.id, "trashed": true})),
        (
            "move_insight",
            json!({"id": insight.id, "folder": folder.id}),
        ),
        ("revert_insight", json!({"id": insight.id, "version": 1})),
        (
            "save_folder",
            json!({"id": null, "name": "Viewer's", "parent": null}),
        ),
        ("trash_folder", json!({"id": folder.id, "trashed": true})),
    ];
    for (f, body) in &forbidden {
        let e = failed(
            &format!("viewer {f}"),
            StatusCode::FORBIDDEN,
            app.call_json(&viewer, f, body).await,
        );
        assert_eq!(e, AppError::Forbidden, "viewer {f}");
    }
    let unchanged = get_insight(&app, &viewer, insight.id).await;
    assert_eq!(
        (
            unchanged.version,
            unchanged.draft.sql.as_str(),
            unchanged.deleted
        ),
        (1, stored_sql, false)
    );
    assert!(!unchanged.can_edit, "a viewer is not offered editing");
    assert_eq!(unchanged.draft.folder_id, None);

    // Smuggled SQL, connection or draft are ignored: the stored query runs.
    for body in [
        json!({"id": insight.id, "values": {}, "page_size": 10, "sql": "select 666", "connection_id": 999}),
        json!({"id": insight.id, "values": {}, "page_size": 10, "sql": "select 666",
               "connection_id": conn, "params": ["x"], "request": {"sql": "select 666"},
               "draft": draft("X", conn, "select 666", vec![])}),
    ] {
        let v: RunView = parse(
            &format!("viewer run_insight {body}"),
            app.call_json(&viewer, "run_insight", &body).await,
        );
        let v = follow(&app, &viewer, v).await;
        assert_eq!(v.state, RunState::Done, "{v:?}");
        assert_eq!(column_names(&v), ["origin", "answer"], "{v:?}");
        assert_eq!(
            all_rows(&app, &viewer, &v).await,
            cells(&[&["stored", "42"]])
        );
    }
    // Viewers read the tree and the history, and page their own runs and the insights'
    // shared (cached) results only: not another user's workbench run.
    let listed = tree(&app, &viewer, None, false).await;
    assert!(listed.insights.iter().any(|i| i.id == insight.id));
    let history: Vec<VersionEntry> = parse(
        "viewer versions",
        app.call_json(&viewer, "insight_versions", &json!({"id": insight.id}))
            .await,
    );
    assert_eq!(history.len(), 1);
    let v: RunView = parse(
        "editor run_sql",
        app.call_json(
            &editor,
            "run_sql",
            &json!({"request": {"connection_id": conn, "sql": "select 1 as own", "params": [], "page_size": 10}}),
        )
        .await,
    );
    let (st, body) = app
        .call_json(
            &viewer,
            "fetch_rows",
            &json!({"id": v.id, "offset": 0, "limit": 10, "sort": null}),
        )
        .await;
    assert!(
        st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN,
        "another user's run: {st} {body}"
    );
    app.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// Parameter validation
// ---------------------------------------------------------------------------------------

/// Typed parameters refuse bad values with a message naming the field; presets resolve;
/// query-backed choices are checked against the source's rows and cascade.
#[tokio::test]
async fn parameters_validate_with_messages() {
    let app = common::spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let conn = pg_connection(&app, &c, "pg").await;
    let tag = marker();
    let table = format!("{tag}_cities");
    Target::Postgres
        .exec(&[
            format!("CREATE TABLE {table} (country text, city text)"),
            format!(
                "INSERT INTO {table} VALUES ('France', 'Paris'), ('France', 'Lyon'), \
                 ('Germany', 'Berlin'), ('Germany', 'Hamburg'), ('Italy', 'Rome')"
            ),
        ])
        .await;

    // One insight whose parameters each check one thing.
    let checks = create_insight(
        &app,
        &c,
        &draft(
            "Checks",
            conn,
            "SELECT {{amount}}::int AS amount \
             [[, {{code}}::text AS code]] [[, {{note}}::text AS note]] \
             [[, {{status}}::text AS status]]",
            vec![
                ParamSpec {
                    required: true,
                    min: Some("1".into()),
                    max: Some("100".into()),
                    ..param("amount", "Amount", ParamKind::Integer)
                },
                ParamSpec {
                    pattern: Some("[A-Z]{3}".into()),
                    ..param("code", "Code", ParamKind::Text)
                },
                ParamSpec {
                    min: Some("2".into()),
                    max: Some("5".into()),
                    ..param("note", "Note", ParamKind::Text)
                },
                ParamSpec {
                    options: options(&["active", "inactive"]),
                    ..param("status", "Status", ParamKind::Enum)
                },
            ],
        ),
    )
    .await;
    let refused = |field: &'static str, says: &'static str| (field, says);
    let bad: Vec<(Json, (&str, &str))> = vec![
        (json!({}), refused("p_amount", "Amount is required.")),
        (
            json!({"amount": [""]}),
            refused("p_amount", "Amount is required."),
        ),
        (
            json!({"amount": ["abc"]}),
            refused("p_amount", "Amount: expected a whole number like 42"),
        ),
        (
            json!({"amount": ["1.5"]}),
            refused("p_amount", "Amount: expected a whole number"),
        ),
        (
            json!({"amount": ["99999999999999999999"]}),
            refused("p_amount", "Amount: that number is too large."),
        ),
        (
            json!({"amount": ["0"]}),
            refused("p_amount", "Amount: must be at least 1."),
        ),
        (
            json!({"amount": ["101"]}),
            refused("p_amount", "Amount: must be at most 100."),
        ),
        (
            json!({"amount": ["5", "6"]}),
            refused("p_amount", "Amount: expected a single value."),
        ),
        (
            json!({"amount": ["5"], "code": ["abc"]}),
            refused("p_code", "Code: the value must match the pattern [A-Z]{3}."),
        ),
        (
            json!({"amount": ["5"], "code": ["ABCD"]}),
            refused("p_code", "must match the pattern"),
        ),
        (
            json!({"amount": ["5"], "note": ["x"]}),
            refused("p_note", "Note: enter at least 2 characters."),
        ),
        (
            json!({"amount": ["5"], "note": ["toolong"]}),
            refused("p_note", "Note: enter at most 5 characters."),
        ),
        (
            json!({"amount": ["5"], "status": ["deleted"]}),
            refused("p_status", "Status: choose one of: Active, Inactive."),
        ),
    ];
    for (vals, (field, says)) in &bad {
        let (f, m) = invalid(
            &format!("checks {vals}"),
            run_insight(&app, &c, checks.id, vals).await,
        );
        assert_eq!(&f, field, "{vals}: {m}");
        assert!(m.contains(says), "{vals}: {m:?} should say {says:?}");
    }
    // Several bad values: every one is reported.
    let e = failed(
        "several",
        StatusCode::BAD_REQUEST,
        run_insight(
            &app,
            &c,
            checks.id,
            &json!({"amount": ["x"], "code": ["x"], "status": ["x"]}),
        )
        .await,
    );
    let AppError::Validation(errors) = e else {
        panic!("{e:?}")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["p_amount", "p_code", "p_status"]);

    let (v, rows) = run_ok(
        &app,
        &c,
        checks.id,
        &json!({"amount": [" 7 "], "code": ["ABC"], "note": ["hey"], "status": ["inactive"]}),
    )
    .await;
    assert_eq!(column_names(&v), ["amount", "code", "note", "status"]);
    assert_eq!(rows, cells(&[&["7", "ABC", "hey", "inactive"]]));
    // Blank optional parameters drop their blocks.
    let (v, rows) = run_ok(
        &app,
        &c,
        checks.id,
        &json!({"amount": ["100"], "code": [""]}),
    )
    .await;
    assert_eq!(column_names(&v), ["amount"]);
    assert_eq!(rows, cells(&[&["100"]]));

    // Date ranges: presets resolve on the server's (UTC) today; explicit ranges are checked.
    let ranges = create_insight(
        &app,
        &c,
        &draft(
            "Ranges",
            conn,
            "SELECT {{period.start}}::date = (now() AT TIME ZONE 'UTC')::date - 6 AS start_ok, \
             {{period.end}}::date = (now() AT TIME ZONE 'UTC')::date AS end_ok, \
             {{period.end}}::date - {{period.start}}::date AS days",
            vec![ParamSpec {
                required: true,
                min: Some("2000-01-01".into()),
                ..param("period", "Period", ParamKind::DateRange)
            }],
        ),
    )
    .await;
    let (_, rows) = run_ok(&app, &c, ranges.id, &json!({"period": ["last_7_days"]})).await;
    assert_eq!(rows, cells(&[&["true", "true", "6"]]));
    let (_, rows) = run_ok(
        &app,
        &c,
        ranges.id,
        &json!({"period": ["2024-01-01~2024-01-31"]}),
    )
    .await;
    assert_eq!(rows[0][2].as_deref(), Some("30"));
    for (given, says) in [
        ("next_century", "Period: expected a date range like"),
        ("2024-02-01~2024-01-01", "is after the end date"),
        (
            "1999-12-01~2000-01-05",
            "Period: must be on or after 2000-01-01.",
        ),
        ("2024-13-01", "Period: expected a date range"),
    ] {
        let (f, m) = invalid(
            &format!("period {given}"),
            run_insight(&app, &c, ranges.id, &json!({"period": [given]})).await,
        );
        assert_eq!(f, "p_period");
        assert!(m.contains(says), "{given}: {m}");
    }

    // Query-backed choices, cascading from country to city.
    let countries = create_insight(
        &app,
        &c,
        &draft(
            "Countries",
            conn,
            &format!("SELECT DISTINCT country FROM {table} ORDER BY country"),
            vec![],
        ),
    )
    .await;
    let cities = create_insight(
        &app,
        &c,
        &draft(
            "Cities",
            conn,
            &format!("SELECT city, upper(city) AS label FROM {table} WHERE country = {{{{country}}}} ORDER BY city"),
            vec![ParamSpec {
                required: true,
                ..param("country", "Country", ParamKind::Text)
            }],
        ),
    )
    .await;
    let pick = create_insight(
        &app,
        &c,
        &draft(
            "Pick",
            conn,
            &format!(
                "SELECT country, city FROM {table} WHERE country = {{{{country}}}} \
                 [[AND city = ANY({{{{city}}}})]] ORDER BY city"
            ),
            vec![
                ParamSpec {
                    required: true,
                    source: from_insight(&countries, &[]),
                    ..param("country", "Country", ParamKind::Query)
                },
                ParamSpec {
                    multi: true,
                    source: from_insight(&cities, &[("country", "country")]),
                    ..param("city", "City", ParamKind::Query)
                },
            ],
        ),
    )
    .await;
    let pair = |v: &str, l: &str| (v.to_string(), l.to_string());
    assert_eq!(
        param_options(&app, &c, pick.id, "country", json!({})).await,
        [
            pair("France", "France"),
            pair("Germany", "Germany"),
            pair("Italy", "Italy")
        ]
    );
    assert_eq!(
        param_options(&app, &c, pick.id, "city", json!({"country": ["France"]})).await,
        [pair("Lyon", "LYON"), pair("Paris", "PARIS")]
    );
    assert_eq!(
        param_options(
            &app,
            &c,
            pick.id,
            "city",
            json!({"country": ["Germany"], "city": ["Paris"]})
        )
        .await,
        [pair("Berlin", "BERLIN"), pair("Hamburg", "HAMBURG")]
    );
    assert!(
        param_options(&app, &c, pick.id, "city", json!({"country": ["Atlantis"]}))
            .await
            .is_empty()
    );
    // The source's parameters are bound too.
    assert!(param_options(
        &app,
        &c,
        pick.id,
        "city",
        json!({"country": ["France' OR '1'='1"]})
    )
    .await
    .is_empty());
    let e = failed(
        "unknown parameter",
        StatusCode::NOT_FOUND,
        app.call_json(
            &c,
            "param_options",
            &json!({"id": pick.id, "name": "nope", "values": {}}),
        )
        .await,
    );
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");

    let (_, rows) = run_ok(
        &app,
        &c,
        pick.id,
        &json!({"country": ["France"], "city": ["Paris"]}),
    )
    .await;
    assert_eq!(rows, cells(&[&["France", "Paris"]]));
    let (_, rows) = run_ok(&app, &c, pick.id, &json!({"country": ["Germany"]})).await;
    assert_eq!(
        rows,
        cells(&[&["Germany", "Berlin"], &["Germany", "Hamburg"]])
    );
    for (vals, field, says) in [
        (
            json!({"country": ["France"], "city": ["Berlin"]}),
            "p_city",
            "'Berlin' is not one of the choices for City.",
        ),
        (
            json!({"country": ["France"], "city": ["Paris", "Rome"]}),
            "p_city",
            "'Rome' is not one of the choices for City.",
        ),
        (
            json!({"country": ["Atlantis"]}),
            "p_country",
            "'Atlantis' is not one of the choices for Country.",
        ),
        (json!({}), "p_country", "Country is required."),
    ] {
        let (f, m) = invalid(
            &format!("pick {vals}"),
            run_insight(&app, &c, pick.id, &vals).await,
        );
        assert_eq!(f, field, "{vals}: {m}");
        assert_eq!(m, says, "{vals}");
    }

    // Specs are checked when saved, naming the field to fix.
    for (d, field, says) in [
        (
            draft("Bad", conn, "SELECT {{missing}}", vec![]),
            "sql",
            "there is no parameter named missing",
        ),
        (
            draft(
                "Bad",
                conn,
                "SELECT {{x}}",
                vec![ParamSpec {
                    pattern: Some("([a-z]".into()),
                    ..param("x", "X", ParamKind::Text)
                }],
            ),
            "x",
            "the pattern is not a valid regular expression",
        ),
        (
            draft(
                "Bad",
                conn,
                "SELECT {{x}}",
                vec![param("x", "X", ParamKind::Enum)],
            ),
            "x",
            "add at least one choice",
        ),
        (
            draft(
                "Bad",
                conn,
                "SELECT {{x}}",
                vec![ParamSpec {
                    min: Some("10".into()),
                    max: Some("1".into()),
                    ..param("x", "X", ParamKind::Integer)
                }],
            ),
            "x",
            "the minimum is larger than the maximum",
        ),
        (
            draft(
                "Bad",
                conn,
                "SELECT {{x}}",
                vec![ParamSpec {
                    source: Some(QuerySource {
                        insight_id: 999_999,
                        depends_on: vec![],
                    }),
                    ..param("x", "X", ParamKind::Query)
                }],
            ),
            "x",
            "no longer exists",
        ),
        (
            draft("  ", conn, "SELECT 1", vec![]),
            "name",
            "Give the insight a name.",
        ),
    ] {
        let (f, m) = invalid(
            &format!("save {}", d.sql),
            save_insight(&app, &c, None, None, &d).await,
        );
        assert_eq!(f, field, "{m}");
        assert!(m.contains(says), "{m:?} should say {says:?}");
    }

    Target::Postgres
        .exec(&[format!("DROP TABLE {table}")])
        .await;
    app.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// Folders, versions and the trash
// ---------------------------------------------------------------------------------------

fn insight_ids(t: &Tree) -> Vec<InsightId> {
    t.insights.iter().map(|i| i.id).collect()
}

fn folder_ids(t: &Tree) -> Vec<FolderId> {
    t.folders.iter().map(|f| f.id).collect()
}

#[tokio::test]
async fn folders_versions_trash() {
    let app = common::spawn_app().await;
    let (c, email) = app.signed_in(Role::Editor).await;
    let conn = pg_connection(&app, &c, "pg").await;
    let tag = marker();

    // A tree: Reports / Sales / Monthly.
    let reports = new_folder(&app, &c, "Reports", None).await;
    let sales = new_folder(&app, &c, "Sales", Some(reports.id)).await;
    let monthly = new_folder(&app, &c, "Monthly", Some(sales.id)).await;
    assert_eq!(monthly.parent_id, Some(sales.id));
    let (f, m) = invalid(
        "sibling clash",
        save_folder(&app, &c, None, " sales ", Some(reports.id)).await,
    );
    assert_eq!(f, "name", "{m}");
    assert!(m.contains("already a folder named 'sales'"), "{m}");
    for target in [monthly.id, sales.id, reports.id] {
        let (f, m) = invalid(
            "folder into itself or below",
            save_folder(&app, &c, Some(reports.id), "Reports", Some(target)).await,
        );
        assert_eq!(f, "parent", "{m}");
        assert_eq!(
            m,
            "A folder cannot be moved into itself or one of its subfolders."
        );
    }
    let renamed: Folder = parse(
        "rename",
        save_folder(&app, &c, Some(monthly.id), "Monthly totals", Some(sales.id)).await,
    );
    assert_eq!(renamed.name, "Monthly totals");
    let e = failed(
        "missing parent",
        StatusCode::NOT_FOUND,
        save_folder(&app, &c, None, "Orphan", Some(FolderId(999_999))).await,
    );
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");

    // Moving an insight; the breadcrumb follows.
    let needle = format!("needle-{tag}");
    let revenue = create_insight(
        &app,
        &c,
        &draft(
            "Revenue",
            conn,
            &format!("SELECT '{needle}' AS hit"),
            vec![],
        ),
    )
    .await;
    let other = create_insight(&app, &c, &draft("Other", conn, "SELECT 1 AS n", vec![])).await;
    parse::<()>(
        "move",
        app.call_json(
            &c,
            "move_insight",
            &json!({"id": revenue.id, "folder": monthly.id}),
        )
        .await,
    );
    let moved = get_insight(&app, &c, revenue.id).await;
    assert_eq!(moved.draft.folder_id, Some(monthly.id));
    assert_eq!(
        moved
            .path
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["Reports", "Sales", "Monthly totals"]
    );
    assert_eq!(moved.version, 1, "moving does not make a version");
    let e = failed(
        "move to nowhere",
        StatusCode::NOT_FOUND,
        app.call_json(
            &c,
            "move_insight",
            &json!({"id": revenue.id, "folder": 999_999}),
        )
        .await,
    );
    assert!(matches!(e, AppError::NotFound(_)), "{e:?}");

    // Search finds SQL text, case-insensitively, and treats % and _ literally.
    assert_eq!(
        insight_ids(&tree(&app, &c, Some(&needle.to_uppercase()), false).await),
        [revenue.id]
    );
    assert_eq!(
        insight_ids(&tree(&app, &c, Some("revenue"), false).await),
        [revenue.id]
    );
    assert!(insight_ids(&tree(&app, &c, Some("%"), false).await).is_empty());
    assert!(insight_ids(&tree(&app, &c, Some("_"), false).await).is_empty());
    let (f, _) = invalid(
        "long search",
        app.call_json(
            &c,
            "insight_tree",
            &json!({"search": "x".repeat(201), "trash": false}),
        )
        .await,
    );
    assert_eq!(f, "search");

    // An insight trashed on its own stays in the trash when its folder comes back.
    let loose = create_insight(
        &app,
        &c,
        &InsightDraft {
            folder_id: Some(sales.id),
            ..draft("Loose", conn, "SELECT 2 AS n", vec![])
        },
    )
    .await;
    parse::<()>(
        "trash loose",
        app.call_json(
            &c,
            "trash_insight",
            &json!({"id": loose.id, "trashed": true}),
        )
        .await,
    );

    // Trashing a folder takes its subfolders and insights with it.
    parse::<()>(
        "trash folder",
        app.call_json(
            &c,
            "trash_folder",
            &json!({"id": sales.id, "trashed": true}),
        )
        .await,
    );
    let live = tree(&app, &c, None, false).await;
    assert_eq!(folder_ids(&live), [reports.id]);
    assert_eq!(insight_ids(&live), [other.id]);
    assert!(insight_ids(&tree(&app, &c, Some(&needle), false).await).is_empty());
    let trash = tree(&app, &c, None, true).await;
    let mut trashed_folders = folder_ids(&trash);
    trashed_folders.sort();
    assert_eq!(trashed_folders, [sales.id, monthly.id]);
    let mut trashed = insight_ids(&trash);
    trashed.sort();
    assert_eq!(trashed, [revenue.id, loose.id]);
    assert!(get_insight(&app, &c, revenue.id).await.deleted);
    let in_trash =
        AppError::Conflict("That insight is in the trash; an editor can restore it.".into());
    let e = failed(
        "run trashed",
        StatusCode::CONFLICT,
        run_insight(&app, &c, revenue.id, &json!({})).await,
    );
    assert_eq!(e, in_trash);
    let e = failed(
        "save trashed",
        StatusCode::CONFLICT,
        save_insight(
            &app,
            &c,
            Some(revenue.id),
            None,
            &InsightDraft {
                folder_id: None,
                ..moved.draft.clone()
            },
        )
        .await,
    );
    assert_eq!(e, in_trash);
    let r = export(&app, &c, &format!("/insights/{}/export.csv", revenue.id)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.text().await.unwrap(), in_trash.to_string());

    // Restoring brings back exactly what went with the folder.
    parse::<()>(
        "restore folder",
        app.call_json(
            &c,
            "trash_folder",
            &json!({"id": sales.id, "trashed": false}),
        )
        .await,
    );
    let live = tree(&app, &c, None, false).await;
    let mut live_folders = folder_ids(&live);
    live_folders.sort();
    assert_eq!(live_folders, [reports.id, sales.id, monthly.id]);
    let mut live_insights = insight_ids(&live);
    live_insights.sort();
    assert_eq!(live_insights, [revenue.id, other.id]);
    assert_eq!(insight_ids(&tree(&app, &c, None, true).await), [loose.id]);
    let back = get_insight(&app, &c, revenue.id).await;
    assert!(!back.deleted);
    assert_eq!(back.draft.folder_id, Some(monthly.id));
    let (_, rows) = run_ok(&app, &c, revenue.id, &json!({})).await;
    assert_eq!(rows, cells(&[&[&needle]]));
    parse::<()>(
        "restore loose",
        app.call_json(
            &c,
            "trash_insight",
            &json!({"id": loose.id, "trashed": false}),
        )
        .await,
    );
    assert_eq!(
        get_insight(&app, &c, loose.id).await.draft.folder_id,
        Some(sales.id)
    );

    // Versions: created, then SQL, then name and description.
    let v1 = draft(&format!("Versions {tag}"), conn, "SELECT 1 AS n", vec![]);
    let created = create_insight(&app, &c, &v1).await;
    assert_eq!(created.version, 1);
    let v2 = InsightDraft {
        sql: "SELECT 2 AS n".into(),
        ..v1.clone()
    };
    let saved: Insight = parse(
        "save v2",
        save_insight(&app, &c, Some(created.id), Some(1), &v2).await,
    );
    assert_eq!(saved.version, 2);
    let v3 = InsightDraft {
        name: format!("Renamed {tag}"),
        description: "Now with a description".into(),
        ..v2.clone()
    };
    let saved: Insight = parse(
        "save v3",
        save_insight(&app, &c, Some(created.id), Some(2), &v3).await,
    );
    assert_eq!(saved.version, 3);
    assert_eq!(saved.updated_by.as_deref(), Some(email.as_str()));
    // Saving what is already there makes no version.
    let same: Insight = parse(
        "save unchanged",
        save_insight(&app, &c, Some(created.id), Some(3), &v3).await,
    );
    assert_eq!(same.version, 3);

    let list = versions(&app, &c, created.id).await;
    assert_eq!(
        list.iter()
            .map(|v| (v.version, v.summary.as_str()))
            .collect::<Vec<_>>(),
        [(3, "Name, description"), (2, "SQL"), (1, "Created")]
    );
    assert!(list
        .iter()
        .all(|v| v.author.as_deref() == Some(email.as_str())));

    let old: InsightDraft = parse(
        "insight_version 1",
        app.call_json(
            &c,
            "insight_version",
            &json!({"id": created.id, "version": 1}),
        )
        .await,
    );
    assert_eq!(old, v1);
    let e = failed(
        "missing version",
        StatusCode::NOT_FOUND,
        app.call_json(
            &c,
            "insight_version",
            &json!({"id": created.id, "version": 99}),
        )
        .await,
    );
    assert_eq!(e.to_string(), "Version 99 not found.");

    let reverted: Insight = parse(
        "revert to 1",
        app.call_json(
            &c,
            "revert_insight",
            &json!({"id": created.id, "version": 1}),
        )
        .await,
    );
    assert_eq!(reverted.version, 4);
    assert_eq!(reverted.draft, v1);
    let list = versions(&app, &c, created.id).await;
    assert_eq!(list[0].version, 4);
    assert_eq!(list[0].summary, "Reverted to version 1");
    let (_, rows) = run_ok(&app, &c, created.id, &json!({})).await;
    assert_eq!(rows, cells(&[&["1"]]));

    // A save from a stale version is refused and names who saved in between.
    let stale = InsightDraft {
        sql: "SELECT 3 AS n".into(),
        ..v1.clone()
    };
    let e = failed(
        "stale save",
        StatusCode::CONFLICT,
        save_insight(&app, &c, Some(created.id), Some(2), &stale).await,
    );
    let AppError::Conflict(m) = e else {
        panic!("{e:?}")
    };
    assert!(m.contains("saved a newer version"), "{m}");
    assert!(m.contains(&email), "{m}");
    assert_eq!(get_insight(&app, &c, created.id).await.version, 4);
    assert_eq!(versions(&app, &c, created.id).await.len(), 4);
    app.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// Exports
// ---------------------------------------------------------------------------------------

async fn export(app: &TestApp, c: &Client, path: &str) -> reqwest::Response {
    c.get(format!("{}{path}", app.base)).send().await.unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Downloads an export that must succeed; checks its headers, returns its bytes.
async fn download(
    app: &TestApp,
    c: &Client,
    path: &str,
    content_type: &str,
    filename: &str,
) -> Vec<u8> {
    let r = export(app, c, path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    assert_eq!(header(&r, "content-type"), content_type, "{path}");
    assert_eq!(
        header(&r, "content-disposition"),
        format!("attachment; filename=\"{filename}\""),
        "{path}"
    );
    assert_eq!(header(&r, "cache-control"), "no-store", "{path}");
    r.bytes().await.expect("the whole body arrives").to_vec()
}

fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let headers = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

/// The CSV form of page rows: NULL is an empty field.
fn as_csv(rows: &[Vec<Option<String>>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| c.clone().unwrap_or_default()).collect())
        .collect()
}

/// A JSON export cell against the grid's text of the same cell.
fn json_cell_matches(j: &Json, text: &Option<String>) -> bool {
    match (j, text) {
        (Json::Null, None) => true,
        (Json::String(s), Some(t)) => s == t,
        (Json::Bool(b), Some(t)) => &b.to_string() == t,
        (Json::Number(n), Some(t)) => n.to_string() == *t || n.as_f64() == t.parse::<f64>().ok(),
        _ => false,
    }
}

/// The XLSX cell against the grid's text of the same cell, by the column's kind.
fn xlsx_cell_matches(cell: &calamine::Data, kind: &str, text: &Option<String>) -> bool {
    use calamine::Data;
    let Some(t) = text else {
        return matches!(cell, Data::Empty);
    };
    match (kind, cell) {
        ("number", Data::Float(f)) => t.parse::<f64>().ok() == Some(*f),
        ("number", Data::Int(i)) => t.parse::<i64>().ok() == Some(*i),
        ("text", Data::String(s)) => s == t,
        ("bool", Data::Bool(b)) => &b.to_string() == t,
        ("date", Data::DateTime(d)) => {
            d.as_datetime()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .as_deref()
                == Some(t)
        }
        ("timestamptz", Data::DateTime(d)) => {
            d.as_datetime()
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .as_deref()
                == Some(t)
        }
        _ => false,
    }
}

/// Exports stream the insight's result as CSV, JSON and XLSX that read back to exactly what
/// the run's pages show; the route needs a session, takes parameters from the query string
/// and answers bad requests with plain messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_read_back() {
    let app = common::spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let conn = pg_connection(&app, &c, "pg").await;
    let tag = marker();
    let table = format!("{tag}_export");
    Target::Postgres
        .exec(&[
            format!(
                "CREATE TABLE {table} (id int PRIMARY KEY, big bigint, amount numeric(12,2), \
                 ratio float8, note text, day date, at timestamptz, flag bool)"
            ),
            format!(
                "INSERT INTO {table} SELECT g, \
                 CASE WHEN g % 7 = 0 THEN NULL ELSE g::bigint * 10000000007 * (1 - 2 * (g % 2)) END, \
                 CASE WHEN g % 5 = 0 THEN NULL ELSE round(g * 1.25 - 1000.01, 2) END, \
                 CASE WHEN g % 6 = 0 THEN NULL ELSE g / 8.0::float8 - 100 END, \
                 CASE WHEN g % 11 = 0 THEN NULL \
                      ELSE 'note ' || g || ', \"quoted\" and ''single'', comma,' || chr(10) || 'line two é ✓' END, \
                 CASE WHEN g % 13 = 0 THEN NULL ELSE date '2024-01-01' + g END, \
                 CASE WHEN g % 17 = 0 THEN NULL \
                      ELSE timestamptz '2024-01-01 00:00:00+00' + g * interval '61 minutes 7 seconds' END, \
                 CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END \
                 FROM generate_series(1, 2000) g"
            ),
        ])
        .await;
    let kinds = [
        "number",
        "number",
        "number",
        "number",
        "text",
        "date",
        "timestamptz",
        "bool",
    ];
    let insight = create_insight(
        &app,
        &c,
        &draft(
            &format!("Export check {tag}"),
            conn,
            &format!("SELECT * FROM {table} [[WHERE id <= {{{{max_id}}}}]] ORDER BY id"),
            vec![ParamSpec {
                min: Some("1".into()),
                ..param("max_id", "Max id", ParamKind::Integer)
            }],
        ),
    )
    .await;
    let slug = format!("export-check-{tag}");
    let base = format!("/insights/{}", insight.id);

    // What the grid shows.
    let (v, rows) = run_ok(&app, &c, insight.id, &json!({})).await;
    assert_eq!(rows.len(), 2000);
    let names = column_names(&v);
    assert_eq!(
        names,
        ["id", "big", "amount", "ratio", "note", "day", "at", "flag"]
    );
    assert!(rows.iter().any(|r| r.iter().any(Option::is_none)), "NULLs");

    // CSV: header and rows equal the pages (NULL as an empty field).
    let bytes = download(
        &app,
        &c,
        &format!("{base}/export.csv"),
        "text/csv; charset=utf-8",
        &format!("{slug}.csv"),
    )
    .await;
    let (head, body) = read_csv(&bytes);
    assert_eq!(head, names);
    assert_eq!(body.len(), 2000);
    let want = as_csv(&rows);
    for (i, (got, want)) in body.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "CSV row {i}");
    }
    // Parameters come from the query string.
    let bytes = download(
        &app,
        &c,
        &format!("{base}/export.csv?p_max_id=10&other=1"),
        "text/csv; charset=utf-8",
        &format!("{slug}.csv"),
    )
    .await;
    let (_, ten) = read_csv(&bytes);
    assert_eq!(ten, want[..10].to_vec());
    // Without parameters and floats, PostgreSQL writes the CSV itself (COPY): the same text.
    let copied = create_insight(
        &app,
        &c,
        &draft(
            &format!("Export copy {tag}"),
            conn,
            &format!("SELECT id, big, amount, note, day, at, flag FROM {table} ORDER BY id"),
            vec![],
        ),
    )
    .await;
    let bytes = download(
        &app,
        &c,
        &format!("/insights/{}/export.csv", copied.id),
        "text/csv; charset=utf-8",
        &format!("export-copy-{tag}.csv"),
    )
    .await;
    let (copy_head, copy_body) = read_csv(&bytes);
    let without_ratio = |r: &Vec<String>| {
        let mut r = r.clone();
        r.remove(3);
        r
    };
    assert_eq!(copy_head, without_ratio(&head));
    assert_eq!(
        copy_body,
        want.iter().map(without_ratio).collect::<Vec<_>>()
    );
    // The audit entry (written once the body ended) says how: bytes from COPY, not rows.
    let detail = common::export_audit(&app, copied.id.0).await;
    assert!(
        detail["bytes"].as_u64().unwrap() > 0,
        "not through COPY: {detail}"
    );

    // JSON: columns with types, rows typed, the row count.
    let bytes = download(
        &app,
        &c,
        &format!("{base}/export.json"),
        "application/json",
        &format!("{slug}.json"),
    )
    .await;
    let doc: Json = serde_json::from_slice(&bytes).expect("the JSON export parses");
    let columns: Vec<&str> = doc["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, names);
    assert_eq!(doc["columns"][0]["type"], "INT4");
    assert_eq!(doc["row_count"], 2000);
    let jrows = doc["rows"].as_array().unwrap();
    assert_eq!(jrows.len(), 2000);
    for (i, (jrow, row)) in jrows.iter().zip(&rows).enumerate() {
        let jrow = jrow.as_array().unwrap();
        assert_eq!(jrow.len(), row.len(), "JSON row {i}");
        for (k, (j, t)) in jrow.iter().zip(row).enumerate() {
            assert!(
                json_cell_matches(j, t),
                "JSON row {i} column {}: {j} vs {t:?}",
                names[k]
            );
        }
        // Numbers stay numbers, booleans booleans.
        if row[0].is_some() {
            assert!(jrow[0].is_number(), "row {i}: {jrow:?}");
        }
        if row[2].is_some() {
            assert!(jrow[2].is_number(), "row {i}: {jrow:?}");
        }
        if row[7].is_some() {
            assert!(jrow[7].is_boolean(), "row {i}: {jrow:?}");
        }
    }

    // XLSX: numbers are numbers, dates DateTime cells, text equal.
    let bytes = download(
        &app,
        &c,
        &format!("{base}/export.xlsx"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("{slug}.xlsx"),
    )
    .await;
    {
        use calamine::{Data, Reader, Xlsx};
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("an XLSX file");
        assert_eq!(book.sheet_names(), ["Sheet 1"]);
        let range = book.worksheet_range("Sheet 1").unwrap();
        let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
        for (k, name) in names.iter().enumerate() {
            assert_eq!(cell(0, k as u32), Data::String(name.clone()));
        }
        assert_eq!(
            range.end().map(|(r, _)| r),
            Some(2000),
            "header and 2,000 rows"
        );
        for (i, row) in rows.iter().enumerate() {
            for (k, t) in row.iter().enumerate() {
                let got = cell(i as u32 + 1, k as u32);
                assert!(
                    xlsx_cell_matches(&got, kinds[k], t),
                    "XLSX row {i} column {} ({}): {got:?} vs {t:?}",
                    names[k],
                    kinds[k]
                );
            }
        }
    }

    // A viewer may export; the same CSV comes back.
    let bytes = download(
        &app,
        &viewer,
        &format!("{base}/export.csv"),
        "text/csv; charset=utf-8",
        &format!("{slug}.csv"),
    )
    .await;
    assert_eq!(read_csv(&bytes).1, want);

    // Without a session: to the login page, coming back here afterwards.
    let anon = app.client();
    let r = export(&app, &anon, &format!("{base}/export.csv?p_x=a%26b")).await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let location = header(&r, "location");
    assert!(location.starts_with("/login?next="), "{location}");
    let next = url::form_urlencoded::parse(&location.as_bytes()["/login?".len()..])
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        next,
        Some(format!("{base}/export.csv?p_x=a%26b")),
        "{location}"
    );

    // Unknown formats and insights: 404.
    for path in [
        format!("{base}/export.xls"),
        format!("{base}/export.csv.gz"),
        format!("{base}/report.csv"),
        "/insights/abc/export.csv".to_string(),
        "/insights/999999/export.csv".to_string(),
    ] {
        let r = export(&app, &c, &path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let text = r.text().await.unwrap();
        assert!(text.contains("not found"), "{path}: {text}");
    }

    // Invalid parameters: 400 with a message to act on.
    for (query, says) in [
        ("p_max_id=abc", "Max id: expected a whole number like 42"),
        ("p_max_id=0", "Max id: must be at least 1."),
        ("p_max_id=1&p_max_id=2", "Max id: expected a single value."),
    ] {
        let r = export(&app, &c, &format!("{base}/export.csv?{query}")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(
            header(&r, "content-type").starts_with("text/plain"),
            "{query}"
        );
        let text = r.text().await.unwrap();
        assert_eq!(text, says, "{query}");
        assert_user_facing(query, &text);
    }

    Target::Postgres
        .exec(&[format!("DROP TABLE {table}")])
        .await;
    app.cleanup().await;
}

async fn export_status(app: &TestApp, c: &Client, token: &str) -> (StatusCode, String) {
    app.call_json(c, "export_progress", &json!({ "token": token }))
        .await
}

/// A download started with `?progress=<token>` reports its rows and bytes to its owner (and
/// to nobody else) and ends `done`; a cancelled one stops the query at once, the file ends
/// as a failed download and the status says `cancelled`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_report_progress_and_cancel() {
    let app = common::spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let (other, _) = app.signed_in(Role::Viewer).await;
    let conn = pg_connection(&app, &c, "pg").await;
    let tag = marker();
    let rows = create_insight(
        &app,
        &c,
        &draft(
            &format!("Progress {tag}"),
            conn,
            "SELECT g AS n, g / 3.0::float8 AS third FROM generate_series(1, 5000) g",
            vec![],
        ),
    )
    .await;
    let token = format!("tok-{tag}");
    let bytes = download(
        &app,
        &c,
        &format!("/insights/{}/export.csv?progress={token}", rows.id),
        "text/csv; charset=utf-8",
        &format!("progress-{tag}.csv"),
    )
    .await;
    let mut status: Option<ExportStatus> = None;
    for _ in 0..100 {
        let (code, body) = export_status(&app, &c, &token).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let s: ExportStatus = serde_json::from_str(&body).unwrap();
        if s.state != ExportState::Running {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = status.expect("the download ended");
    assert_eq!(status.state, ExportState::Done, "{status:?}");
    assert_eq!(status.rows, Some(5000));
    assert_eq!(status.bytes, bytes.len() as u64);
    assert!(status.error.is_none());
    // Another user does not see it; a malformed token is refused before anything runs.
    assert_eq!(
        export_status(&app, &other, &token).await,
        (StatusCode::OK, "null".to_string())
    );
    let r = export(
        &app,
        &c,
        &format!("/insights/{}/export.csv?progress=a%20b", rows.id),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Cancel: a query that would take 30 s.
    let slow = create_insight(
        &app,
        &c,
        &draft(
            &format!("Slow {tag}"),
            conn,
            "SELECT pg_sleep(30) AS slept, 1 AS n",
            vec![],
        ),
    )
    .await;
    let token = format!("slow-{tag}");
    let started = Instant::now();
    let r = export(
        &app,
        &c,
        &format!("/insights/{}/export.json?progress={token}", slow.id),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let reading = tokio::spawn(async move { r.bytes().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, body) = export_status(&app, &c, &token).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(body.contains("running"), "{body}");
    // Not by somebody else.
    let (code, _) = app
        .call_json(&other, "cancel_export", &json!({ "token": token }))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, body) = app
        .call_json(&c, "cancel_export", &json!({ "token": token }))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let body = reading.await.unwrap();
    assert!(body.is_err(), "a cancelled download must not look complete");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the query was stopped: {:?}",
        started.elapsed()
    );
    let mut state = ExportState::Running;
    for _ in 0..100 {
        let (_, body) = export_status(&app, &c, &token).await;
        state = serde_json::from_str::<ExportStatus>(&body).unwrap().state;
        if state != ExportState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state, ExportState::Cancelled);
}
