//! Sign-in, sessions, setup, roles and cross-site refusal, over real HTTP.
use crate::common;

use app::model::Role;
use common::{setup_token, spawn_app, PASSWORD};
use reqwest::{header, StatusCode};

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sightline_session="))
        .map(str::to_string)
}

#[tokio::test]
async fn healthz_reports_the_store() {
    let app = spawn_app().await;
    let r = app.get(&app.client(), "/healthz").await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["store"], "sqlite");
}

#[tokio::test]
async fn first_run_setup_creates_one_admin_then_closes() {
    let app = spawn_app().await;
    let url = app
        .setup_url
        .clone()
        .expect("an empty store prints a setup URL");
    let token = setup_token(&url);
    let c = app.client();

    // A wrong token is a 404, on the page and on the server function.
    assert_eq!(app.get(&c, "/setup?token=nope").await.status(), 404);
    let (s, _) = app
        .call(&c, "check_setup_token", &[("token", "nope")])
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        app.get(&c, &format!("/setup?token={token}")).await.status(),
        200
    );

    // Bad input is refused with field errors and does not use up the token.
    let (s, body) = app
        .call(
            &c,
            "create_first_admin",
            &[("token", &token), ("email", "nope"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("email"), "{body}");

    let (s, body) = app
        .call(
            &c,
            "create_first_admin",
            &[
                ("token", &token),
                ("email", "Admin@Example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(s.is_success(), "{s} {body}");
    // The new admin is signed in at once.
    let (s, me) = app.call(&c, "current_user", &[]).await;
    assert_eq!(s, 200, "signed in right after setup: {me}");
    assert!(me.contains("admin@example.com"), "{me}");

    // Gone afterwards, page and function alike.
    assert_eq!(
        app.get(&c, &format!("/setup?token={token}")).await.status(),
        404
    );
    let (s, _) = app
        .call(
            &c,
            "create_first_admin",
            &[
                ("token", &token),
                ("email", "b@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(s, 404);

    let (s, _) = app.login(&c, "admin@example.com", PASSWORD).await;
    assert!(s.is_success(), "{s}");
    let (s, me) = app.call(&c, "current_user", &[]).await;
    assert_eq!(s, 200);
    assert!(me.contains("\"admin\""), "{me}");
}

#[tokio::test]
async fn a_store_with_accounts_prints_no_setup_url() {
    let app = spawn_app().await;
    app.seed_user("someone@example.com", Role::Admin).await;
    let again = app_state_setup(&app).await;
    assert!(again.is_none());
}

async fn app_state_setup(app: &common::TestApp) -> Option<String> {
    app::server::setup::prepare(&app.state).await.unwrap()
}

#[tokio::test]
async fn session_cookie_is_httponly_samesite_and_rotates_at_login() {
    let app = spawn_app().await;
    let email = app.seed_user("ann@example.com", Role::Editor).await;
    let c = app.client();
    let first = c
        .post(format!("{}/api/login", app.base))
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie_a = session_cookie(&first).expect("login sets a session cookie");
    assert!(cookie_a.contains("HttpOnly"), "{cookie_a}");
    assert!(cookie_a.contains("SameSite=Lax"), "{cookie_a}");
    let value_a = cookie_a.split(';').next().unwrap().to_string();

    let second = c
        .post(format!("{}/api/login", app.base))
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let value_b = session_cookie(&second)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(value_a, value_b, "a new session id at every sign-in");

    // The pre-login id is worth nothing now.
    let replay = reqwest::Client::new()
        .post(format!("{}/api/current_user", app.base))
        .header(header::COOKIE, value_a)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let email = app.seed_user("bob@example.com", Role::Viewer).await;
    let c = app.client();
    let r = c
        .post(format!("{}/api/login", app.base))
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&r)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (s, _) = app.call(&c, "logout", &[]).await;
    assert!(s.is_success(), "{s}");
    let replay = reqwest::Client::new()
        .post(format!("{}/api/current_user", app.base))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401, "a copied cookie is dead after logout");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.seed_user("cat@example.com", Role::Viewer).await;
    let c = app.client();
    let (s1, b1) = app
        .login(&c, "cat@example.com", "wrong password here")
        .await;
    let (s2, b2) = app
        .login(&c, "nobody@example.com", "wrong password here")
        .await;
    assert_eq!(s1, 401);
    assert_eq!((s1, b1), (s2, b2));
}

#[tokio::test]
async fn repeated_failures_are_throttled_and_a_later_correct_login_works() {
    let app = spawn_app().await;
    app.seed_user("dan@example.com", Role::Viewer).await;
    let c = app.client();
    let mut statuses = vec![];
    for _ in 0..7 {
        statuses.push(app.login(&c, "dan@example.com", "not the password").await.0);
    }
    assert!(statuses[..5].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[6], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Even the right password waits while throttled: nothing to learn from the answer.
    assert_eq!(app.login(&c, "dan@example.com", PASSWORD).await.0, 429);
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert!(app
        .login(&c, "dan@example.com", PASSWORD)
        .await
        .0
        .is_success());
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (editor, editor_email) = app.signed_in(Role::Editor).await;
    assert_eq!(app.call(&editor, "current_user", &[]).await.0, 200);

    let id = app::server::db::users::find_by_email(&app.state.db, &editor_email)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, body) = app
        .call(
            &admin,
            "set_user_disabled",
            &[("id", &id.to_string()), ("disabled", "true")],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(app.call(&editor, "current_user", &[]).await.0, 401);
    assert_eq!(
        app.login(&app.client(), &editor_email, PASSWORD).await.0,
        401,
        "disabled accounts cannot sign in"
    );

    app.call(
        &admin,
        "set_user_disabled",
        &[("id", &id.to_string()), ("disabled", "false")],
    )
    .await;
    assert!(app
        .login(&app.client(), &editor_email, PASSWORD)
        .await
        .0
        .is_success());
}

#[tokio::test]
async fn a_demotion_applies_on_the_next_request() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (other, other_email) = app.signed_in(Role::Admin).await;
    assert_eq!(app.call(&other, "list_users", &[]).await.0, 200);
    let id = app::server::db::users::find_by_email(&app.state.db, &other_email)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, body) = app
        .call(
            &admin,
            "set_user_role",
            &[("id", &id.to_string()), ("role", "viewer")],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(app.call(&other, "list_users", &[]).await.0, 403);
    let (_, me) = app.call(&other, "current_user", &[]).await;
    assert!(me.contains("viewer"), "{me}");
}

#[tokio::test]
async fn admins_cannot_demote_or_disable_themselves() {
    let app = spawn_app().await;
    let (admin, email) = app.signed_in(Role::Admin).await;
    let id = app::server::db::users::find_by_email(&app.state.db, &email)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, _) = app
        .call(
            &admin,
            "set_user_role",
            &[("id", &id.to_string()), ("role", "viewer")],
        )
        .await;
    assert_eq!(s, 409);
    let (s, _) = app
        .call(
            &admin,
            "set_user_disabled",
            &[("id", &id.to_string()), ("disabled", "true")],
        )
        .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    let (a, a_email) = app.signed_in(Role::Admin).await;
    let (b, b_email) = app.signed_in(Role::Admin).await;
    let id = |e: String| {
        let db = app.state.db.clone();
        async move {
            app::server::db::users::find_by_email(&db, &e)
                .await
                .unwrap()
                .unwrap()
                .id
                .to_string()
        }
    };
    let (a_id, b_id) = (id(a_email).await, id(b_email).await);
    let (form_a, form_b) = (
        [("id", b_id.as_str()), ("role", "viewer")],
        [("id", a_id.as_str()), ("role", "viewer")],
    );
    let (ra, rb) = tokio::join!(
        app.call(&a, "set_user_role", &form_a),
        app.call(&b, "set_user_role", &form_b)
    );
    let mut statuses = [ra.0.as_u16(), rb.0.as_u16()];
    statuses.sort();
    // The loser is refused: 409 (last admin), or 403 when it was already demoted by the time
    // its own request was authorized.
    assert!(
        statuses == [200, 409] || statuses == [200, 403],
        "{statuses:?}"
    );
    assert_eq!(
        app::server::db::users::count_active_admins(&app.state.db)
            .await
            .unwrap(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn admins_create_users_with_validation_and_no_duplicates() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let long = "p".repeat(60) + &"q".repeat(68);
    let form = [
        ("input[email]", "new@example.com"),
        ("input[role]", "editor"),
        ("input[password]", long.as_str()),
    ];
    let (s, body) = app.call(&admin, "create_user", &form).await;
    assert_eq!(s, 200, "{body}");
    assert!(!body.contains("argon2"), "no hash in the answer: {body}");
    let (s, body) = app.call(&admin, "create_user", &form).await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("already exists"), "{body}");
    let (s, _) = app
        .call(
            &admin,
            "create_user",
            &[
                ("input[email]", "x@example.com"),
                ("input[role]", "viewer"),
                ("input[password]", "short"),
            ],
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .call(
            &admin,
            "create_user",
            &[
                ("input[email]", "y@example.com"),
                ("input[role]", "root"),
                ("input[password]", PASSWORD),
            ],
        )
        .await;
    assert_eq!(s, 400, "unknown roles are refused");
    // A 128-character password signs in, untruncated.
    assert!(app
        .login(&app.client(), "new@example.com", &long)
        .await
        .0
        .is_success());
    assert_eq!(
        app.login(&app.client(), "new@example.com", &long[..127])
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn editors_and_viewers_cannot_manage_users() {
    let app = spawn_app().await;
    for role in [Role::Editor, Role::Viewer] {
        let (c, _) = app.signed_in(role).await;
        assert_eq!(app.call(&c, "list_users", &[]).await.0, 403, "{role}");
        let (s, _) = app
            .call(
                &c,
                "create_user",
                &[
                    ("input[email]", "z@example.com"),
                    ("input[role]", "admin"),
                    ("input[password]", PASSWORD),
                ],
            )
            .await;
        assert_eq!(s, 403, "{role}");
    }
}

#[tokio::test]
async fn cross_site_requests_to_server_functions_are_refused() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let url = format!("{}/api/create_user", app.base);
    let form = [
        ("input[email]", "csrf@example.com"),
        ("input[role]", "admin"),
        ("input[password]", PASSWORD),
    ];
    let evil = admin
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let cross = admin
        .post(&url)
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let sibling = admin
        .post(&url)
        .header("sec-fetch-site", "same-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(sibling.status(), 403);
    let get = admin
        .get(format!("{}/api/list_users", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405, "GET never reaches a server function");
    assert!(
        app::server::db::users::find_by_email(&app.state.db, "csrf@example.com")
            .await
            .unwrap()
            .is_none()
    );
    // The same request from our own origin works.
    let ok = admin
        .post(&url)
        .header("origin", &app.base)
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

// Two worker threads: twice (in ~30 full runs, once before the bundle split) one of this
// test's page requests got no answer within two minutes while the whole suite ran, never
// alone. The cause is not found; on a one-thread runtime a render that waits on work queued
// behind the test's own request could do that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_and_send_security_headers() {
    let app = spawn_app().await;
    let c = app.client();
    let r = app.get(&c, "/admin/users").await;
    assert_eq!(r.status(), 302, "anonymous visitors are redirected");
    assert_eq!(r.headers()["location"], "/login?next=/admin/users");
    let login = app.get(&c, "/login").await;
    assert_eq!(login.status(), 200);
    assert_eq!(login.headers()["x-frame-options"], "DENY");
    let html = login.text().await.unwrap();
    assert!(html.contains(r#"name="email""#) && html.contains(r#"name="password""#));
    assert_eq!(app.get(&c, "/no/such/page").await.status(), 404);

    let (admin, _) = app.signed_in(Role::Admin).await;
    let page = app.get(&admin, "/admin/users").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("@example.com"));
    assert!(
        !html.contains("$argon2"),
        "password hashes never reach the page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_ins_does_not_starve_other_requests() {
    // SECURITY case 27: hashing runs on the blocking pool behind a semaphore, so 100 parallel
    // sign-ins (from 100 addresses behind a trusted proxy) leave /healthz responsive.
    let app = common::spawn_app_with(common::Store::Sqlite, |a| a.trust_proxy_headers = true).await;
    let base = app.base.clone();
    let logins: Vec<_> = (0..100)
        .map(|i| {
            let url = format!("{base}/api/login");
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .header("x-forwarded-for", format!("198.51.100.{i}"))
                    .form(&[
                        ("email", format!("user{i}@example.com")),
                        ("password", "wrong password".into()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let probe = reqwest::Client::new();
    let mut latencies = vec![];
    for _ in 0..40 {
        let t = std::time::Instant::now();
        assert_eq!(
            probe
                .get(format!("{base}/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        latencies.push(t.elapsed());
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let mut statuses = vec![];
    for l in logins {
        statuses.push(l.await.unwrap().as_u16());
    }
    assert!(
        statuses.iter().all(|s| *s == 401),
        "every attempt was answered: {statuses:?}"
    );
    latencies.sort();
    let p95 = latencies[latencies.len() * 95 / 100];
    assert!(
        p95 < std::time::Duration::from_millis(200),
        "healthz p95 {p95:?}"
    );
}
