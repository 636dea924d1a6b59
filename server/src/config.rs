//! Command line and environment configuration (one table of it is in the README).
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::{net::SocketAddr, path::PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "sightline",
    version,
    about = "Sightline: self-hosted SQL analytics and database workbench",
    long_about = "Sightline: self-hosted SQL analytics and database workbench.\n\n\
                  Secrets are read from the environment only: SIGHTLINE_SESSION_KEY and \
                  SIGHTLINE_ENCRYPTION_KEY (base64 or hex, at least 32 random bytes). When unset, \
                  keys are generated once into <data dir>/secrets with mode 0600."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format.
    #[arg(long, global = true, env = "SIGHTLINE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server on the metadata store (migrating it first).
    Serve(ServeArgs),
    /// Run alert workers only (no web server), beside `serve --alert-workers 0` or more
    /// workers, on the same metadata store.
    Worker(ServeArgs),
    /// Apply metadata-store migrations and exit.
    Migrate(StoreArgs),
    /// Run one SQL statement against a database and print the result (JSON, NDJSON, CSV).
    Query(crate::query_cli::QueryArgs),
    /// Manage user accounts from the server's shell.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. The password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: app::model::Role,
        /// Read the password from standard input (one line). Required: passwords never go on
        /// the command line, where other users of the machine could read them.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a new password for an account (ends its sessions). Reads it from standard input.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn parse_role(s: &str) -> Result<app::model::Role, String> {
    s.parse()
}

/// Where the metadata store and generated files live.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Directory for the embedded store, generated keys and result files.
    #[arg(long, env = "SIGHTLINE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Metadata store: postgres://… for PostgreSQL. Unset: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SIGHTLINE_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The URL people use to reach Sightline (for links and the setup URL). With https://,
    /// the session cookie is marked Secure and named with the __Host- prefix.
    #[arg(long, env = "SIGHTLINE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Trust the last X-Forwarded-For hop as the client address (only behind your own proxy).
    #[arg(long, env = "SIGHTLINE_TRUST_PROXY_HEADERS", default_value_t = false)]
    pub trust_proxy_headers: bool,
    /// Directory with the built site assets (pkg/ with wasm, JS and CSS).
    #[arg(long, env = "SIGHTLINE_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Where connections may point and the limits every query runs under.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Allow SQLite connections to files under this directory (off when unset).
    #[arg(long, env = "SIGHTLINE_SQLITE_DIR")]
    pub sqlite_dir: Option<PathBuf>,
    /// Loopback and private hosts connections may reach (comma-separated host names,
    /// addresses and CIDR ranges such as 10.1.0.0/16). Others are refused; link-local and
    /// cloud-metadata addresses always are. Admins can add more on the Connections page.
    #[arg(
        long = "allow-connection-hosts",
        env = "SIGHTLINE_ALLOW_CONNECTION_HOSTS",
        value_delimiter = ','
    )]
    pub allow_hosts: Vec<String>,
    /// Prefix CSV export cells that a spreadsheet would run as a formula (=, +, -, @, tab,
    /// CR) with '. Turn off (false) for machine consumers that need the text unchanged.
    #[arg(long, env = "SIGHTLINE_CSV_FORMULA_GUARD", default_value_t = true, action = clap::ArgAction::Set)]
    pub csv_formula_guard: bool,
    /// Statement timeout of a query, in seconds.
    #[arg(long, env = "SIGHTLINE_QUERY_TIMEOUT", default_value_t = 300)]
    pub query_timeout: u64,
    /// Rows kept of one result at most (reaching it is shown).
    #[arg(long, env = "SIGHTLINE_MAX_ROWS", default_value_t = 1_000_000)]
    pub max_rows: u64,
    /// Megabytes of cell text kept of one result at most (reaching it is shown).
    #[arg(long, env = "SIGHTLINE_MAX_RESULT_MB", default_value_t = 256)]
    pub max_result_mb: u64,
    /// Rows of a result a chart draws at most (a chart of more says so and asks to
    /// aggregate in SQL).
    #[arg(long, env = "SIGHTLINE_CHART_POINTS", default_value_t = 10_000)]
    pub chart_points: u32,
    /// Megabytes of finished results the result cache keeps in the metadata store for every
    /// process (least recently used first out; a result over a sixteenth of it stays in its
    /// process only).
    #[arg(long, env = "SIGHTLINE_RESULT_CACHE_MB", default_value_t = 256)]
    pub result_cache_mb: u64,
    /// Connections (and queries at once) per data source.
    #[arg(long, env = "SIGHTLINE_POOL_SIZE", default_value_t = 5)]
    pub pool_size: u32,
    /// Seconds a query may wait for a free connection before it is refused as busy.
    #[arg(long, env = "SIGHTLINE_QUEUE_TIMEOUT", default_value_t = 10)]
    pub queue_timeout: u64,
    /// Minutes a result stays available for paging after it was last read.
    #[arg(long, env = "SIGHTLINE_RESULT_TTL", default_value_t = 60)]
    pub result_ttl: u64,
    /// Do not create the "Demo" sample database on first start.
    #[arg(long, env = "SIGHTLINE_NO_DEMO", default_value_t = false)]
    pub no_demo: bool,
    /// The largest CSV or Excel file an import accepts, in megabytes.
    #[arg(long, env = "SIGHTLINE_MAX_UPLOAD_MB", default_value_t = 100)]
    pub max_upload_mb: u64,
    /// The most an uploaded workbook's parts may unpack to, in megabytes.
    #[arg(long, env = "SIGHTLINE_MAX_IMPORT_UNPACKED_MB", default_value_t = 512)]
    pub max_import_unpacked_mb: u64,
    /// The most cells (rows × columns of its used range) an imported sheet may span.
    #[arg(long, env = "SIGHTLINE_MAX_IMPORT_CELLS", default_value_t = 10_000_000)]
    pub max_import_cells: u64,
    #[command(flatten)]
    pub alerts: AlertArgs,
}

/// Alert workers and how notifications leave the server.
#[derive(Args, Debug, Clone)]
pub struct AlertArgs {
    /// Alert evaluations at once in this process; 0 leaves them to `sightline worker`.
    #[arg(long, env = "SIGHTLINE_ALERT_WORKERS", default_value_t = 8)]
    pub alert_workers: usize,
    /// Hosts alert webhooks and Slack may reach although they are loopback or private
    /// (comma-separated; cloud-metadata addresses stay refused).
    #[arg(long, env = "SIGHTLINE_ALERT_ALLOW_HOSTS", value_delimiter = ',')]
    pub alert_allow_hosts: Vec<String>,
    /// Seconds a worker holds an alert run or delivery before another worker may take over.
    #[arg(long, env = "SIGHTLINE_ALERT_LEASE", default_value_t = 360)]
    pub alert_lease: u64,
    /// The shortest time between two scheduled evaluations of an alert, in minutes.
    #[arg(long, env = "SIGHTLINE_ALERT_MIN_INTERVAL", default_value_t = 5)]
    pub alert_min_interval: u64,
    /// Alerts one user may own.
    #[arg(long, env = "SIGHTLINE_ALERT_MAX_PER_USER", default_value_t = 100)]
    pub alert_max_per_user: usize,
    /// "Evaluate now" requests one user may make per minute.
    #[arg(long, env = "SIGHTLINE_ALERT_EVALUATE_PER_MINUTE", default_value_t = 6)]
    pub alert_evaluate_per_minute: u32,
    /// SMTP server for alert email. When set, SMTP is configured here (the password in
    /// SIGHTLINE_SMTP_PASSWORD) and the admin page shows it read-only.
    #[arg(long, env = "SIGHTLINE_SMTP_HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, env = "SIGHTLINE_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// starttls, tls or none.
    #[arg(long, env = "SIGHTLINE_SMTP_TLS", default_value = "starttls")]
    pub smtp_tls: String,
    #[arg(long, env = "SIGHTLINE_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// The sender, e.g. "Sightline <alerts@example.com>".
    #[arg(long, env = "SIGHTLINE_SMTP_FROM")]
    pub smtp_from: Option<String>,
}

impl Default for AlertArgs {
    fn default() -> Self {
        AlertArgs {
            alert_workers: 8,
            alert_allow_hosts: vec![],
            alert_lease: 360,
            alert_min_interval: 5,
            alert_max_per_user: 100,
            alert_evaluate_per_minute: 6,
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_username: None,
            smtp_from: None,
        }
    }
}

impl Default for EngineArgs {
    fn default() -> Self {
        EngineArgs {
            sqlite_dir: None,
            allow_hosts: vec![],
            csv_formula_guard: true,
            query_timeout: 300,
            max_rows: 1_000_000,
            max_result_mb: 256,
            result_cache_mb: 256,
            chart_points: 10_000,
            pool_size: 5,
            queue_timeout: 10,
            result_ttl: 60,
            no_demo: false,
            max_upload_mb: 100,
            max_import_unpacked_mb: 512,
            max_import_cells: 10_000_000,
            alerts: AlertArgs::default(),
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}
