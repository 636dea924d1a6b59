//! Domain settings the engine needs at run time (from the server's configuration).
use super::egress::{EgressPolicy, SharedAllowList};
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
    /// Where database connections may go (from the configuration).
    pub egress: EgressPolicy,
    /// More hosts connections may reach, allowed by an admin on the Connections page (kept in
    /// the metadata store).
    pub connection_allow: SharedAllowList,
    /// Neutralize CSV export cells a spreadsheet would run as formulas (prefix `'`).
    pub csv_formula_guard: bool,
    /// The metadata store's own database, which is never reachable as a connection.
    pub store_target: Option<StoreTarget>,
    /// Limits for workbench runs.
    pub runs: RunSettings,
    /// The largest file an import accepts, in bytes.
    pub max_upload_bytes: u64,
    /// The most a workbook's parts may unpack to, in bytes (zip bombs are refused).
    pub max_import_unpacked_bytes: u64,
    /// The most cells a sheet's used range may span (rows × columns).
    pub max_import_cells: u64,
    /// Alert workers and delivery.
    pub alerts: AlertSettings,
}

/// How alerts are evaluated and delivered.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Hosts webhooks and Slack may reach despite the outbound (SSRF) policy.
    pub allow_hosts: Vec<String>,
    /// SMTP from the configuration; when set, the admin page shows it read-only.
    pub smtp: Option<super::alerts::channels::SmtpSettings>,
    /// Evaluations at once in this process (0: this process evaluates none).
    pub workers: usize,
    /// How long a run or delivery stays with a worker that stopped answering.
    pub lease: Duration,
    /// The shortest time between two scheduled evaluations of an alert.
    pub min_interval: Duration,
    /// Alerts one user may own.
    pub max_per_user: usize,
    /// "Evaluate now" requests one user may make per minute.
    pub evaluate_per_minute: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            allow_hosts: Vec::new(),
            smtp: None,
            workers: 2,
            lease: Duration::from_secs(360),
            min_interval: Duration::from_secs(300),
            max_per_user: 100,
            evaluate_per_minute: 6,
        }
    }
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
    /// Bytes of cell text kept in a result snapshot at most (a huge cell or a wide result
    /// ends the result there, marked truncated by size).
    pub max_result_bytes: u64,
    /// Rows of a result a chart reads at most.
    pub chart_points: u32,
    /// Connections per data source (and runs at once on it).
    pub pool_size: u32,
    /// How long a run may wait in its connection's queue before it is refused as busy.
    pub queue_timeout: Duration,
    /// Result snapshots are deleted after this long without being read.
    pub snapshot_ttl: Duration,
    /// Bytes the result cache keeps in the metadata store at most.
    pub cache_max_bytes: u64,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            timeout: Duration::from_secs(300),
            max_rows: 1_000_000,
            max_result_bytes: 256 << 20,
            chart_points: 10_000,
            pool_size: 5,
            queue_timeout: Duration::from_secs(10),
            snapshot_ttl: Duration::from_secs(3600),
            cache_max_bytes: 256 << 20,
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
            connection_allow: SharedAllowList::default(),
            csv_formula_guard: true,
            store_target: None,
            runs: RunSettings::default(),
            max_upload_bytes: 100 << 20,
            max_import_unpacked_bytes: 512 << 20,
            max_import_cells: 10_000_000,
            alerts: AlertSettings::default(),
        }
    }
}
