//! The result cache on both metadata stores: a hit serves the same rows without a database
//! run, Refresh (fresh) reads the database and replaces the entry, other values miss, the
//! cache time expires, two concurrent cold requests cause one run, the store is bounded
//! (least recently used first out), nothing is served past what decides access (trash, an
//! inactive or changed connection), a dashboard's own cache time wins, and a second process
//! on the same PostgreSQL store takes the first one's result without running.
use crate::common;

use app::{
    model::{
        connection::ConnectionId,
        dashboard::DashboardDraft,
        insight::{Insight, InsightDraft, UrlValues},
        params::{ParamKind, ParamSpec},
        run::{CacheUse, Page, RunView},
        Role, UserId,
    },
    server::{
        db::{result_cache as repo, Db},
        insights, result_cache,
    },
};
use common::{spawn_app_with, Store, TestApp};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;
use sqlx::Connection;
use std::{
    path::Path,
    time::{Duration, Instant},
};

fn parse<T: DeserializeOwned>(what: &str, (status, body): (StatusCode, String)) -> T {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

async fn sqlite_file(path: &Path, rows: &[(&str, i64)]) {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut db = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS sales (country TEXT, amount INTEGER)")
        .execute(&mut db)
        .await
        .unwrap();
    for (country, amount) in rows {
        sqlx::query("INSERT INTO sales VALUES ($1, $2)")
            .bind(country)
            .bind(amount)
            .execute(&mut db)
            .await
            .unwrap();
    }
}

async fn connection(app: &TestApp, c: &Client, path: &Path) -> ConnectionId {
    let id: i64 = parse(
        "save_connection",
        app.form_call(
            c,
            "save_connection",
            &[
                ("name", "sales"),
                ("kind", "sqlite"),
                ("path", &path.display().to_string()),
            ],
        )
        .await,
    );
    ConnectionId(id)
}

async fn save_insight(
    app: &TestApp,
    c: &Client,
    d: &InsightDraft,
    id: Option<&Insight>,
) -> Insight {
    parse(
        "save_insight",
        app.call_json(
            c,
            "save_insight",
            &json!({"id": id.map(|i| i.id), "base_version": id.map(|i| i.version), "draft": d}),
        )
        .await,
    )
}

fn values(country: &str) -> UrlValues {
    let mut v = UrlValues::new();
    v.insert("country".into(), vec![country.into()]);
    v
}

/// Runs the insight as its page or a tile does and follows the run to its end: the run's
/// last view and its rows.
async fn run(
    app: &TestApp,
    c: &Client,
    insight: &Insight,
    vals: &UrlValues,
    cache: CacheUse,
) -> (RunView, Vec<Vec<Option<String>>>) {
    let mut v: RunView = parse(
        "run_insight",
        app.call_json(
            c,
            "run_insight",
            &json!({"id": insight.id, "values": vals, "page_size": 100, "cache": cache}),
        )
        .await,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !v.state.finished() {
        assert!(Instant::now() < deadline, "the run did not finish");
        v = parse(
            "run_status",
            app.call_json(c, "run_status", &json!({"id": v.id, "wait_ms": 300}))
                .await,
        );
    }
    assert!(v.error.is_none(), "{v:?}");
    let page: Page = parse(
        "fetch_rows",
        app.call_json(
            c,
            "fetch_rows",
            &json!({"id": v.id, "offset": 0, "limit": 100, "sort": null}),
        )
        .await,
    );
    (v, page.rows)
}

/// Database runs recorded for this insight's SQL (every run that reached a connection).
async fn runs_of(db: &Db, marker: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM query_runs WHERE sql LIKE $1";
    let pattern = format!("%{marker}%");
    match db {
        Db::Sqlite(p) => {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(&pattern)
                .fetch_one(p)
                .await
        }
        Db::Postgres(p) => {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(&pattern)
                .fetch_one(p)
                .await
        }
    }
    .unwrap()
}

/// Waits until the store holds `n` entries (a finished run is copied there just after it
/// is shown done).
async fn stored(db: &Db, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (count, _) = repo::usage(db).await.unwrap();
        if count == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the store holds {count} results, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rows(pairs: &[(&str, &str)]) -> Vec<Vec<Option<String>>> {
    pairs
        .iter()
        .map(|(a, b)| vec![Some(a.to_string()), Some(b.to_string())])
        .collect()
}

async fn cache_on(store: Store) {
    let app = spawn_app_with(store, |a| {
        let allowed = a.store.data_dir.parent().unwrap().join("allowed");
        std::fs::create_dir_all(&allowed).unwrap();
        a.engine.sqlite_dir = Some(allowed);
    })
    .await;
    let (ed, _) = app.signed_in(Role::Editor).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let allowed = app.dir.path().join("allowed");
    let file = allowed.join("sales.sqlite");
    sqlite_file(&file, &[("France", 10), ("France", 5), ("Spain", 7)]).await;
    let conn = connection(&app, &ed, &file).await;
    let mut country = ParamSpec::new("country", ParamKind::Text);
    country.required = true;
    let draft = InsightDraft {
        name: "Sales".into(),
        connection_id: Some(conn),
        sql: "SELECT country, SUM(amount) AS cache_total FROM sales WHERE country = {{country}} GROUP BY country".into(),
        params: vec![country],
        ..Default::default()
    };
    let insight = save_insight(&app, &ed, &draft, None).await;
    let db = &app.state.db;
    let marker = "cache_total";

    // Cold: one run; the result says when its rows were read, and goes to the store.
    let (first, got) = run(&app, &ed, &insight, &values("France"), CacheUse::Reuse).await;
    assert_eq!(got, rows(&[("France", "15")]));
    assert!(first.computed_at.is_some(), "{first:?}");
    assert_eq!(runs_of(db, marker).await, 1);
    stored(db, 1).await;

    // Warm: another user (a viewer) gets the same result, with no database run.
    let (hit, got) = run(&app, &viewer, &insight, &values("France"), CacheUse::Reuse).await;
    assert_eq!(got, rows(&[("France", "15")]));
    assert_eq!(hit.id, first.id, "the viewer reads the same snapshot");
    assert_eq!(hit.computed_at, first.computed_at);
    assert_eq!(runs_of(db, marker).await, 1);
    // As a tile of a dashboard that sets nothing: the insight's time, still a hit.
    let board: app::model::dashboard::Dashboard = parse(
        "save_dashboard",
        app.call_json(
            &ed,
            "save_dashboard",
            &json!({"id": null, "base_version": null, "draft": DashboardDraft { name: "Board".into(), ..Default::default() }}),
        )
        .await,
    );
    let (tile, _) = run(
        &app,
        &viewer,
        &insight,
        &values("France"),
        CacheUse::Board(board.id.0),
    )
    .await;
    assert_eq!(tile.id, first.id);
    assert_eq!(runs_of(db, marker).await, 1);

    // The data changes: cached rows until a Refresh reads the database; then everyone gets
    // the fresh rows.
    sqlite_file(&file, &[("France", 100)]).await;
    let (_, got) = run(&app, &viewer, &insight, &values("France"), CacheUse::Reuse).await;
    assert_eq!(got, rows(&[("France", "15")]));
    let (fresh, got) = run(&app, &viewer, &insight, &values("France"), CacheUse::Fresh).await;
    assert_eq!(got, rows(&[("France", "115")]));
    assert_ne!(fresh.id, first.id);
    assert_eq!(runs_of(db, marker).await, 2);
    let (after, got) = run(&app, &ed, &insight, &values("France"), CacheUse::Reuse).await;
    assert_eq!(got, rows(&[("France", "115")]));
    assert_eq!(after.id, fresh.id);
    // The store keeps the newest result of the key, not a second entry.
    stored(db, 1).await;
    // The result the Refresh replaced goes once nobody reads it (here: at once); the
    // current one stays.
    tokio::time::sleep(Duration::from_millis(30)).await;
    app.state.engine.expire(Duration::from_millis(20));
    let page =
        |id: &app::model::run::RunId| json!({"id": id, "offset": 0, "limit": 10, "sort": null});
    let (status, _) = app.call_json(&viewer, "fetch_rows", &page(&first.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app.call_json(&viewer, "fetch_rows", &page(&fresh.id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Other values are another result.
    let (_, got) = run(&app, &viewer, &insight, &values("Spain"), CacheUse::Reuse).await;
    assert_eq!(got, rows(&[("Spain", "7")]));
    assert_eq!(runs_of(db, marker).await, 3);
    stored(db, 2).await;

    // The cache time passes (the service's clock moved 6 minutes on): a new run.
    let owner = UserId(1);
    let prepared = insights::prepare(&app.state, insight.id, &values("Spain"))
        .await
        .unwrap();
    let later = chrono::Utc::now() + chrono::Duration::minutes(6);
    let h = result_cache::run_at(&app.state, owner, prepared, CacheUse::Reuse, later)
        .await
        .unwrap();
    app.state.engine.wait(&h, 0, Duration::from_secs(10)).await;
    assert_eq!(runs_of(db, marker).await, 4);
    // Four minutes after that run, it is reused.
    let prepared = insights::prepare(&app.state, insight.id, &values("Spain"))
        .await
        .unwrap();
    let within = chrono::Utc::now() + chrono::Duration::minutes(4);
    let again = result_cache::run_at(&app.state, owner, prepared, CacheUse::Reuse, within)
        .await
        .unwrap();
    assert_eq!(again.id, h.id);
    assert_eq!(runs_of(db, marker).await, 4);

    // A dashboard's own cache time wins: 0 reads the database every time, for each viewer.
    let mut d = board.draft.clone();
    d.cache_minutes = Some(0);
    let _: app::model::dashboard::Dashboard = parse(
        "save_dashboard",
        app.call_json(
            &ed,
            "save_dashboard",
            &json!({"id": board.id, "base_version": board.version, "draft": d}),
        )
        .await,
    );
    run(
        &app,
        &viewer,
        &insight,
        &values("Spain"),
        CacheUse::Board(board.id.0),
    )
    .await;
    run(
        &app,
        &viewer,
        &insight,
        &values("Spain"),
        CacheUse::Board(board.id.0),
    )
    .await;
    assert_eq!(runs_of(db, marker).await, 6);

    // Two cold requests at once: one database run, both answered from it.
    let vals = values("Italy");
    let (a, b) = tokio::join!(
        run(&app, &ed, &insight, &vals, CacheUse::Reuse),
        run(&app, &viewer, &insight, &vals, CacheUse::Reuse),
    );
    assert_eq!(a.0.id, b.0.id);
    assert_eq!(a.1, b.1);
    assert_eq!(runs_of(db, marker).await, 7);
    // France, Spain and Italy are stored (each key once).
    stored(db, 3).await;

    // An insight with cache time 0 always runs.
    let mut off = insight.draft.clone();
    off.cache_minutes = Some(0);
    let insight = save_insight(&app, &ed, &off, Some(&insight)).await;
    // (Saving a new version dropped the old version's stored results.)
    stored(db, 0).await;
    run(&app, &viewer, &insight, &values("France"), CacheUse::Reuse).await;
    run(&app, &viewer, &insight, &values("France"), CacheUse::Reuse).await;
    assert_eq!(runs_of(db, marker).await, 9);
    // A cache time over a day is refused.
    let mut long = insight.draft.clone();
    long.cache_minutes = Some(100_000);
    let (status, body) = app
        .call_json(
            &ed,
            "save_insight",
            &json!({"id": insight.id, "base_version": insight.version, "draft": long}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("cache_minutes"), "{body}");
    let mut on = insight.draft.clone();
    on.cache_minutes = Some(60);
    let insight = save_insight(&app, &ed, &on, Some(&insight)).await;

    // Nothing is served past what decides access: the connection pointed elsewhere misses
    // (its settings are part of the key) ...
    run(&app, &viewer, &insight, &values("France"), CacheUse::Reuse).await;
    let before = runs_of(db, marker).await;
    let other = allowed.join("other.sqlite");
    sqlite_file(&other, &[("France", 1)]).await;
    let (status, body) = app
        .form_call(
            &ed,
            "save_connection",
            &[
                ("id", &conn.0.to_string()),
                ("name", "sales"),
                ("kind", "sqlite"),
                ("path", &other.display().to_string()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, got) = run(&app, &viewer, &insight, &values("France"), CacheUse::Reuse).await;
    assert_eq!(got, rows(&[("France", "1")]));
    assert_eq!(runs_of(db, marker).await, before + 1);
    // ... an inactive connection serves nothing, cached or not ...
    let (status, body) = app
        .call(
            &ed,
            "set_connection_active",
            &[("id", &conn.0.to_string()), ("active", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .call_json(
            &viewer,
            "run_insight",
            &json!({"id": insight.id, "values": values("France"), "page_size": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = app
        .call(
            &ed,
            "set_connection_active",
            &[("id", &conn.0.to_string()), ("active", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // ... nor a trashed insight, nor anyone signed out.
    let (status, body) = app
        .call_json(
            &ed,
            "trash_insight",
            &json!({"id": insight.id, "trashed": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .call_json(
            &viewer,
            "run_insight",
            &json!({"id": insight.id, "values": values("France"), "page_size": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = app
        .call_json(
            &app.client(),
            "run_insight",
            &json!({"id": insight.id, "values": values("France"), "page_size": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    app.cleanup().await;
}

#[tokio::test]
async fn result_cache_on_sqlite_store() {
    cache_on(Store::Sqlite).await;
}

#[tokio::test]
async fn result_cache_on_postgres_store() {
    cache_on(Store::Postgres).await;
}

/// The store's bound: least recently used first out.
async fn bounded_on(store: Store) {
    let app = spawn_app_with(store, |_| {}).await;
    let db = &app.state.db;
    let body = vec![7u8; 1000];
    // Times near now: the app's own purge drops entries older than a day.
    let t0 = chrono::Utc::now().timestamp_millis();
    let put = |key: &'static str, at: i64| {
        let at = t0 + at;
        let body = body.clone();
        async move {
            repo::put(
                db,
                repo::New {
                    key,
                    insight_id: 1,
                    created_ms: at,
                    meta: "{}",
                    body: &body,
                },
                3000,
            )
            .await
            .unwrap();
        }
    };
    put("a", 1).await;
    put("b", 2).await;
    put("c", 3).await;
    assert_eq!(repo::usage(db).await.unwrap(), (3, 3000));
    // "a" was served last: "b" is the least recently used when "d" comes in.
    repo::touch(db, "a", t0 + 10).await.unwrap();
    put("d", 11).await;
    assert_eq!(repo::usage(db).await.unwrap(), (3, 3000));
    assert!(repo::get(db, "b", 0).await.unwrap().is_none());
    for kept in ["a", "c", "d"] {
        assert!(repo::get(db, kept, 0).await.unwrap().is_some(), "{kept}");
    }
    // An entry computed before `since` is not served; an older copy never replaces a newer.
    assert!(repo::get(db, "d", t0 + 12).await.unwrap().is_none());
    put("d", 5).await;
    assert_eq!(
        repo::get(db, "d", 0).await.unwrap().unwrap().created_ms,
        t0 + 11
    );
    // Entries older than any cache time go.
    assert_eq!(repo::purge_older(db, t0 + 4).await.unwrap(), 2);
    app.cleanup().await;
}

#[tokio::test]
async fn result_cache_bound_on_sqlite_store() {
    bounded_on(Store::Sqlite).await;
}

#[tokio::test]
async fn result_cache_bound_on_postgres_store() {
    bounded_on(Store::Postgres).await;
}

/// Two processes on one PostgreSQL store: the second serves the first one's result from the
/// store without running, after a restart too.
#[tokio::test]
async fn a_second_process_reuses_the_stored_result() {
    let (name, url) = common::fresh_pg_database().await;
    let shared_dir = tempfile::tempdir().unwrap();
    let allowed = shared_dir.path().to_path_buf();
    let process = |url: String, allowed: std::path::PathBuf| {
        spawn_app_with(Store::Sqlite, move |a| {
            a.store.database_url = Some(url);
            a.engine.sqlite_dir = Some(allowed);
        })
    };
    let one = process(url.clone(), allowed.clone()).await;
    let two = process(url.clone(), allowed.clone()).await;
    let (ed, _) = one.signed_in(Role::Editor).await;
    let file = allowed.join("sales.sqlite");
    sqlite_file(&file, &[("France", 3)]).await;
    let conn = connection(&one, &ed, &file).await;
    let mut country = ParamSpec::new("country", ParamKind::Text);
    country.required = true;
    let insight = save_insight(
        &one,
        &ed,
        &InsightDraft {
            name: "Sales".into(),
            connection_id: Some(conn),
            sql: "SELECT country, SUM(amount) AS shared_total FROM sales WHERE country = {{country}} GROUP BY country".into(),
            params: vec![country],
            ..Default::default()
        },
        None,
    )
    .await;
    let (first, got) = run(&one, &ed, &insight, &values("France"), CacheUse::Reuse).await;
    assert_eq!(got, rows(&[("France", "3")]));
    stored(&one.state.db, 1).await;
    // Someone signed in on the other process asks for the same rows.
    let (viewer, _) = two.signed_in(Role::Viewer).await;
    let (other, got) = run(&two, &viewer, &insight, &values("France"), CacheUse::Reuse).await;
    assert_eq!(got, rows(&[("France", "3")]));
    assert_eq!(other.computed_at, first.computed_at);
    assert_eq!(other.row_count, 1);
    assert_eq!(runs_of(&two.state.db, "shared_total").await, 1);
    // Sorting and paging the taken-over result work as on any result.
    let page: Page = parse(
        "fetch_rows sorted",
        two.call_json(
            &viewer,
            "fetch_rows",
            &json!({"id": other.id, "offset": 0, "limit": 10, "sort": {"column": 1, "descending": true}}),
        )
        .await,
    );
    assert_eq!(page.rows, rows(&[("France", "3")]));
    drop(one);
    drop(two);
    common::drop_pg_database(&name).await;
}
