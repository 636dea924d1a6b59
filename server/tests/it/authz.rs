//! Every registered server function is in this matrix, and every one that is not meant for
//! anonymous callers refuses them. A new server function fails this test until it is added,
//! so none can ship unguarded.
use crate::common;

use app::model::Role;
use common::spawn_app;
use std::collections::BTreeSet;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Access {
    /// Open to anyone (and guarded by its own check: credentials or the setup token).
    Anonymous,
    /// Any signed-in user.
    SignedIn,
    /// Editors and admins (connections, ad-hoc SQL).
    Editor,
    /// Admins only.
    Admin,
}

/// Functions that take a JSON body (the rest are form-encoded), with a minimal body.
const JSON: &[(&str, &str)] = &[
    (
        "run_sql",
        r#"{"request":{"connection_id":999999,"sql":"select 1","params":[],"page_size":10}}"#,
    ),
    (
        "run_sql_named",
        r#"{"request":{"connection_id":999999,"sql":"select {{x}}","params":[{"name":"x","kind":"text"}],"values":{"x":["1"]},"page_size":10}}"#,
    ),
    (
        "run_status",
        r#"{"id":"00000000-0000-0000-0000-000000000000","wait_ms":0}"#,
    ),
    (
        "fetch_rows",
        r#"{"id":"00000000-0000-0000-0000-000000000000","offset":0,"limit":10,"sort":null}"#,
    ),
    (
        "cancel_run",
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    ("reset_session", r#"{"connection_id":999999}"#),
    ("query_history", r#"{"search":null}"#),
    ("insight_tree", r#"{"search":null,"trash":false}"#),
    ("get_insight", r#"{"id":999999}"#),
    ("insight_params", r#"{"id":999999}"#),
    ("get_chart", r#"{"run":"nope","spec":null}"#),
    ("list_plugins", r#"{}"#),
    ("dashboard_list", r#"{"search":null,"trash":false}"#),
    ("get_dashboard", r#"{"id":999999}"#),
    (
        "save_dashboard",
        r#"{"id":null,"base_version":null,"draft":{"name":"x"}}"#,
    ),
    ("trash_dashboard", r#"{"id":999999,"trashed":true}"#),
    ("duplicate_dashboard", r#"{"id":999999}"#),
    ("dashboard_versions", r#"{"id":999999}"#),
    ("revert_dashboard", r#"{"id":999999,"version":1}"#),
    (
        "add_to_dashboard",
        r#"{"dashboard":null,"new_name":"x","insight":999999}"#,
    ),
    ("insight_tile", r#"{"insight":999999}"#),
    ("filter_options", r#"{"id":999999,"name":"x","values":{}}"#),
    ("remove_plugin", r#"{"id":"nope"}"#),
    (
        "save_insight",
        r#"{"id":null,"base_version":null,"draft":{"name":"x","connection_id":999999,"sql":"select 1"}}"#,
    ),
    ("trash_insight", r#"{"id":999999,"trashed":true}"#),
    ("move_insight", r#"{"id":999999,"folder":null}"#),
    ("insight_versions", r#"{"id":999999}"#),
    ("insight_version", r#"{"id":999999,"version":1}"#),
    ("revert_insight", r#"{"id":999999,"version":1}"#),
    ("save_folder", r#"{"id":null,"name":"x","parent":null}"#),
    ("trash_folder", r#"{"id":999999,"trashed":true}"#),
    ("run_insight", r#"{"id":999999,"values":{},"page_size":10}"#),
    ("param_options", r#"{"id":999999,"name":"x","values":{}}"#),
    ("export_progress", r#"{"token":"abcdefgh12345678"}"#),
    ("cancel_export", r#"{"token":"abcdefgh12345678"}"#),
    (
        "preview_import",
        r#"{"upload_id":"00000000-0000-0000-0000-000000000000","options":{}}"#,
    ),
    (
        "start_import",
        r#"{"request":{"upload_id":"00000000-0000-0000-0000-000000000000","table":"t","columns":[]}}"#,
    ),
    (
        "get_import",
        r#"{"id":"00000000-0000-0000-0000-000000000000","wait_ms":0}"#,
    ),
    ("home", r#"{}"#),
    ("set_favorite", r#"{"insight":999999,"favorite":true}"#),
    ("list_alerts", r#"{"insight":null}"#),
    ("get_alert", r#"{"id":999999}"#),
    (
        "save_alert",
        r#"{"id":null,"draft":{"insight_id":999999,"name":"x","rule":{"kind":"any_rows"},"cron":"*/5 * * * *","timezone":"UTC","channels":[]}}"#,
    ),
    ("alert_columns", r#"{"insight":999999,"params":{}}"#),
    ("delete_alert", r#"{"id":999999}"#),
    ("mute_alert", r#"{"id":999999,"until":null}"#),
    ("evaluate_alert", r#"{"id":999999}"#),
    ("list_channels", r#"{}"#),
    (
        "create_channel",
        r#"{"draft":{"kind":"webhook","name":"","url":"http://127.0.0.1:9/x","secret":""}}"#,
    ),
    (
        "update_channel",
        r#"{"id":999999,"draft":{"kind":"webhook","name":"x","url":"","secret":""}}"#,
    ),
    ("delete_channel", r#"{"id":999999}"#),
    ("test_channel", r#"{"id":999999}"#),
    ("get_smtp", r#"{}"#),
    (
        "save_smtp",
        r#"{"form":{"host":"","port":0,"tls":"x","username":"","from":""}}"#,
    ),
    ("test_smtp", r#"{"to":"nobody@example.com"}"#),
];

async fn invoke(
    app: &common::TestApp,
    c: &reqwest::Client,
    name: &str,
    form: &[(&str, &str)],
) -> (http::StatusCode, String) {
    match JSON.iter().find(|(n, _)| *n == name) {
        Some((_, body)) => {
            app.call_json(c, name, &serde_json::from_str(body).unwrap())
                .await
        }
        None => app.call(c, name, form).await,
    }
}

/// (function, minimal well-formed body, who may call it)
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Access,
);
const MATRIX: &[Case] = &[
    (
        "login",
        &[("email", "x@example.com"), ("password", "nope nope nope")],
        Access::Anonymous,
    ),
    ("check_setup_token", &[("token", "nope")], Access::Anonymous),
    (
        "create_first_admin",
        &[
            ("token", "nope"),
            ("email", "x@example.com"),
            ("password", "nope nope nope"),
        ],
        Access::Anonymous,
    ),
    ("logout", &[], Access::SignedIn),
    ("current_user", &[], Access::SignedIn),
    (
        "change_password",
        &[
            ("current", "nope nope nope"),
            ("new", "also nope nope nope"),
        ],
        Access::SignedIn,
    ),
    ("recent_sign_ins", &[], Access::SignedIn),
    ("list_users", &[], Access::Admin),
    (
        "create_user",
        &[
            ("input[email]", "x@example.com"),
            ("input[role]", "viewer"),
            ("input[password]", "abcdefghijklmnop"),
        ],
        Access::Admin,
    ),
    (
        "set_user_role",
        &[("id", "1"), ("role", "viewer")],
        Access::Admin,
    ),
    (
        "set_user_disabled",
        &[("id", "1"), ("disabled", "true")],
        Access::Admin,
    ),
    (
        "invite_user",
        &[("email", "new@example.com"), ("role", "viewer")],
        Access::Admin,
    ),
    ("password_reset_link", &[("id", "1")], Access::Admin),
    // Guarded by the token itself (a wrong one is 404 for everyone).
    ("account_link_info", &[("token", "x")], Access::Anonymous),
    (
        "accept_account_link",
        &[("token", "x"), ("password", "abcdefghijklmnop")],
        Access::Anonymous,
    ),
    ("list_connections", &[], Access::SignedIn),
    ("get_connection", &[("id", "999999")], Access::Editor),
    (
        "save_connection",
        &[
            ("form[name]", "x"),
            ("form[kind]", "postgres"),
            ("form[host]", "127.0.0.1"),
            ("form[database]", "test"),
            ("form[user]", "nobody"),
        ],
        Access::Editor,
    ),
    (
        "test_connection",
        &[
            ("form[name]", "x"),
            ("form[kind]", "sqlite"),
            ("form[path]", "/nonexistent.db"),
        ],
        Access::Editor,
    ),
    ("test_saved_connection", &[("id", "999999")], Access::Editor),
    (
        "parse_connection_url",
        &[("url", "postgres://u@h/d")],
        Access::Editor,
    ),
    (
        "set_connection_active",
        &[("id", "999999"), ("active", "false")],
        Access::Editor,
    ),
    ("delete_connection", &[("id", "999999")], Access::Editor),
    ("connection_schema", &[("id", "999999")], Access::Editor),
    ("get_allowed_hosts", &[], Access::Admin),
    ("save_allowed_hosts", &[("hosts", "")], Access::Admin),
    ("run_sql", &[], Access::Editor),
    ("run_sql_named", &[], Access::Editor),
    // Runs are scoped to their owner; viewers follow their own insight runs.
    ("run_status", &[], Access::SignedIn),
    ("fetch_rows", &[], Access::SignedIn),
    ("cancel_run", &[], Access::SignedIn),
    ("reset_session", &[], Access::Editor),
    ("query_history", &[], Access::Editor),
    ("insight_tree", &[], Access::SignedIn),
    ("get_insight", &[], Access::SignedIn),
    ("insight_params", &[], Access::SignedIn),
    ("get_chart", &[], Access::SignedIn),
    ("list_plugins", &[], Access::SignedIn),
    // Dashboards: everyone signed in opens them and may keep their own; changing one that
    // is not theirs needs an editor (checked per dashboard, in it::dashboards).
    ("dashboard_list", &[], Access::SignedIn),
    ("get_dashboard", &[], Access::SignedIn),
    ("save_dashboard", &[], Access::SignedIn),
    ("trash_dashboard", &[], Access::SignedIn),
    ("duplicate_dashboard", &[], Access::SignedIn),
    ("dashboard_versions", &[], Access::SignedIn),
    ("revert_dashboard", &[], Access::SignedIn),
    ("add_to_dashboard", &[], Access::SignedIn),
    ("insight_tile", &[], Access::SignedIn),
    ("filter_options", &[], Access::SignedIn),
    ("remove_plugin", &[], Access::Admin),
    ("save_insight", &[], Access::Editor),
    ("trash_insight", &[], Access::Editor),
    ("move_insight", &[], Access::Editor),
    ("insight_versions", &[], Access::SignedIn),
    ("insight_version", &[], Access::SignedIn),
    ("revert_insight", &[], Access::Editor),
    ("save_folder", &[], Access::Editor),
    ("trash_folder", &[], Access::Editor),
    ("run_insight", &[], Access::SignedIn),
    ("param_options", &[], Access::SignedIn),
    // A download's progress is its owner's alone.
    ("export_progress", &[], Access::SignedIn),
    ("cancel_export", &[], Access::SignedIn),
    // Imports into the Uploads connection (the upload itself is `POST /imports`).
    ("preview_import", &[], Access::Editor),
    ("start_import", &[], Access::Editor),
    ("get_import", &[], Access::Editor),
    // Alerts: anyone who may view an insight sees and sets alerts on it (owners, editors and
    // admins change them); channels are created and tested by editors; SMTP by admins.
    ("home", &[], Access::SignedIn),
    ("set_favorite", &[], Access::SignedIn),
    ("list_alerts", &[], Access::SignedIn),
    ("get_alert", &[], Access::SignedIn),
    ("save_alert", &[], Access::SignedIn),
    ("alert_columns", &[], Access::SignedIn),
    ("delete_alert", &[], Access::SignedIn),
    ("mute_alert", &[], Access::SignedIn),
    ("evaluate_alert", &[], Access::SignedIn),
    ("list_channels", &[], Access::SignedIn),
    ("create_channel", &[], Access::Editor),
    ("update_channel", &[], Access::Editor),
    ("delete_channel", &[], Access::Editor),
    ("test_channel", &[], Access::Editor),
    ("get_smtp", &[], Access::Admin),
    ("save_smtp", &[], Access::Admin),
    ("test_smtp", &[], Access::Admin),
];

#[tokio::test]
async fn the_matrix_lists_exactly_the_registered_server_functions() {
    let registered: BTreeSet<String> = server_fn::axum::server_fn_paths()
        .map(|(path, method)| {
            assert_eq!(method, http::Method::POST, "{path} must be POST-only");
            path.trim_start_matches("/api/").to_string()
        })
        .collect();
    let listed: BTreeSet<String> = MATRIX.iter().map(|(n, _, _)| n.to_string()).collect();
    assert_eq!(
        registered, listed,
        "add new server functions to MATRIX with their access level"
    );
}

#[tokio::test]
async fn anonymous_callers_are_refused_everything_but_sign_in_and_setup() {
    let app = spawn_app().await;
    let c = app.client();
    for (name, body, access) in MATRIX {
        let (status, text) = invoke(&app, &c, name, body).await;
        match access {
            Access::Anonymous => assert!(
                !status.is_success(),
                "{name} accepted a bad anonymous call: {text}"
            ),
            _ => assert_eq!(status, 401, "{name} must refuse anonymous callers: {text}"),
        }
    }
}

#[tokio::test]
async fn admin_functions_refuse_editors_and_viewers() {
    let app = spawn_app().await;
    for role in [Role::Editor, Role::Viewer] {
        let (c, _) = app.signed_in(role).await;
        for (name, body, access) in MATRIX {
            let refused =
                *access == Access::Admin || (*access == Access::Editor && role == Role::Viewer);
            if refused {
                let (status, text) = invoke(&app, &c, name, body).await;
                assert_eq!(status, 403, "{name} as {role}: {text}");
            }
        }
    }
}

#[tokio::test]
async fn errors_carry_no_internal_text() {
    let app = spawn_app().await;
    let (c, _) = app.signed_in(Role::Admin).await;
    // Malformed arguments: a clear 400, no panic, no stack or SQL text.
    let (status, text) = app
        .call(
            &c,
            "set_user_role",
            &[("id", "not-a-number"), ("role", "viewer")],
        )
        .await;
    assert_eq!(status, 400, "{text}");
    for leak in ["sqlx", "SELECT", "panicked", "src/"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    let (status, _) = app
        .call(&c, "set_user_role", &[("id", "999999"), ("role", "viewer")])
        .await;
    assert_eq!(status, 404);
}
