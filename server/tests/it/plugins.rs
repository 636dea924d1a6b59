//! Chart plugins over HTTP: admins install a zip at `POST /plugins` (others and other sites
//! are refused, and a zip that would write outside its folder or carries an unknown manifest
//! field is refused with why); signed-in users list them and fetch a module; removal.
use crate::common::{spawn_app, TestApp};
use app::model::Role;
use reqwest::{Client, StatusCode};
use std::io::Write;

fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(vec![]);
    {
        let mut z = zip::ZipWriter::new(&mut out);
        for (name, body) in files {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(body.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    out.into_inner()
}

fn funnel() -> Vec<(&'static str, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/plugins/funnel");
    ["plugin.json", "funnel.js"]
        .iter()
        .map(|f| (*f, std::fs::read_to_string(format!("{dir}/{f}")).unwrap()))
        .collect()
}

async fn upload(app: &TestApp, c: &Client, origin: &str, body: Vec<u8>) -> (StatusCode, String) {
    let r = c
        .post(format!("{}/plugins", app.base))
        .header("origin", origin)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn admins_install_plugins_everyone_uses_them_and_bad_zips_say_why() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let (editor, _) = app.signed_in(Role::Editor).await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let files = funnel();
    let good: Vec<(&str, &str)> = files.iter().map(|(n, b)| (*n, b.as_str())).collect();
    let in_folder: Vec<(String, &str)> = good
        .iter()
        .map(|(n, b)| (format!("funnel/{n}"), *b))
        .collect();
    let in_folder: Vec<(&str, &str)> = in_folder.iter().map(|(n, b)| (n.as_str(), *b)).collect();

    // Not an admin, or another site: refused before anything is unpacked.
    let (s, _) = upload(&app, &editor, &app.base, zip_of(&good)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = upload(&app, &admin, "https://evil.example", zip_of(&good)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = upload(&app, &app.client(), &app.base, zip_of(&good)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A zip that would write outside its folder, and a manifest with a typo.
    let mut evil = good.clone();
    evil.push(("../../secrets/session.key", "x"));
    let (s, body) = upload(&app, &admin, &app.base, zip_of(&evil)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("not a plain file name"), "{body}");
    let typo = good[0]
        .1
        .replace("\"module\"", "\"modul\": \"x.js\", \"module\"");
    let (s, body) = upload(
        &app,
        &admin,
        &app.base,
        zip_of(&[("plugin.json", &typo), good[1]]),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("unknown field `modul`"), "{body}");
    let (s, body) = upload(&app, &admin, &app.base, b"not a zip".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");

    // The admin installs it (the zip may hold the folder itself).
    let (s, body) = upload(&app, &admin, &app.base, zip_of(&in_folder)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["manifest"]["id"], "funnel");
    assert_eq!(info["error"], serde_json::Value::Null);

    // Everyone signed in lists it and can fetch its module (for the sandboxed frame).
    let (s, body) = app
        .call_json(&viewer, "list_plugins", &serde_json::json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("\"funnel\""), "{body}");
    let r = app.get(&viewer, "/plugins/funnel/module.js").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(r.text().await.unwrap().contains("export function render"));
    let r = app.get(&app.client(), "/plugins/funnel/module.js").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.get(&viewer, "/plugins/..%2Fsecrets/module.js").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Viewers cannot remove it; an admin can.
    let (s, _) = app
        .call_json(
            &viewer,
            "remove_plugin",
            &serde_json::json!({ "id": "funnel" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = app
        .call_json(
            &admin,
            "remove_plugin",
            &serde_json::json!({ "id": "funnel" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.get(&viewer, "/plugins/funnel/module.js").await.status(),
        StatusCode::NOT_FOUND
    );
    app.cleanup().await;
}
