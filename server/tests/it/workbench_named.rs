//! SQL with `{{name}}` parameters run from the workbench before it is saved as an insight:
//! the values are typed, checked on the server and bound (never spliced into the SQL), and
//! bad values are refused with a message naming the parameter.
use crate::common;

use app::model::{
    run::{HistoryEntry, Page, RunState, RunView},
    Role,
};
use common::TestApp;
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};

fn parse<T: DeserializeOwned>(what: &str, (status, body): (StatusCode, String)) -> T {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

/// A PostgreSQL connection to the local `test` database.
async fn pg_connection(app: &TestApp, c: &Client) -> i64 {
    let fields = [
        ("name", "named params"),
        ("kind", "postgres"),
        ("host", "127.0.0.1"),
        ("port", "5432"),
        ("database", "test"),
        ("user", "postgres"),
        ("ssl_mode", "disable"),
    ];
    let owned: Vec<(String, &str)> = fields
        .iter()
        .map(|(k, v)| (format!("form[{k}]"), *v))
        .collect();
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    parse(
        "save_connection",
        app.call(c, "save_connection", &pairs).await,
    )
}

async fn run_named(app: &TestApp, c: &Client, body: Json) -> (StatusCode, String) {
    app.call_json(c, "run_sql_named", &json!({ "request": body }))
        .await
}

async fn finish(app: &TestApp, c: &Client, mut v: RunView) -> RunView {
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

#[tokio::test]
async fn workbench_runs_named_parameters_bound_and_typed() {
    let app = common::spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let conn = pg_connection(&app, &c).await;
    let injection = "' OR '1'='1'; DROP TABLE x; --";
    let sql = "select {{n}} + 1 as next, {{who}} as who, {{day}} as day, \
               {{period.start}} as first_day, {{period.end}} as last_day";
    let params = json!([
        {"name": "n", "kind": "number"},
        {"name": "who", "kind": "text"},
        {"name": "day", "kind": "date"},
        {"name": "period", "kind": "date_range"},
    ]);
    let v: RunView = parse(
        "run_sql_named",
        run_named(
            &app,
            &c,
            json!({
                "connection_id": conn,
                "sql": sql,
                "params": params,
                "values": {
                    "n": ["41"],
                    "who": [injection],
                    "day": ["2024-02-29"],
                    "period": ["2024-02-01~2024-03-01"],
                },
                "page_size": 10,
            }),
        )
        .await,
    );
    let v = finish(&app, &c, v).await;
    assert_eq!(v.state, RunState::Done, "{v:?}");
    let page: Page = parse(
        "fetch_rows",
        app.call_json(
            &c,
            "fetch_rows",
            &json!({"id": v.id.0, "offset": 0, "limit": 10, "sort": null}),
        )
        .await,
    );
    let row: Vec<String> = page.rows[0].iter().map(|c| c.clone().unwrap()).collect();
    assert_eq!(
        row,
        ["42", injection, "2024-02-29", "2024-02-01", "2024-03-01"]
    );

    // The history keeps the SQL with placeholders and the values apart: bound, not spliced.
    let history: Vec<HistoryEntry> = parse(
        "query_history",
        app.call_json(&c, "query_history", &json!({"search": null}))
            .await,
    );
    let entry = history.iter().find(|e| e.id == v.id).expect("in history");
    assert!(entry.sql.contains("$2"), "{}", entry.sql);
    assert!(!entry.sql.contains("DROP TABLE"), "{}", entry.sql);
    assert!(
        entry.params.iter().any(|p| p.as_deref() == Some(injection)),
        "{:?}",
        entry.params
    );

    // A value that does not fit its type is refused, naming the parameter.
    let (status, body) = run_named(
        &app,
        &c,
        json!({
            "connection_id": conn,
            "sql": "select {{n}} as n",
            "params": [{"name": "n", "kind": "number"}],
            "values": {"n": ["forty-one"]},
            "page_size": 10,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let err: Json = serde_json::from_str(&body).unwrap();
    assert_eq!(err["Validation"][0]["field"], "p_n", "{body}");

    // `{{name}}` parameters and `$1` placeholders in one query are refused.
    let (status, body) = run_named(
        &app,
        &c,
        json!({
            "connection_id": conn,
            "sql": "select {{n}}, $1",
            "params": [{"name": "n", "kind": "text"}],
            "values": {"n": ["x"]},
            "page_size": 10,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("mixing"), "{body}");

    // Viewers write no SQL, named parameters or not.
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let (status, body) = run_named(
        &app,
        &viewer,
        json!({
            "connection_id": conn,
            "sql": "select {{n}} as n",
            "params": [{"name": "n", "kind": "text"}],
            "values": {"n": ["x"]},
            "page_size": 10,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}
