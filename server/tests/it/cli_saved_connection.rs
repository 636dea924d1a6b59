//! `sightline query --connection NAME`: a connection saved through the web app, with its
//! encrypted password, used from the command line against the same data directory.
use crate::common;

use app::model::Role;
use common::spawn_app;
use std::process::Command;

#[tokio::test]
async fn query_uses_a_saved_connection_by_name() {
    let app = spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let (status, text) = app
        .call(
            &c,
            "save_connection",
            &[
                ("form[name]", "Warehouse"),
                ("form[kind]", "postgres"),
                ("form[host]", "127.0.0.1"),
                ("form[port]", "5432"),
                ("form[database]", "test"),
                ("form[user]", "postgres"),
                ("form[password]", "stored-and-sealed-9173"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let data_dir = app.dir.path().join("data");
    let run = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args([
                "query",
                "--connection",
                name,
                "--sql",
                "select $1::int + 1 as n",
                "--param",
                "41",
            ])
            .arg("--data-dir")
            .arg(&data_dir)
            .env_remove("DATABASE_URL")
            .env_remove("SIGHTLINE_ENCRYPTION_KEY")
            .env_remove("SIGHTLINE_SESSION_KEY")
            .output()
            .unwrap()
    };
    let out = run("Warehouse");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["rows"], serde_json::json!([[42]]));
    // An unknown name is a one-line error and a non-zero exit.
    let out = run("Nope");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no saved connection is named 'Nope'"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!err.contains("stored-and-sealed-9173"));
}
