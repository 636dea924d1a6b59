//! Domain settings the engine needs at run time (from the server's configuration).
use super::egress::EgressPolicy;
use std::{path::PathBuf, time::Duration};

/// Run-time settings that services read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Trust the last hop of `X-Forwarded-For` as the client address (behind a proxy).
    pub trust_proxy_headers: bool,
    /// The address users reach Sightline at, e.g. `https://sightline.example.com`.
    pub public_url: String,
    /// The data directory (store, keys, result snapshots, demo database).
    pub data_dir: PathBuf,
    /// SQLite connections may only point under this directory; `None` turns them off.
    pub sqlite_dir: Option<PathBuf>,
    /// Where database connections may go.
    pub egress: EgressPolicy,
    /// The metadata store's own database, which is never reachable as a connection.
    pub store_target: Option<StoreTarget>,
    /// Limits for workbench runs.
    pub runs: RunSettings,
    /// The largest file an import accepts, in bytes.
    pub max_upload_bytes: u64,
}

/// The metadata store as a connection target (host, port, database) or file.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreTarget {
    Postgres {
        host: String,
        port: u16,
        database: String,
    },
    SqliteFile(PathBuf),
}

#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Statement timeout of a run.
    pub timeout: Duration,
    /// Rows kept in a result snapshot at most.
    pub max_rows: u64,
    /// Connections per data source (and runs at once on it).
    pub pool_size: u32,
    /// How long a run may wait in its connection's queue before it is refused as busy.
    pub queue_timeout: Duration,
    /// Result snapshots are deleted after this long without being read.
    pub snapshot_ttl: Duration,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            timeout: Duration::from_secs(300),
            max_rows: 1_000_000,
            pool_size: 5,
            queue_timeout: Duration::from_secs(10),
            snapshot_ttl: Duration::from_secs(3600),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            trust_proxy_headers: false,
            public_url: String::new(),
            data_dir: PathBuf::from("./data"),
            sqlite_dir: None,
            egress: EgressPolicy::default(),
            store_target: None,
            runs: RunSettings::default(),
            max_upload_bytes: 100 << 20,
        }
    }
}
