//! One-time account links over HTTP: an admin's invitation creates the account with the
//! password the invitee chooses and signs them in; a reset sets a new password and ends the
//! account's other sessions; a link works once, a newer one retires the older, an expired or
//! made-up one is refused, and a too-short password leaves the link working.
use crate::common::{spawn_app, TestApp, PASSWORD};
use app::model::{
    user::{AccountLink, LinkInfo, LinkKind},
    Me, Role,
};
use reqwest::{Client, StatusCode};

fn token(link: &AccountLink) -> String {
    let url = url::Url::parse(&link.url).unwrap();
    assert_eq!(url.path(), "/welcome");
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn make(app: &TestApp, c: &Client, name: &str, form: &[(&str, &str)]) -> AccountLink {
    let (status, body) = app.call(c, name, form).await;
    assert_eq!(status, StatusCode::OK, "{name}: {body}");
    serde_json::from_str(&body).unwrap()
}

async fn me(app: &TestApp, c: &Client) -> Option<Me> {
    let (status, body) = app.call(c, "current_user", &[]).await;
    (status == StatusCode::OK).then(|| serde_json::from_str(&body).unwrap())
}

#[tokio::test]
async fn an_invitation_creates_the_account_once() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let link = make(
        &app,
        &admin,
        "invite_user",
        &[("email", "New.Person@Example.com"), ("role", "editor")],
    )
    .await;
    assert_eq!(link.kind, LinkKind::Invite);
    assert_eq!(link.email, "new.person@example.com");
    assert!(!link.emailed, "no SMTP here: the admin passes it on");
    let t = token(&link);

    // Anyone holding it sees what it is for.
    let guest = app.client();
    let (status, body) = app
        .call(&guest, "account_link_info", &[("token", &t)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let info: LinkInfo = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (info.kind, info.email.as_str()),
        (LinkKind::Invite, "new.person@example.com")
    );
    // The page renders for a signed-out visitor.
    let page = app.get(&guest, &format!("/welcome?token={t}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Welcome to Sightline"));

    // A too-short password is refused and leaves the link working.
    let (status, body) = app
        .call(
            &guest,
            "accept_account_link",
            &[("token", &t), ("password", "short")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("password"), "{body}");
    let (status, body) = app
        .call(
            &guest,
            "accept_account_link",
            &[("token", &t), ("password", PASSWORD)],
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let signed = me(&app, &guest).await.expect("signed in by the link");
    assert_eq!(
        (signed.email.as_str(), signed.role),
        ("new.person@example.com", Role::Editor)
    );

    // Once only; a second invitation to an existing account is refused.
    let other = app.client();
    let (status, _) = app
        .call(
            &other,
            "accept_account_link",
            &[("token", &t), ("password", "another long password")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let page = app.get(&other, &format!("/welcome?token={t}")).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let (status, body) = app
        .call(
            &admin,
            "invite_user",
            &[("email", "new.person@example.com"), ("role", "viewer")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("already exists"), "{body}");
    // A made-up token is the same 404.
    let (status, _) = app
        .call(
            &other,
            "account_link_info",
            &[("token", "not-a-real-token")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.cleanup().await;
}

#[tokio::test]
async fn a_reset_sets_the_password_and_ends_other_sessions() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (user, email) = app.signed_in(Role::Viewer).await;
    let id = me(&app, &user).await.unwrap().id;
    let id_text = id.0.to_string();

    // Only the newest reset link works.
    let older = make(&app, &admin, "password_reset_link", &[("id", &id_text)]).await;
    let link = make(&app, &admin, "password_reset_link", &[("id", &id_text)]).await;
    assert_eq!(
        (link.kind, link.email.as_str()),
        (LinkKind::Reset, email.as_str())
    );
    let guest = app.client();
    let (status, _) = app
        .call(&guest, "account_link_info", &[("token", &token(&older))])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the older link was retired");

    let (status, body) = app
        .call(
            &guest,
            "accept_account_link",
            &[
                ("token", &token(&link)),
                ("password", "a brand new password"),
            ],
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(
        me(&app, &guest).await.unwrap().id,
        id,
        "signed in as the account"
    );
    assert!(me(&app, &user).await.is_none(), "the old session ended");
    let fresh = app.client();
    let (status, _) = app.login(&fresh, &email, PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    let (status, _) = app.login(&fresh, &email, "a brand new password").await;
    assert!(status.is_success() || status == StatusCode::FOUND);

    // An admin resets others, not themselves; viewers make no links.
    let admin_id = me(&app, &admin).await.unwrap().id.0.to_string();
    let (status, _) = app
        .call(&admin, "password_reset_link", &[("id", &admin_id)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .call(&user, "password_reset_link", &[("id", &id_text)])
        .await;
    assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN);

    // An expired link is refused like a used one.
    let expiring = make(&app, &admin, "password_reset_link", &[("id", &id_text)]).await;
    let sql = "UPDATE account_links SET expires_at = $1 WHERE used_at IS NULL";
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    match &app.state.db {
        app::server::db::Db::Sqlite(p) => sqlx::query(sql).bind(past).execute(p).await.map(|_| ()),
        app::server::db::Db::Postgres(p) => {
            sqlx::query(sql).bind(past).execute(p).await.map(|_| ())
        }
    }
    .unwrap();
    let (status, _) = app
        .call(&guest, "account_link_info", &[("token", &token(&expiring))])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.cleanup().await;
}
