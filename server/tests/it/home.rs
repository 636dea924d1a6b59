//! The home page over HTTP on both stores: the first-run checklist follows what the user
//! did (connected, queried, saved), recent and starred insights are each user's own, viewers
//! get no checklist, and trashed insights leave the lists.
use crate::common::{pg_form, spawn_app_on, Store, TestApp};
use app::model::{home::Home, Role};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value as Json};

async fn home(app: &TestApp, c: &Client) -> Home {
    let (status, body) = app.call_json(c, "home", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "home: {body}");
    serde_json::from_str(&body).unwrap()
}

fn done(h: &Home) -> Vec<&str> {
    h.steps
        .iter()
        .filter(|s| s.done)
        .map(|s| s.key.as_str())
        .collect()
}

async fn ok_json(app: &TestApp, c: &Client, name: &str, body: Json) -> Json {
    let (status, text) = app.call_json(c, name, &body).await;
    assert_eq!(status, StatusCode::OK, "{name}: {text}");
    serde_json::from_str(&text).unwrap_or(Json::Null)
}

#[tokio::test]
async fn the_checklist_and_the_insight_lists_follow_each_user() {
    for store in [Store::Sqlite, Store::Postgres] {
        let app = spawn_app_on(store).await;
        let (editor, _) = app.signed_in(Role::Editor).await;
        let (viewer, _) = app.signed_in(Role::Viewer).await;

        let h = home(&app, &editor).await;
        let keys: Vec<_> = h.steps.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            ["connect", "query", "insight", "alert"],
            "no Demo here"
        );
        assert!(done(&h).is_empty());
        assert!(h.recent.is_empty() && h.favorites.is_empty());

        let (status, body) = app
            .form_call(
                &editor,
                "save_connection",
                &pg_form("home pg", "test", "postgres"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let conn: i64 = serde_json::from_str(&body).unwrap();
        assert_eq!(done(&home(&app, &editor).await), ["connect"]);

        ok_json(
            &app,
            &editor,
            "run_sql",
            json!({"request": {"connection_id": conn, "sql": "select 1", "params": [], "page_size": 10}}),
        )
        .await;
        assert_eq!(done(&home(&app, &editor).await), ["connect", "query"]);

        let saved = ok_json(
            &app,
            &editor,
            "save_insight",
            json!({"id": null, "base_version": null,
                   "draft": {"name": "Orders by day", "connection_id": conn, "sql": "select 1 as n"}}),
        )
        .await;
        let id = saved["id"].as_i64().unwrap();
        let h = home(&app, &editor).await;
        assert_eq!(done(&h), ["connect", "query", "insight"]);
        assert!(h.recent.is_empty(), "saving is not opening");

        // Opening puts it under Recently opened; the star under Favourites; both per user.
        let got = ok_json(&app, &editor, "get_insight", json!({"id": id})).await;
        assert_eq!(got["favorite"], json!(false));
        ok_json(
            &app,
            &editor,
            "set_favorite",
            json!({"insight": id, "favorite": true}),
        )
        .await;
        let got = ok_json(&app, &editor, "get_insight", json!({"id": id})).await;
        assert_eq!(got["favorite"], json!(true), "the page shows the star");
        let h = home(&app, &editor).await;
        assert_eq!(h.recent.len(), 1);
        assert_eq!(h.recent[0].name, "Orders by day");
        assert!(h.recent[0].opened_at.is_some());
        assert_eq!(h.favorites.len(), 1);

        let v = home(&app, &viewer).await;
        assert!(v.steps.is_empty(), "viewers build nothing: no checklist");
        assert!(
            v.recent.is_empty() && v.favorites.is_empty(),
            "the editor's lists are theirs"
        );
        ok_json(&app, &viewer, "get_insight", json!({"id": id})).await;
        assert_eq!(home(&app, &viewer).await.recent.len(), 1);

        // Unstarred, it leaves Favourites; trashed, it leaves both lists.
        ok_json(
            &app,
            &editor,
            "set_favorite",
            json!({"insight": id, "favorite": false}),
        )
        .await;
        assert!(home(&app, &editor).await.favorites.is_empty());
        ok_json(
            &app,
            &editor,
            "set_favorite",
            json!({"insight": id, "favorite": true}),
        )
        .await;
        ok_json(
            &app,
            &editor,
            "trash_insight",
            json!({"id": id, "trashed": true}),
        )
        .await;
        let h = home(&app, &editor).await;
        assert!(h.recent.is_empty() && h.favorites.is_empty(), "{h:?}");
        // A star on an insight that does not exist is refused, not stored.
        let (status, _) = app
            .call_json(
                &editor,
                "set_favorite",
                &json!({"insight": 999999, "favorite": true}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.cleanup().await;
    }
}
