//! The metadata store: SQLite by default, PostgreSQL for scale-out. One repository layer
//! whose queries run unchanged on both (`$n` placeholders work in both dialects).
pub mod alerts;
pub mod audit;
pub mod connections;
pub mod dashboards;
pub mod home;
pub mod insights;
pub mod links;
pub mod result_cache;
pub mod runs;
pub mod sessions;
pub mod users;
pub mod versions;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    PgPool, SqlitePool,
};
use std::{
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

/// Decodes a JSON column of a stored row: `what` and `id` name the row (`"alert"`, 7), `column`
/// the column. A value that does not decode is an internal error, logged with the row and
/// the column; it never becomes a default.
pub fn json_column<T: serde::de::DeserializeOwned>(
    what: &str,
    id: impl std::fmt::Display,
    column: &str,
    json: &str,
) -> Result<T, crate::error::AppError> {
    serde_json::from_str(json).map_err(|e| {
        crate::error::internal(format!(
            "{what} {id}: its stored {column} does not decode: {e}"
        ))
    })
}

/// Decodes a column that holds one word of a kind (`stored_words!`): like [`json_column`], an
/// unknown word is an internal error logged with the row and the column, never a default.
pub fn word_column<T: TryFrom<String, Error = String>>(
    what: &str,
    id: impl std::fmt::Display,
    column: &str,
    word: String,
) -> Result<T, crate::error::AppError> {
    T::try_from(word).map_err(|e| {
        crate::error::internal(format!(
            "{what} {id}: its stored {column} does not decode: {e}"
        ))
    })
}

/// A pool on the metadata store.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same expression against whichever pool the store uses.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($pool) => $body,
            $crate::server::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A `LIKE … ESCAPE '\'` pattern matching text that contains `q` (lower-cased; `%`, `_` and
/// `\` in it match themselves). Bind it; compare against `lower(column)`.
pub fn contains_pattern(q: &str) -> String {
    format!(
        "%{}%",
        q.to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Where the metadata store lives.
#[derive(Clone)]
pub enum StoreLocation {
    /// `<data dir>/sightline.db`, created on first start.
    SqliteFile(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl std::fmt::Debug for StoreLocation {
    // URLs may carry a password: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::SqliteFile(p) => write!(f, "sqlite:{}", p.display()),
            StoreLocation::Postgres(_) => f.write_str("postgres:<redacted>"),
        }
    }
}

impl StoreLocation {
    /// From `DATABASE_URL` (postgres:// or sqlite://) or, when unset, the data directory.
    pub fn resolve(database_url: Option<&str>, data_dir: &Path) -> Result<Self, String> {
        match database_url.map(str::trim).filter(|u| !u.is_empty()) {
            None => Ok(StoreLocation::SqliteFile(data_dir.join("sightline.db"))),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(StoreLocation::Postgres(u.to_string()))
            }
            Some(u) if u.starts_with("sqlite:") => {
                let path = u
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                Ok(StoreLocation::SqliteFile(PathBuf::from(path)))
            }
            Some(_) => Err("DATABASE_URL must start with postgres:// or sqlite://".into()),
        }
    }
}

impl Db {
    /// Opens the store (creating the SQLite file and its directory if needed).
    pub async fn connect(location: &StoreLocation) -> Result<Self, sqlx::Error> {
        match location {
            StoreLocation::SqliteFile(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?;
                Ok(Db::Sqlite(pool))
            }
            StoreLocation::Postgres(url) => {
                let opts = PgConnectOptions::from_str(url)?.application_name("sightline");
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// Applies pending migrations (embedded in the binary), then the session table.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        // The alert queue (apalis) keeps its own migrations in the same `_sqlx_migrations`
        // table: each migrator ignores the other's entries.
        match self {
            Db::Sqlite(p) => {
                let mut m = sqlx::migrate!("../migrations/sqlite");
                m.set_ignore_missing(true);
                m.run(p).await?
            }
            Db::Postgres(p) => {
                let mut m = sqlx::migrate!("../migrations/postgres");
                m.set_ignore_missing(true);
                m.run(p).await?
            }
        }
        sessions::MetaSessionStore::new(self.clone())
            .migrate()
            .await
    }

    /// `sqlite` or `postgres`, for logs and health output.
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A cheap round trip, for `/healthz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}

/// True when the error is a unique-constraint violation (no matching on message text).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}
