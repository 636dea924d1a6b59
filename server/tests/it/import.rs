//! Imports over HTTP, through the app as a browser uses it: upload (`POST /imports`),
//! preview, import into the Uploads connection, then query the table with the workbench's
//! normal run path. A 100k-row CSV, an XLSX with mixed types, a bad row that rolls
//! everything back, header names that look like SQL, and who may upload and how much.
use crate::common;

use app::model::{
    connection::ConnectionSummary,
    import::{ColumnType, FileKind, ImportPreview, ImportState, ImportStatus},
    run::{Page, RunState, RunView},
    Role,
};
use common::{spawn_app, spawn_app_with, Store, TestApp};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value as Json};
use std::{
    fmt::Write as _,
    path::PathBuf,
    time::{Duration, Instant},
};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn parse<T: DeserializeOwned>(what: &str, (status, body): (StatusCode, String)) -> T {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

/// Uploads a file as the import page does.
async fn upload(app: &TestApp, c: &Client, name: &str, body: Vec<u8>) -> (StatusCode, String) {
    let r = c
        .post(format!(
            "{}/imports?name={}",
            app.base,
            url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        ))
        .header("origin", &app.base)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

async fn preview_of(app: &TestApp, c: &Client, name: &str, body: Vec<u8>) -> ImportPreview {
    parse(&format!("upload {name}"), upload(app, c, name, body).await)
}

/// The columns of a preview as the import request takes them, as detected.
fn columns(p: &ImportPreview) -> Vec<Json> {
    p.columns
        .iter()
        .map(|c| json!({"name": c.name, "type": c.inferred}))
        .collect()
}

fn types(p: &ImportPreview) -> Vec<ColumnType> {
    p.columns.iter().map(|c| c.inferred).collect()
}

async fn start(
    app: &TestApp,
    c: &Client,
    p: &ImportPreview,
    table: &str,
    replace: bool,
    columns: Vec<Json>,
) -> (StatusCode, String) {
    let request = json!({
        "upload_id": p.upload_id,
        "table": table,
        "replace": replace,
        "options": {"sheet": p.sheet, "delimiter": p.delimiter, "header": p.header},
        "columns": columns,
    });
    app.call_json(c, "start_import", &json!({ "request": request }))
        .await
}

/// Follows an import until it finished.
async fn finish(app: &TestApp, c: &Client, mut s: ImportStatus) -> ImportStatus {
    let deadline = Instant::now() + Duration::from_secs(180);
    while s.state == ImportState::Running {
        assert!(Instant::now() < deadline, "import did not finish: {s:?}");
        s = parse(
            "get_import",
            app.call_json(c, "get_import", &json!({"id": s.id, "wait_ms": 2000}))
                .await,
        );
    }
    s
}

async fn import(
    app: &TestApp,
    c: &Client,
    p: &ImportPreview,
    table: &str,
    columns: Vec<Json>,
) -> ImportStatus {
    let s: ImportStatus = parse(
        "start_import",
        start(app, c, p, table, false, columns).await,
    );
    finish(app, c, s).await
}

/// Runs SQL on a connection through the workbench and returns (column names, rows).
async fn query(
    app: &TestApp,
    c: &Client,
    conn: i64,
    sql: &str,
) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let mut v: RunView = parse(
        &format!("run_sql {sql}"),
        app.call_json(
            c,
            "run_sql",
            &json!({"request": {"connection_id": conn, "sql": sql, "params": [], "page_size": 0}}),
        )
        .await,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !v.state.finished() {
        assert!(Instant::now() < deadline, "run did not finish: {v:?}");
        v = parse(
            "run_status",
            app.call_json(c, "run_status", &json!({"id": v.id, "wait_ms": 1000}))
                .await,
        );
    }
    assert_eq!(v.state, RunState::Done, "{sql}: {v:?}");
    let page: Page = parse(
        "fetch_rows",
        app.call_json(
            c,
            "fetch_rows",
            &json!({"id": v.id, "offset": 0, "limit": 1000, "sort": null}),
        )
        .await,
    );
    (v.columns.into_iter().map(|c| c.name).collect(), page.rows)
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// Files left in the upload directory.
fn temp_files(app: &TestApp) -> Vec<PathBuf> {
    std::fs::read_dir(app.dir.path().join("data").join("imports"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn field_error(what: &str, (status, body): (StatusCode, String)) -> (String, String) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    let v: Json = serde_json::from_str(&body).unwrap();
    let first = &v["Validation"][0];
    (
        first["field"].as_str().unwrap_or_default().to_string(),
        first["message"].as_str().unwrap_or_default().to_string(),
    )
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_100k_row_csv_imports_in_one_go_and_is_queryable_in_the_workbench() {
    let app = spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let mut csv = String::from("id,amount,label,day,paid\n");
    let (mut sum_id, mut sum_cents, mut paid) = (0i64, 0i64, 0i64);
    let mut days = std::collections::HashSet::new();
    for i in 1..=100_000i64 {
        let cents = (i % 1000) * 100 + i % 100;
        writeln!(
            csv,
            "{i},{}.{:02},item {i},2024-{:02}-{:02},{}",
            cents / 100,
            cents % 100,
            i % 12 + 1,
            i % 28 + 1,
            i % 3 == 0
        )
        .unwrap();
        sum_id += i;
        sum_cents += cents;
        paid += i64::from(i % 3 == 0);
        days.insert((i % 12, i % 28));
    }
    let p = preview_of(&app, &c, "Sales 2024.csv", csv.into_bytes()).await;
    assert_eq!(p.kind, FileKind::Csv);
    assert_eq!(p.delimiter, Some(','));
    assert!(p.header);
    assert_eq!(p.total_rows, 100_000);
    assert_eq!(p.rows.len(), 50);
    assert_eq!(
        p.rows[0],
        vec![s("1"), s("1.01"), s("item 1"), s("2024-02-02"), s("false")]
    );
    assert_eq!(p.suggested_table, "sales_2024");
    assert_eq!(
        types(&p),
        [
            ColumnType::Integer,
            ColumnType::Real,
            ColumnType::Text,
            ColumnType::Date,
            ColumnType::Boolean
        ]
    );

    let first: ImportStatus = parse(
        "start_import",
        start(&app, &c, &p, "sales_2024", false, columns(&p)).await,
    );
    assert_eq!(
        first.state,
        ImportState::Running,
        "answers before the rows are in"
    );
    assert_eq!(first.rows_total, 100_000);
    let done = finish(&app, &c, first).await;
    assert_eq!(done.state, ImportState::Done, "{done:?}");
    assert_eq!((done.rows_done, done.rows_total), (100_000, 100_000));
    assert_eq!(done.sql, r#"select * from "sales_2024""#);
    assert!(
        temp_files(&app).is_empty(),
        "the upload was deleted: {:?}",
        temp_files(&app)
    );

    // The built-in connection appeared, read-only, and the table is queryable there.
    let listed: Vec<ConnectionSummary> = parse("list", app.call(&c, "list_connections", &[]).await);
    let uploads = listed
        .iter()
        .find(|l| l.id == done.connection_id)
        .expect("the Uploads connection is listed");
    assert_eq!(uploads.name, "Uploads");
    assert!(!uploads.writable);
    let (_, rows) = query(
        &app,
        &c,
        done.connection_id.0,
        r#"select count(*), sum(id), sum(cast(round(amount * 100) as integer)), sum(paid), count(distinct day), typeof(day) from "sales_2024""#,
    )
    .await;
    assert_eq!(
        rows[0],
        vec![
            s("100000"),
            Some(sum_id.to_string()),
            Some(sum_cents.to_string()),
            Some(paid.to_string()),
            Some(days.len().to_string()),
            s("text")
        ]
    );
    // The connection stays read-only for SQL.
    let (_, rows) = query(&app, &c, done.connection_id.0, "select 1").await;
    assert_eq!(rows, vec![vec![s("1")]]);
    let v: RunView = parse(
        "run_sql",
        app.call_json(
            &c,
            "run_sql",
            &json!({"request": {"connection_id": done.connection_id, "sql": "delete from sales_2024", "params": [], "page_size": 10}}),
        )
        .await,
    );
    let mut v = v;
    while !v.state.finished() {
        v = parse(
            "run_status",
            app.call_json(&c, "run_status", &json!({"id": v.id, "wait_ms": 1000}))
                .await,
        );
    }
    assert_eq!(v.state, RunState::Failed, "writes are refused: {v:?}");
}

#[tokio::test]
async fn an_xlsx_with_mixed_types_previews_inferred_types_and_reads_back_with_overrides() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let app = spawn_app().await;
    let (c, _) = app.signed_in(Role::Admin).await;

    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let ws = wb.add_worksheet();
    ws.set_name("Orders").unwrap();
    let headers = [
        "id", "price", "paid", "day", "at", "name", "note", "code", "mixed",
    ];
    for (col, h) in headers.iter().enumerate() {
        ws.write_string(0, col as u16, *h).unwrap();
    }
    for i in 1..=20u32 {
        let r = i;
        ws.write_number(r, 0, i).unwrap();
        ws.write_number(r, 1, f64::from(i) + 0.25).unwrap();
        ws.write_boolean(r, 2, i % 2 == 0).unwrap();
        let day = ExcelDateTime::from_ymd(2024, 1, i as u8).unwrap();
        ws.write_datetime_with_format(r, 3, &day, &date).unwrap();
        let at = ExcelDateTime::from_ymd(2024, 3, i as u8)
            .unwrap()
            .and_hms(10, i as u8, 30)
            .unwrap();
        ws.write_datetime_with_format(r, 4, &at, &stamp).unwrap();
        ws.write_string(r, 5, format!("name {i}")).unwrap();
        if i % 2 == 0 {
            ws.write_string(r, 6, format!("note {i}")).unwrap();
        }
        ws.write_number(r, 7, 1000 + i).unwrap();
        if i < 10 {
            ws.write_number(r, 8, i).unwrap();
        } else {
            ws.write_string(r, 8, "n/a").unwrap();
        }
    }
    let other = wb.add_worksheet();
    other.set_name("Notes").unwrap();
    other.write_string(0, 0, "just text").unwrap();
    let bytes = wb.save_to_buffer().unwrap();

    let p = preview_of(&app, &c, "orders.xlsx", bytes).await;
    assert_eq!(p.kind, FileKind::Excel);
    assert_eq!(p.sheets, ["Orders", "Notes"]);
    assert_eq!(p.sheet.as_deref(), Some("Orders"));
    assert!(p.header);
    assert_eq!(p.total_rows, 20);
    assert_eq!(
        p.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        headers
    );
    use ColumnType::*;
    assert_eq!(
        types(&p),
        [Integer, Real, Boolean, Date, Datetime, Text, Text, Integer, Text]
    );
    assert_eq!(
        p.rows[1],
        vec![
            s("2"),
            s("2.25"),
            s("true"),
            s("2024-01-02"),
            s("2024-03-02 10:02:30"),
            s("name 2"),
            s("note 2"),
            s("1002"),
            s("2")
        ]
    );

    // Another sheet reads on request.
    let notes: ImportPreview = parse(
        "preview_import",
        app.call_json(
            &c,
            "preview_import",
            &json!({"upload_id": p.upload_id, "options": {"sheet": "Notes"}}),
        )
        .await,
    );
    assert_eq!(notes.sheet.as_deref(), Some("Notes"));
    assert_eq!(notes.columns.len(), 1);

    // Overrides: `code` as text, `price` renamed. The Orders sheet is chosen again.
    let mut cols = columns(&p);
    cols[1]["name"] = json!("unit price");
    cols[7]["type"] = json!("text");
    let done = import(&app, &c, &p, "orders", cols).await;
    assert_eq!(done.state, ImportState::Done, "{done:?}");
    assert_eq!(done.rows_done, 20);

    let conn = done.connection_id.0;
    let (names, rows) = query(&app, &c, conn, "select * from orders order by id").await;
    assert_eq!(
        names,
        [
            "id",
            "unit price",
            "paid",
            "day",
            "at",
            "name",
            "note",
            "code",
            "mixed"
        ]
    );
    assert_eq!(rows.len(), 20);
    assert_eq!(
        rows[0],
        vec![
            s("1"),
            s("1.25"),
            s("0"),
            s("2024-01-01"),
            s("2024-03-01 10:01:30"),
            s("name 1"),
            None,
            s("1001"),
            s("1")
        ]
    );
    assert_eq!(
        rows[19],
        vec![
            s("20"),
            s("20.25"),
            s("1"),
            s("2024-01-20"),
            s("2024-03-20 10:20:30"),
            s("name 20"),
            s("note 20"),
            s("1020"),
            s("n/a")
        ]
    );
    let (_, rows) = query(
        &app,
        &c,
        conn,
        r#"select typeof(id), typeof("unit price"), typeof(paid), typeof(day), typeof(note), typeof(code), typeof(mixed), sum(paid) from orders where id = 2"#,
    )
    .await;
    assert_eq!(
        rows[0],
        vec![
            s("integer"),
            s("real"),
            s("integer"),
            s("text"),
            s("text"),
            s("text"),
            s("text"),
            s("1")
        ]
    );
}

#[tokio::test]
async fn a_bad_row_is_reported_by_row_and_column_and_nothing_is_created() {
    let app = spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let mut csv = String::from("id;amount\n");
    for i in 1..=2000 {
        // The header is row 1, so data row i is row i + 1 of the file.
        let amount = match i + 1 {
            1042 => "abc".to_string(),
            1500 => "12,5".to_string(),
            _ => format!("{i}.5"),
        };
        writeln!(csv, "{i};{amount}").unwrap();
    }
    let p = preview_of(&app, &c, "bad.csv", csv.into_bytes()).await;
    assert_eq!(p.delimiter, Some(';'));
    assert_eq!(types(&p), [ColumnType::Integer, ColumnType::Text]);

    let mut cols = columns(&p);
    cols[1]["type"] = json!("real");
    let failed = import(&app, &c, &p, "bad_rows", cols).await;
    assert_eq!(failed.state, ImportState::Failed, "{failed:?}");
    assert_eq!(failed.error_count, 2);
    assert_eq!(failed.errors[0].row, 1042);
    assert_eq!(failed.errors[0].column, "amount");
    assert_eq!(failed.errors[0].value, "abc");
    assert_eq!(
        failed.errors[0].to_string(),
        "row 1042, column amount: 'abc' is not a number"
    );
    assert_eq!(failed.errors[1].row, 1500);
    assert!(failed
        .message
        .as_deref()
        .unwrap_or("")
        .contains("nothing was imported"));

    let (_, rows) = query(
        &app,
        &c,
        failed.connection_id.0,
        "select count(*) from sqlite_schema where name = 'bad_rows'",
    )
    .await;
    assert_eq!(rows, vec![vec![s("0")]], "no table was created");

    // The upload is kept: with `amount` as text the same file imports.
    let done = import(&app, &c, &p, "bad_rows", columns(&p)).await;
    assert_eq!(done.state, ImportState::Done, "{done:?}");
    let (_, rows) = query(
        &app,
        &c,
        done.connection_id.0,
        "select amount from bad_rows where id = 1041",
    )
    .await;
    assert_eq!(rows, vec![vec![s("abc")]]);
}

#[tokio::test]
async fn names_from_files_are_data_not_sql() {
    let app = spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let x = preview_of(&app, &c, "x.csv", b"v\n1\n2\n".to_vec()).await;
    let done = import(&app, &c, &x, "x", columns(&x)).await;
    assert_eq!(done.state, ImportState::Done, "{done:?}");
    let conn = done.connection_id.0;

    let evil = "\"a\"\"; drop table x; --\",b\n1,2\n3,4\n";
    let p = preview_of(&app, &c, "evil.csv", evil.as_bytes().to_vec()).await;
    assert_eq!(p.columns[0].name, "a\"; drop table x; --");
    assert_eq!(p.columns[1].name, "b");

    // A table name is an identifier, not SQL.
    for bad in ["inj\"; drop table x; --", "x y", "1x", "sqlite_master", ""] {
        let (field, _) = field_error(bad, start(&app, &c, &p, bad, false, columns(&p)).await);
        assert_eq!(field, "table", "{bad}");
    }
    // Column names may be anything printable but not duplicates or blank.
    let mut dup = columns(&p);
    dup[1]["name"] = json!("A\"; DROP TABLE X; --");
    let (field, message) = field_error("dup", start(&app, &c, &p, "inj", false, dup).await);
    assert_eq!(field, "columns", "{message}");
    let mut blank = columns(&p);
    blank[0]["name"] = json!("  ");
    let (field, _) = field_error("blank", start(&app, &c, &p, "inj", false, blank).await);
    assert_eq!(field, "columns");
    let (field, _) = field_error(
        "count",
        start(&app, &c, &p, "inj", false, columns(&p)[..1].to_vec()).await,
    );
    assert_eq!(field, "columns");

    let done = import(&app, &c, &p, "inj", columns(&p)).await;
    assert_eq!(done.state, ImportState::Done, "{done:?}");
    let (names, rows) = query(&app, &c, conn, "select * from inj order by 1").await;
    assert_eq!(names, ["a\"; drop table x; --", "b"]);
    assert_eq!(rows, vec![vec![s("1"), s("2")], vec![s("3"), s("4")]]);
    let (_, rows) = query(&app, &c, conn, "select count(*) from x").await;
    assert_eq!(rows, vec![vec![s("2")]], "x is still there");

    // An existing table is replaced only when asked to (any case).
    let again = preview_of(&app, &c, "x.csv", b"w\n9\n".to_vec()).await;
    let (field, message) = field_error(
        "exists",
        start(&app, &c, &again, "X", false, columns(&again)).await,
    );
    assert_eq!(field, "table");
    assert!(message.contains("exists already"), "{message}");
    let s1: ImportStatus = parse(
        "replace",
        start(&app, &c, &again, "x", true, columns(&again)).await,
    );
    let replaced = finish(&app, &c, s1).await;
    assert_eq!(replaced.state, ImportState::Done, "{replaced:?}");
    let (names, rows) = query(&app, &c, conn, "select * from x").await;
    assert_eq!((names, rows), (vec!["w".to_string()], vec![vec![s("9")]]));
}

#[tokio::test]
async fn viewers_anonymous_callers_and_other_sites_cannot_upload() {
    let app = spawn_app().await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let (st, body) = upload(&app, &viewer, "a.csv", b"a\n1\n".to_vec()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let (st, body) = upload(&app, &app.client(), "a.csv", b"a\n1\n".to_vec()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
    assert!(temp_files(&app).is_empty());

    let (editor, _) = app.signed_in(Role::Editor).await;
    let r = editor
        .post(format!("{}/imports?name=a.csv", app.base))
        .header("origin", "https://evil.example")
        .body(b"a\n1\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "cross-site upload");
    let r = editor
        .post(format!("{}/imports?name=a.csv", app.base))
        .header("sec-fetch-site", "cross-site")
        .body(b"a\n1\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "cross-site upload");

    // Another editor's upload and import are invisible; a viewer cannot start one.
    let p = preview_of(&app, &editor, "a.csv", b"a\n1\n".to_vec()).await;
    let (other, _) = app.signed_in(Role::Editor).await;
    let (st, body) = app
        .call_json(
            &other,
            "preview_import",
            &json!({"upload_id": p.upload_id, "options": {}}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    let (st, _) = start(&app, &other, &p, "a", false, columns(&p)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = start(&app, &viewer, &p, "a", false, columns(&p)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let s: ImportStatus = parse(
        "start",
        start(&app, &editor, &p, "a", false, columns(&p)).await,
    );
    let (st, _) = app
        .call_json(&other, "get_import", &json!({"id": s.id, "wait_ms": 0}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(finish(&app, &editor, s).await.state, ImportState::Done);
}

#[tokio::test]
async fn oversize_uploads_are_refused_with_413() {
    let app = spawn_app_with(Store::Sqlite, |a| a.engine.max_upload_mb = 1).await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let mut big = String::from("n,text\n");
    while big.len() <= 1_300_000 {
        big.push_str("12345,some text that fills the file up\n");
    }
    let (st, body) = upload(&app, &c, "big.csv", big.into_bytes()).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("upload limit of 1 MB"), "{body}");
    assert!(temp_files(&app).is_empty(), "{:?}", temp_files(&app));
    // Under the limit is fine.
    let p = preview_of(&app, &c, "small.csv", b"n\n1\n".to_vec()).await;
    assert_eq!(p.total_rows, 1);

    // Without a Content-Length (chunked), the stream is cut off at the limit.
    let email = app
        .seed_user(
            &format!("chunked-{}@example.com", uuid::Uuid::new_v4().simple()),
            Role::Editor,
        )
        .await;
    let (c, jar) = app.client_with_jar();
    let (st, body) = app.login(&c, &email, common::PASSWORD).await;
    assert!(st.is_success() || st == StatusCode::FOUND, "{st} {body}");
    let url: reqwest::Url = app.base.parse().unwrap();
    let cookie = {
        use reqwest::cookie::CookieStore;
        jar.cookies(&url).unwrap().to_str().unwrap().to_string()
    };
    let (status, text) = chunked_upload(&app, &cookie, 3 << 20).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}\n{text}");
    assert!(text.contains("upload limit of 1 MB"), "{text}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Only the small upload waits; nothing of the refused one is left.
    assert_eq!(temp_files(&app).len(), 1, "{:?}", temp_files(&app));
    assert!(!temp_files(&app)[0].to_string_lossy().ends_with(".part"));
}

/// Sends `total` bytes of CSV as a chunked body and returns the status line and the answer.
async fn chunked_upload(app: &TestApp, cookie: &str, total: usize) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.base.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /imports?name=big.csv HTTP/1.1\r\nHost: {host}\r\nOrigin: {}\r\nCookie: {cookie}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.base
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let line = "12345,some text that fills the file up\n".repeat(1000);
    let mut sent = 0;
    while sent < total {
        let chunk = format!("{:x}\r\n{line}\r\n", line.len());
        // The server may stop reading (and close) once it has refused the upload.
        if sock.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
        sent += line.len();
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer.lines().next().unwrap_or_default().to_string();
    (status, answer)
}

#[tokio::test]
async fn csv_dialects_encodings_and_headerless_files() {
    let app = spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;

    // A UTF-8 byte-order mark is skipped; tabs are found.
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice("städte\tn\nKöln\t1\nWien\t2\n".as_bytes());
    let p = preview_of(&app, &c, "cities.tsv", bom).await;
    assert_eq!(p.delimiter, Some('\t'));
    assert_eq!(p.columns[0].name, "städte");
    assert_eq!(p.rows[0], vec![s("Köln"), s("1")]);

    // Pipes, quoted delimiters and line breaks, leading zeros kept as text.
    let p = preview_of(
        &app,
        &c,
        "zips.txt",
        b"zip|note\n01234|\"a|b\"\n90210|\"two\nlines\"\n".to_vec(),
    )
    .await;
    assert_eq!(p.delimiter, Some('|'));
    assert_eq!(types(&p), [ColumnType::Text, ColumnType::Text]);
    assert_eq!(p.rows[1], vec![s("90210"), s("two\nlines")]);

    // Only numbers: the first row is data.
    let p = preview_of(&app, &c, "nums.csv", b"1,2.5\n3,4\n".to_vec()).await;
    assert!(!p.header);
    assert_eq!(p.total_rows, 2);
    assert_eq!(p.columns[0].name, "column_1");
    assert_eq!(types(&p), [ColumnType::Integer, ColumnType::Real]);
    let done = import(&app, &c, &p, "nums", columns(&p)).await;
    assert_eq!(done.rows_done, 2, "{done:?}");

    // Not UTF-8: a clear refusal, and nothing kept.
    let (st, body) = upload(&app, &c, "latin1.csv", b"name\nK\xf6ln\n".to_vec()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("not UTF-8"), "{body}");
    let (st, body) = upload(&app, &c, "empty.csv", vec![]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, body) = upload(&app, &c, "fake.xlsx", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, body) = upload(&app, &c, "script.exe", b"MZ".to_vec()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert!(temp_files(&app)
        .iter()
        .all(|f| !f.to_string_lossy().contains("part")));
}
