//! Test harness: a real server on port 0 with a fresh metadata store and seeded users.
#![allow(dead_code)]
use app::{
    model::{NewUser, Role},
    server::{users, AppState, Principal},
};
use reqwest::{Client, StatusCode};
use sightline_server::{
    config::{AlertArgs, EngineArgs, ServeArgs, StoreArgs},
    startup::Application,
};
use std::sync::Arc;

pub const PASSWORD: &str = "correct horse battery staple";

/// Which metadata store a test app runs on.
#[derive(Clone, Copy, Debug)]
pub enum Store {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub setup_url: Option<String>,
    pub dir: Arc<tempfile::TempDir>,
    pg_database: Option<String>,
}

/// Local PostgreSQL used for the PostgreSQL-backed tests.
pub fn pg_admin_url() -> String {
    std::env::var("SIGHTLINE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Creates an empty PostgreSQL database and returns (name, url).
pub async fn fresh_pg_database() -> (String, String) {
    use sqlx::Connection;
    let admin = pg_admin_url();
    let name = format!("sightline_test_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .expect("local PostgreSQL (see README) must be running");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    (name.clone(), format!("{base}/{name}"))
}

pub async fn drop_pg_database(name: &str) {
    use sqlx::Connection;
    if let Ok(mut c) = sqlx::PgConnection::connect(&pg_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c)
            .await;
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(Store::Sqlite).await
}

pub async fn spawn_app_on(store: Store) -> TestApp {
    spawn_app_with(store, |_| {}).await
}

/// A test app whose serve arguments the caller may adjust.
pub async fn spawn_app_with(store: Store, adjust: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, pg_database) = match store {
        Store::Sqlite => (None, None),
        Store::Postgres => {
            let (name, url) = fresh_pg_database().await;
            (Some(url), Some(name))
        }
    };
    let args = ServeArgs {
        bind: "127.0.0.1:0".parse().unwrap(),
        store: StoreArgs {
            data_dir: dir.path().join("data"),
            database_url,
        },
        public_url: None,
        trust_proxy_headers: false,
        site_root: dir.path().join("site"),
        engine: EngineArgs {
            // Most tests do not need the sample database; the ones that do turn it on.
            no_demo: true,
            // The test databases run on loopback, which connections reach only when allowed.
            allow_hosts: vec!["127.0.0.1".into()],
            // Alert tests drive the engine themselves, on a clock they control.
            alerts: AlertArgs {
                alert_workers: 0,
                alert_allow_hosts: vec!["127.0.0.1".into()],
                ..AlertArgs::default()
            },
            ..EngineArgs::default()
        },
    };
    let mut args = args;
    adjust(&mut args);
    let app = Application::build(args).await.expect("app builds");
    let base = format!("http://{}", app.addr);
    let state = app.state.clone();
    let setup_url = app.setup_url.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        state,
        setup_url,
        dir: Arc::new(dir),
        pg_database,
    }
}

impl TestApp {
    /// A browser-like client with its own cookie jar and no redirect following.
    pub fn client(&self) -> Client {
        self.client_with_jar().0
    }

    /// A client and its cookie jar, to copy cookies out as an attacker would. A request
    /// that takes two minutes fails, naming its URL, rather than holding the suite (and CI)
    /// until its limit: every request of these tests answers in seconds.
    pub fn client_with_jar(&self) -> (Client, Arc<reqwest::cookie::Jar>) {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let c = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .unwrap();
        (c, jar)
    }

    /// Creates an account directly through the service, as the operator.
    pub async fn seed_user(&self, email: &str, role: Role) -> String {
        users::create(
            &self.state,
            &Principal::operator(),
            NewUser {
                email: email.into(),
                role,
                password: PASSWORD.into(),
            },
        )
        .await
        .expect("seed user");
        email.to_string()
    }

    /// A signed-in client for a new account with this role.
    pub async fn signed_in(&self, role: Role) -> (Client, String) {
        let email = format!("{}-{}@example.com", role, uuid::Uuid::new_v4().simple());
        self.seed_user(&email, role).await;
        let c = self.client();
        let (status, body) = self.login(&c, &email, PASSWORD).await;
        assert!(
            status.is_success() || status == StatusCode::FOUND,
            "login as {role}: {status} {body}"
        );
        (c, email)
    }

    pub async fn login(&self, c: &Client, email: &str, password: &str) -> (StatusCode, String) {
        self.call(c, "login", &[("email", email), ("password", password)])
            .await
    }

    /// Calls a server function the way the browser does (POST, form-encoded, same origin).
    pub async fn call(
        &self,
        c: &Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let r = c
            .post(format!("{}/api/{name}", self.base))
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.text().await.unwrap())
    }

    /// Calls a form-encoded server function whose one argument is `form` (`form[field]=…`).
    pub async fn form_call(
        &self,
        c: &Client,
        name: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let owned: Vec<(String, &str)> = fields
            .iter()
            .map(|(k, v)| (format!("form[{k}]"), *v))
            .collect();
        let pairs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        self.call(c, name, &pairs).await
    }

    /// Calls a server function that takes a JSON body (the workbench functions).
    pub async fn call_json(
        &self,
        c: &Client,
        name: &str,
        body: &serde_json::Value,
    ) -> (StatusCode, String) {
        let r = c
            .post(format!("{}/api/{name}", self.base))
            .header("origin", &self.base)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.text().await.unwrap())
    }

    pub async fn get(&self, c: &Client, path: &str) -> reqwest::Response {
        // As a browser navigates: asking for HTML.
        c.get(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
    }

    /// Drops the PostgreSQL database of a PostgreSQL-backed app.
    pub async fn cleanup(self) {
        if let Some(name) = &self.pg_database {
            self.state.db.close().await;
            drop_pg_database(name).await;
        }
    }
}

/// The token of the one-time setup URL.
pub fn setup_token(url: &str) -> String {
    url.split("token=").nth(1).unwrap().to_string()
}

/// Form fields of a PostgreSQL connection on the local server.
pub fn pg_form<'a>(name: &'a str, database: &'a str, user: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("kind", "postgres"),
        ("host", "127.0.0.1"),
        ("port", "5432"),
        ("database", database),
        ("user", user),
        ("ssl_mode", "disable"),
    ]
}

/// Form fields of a MariaDB connection to the local `test` database.
pub fn mysql_form(name: &str) -> Vec<(&str, &str)> {
    vec![
        ("name", name),
        ("kind", "mysql"),
        ("host", "127.0.0.1"),
        ("port", "3306"),
        ("database", "test"),
        ("user", "root"),
        ("ssl_mode", "disable"),
    ]
}

/// Checksum of table `t` and the value of sequence `s`: equal before and after proves a run
/// changed nothing.
pub async fn pg_checksum(url: &str) -> (String, i64) {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let sum: String = sqlx::query_scalar("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM t")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let seq: i64 = sqlx::query_scalar("SELECT last_value FROM s")
        .fetch_one(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    (sum, seq)
}

/// The webhook signature a receiver expects: `sha256=` HMAC of `timestamp.body`.
pub fn webhook_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// The audit detail of the export of `insight` (written once its body ended); null when none
/// came within two seconds.
pub async fn export_audit(app: &TestApp, insight: i64) -> serde_json::Value {
    let sql = "SELECT detail FROM audit_log WHERE action = 'insight_export'";
    for _ in 0..100 {
        let all: Vec<String> = match &app.state.db {
            app::server::db::Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
            app::server::db::Db::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        }
        .unwrap();
        if let Some(d) = all
            .iter()
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .find(|d| d["insight"] == serde_json::json!(insight))
        {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    serde_json::Value::Null
}
