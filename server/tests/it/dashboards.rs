//! Dashboards over HTTP on both metadata stores (SQLite and PostgreSQL): versions and
//! revert, the concurrent-save conflict (refused, then overwritten by choice), the trash,
//! duplicates, who may change what (viewers keep their own), tiles whose insight went away,
//! sanitized text tiles, "Add to dashboard", folders and search, and a tile's run with the
//! values the filters feed it.
use crate::common;

use app::{
    error::AppError,
    model::{
        connection::ConnectionId,
        dashboard::{
            tile_values, CrossFilter, Dashboard, DashboardDraft, DashboardId, DashboardSummary,
            FilterLink, Tile, TileContent,
        },
        insight::{Insight, InsightDraft, InsightId, Tree, UrlValues},
        params::{ParamKind, ParamSpec},
        run::RunView,
        version::VersionEntry,
        Role,
    },
};
use common::{spawn_app_with, Store, TestApp};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;
use sqlx::Connection;
use std::time::{Duration, Instant};

fn parse<T: DeserializeOwned>(what: &str, (status, body): (StatusCode, String)) -> T {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

fn failed(what: &str, want: StatusCode, (status, body): (StatusCode, String)) -> AppError {
    assert_eq!(status, want, "{what}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: not an AppError ({e}): {body}"))
}

/// A SQLite database with a small sales table, and a connection to it.
async fn sales_connection(app: &TestApp, c: &Client) -> ConnectionId {
    let path = app.dir.path().join("allowed").join("sales.sqlite");
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut db = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    for s in [
        "CREATE TABLE sales (country TEXT, amount INTEGER)",
        "INSERT INTO sales VALUES ('France', 10), ('France', 5), ('Spain', 7), ('Italy', 1)",
    ] {
        sqlx::query(s).execute(&mut db).await.unwrap();
    }
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

async fn create_insight(app: &TestApp, c: &Client, conn: ConnectionId) -> Insight {
    let mut country = ParamSpec::new("country", ParamKind::Text);
    country.default = vec!["France".into()];
    let d = InsightDraft {
        name: "Sales by country".into(),
        connection_id: Some(conn),
        sql: "SELECT country, SUM(amount) AS total FROM sales WHERE country = {{country}} GROUP BY country".into(),
        params: vec![country],
        ..Default::default()
    };
    parse(
        "save_insight",
        app.call_json(
            c,
            "save_insight",
            &json!({"id": null, "base_version": null, "draft": d}),
        )
        .await,
    )
}

async fn save(
    app: &TestApp,
    c: &Client,
    id: Option<DashboardId>,
    base: Option<i64>,
    d: &DashboardDraft,
) -> (StatusCode, String) {
    app.call_json(
        c,
        "save_dashboard",
        &json!({"id": id, "base_version": base, "draft": d}),
    )
    .await
}

async fn open(app: &TestApp, c: &Client, id: DashboardId) -> Dashboard {
    parse(
        "get_dashboard",
        app.call_json(c, "get_dashboard", &json!({"id": id})).await,
    )
}

async fn list(
    app: &TestApp,
    c: &Client,
    search: Option<&str>,
    trash: bool,
) -> Vec<DashboardSummary> {
    parse(
        "dashboard_list",
        app.call_json(
            c,
            "dashboard_list",
            &json!({"search": search, "trash": trash}),
        )
        .await,
    )
}

fn insight_tile(id: u32, insight: InsightId, links: Vec<FilterLink>) -> Tile {
    Tile {
        id,
        x: 0,
        y: 0,
        w: 6,
        h: 4,
        content: TileContent::Insight {
            insight_id: insight,
            title: String::new(),
            view: None,
            links,
            click: None,
        },
    }
}

/// Runs an insight as a tile does (with the values the filters feed it) and returns its
/// rows.
async fn run_tile(
    app: &TestApp,
    c: &Client,
    d: &Dashboard,
    tile: u32,
    filters: &UrlValues,
) -> Vec<Vec<Option<String>>> {
    let t = d.draft.tiles.iter().find(|t| t.id == tile).unwrap();
    let TileContent::Insight {
        insight_id, links, ..
    } = &t.content
    else {
        panic!("not an insight tile")
    };
    let info = d.tiles.iter().find(|i| i.id == tile).unwrap();
    let values = tile_values(&d.draft.filters, links, &info.params, filters);
    let mut v: RunView = parse(
        "run_insight",
        app.call_json(
            c,
            "run_insight",
            &json!({"id": insight_id, "values": values, "page_size": 100}),
        )
        .await,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !v.state.finished() {
        assert!(Instant::now() < deadline, "the tile's run did not finish");
        v = parse(
            "run_status",
            app.call_json(c, "run_status", &json!({"id": v.id, "wait_ms": 300}))
                .await,
        );
    }
    assert!(v.error.is_none(), "{v:?}");
    let page: app::model::run::Page = parse(
        "fetch_rows",
        app.call_json(
            c,
            "fetch_rows",
            &json!({"id": v.id, "offset": 0, "limit": 100, "sort": null}),
        )
        .await,
    );
    page.rows
}

async fn dashboards_on(store: Store) {
    let app = spawn_app_with(store, |a| {
        let allowed = a.store.data_dir.parent().unwrap().join("allowed");
        std::fs::create_dir_all(&allowed).unwrap();
        a.engine.sqlite_dir = Some(allowed);
    })
    .await;
    let (ed, _) = app.signed_in(Role::Editor).await;
    let conn = sales_connection(&app, &ed).await;
    let insight = create_insight(&app, &ed, conn).await;

    // Created with a filter and a tile: version 1, the tile's insight resolved.
    let mut filter = ParamSpec::new("country", ParamKind::Text);
    filter.default = vec!["Spain".into()];
    let mut d1 = DashboardDraft {
        name: "  Weekly sales ".into(),
        filters: vec![filter],
        tiles: vec![insight_tile(1, insight.id, vec![])],
        ..Default::default()
    };
    let board: Dashboard = parse("create", save(&app, &ed, None, None, &d1).await);
    assert_eq!(board.draft.name, "Weekly sales");
    assert_eq!(board.version, 1);
    assert!(board.can_edit);
    assert_eq!(board.tiles[0].name, "Sales by country");
    assert_eq!(board.tiles[0].params.len(), 1);
    d1.name = "Weekly sales".into();
    let id = board.id;

    // The filter feeds the parameter of the same name: its default, then a URL value.
    let rows = run_tile(&app, &ed, &board, 1, &UrlValues::new()).await;
    assert_eq!(rows, vec![vec![Some("Spain".into()), Some("7".into())]]);
    let mut fr = UrlValues::new();
    fr.insert("country".into(), vec!["France".into()]);
    let rows = run_tile(&app, &ed, &board, 1, &fr).await;
    assert_eq!(rows, vec![vec![Some("France".into()), Some("15".into())]]);

    // Version 2: a text tile (rendered, no script) and a tile that ignores the filter.
    let mut d2 = board.draft.clone();
    d2.tiles.push(Tile {
        id: 2,
        x: 6,
        y: 0,
        w: 6,
        h: 2,
        content: TileContent::Text {
            markdown: "**Notes** <script>alert(1)</script> [x](javascript:alert(1))".into(),
        },
    });
    d2.tiles.push(insight_tile(
        3,
        insight.id,
        vec![FilterLink {
            filter: "country".into(),
            param: None,
        }],
    ));
    let v2: Dashboard = parse("save v2", save(&app, &ed, Some(id), Some(1), &d2).await);
    assert_eq!(v2.version, 2);
    let text = v2.tiles.iter().find(|t| t.id == 2).unwrap();
    assert!(
        text.html.contains("<strong>Notes</strong>"),
        "{}",
        text.html
    );
    assert!(!text.html.contains("<script"), "{}", text.html);
    assert!(!text.html.contains("javascript:"), "{}", text.html);
    // Tile 3 ignores the filter: the insight's own default (France) answers.
    let rows = run_tile(&app, &ed, &v2, 3, &UrlValues::new()).await;
    assert_eq!(rows[0][0].as_deref(), Some("France"));
    // Tiles never overlap once stored.
    for a in &v2.draft.tiles {
        for b in &v2.draft.tiles {
            let apart = a.id == b.id
                || a.x + a.w <= b.x
                || b.x + b.w <= a.x
                || a.y + a.h <= b.y
                || b.y + b.h <= a.y;
            assert!(apart, "{a:?} overlaps {b:?}");
        }
    }

    // A second editor saves from version 1: told who changed it; overwrites by choice.
    let (ed2, _) = app.signed_in(Role::Editor).await;
    let mut stale = d1.clone();
    stale.description = "from the stale copy".into();
    match failed(
        "stale save",
        StatusCode::CONFLICT,
        save(&app, &ed2, Some(id), Some(1), &stale).await,
    ) {
        AppError::Conflict(m) => assert!(m.contains("newer version"), "{m}"),
        other => panic!("{other:?}"),
    }
    let v3: Dashboard = parse("overwrite", save(&app, &ed2, Some(id), None, &stale).await);
    assert_eq!(v3.version, 3);
    assert_eq!(v3.draft.tiles.len(), 1);

    // History and revert (a new version with version 2's tiles).
    let vs: Vec<VersionEntry> = parse(
        "versions",
        app.call_json(&ed, "dashboard_versions", &json!({"id": id}))
            .await,
    );
    assert_eq!(
        vs.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    assert_eq!(vs[2].summary, "Created");
    assert!(vs[1].summary.contains("Tiles"), "{:?}", vs[1]);
    let v4: Dashboard = parse(
        "revert",
        app.call_json(&ed, "revert_dashboard", &json!({"id": id, "version": 2}))
            .await,
    );
    assert_eq!(v4.version, 4);
    assert_eq!(v4.draft.tiles.len(), 3);

    // Bad input: a clear field error, nothing stored.
    let mut bad = v4.draft.clone();
    bad.tiles.push(insight_tile(9, InsightId(999_999), vec![]));
    match failed(
        "missing insight",
        StatusCode::BAD_REQUEST,
        save(&app, &ed, Some(id), Some(4), &bad).await,
    ) {
        AppError::Validation(e) => assert_eq!(e[0].field, "tiles"),
        other => panic!("{other:?}"),
    }
    // A cross-filter on a filter the board does not have.
    let mut bad = v4.draft.clone();
    if let TileContent::Insight { click, .. } = &mut bad.tiles[0].content {
        *click = Some(CrossFilter {
            column: "country".into(),
            filter: "region".into(),
        });
    }
    match failed(
        "cross-filter on a missing filter",
        StatusCode::BAD_REQUEST,
        save(&app, &ed, Some(id), Some(4), &bad).await,
    ) {
        AppError::Validation(e) => assert!(e[0].message.contains("filter"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    let mut bad = v4.draft.clone();
    bad.name = " ".into();
    failed(
        "no name",
        StatusCode::BAD_REQUEST,
        save(&app, &ed, Some(id), Some(4), &bad).await,
    );
    assert_eq!(open(&app, &ed, id).await.version, 4);

    // Viewers: open and may keep their own; may not change someone else's.
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let seen = open(&app, &viewer, id).await;
    assert!(!seen.can_edit);
    failed(
        "viewer saves",
        StatusCode::FORBIDDEN,
        save(&app, &viewer, Some(id), Some(4), &seen.draft).await,
    );
    failed(
        "viewer trashes",
        StatusCode::FORBIDDEN,
        app.call_json(
            &viewer,
            "trash_dashboard",
            &json!({"id": id, "trashed": true}),
        )
        .await,
    );
    let own: DashboardId = parse(
        "add_to_dashboard",
        app.call_json(
            &viewer,
            "add_to_dashboard",
            &json!({"dashboard": null, "new_name": "My board", "insight": insight.id}),
        )
        .await,
    );
    let mine = open(&app, &viewer, own).await;
    assert!(mine.can_edit);
    assert_eq!(mine.draft.tiles.len(), 1);
    let again: DashboardId = parse(
        "add again",
        app.call_json(
            &viewer,
            "add_to_dashboard",
            &json!({"dashboard": own, "new_name": null, "insight": insight.id}),
        )
        .await,
    );
    assert_eq!(again, own);
    let mine = open(&app, &viewer, own).await;
    assert_eq!(mine.draft.tiles.len(), 2);
    assert_eq!(mine.version, 2);
    // A viewer's copy of someone else's board is theirs.
    let copy: Dashboard = parse(
        "duplicate",
        app.call_json(&viewer, "duplicate_dashboard", &json!({"id": id}))
            .await,
    );
    assert_eq!(copy.draft.name, "Copy of Weekly sales");
    assert!(copy.can_edit);

    // Listed and found; the folder tree lists dashboards beside insights.
    let names = |l: Vec<DashboardSummary>| l.into_iter().map(|d| d.name).collect::<Vec<_>>();
    assert_eq!(
        names(list(&app, &ed, Some("weekly"), false).await),
        vec!["Copy of Weekly sales", "Weekly sales"]
    );
    let tree: Tree = parse(
        "insight_tree",
        app.call_json(
            &ed,
            "insight_tree",
            &json!({"search": "my board", "trash": false}),
        )
        .await,
    );
    assert_eq!(tree.dashboards.len(), 1);

    // The tile's insight goes to the trash: the tile says so, the board still opens.
    app.call_json(
        &ed,
        "trash_insight",
        &json!({"id": insight.id, "trashed": true}),
    )
    .await;
    let b = open(&app, &ed, id).await;
    let problem = b.tiles[0].problem.clone().unwrap_or_default();
    assert!(problem.contains("trash"), "{problem}");
    app.call_json(
        &ed,
        "trash_insight",
        &json!({"id": insight.id, "trashed": false}),
    )
    .await;

    // Trash and restore.
    parse::<()>(
        "trash",
        app.call_json(&ed, "trash_dashboard", &json!({"id": id, "trashed": true}))
            .await,
    );
    assert!(!names(list(&app, &ed, None, false).await).contains(&"Weekly sales".to_string()));
    assert!(names(list(&app, &ed, None, true).await).contains(&"Weekly sales".to_string()));
    failed(
        "save trashed",
        StatusCode::CONFLICT,
        save(&app, &ed, Some(id), Some(4), &v4.draft).await,
    );
    parse::<()>(
        "restore",
        app.call_json(&ed, "trash_dashboard", &json!({"id": id, "trashed": false}))
            .await,
    );
    assert!(!open(&app, &ed, id).await.deleted);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_on_the_sqlite_store() {
    dashboards_on(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_on_the_postgres_store() {
    dashboards_on(Store::Postgres).await;
}

/// The whole board as one workbook: a sheet of the filter values, a sheet per insight tile
/// (in reading order) with its rows for those values, a tile whose insight is in the trash
/// saying so, a filter value that does not parse refused, signed out sent to sign in.
#[tokio::test]
async fn a_board_exports_as_one_workbook() {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app_with(Store::Sqlite, |a| {
        let allowed = a.store.data_dir.parent().unwrap().join("allowed");
        std::fs::create_dir_all(&allowed).unwrap();
        a.engine.sqlite_dir = Some(allowed);
    })
    .await;
    let (ed, _) = app.signed_in(Role::Editor).await;
    let conn = sales_connection(&app, &ed).await;
    let sales = create_insight(&app, &ed, conn).await;
    let gone = create_insight(&app, &ed, conn).await;
    let mut country = ParamSpec::new("country", ParamKind::Text);
    country.default = vec!["Spain".into()];
    let min = ParamSpec::new("min", ParamKind::Integer);
    let mut lower = insight_tile(2, gone.id, vec![]);
    lower.y = 4;
    if let TileContent::Insight { title, .. } = &mut lower.content {
        *title = "Old: sales".into();
    }
    let d = DashboardDraft {
        name: "Export me".into(),
        filters: vec![country, min],
        tiles: vec![
            lower,
            insight_tile(1, sales.id, vec![]),
            Tile {
                id: 3,
                x: 6,
                y: 0,
                w: 6,
                h: 2,
                content: TileContent::Text {
                    markdown: "notes".into(),
                },
            },
        ],
        ..Default::default()
    };
    let board: Dashboard = parse("create", save(&app, &ed, None, None, &d).await);
    let (status, body) = app
        .call_json(
            &ed,
            "trash_insight",
            &json!({"id": gone.id, "trashed": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let r = app
        .get(
            &ed,
            &format!("/dashboards/{}/export.xlsx?f_country=France", board.id.0),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(&format!("dashboard-{}.xlsx", board.id.0))));
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["Filters", "Sales by country", "Old  sales", "Notes"],
        "reading order: the upper tile first; sheet names without ':'"
    );
    let cell = |range: &calamine::Range<Data>, r: u32, c: u32| match range.get_value((r, c)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Int(i)) => i.to_string(),
        other => format!("{other:?}"),
    };
    let filters = book.worksheet_range("Filters").unwrap();
    let rows: Vec<(String, String)> = (0..filters.end().unwrap().0 + 1)
        .map(|r| (cell(&filters, r, 0), cell(&filters, r, 1)))
        .collect();
    assert_eq!(rows[0], ("Setting".into(), "Value".into()));
    assert!(
        rows.contains(&("Dashboard".into(), "Export me".into())),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("Filter: country".into(), "France".into())),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("Filter: min".into(), "(any)".into())),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|(k, v)| k == "Link"
            && v.ends_with(&format!("/dashboards/{}?f_country=France", board.id.0))),
        "{rows:?}"
    );
    let tile = book.worksheet_range("Sales by country").unwrap();
    assert_eq!(cell(&tile, 0, 0), "country");
    assert_eq!(cell(&tile, 0, 1), "total");
    assert_eq!(cell(&tile, 1, 0), "France");
    assert_eq!(cell(&tile, 1, 1), "15");
    let trashed = book.worksheet_range("Old  sales").unwrap();
    assert_eq!(cell(&trashed, 0, 0), "Not exported");
    assert!(
        cell(&trashed, 1, 0).contains("trash"),
        "{}",
        cell(&trashed, 1, 0)
    );

    // A filter value that does not parse: refused, naming the filter.
    let r = app
        .get(
            &ed,
            &format!("/dashboards/{}/export.xlsx?f_min=lots", board.id.0),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let text = r.text().await.unwrap();
    assert!(
        text.to_lowercase().contains("number") || text.contains("min"),
        "{text}"
    );
    // Signed out: to the sign-in page, back to this download afterwards.
    let r = app
        .get(
            &app.client(),
            &format!("/dashboards/{}/export.xlsx", board.id.0),
        )
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let to = r
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(to.starts_with("/login"), "{to}");
    // Only the workbook: another file name is not found.
    let r = app
        .get(&ed, &format!("/dashboards/{}/export.csv", board.id.0))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
