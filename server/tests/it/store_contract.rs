//! The metadata-store contract: the same stories against SQLite and the local PostgreSQL.
use crate::common;

use app::{
    model::{Role, UserId},
    server::db::{audit, sessions::MetaSessionStore, users},
    AppError,
};
use common::{spawn_app_on, Store, PASSWORD};
use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

async fn users_story(store: Store) {
    let app = spawn_app_on(store).await;
    let db = &app.state.db;
    assert_eq!(users::count(db).await.unwrap(), 0);

    let a = users::insert(db, "a@example.com", "hash-a", Role::Admin)
        .await
        .unwrap();
    let b = users::insert(db, "b@example.com", "hash-b", Role::Viewer)
        .await
        .unwrap();
    assert_ne!(a, b);
    let dup = users::insert(db, "a@example.com", "h", Role::Viewer)
        .await
        .unwrap_err();
    assert!(matches!(dup, AppError::Validation(_)), "{dup:?}");

    let row = users::find_by_email(db, "b@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.role(), row.disabled, row.session_epoch),
        (Role::Viewer, false, 0)
    );
    assert!(row.last_login_at.is_none());
    assert!(users::get(db, UserId(987654)).await.unwrap().is_none());

    assert!(users::set_role(db, b, Role::Editor).await.unwrap());
    assert!(users::set_disabled(db, b, true).await.unwrap());
    let row = users::get(db, b).await.unwrap().unwrap();
    assert_eq!(
        (row.role(), row.disabled, row.session_epoch),
        (Role::Editor, true, 1)
    );
    assert_eq!(
        users::set_password(db, b, "hash-b2").await.unwrap(),
        Some(2)
    );
    assert_eq!(users::count_active_admins(db).await.unwrap(), 1);
    users::touch_login(db, a).await.unwrap();
    assert!(users::get(db, a)
        .await
        .unwrap()
        .unwrap()
        .last_login_at
        .is_some());

    let emails: Vec<String> = users::list(db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(emails, ["a@example.com", "b@example.com"]);

    // The first admin can be created only while no account exists.
    let err = users::insert_first_admin(db, "c@example.com", "h")
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");

    audit::record(db, Some(a), "login", Some("127.0.0.1"), "")
        .await
        .unwrap();
    audit::record(db, Some(a), "login_failed", None, "")
        .await
        .unwrap();
    audit::record(db, Some(a), "user_created", None, "x")
        .await
        .unwrap();
    audit::record(db, None, "login_failed", None, "")
        .await
        .unwrap();
    let events = audit::recent_for_user(db, a, &["login", "login_failed"], 10)
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["login_failed", "login"]);
    assert_eq!(events[1].ip.as_deref(), Some("127.0.0.1"));
    app.cleanup().await;
}

async fn first_admin_story(store: Store) {
    let app = spawn_app_on(store).await;
    let db = app.state.db.clone();
    // Two setup attempts at once: exactly one admin.
    let (r1, r2) = tokio::join!(
        users::insert_first_admin(&db, "one@example.com", "h"),
        users::insert_first_admin(&db, "two@example.com", "h"),
    );
    assert_eq!(
        [r1.is_ok(), r2.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{r1:?} {r2:?}"
    );
    assert_eq!(users::count(&db).await.unwrap(), 1);
    app.cleanup().await;
}

async fn sessions_story(store: Store) {
    let app = spawn_app_on(store).await;
    let s = MetaSessionStore::new(app.state.db.clone());
    let mut rec = Record {
        id: Id::default(),
        data: [(
            "auth".to_string(),
            serde_json::json!({"user_id": 1, "epoch": 0}),
        )]
        .into_iter()
        .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    s.create(&mut rec).await.unwrap();
    let loaded = s.load(&rec.id).await.unwrap().expect("stored");
    assert_eq!(loaded.data, rec.data);
    s.delete(&rec.id).await.unwrap();
    assert!(s.load(&rec.id).await.unwrap().is_none());
    app.cleanup().await;
}

async fn http_story(store: Store) {
    let app = spawn_app_on(store).await;
    let token = common::setup_token(app.setup_url.as_ref().unwrap());
    let (c, jar) = app.client_with_jar();
    let (s, body) = app
        .call(
            &c,
            "create_first_admin",
            &[
                ("token", &token),
                ("email", "root@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(s.is_success(), "{body}");
    assert!(app
        .login(&c, "root@example.com", PASSWORD)
        .await
        .0
        .is_success());
    let (s, body) = app.call(&c, "list_users", &[]).await;
    assert_eq!(s, 200);
    assert!(body.contains("root@example.com"));
    // Logging out deletes the session in the store: a copy of the cookie is worthless.
    let cookie = c
        .post(format!("{}/api/current_user", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie.status(), 200);
    let jar_cookie = reqwest::cookie::CookieStore::cookies(&*jar, &app.base.parse().unwrap());
    let (s, _) = app.call(&c, "logout", &[]).await;
    assert!(s.is_success());
    let replay = reqwest::Client::new()
        .post(format!("{}/api/list_users", app.base))
        .header("cookie", jar_cookie.expect("a session cookie"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    app.cleanup().await;
}

macro_rules! contract {
    ($($story:ident),*) => {
        mod sqlite { use super::*; $( #[tokio::test] async fn $story() { super::$story(Store::Sqlite).await } )* }
        mod postgres { use super::*; $( #[tokio::test] async fn $story() { super::$story(Store::Postgres).await } )* }
    };
}

contract!(users_story, first_admin_story, sessions_story, http_story);
