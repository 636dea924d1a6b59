//! Data-source hosts fail closed (issue 13, item 2): `test_connection` and `save_connection`
//! over HTTP, as an editor would call them. Loopback and private hosts need an admin's allow
//! (flag or the Connections page), link-local and metadata addresses are refused in every
//! spelling even when everything is allowed, the metadata store's database is refused however
//! its server is named, and failed connects read the same whatever the port did.
use crate::common;

use app::{
    model::{
        connection::{AllowedHosts, ConnectionConfig, NetworkConfig, SslMode},
        Role,
    },
    server::{connections, settings::StoreTarget},
};
use common::{spawn_app_with, Store, TestApp};
use reqwest::StatusCode;
use serde_json::Value as Json;
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{io::AsyncWriteExt, net::TcpListener};

/// A listener that counts connection attempts and closes them.
async fn canary(addr: &str) -> Option<(u16, Arc<AtomicUsize>)> {
    let l = TcpListener::bind(addr).await.ok()?;
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    });
    Some((port, hits))
}

fn form<'a>(
    kind: &'a str,
    host: &'a str,
    port: &'a str,
    database: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        (
            "name",
            if kind == "mysql" {
                "egress probe my"
            } else {
                "egress probe pg"
            },
        ),
        ("kind", kind),
        ("host", host),
        ("port", port),
        ("database", database),
        ("user", if kind == "mysql" { "root" } else { "postgres" }),
        ("ssl_mode", "disable"),
    ]
}

/// The field a 400 names.
fn refused_field(what: &str, (status, body): &(StatusCode, String)) -> String {
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{what}: {body}");
    let v: Json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
    v["Validation"][0]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: not a validation error: {body}"))
        .to_string()
}

async fn app_allowing(hosts: &[&str], store: Store) -> TestApp {
    let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    spawn_app_with(store, move |a| a.engine.allow_hosts = hosts).await
}

/// Every way of writing this machine's loopback address that a resolver accepts.
fn loopback_spellings() -> Vec<&'static str> {
    vec![
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "127.0.0.2",
        "2130706433",
        "0x7f000001",
        "0x7f.1",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "017700000001",
        "localhost",
        "LOCALHOST.",
        "::1",
        "[::1]",
        "0:0:0:0:0:0:0:1",
        "::ffff:127.0.0.1",
        "[::ffff:127.0.0.1]",
        "::ffff:7f00:1",
        "::1%1",
    ]
}

#[tokio::test]
async fn loopback_is_refused_in_every_spelling_unless_allowed_and_nothing_is_dialled() {
    let app = app_allowing(&[], Store::Sqlite).await;
    let (editor, _) = app.signed_in(Role::Editor).await;
    let (port, hits) = canary("127.0.0.1:0").await.unwrap();
    // An IPv6 canary on the same port when the machine has IPv6 loopback.
    let v6 = canary(&format!("[::1]:{port}")).await;
    let port = port.to_string();
    for host in loopback_spellings() {
        for kind in ["postgres", "mysql"] {
            for f in ["test_connection", "save_connection"] {
                let got = app
                    .form_call(&editor, f, &form(kind, host, &port, "test"))
                    .await;
                assert_eq!(refused_field(&format!("{f} {kind} {host}"), &got), "host");
                assert!(
                    got.1.contains("admin"),
                    "the refusal says who can allow it: {}",
                    got.1
                );
            }
        }
    }
    // The URL form is parsed into the same fields and judged the same.
    for url in [
        format!("postgres://postgres@[::ffff:127.0.0.1]:{port}/test"),
        format!("postgres://postgres@2130706433:{port}/test"),
        format!("mysql://root@localhost:{port}/test"),
    ] {
        let got = app
            .form_call(&editor, "test_connection", &[("name", "u"), ("url", &url)])
            .await;
        assert_eq!(refused_field(&url, &got), "host");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "loopback was dialled");
    if let Some((_, hits)) = v6 {
        assert_eq!(hits.load(Ordering::SeqCst), 0, "::1 was dialled");
    }
    // Nothing was saved.
    let (_, list) = app.call(&editor, "list_connections", &[]).await;
    assert_eq!(list, "[]");
}

#[tokio::test]
async fn metadata_link_local_and_unspecified_are_refused_even_when_everything_is_allowed() {
    let app = app_allowing(
        &[
            "0.0.0.0/0",
            "::/0",
            "localhost",
            "169.254.169.254",
            "metadata.google.internal",
        ],
        Store::Sqlite,
    )
    .await;
    let (editor, _) = app.signed_in(Role::Editor).await;
    // 0.0.0.0 and :: reach this machine: a canary on loopback must stay silent.
    let (port, hits) = canary("127.0.0.1:0").await.unwrap();
    let port = port.to_string();
    for host in [
        "169.254.169.254",
        "2852039166",
        "0xa9fea9fe",
        "0xa9.0xfe.0xa9.0xfe",
        "0251.0376.0251.0376",
        "169.254.43518",
        "169.254.0.1",
        "::ffff:169.254.169.254",
        "[::ffff:a9fe:a9fe]",
        "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "fd00:ec2::254",
        "100.100.100.200",
        "fe80::1",
        "fe80::1%1",
        "[fe80::a9fe:a9fe]",
        "0.0.0.0",
        "0",
        "0x0",
        "::",
        "[::]",
        "::ffff:0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
    ] {
        for f in ["test_connection", "save_connection"] {
            let got = app
                .form_call(&editor, f, &form("postgres", host, &port, "test"))
                .await;
            assert_eq!(refused_field(&format!("{f} {host}"), &got), "host");
            assert!(got.1.contains("never"), "{host}: {}", got.1);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "an unspecified address was dialled"
    );
}

#[tokio::test]
async fn an_allowed_host_connects_and_the_driver_gets_the_checked_address() {
    let app = app_allowing(&["127.0.0.1"], Store::Sqlite).await;
    let (editor, _) = app.signed_in(Role::Editor).await;
    for kind_port in [("postgres", "5432"), ("mysql", "3306")] {
        let f = form(kind_port.0, "127.0.0.1", kind_port.1, "test");
        let (status, body) = app.form_call(&editor, "test_connection", &f).await;
        assert_eq!(status, StatusCode::OK, "{kind_port:?}: {body}");
        let (status, body) = app.form_call(&editor, "save_connection", &f).await;
        assert_eq!(status, StatusCode::OK, "{kind_port:?}: {body}");
    }
    // Allowed by address: `localhost` resolves to it, and the driver is handed the address
    // it was checked at, not the name (which could resolve elsewhere on the next lookup).
    let cfg = ConnectionConfig::Postgres(NetworkConfig {
        host: "localhost".into(),
        port: 5432,
        database: "test".into(),
        user: "postgres".into(),
        password: None,
        ssl_mode: SslMode::Disable,
    });
    let pinned = connections::checked(&app.state.settings, &cfg, false)
        .await
        .unwrap();
    assert_eq!(pinned.network().unwrap().host, "127.0.0.1");
}

#[tokio::test]
async fn admins_allow_hosts_on_the_connections_page_and_can_take_them_back() {
    let app = app_allowing(&[], Store::Sqlite).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (editor, _) = app.signed_in(Role::Editor).await;
    let pg = form("postgres", "localhost", "5432", "test");
    let got = app.form_call(&editor, "test_connection", &pg).await;
    assert_eq!(refused_field("before", &got), "host");

    // Editors may not change the list.
    let (status, _) = app
        .call(&editor, "save_allowed_hosts", &[("hosts", "127.0.0.0/8")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad entries are refused with the reason; metadata addresses cannot be allowed.
    for bad in ["169.254.169.254", "10.0.0.0/40", "http://x/", "a;b"] {
        let (status, body) = app
            .call(&admin, "save_allowed_hosts", &[("hosts", bad)])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, body) = app
        .call(
            &admin,
            "save_allowed_hosts",
            &[("hosts", "127.0.0.0/8\n warehouse.internal, fd00::/8")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let saved: AllowedHosts = serde_json::from_str(&body).unwrap();
    assert_eq!(
        saved.entries,
        vec!["127.0.0.0/8", "warehouse.internal", "fd00::/8"]
    );
    let (status, body) = app.form_call(&editor, "test_connection", &pg).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.form_call(&editor, "save_connection", &pg).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.call(&admin, "get_allowed_hosts", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("127.0.0.0/8"));

    // Taken back: refused again, for tests and for the saved connection's runs.
    let (status, _) = app
        .call(&admin, "save_allowed_hosts", &[("hosts", "")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let got = app.form_call(&editor, "test_connection", &pg).await;
    assert_eq!(refused_field("after", &got), "host");
}

#[tokio::test]
async fn failed_connects_read_the_same_whatever_the_port_does() {
    let app = app_allowing(&["127.0.0.1"], Store::Sqlite).await;
    let (editor, _) = app.signed_in(Role::Editor).await;
    // A closed port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // A port that accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    // A port speaking HTTP.
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_port = http.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = http.accept().await {
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let cases = [
        ("postgres", closed.to_string()),
        ("mysql", closed.to_string()),
        ("postgres", http_port.to_string()),
        ("mysql", http_port.to_string()),
        // A database server of the other kind.
        ("postgres", "3306".to_string()),
        ("mysql", "5432".to_string()),
        ("postgres", silent_port.to_string()),
    ];
    let mut answers = std::collections::BTreeSet::new();
    for (kind, port) in &cases {
        let (status, body) = app
            .form_call(
                &editor,
                "test_connection",
                &form(kind, "127.0.0.1", port, "test"),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{kind}:{port}: {body}"
        );
        for leak in [
            "refused",
            "Connection",
            "HTTP",
            "protocol",
            "timed out",
            "10 s",
            &port.to_string(),
        ] {
            assert!(!body.contains(leak), "{kind}:{port} says {leak:?}: {body}");
        }
        answers.insert(body);
    }
    assert_eq!(answers.len(), 1, "different answers: {answers:#?}");
}

#[tokio::test]
async fn the_metadata_store_is_refused_however_its_server_is_named() {
    let app = app_allowing(
        &["127.0.0.0/8", "::1", "localhost", "::ffff:127.0.0.1"],
        Store::Postgres,
    )
    .await;
    let Some(StoreTarget::Postgres { database, port, .. }) =
        app.state.settings.store_target.clone()
    else {
        panic!("a PostgreSQL store");
    };
    let (admin, _) = app.signed_in(Role::Admin).await;
    let port = port.to_string();
    for host in [
        "127.0.0.1",
        "localhost",
        "127.0.0.2",
        "127.1",
        "2130706433",
        "0x7f.1",
        "::ffff:127.0.0.1",
        "[::ffff:127.0.0.1]",
        "::1",
    ] {
        for f in ["test_connection", "save_connection"] {
            let got = app
                .form_call(&admin, f, &form("postgres", host, &port, &database))
                .await;
            assert_eq!(refused_field(&format!("{f} {host}"), &got), "database");
        }
    }
    // Its other databases are reachable only because the host is allowed explicitly.
    let (status, body) = app
        .form_call(
            &admin,
            "test_connection",
            &form("postgres", "127.0.0.1", &port, "test"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.cleanup().await;
}
