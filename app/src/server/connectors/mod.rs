//! Connectors: run SQL against a user's database with the database enforcing read-only,
//! one statement per run, a statement timeout, a row cap, and bound parameters.
//! One file per engine owns its connection options and type mapping.
pub mod mysql;
pub mod postgres;
pub mod sql_text;
pub mod sqlite;

use crate::model::{
    connection::ConnectionConfig,
    query::{Column, Value},
};
use futures::future::BoxFuture;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Why a run or a connection test failed. `Display` is what the user sees: the database's own
/// message for their SQL, our words for everything else; never a URL or a password.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    #[error("{message}")]
    Sql {
        message: String,
        code: Option<String>,
        position: Option<u32>,
    },
    /// A write on a read-only connection: the database's (or our) reason, and the SQLSTATE
    /// when the database gave one (PostgreSQL 25006, MySQL 25000; SQLite has none).
    #[error("This connection is read-only, so the statement was refused ({message}). An admin can mark a connection writable.")]
    ReadOnly {
        message: String,
        sqlstate: Option<String>,
    },
    #[error("Run one statement at a time: remove everything after the first ';'.")]
    MultipleStatements,
    #[error("The query ran longer than the {0} s limit and was stopped.")]
    Timeout(u64),
    /// Refused, unreachable, silent, or not speaking the database's protocol: one text for
    /// all, so connection attempts cannot map which ports answer; the detail (the field) is
    /// for the server log only.
    #[error("Could not connect to the database server. Check the host, the port and the SSL mode, and that the server accepts connections from Sightline; an admin finds the reason in the server log.")]
    Connect(String),
    #[error("The database is busy: all {0} connections of this connection are in use. Try again shortly.")]
    Busy(u32),
    #[error("Parameter ${index}: {message}")]
    Param { index: usize, message: String },
    #[error("The query was cancelled.")]
    Cancelled,
    #[error("{0}")]
    Output(String),
}

/// Limits every run is held to.
#[derive(Debug, Clone)]
pub struct RunLimits {
    /// Statement timeout, enforced by the database and, as a backstop, by us.
    pub timeout: Duration,
    /// Rows kept at most; reaching it is reported, not silent.
    pub max_rows: u64,
    /// Allow statements that modify data (only on connections an admin marked writable).
    pub writable: bool,
    /// Cancelling it stops the statement in the database (the "Cancel" button).
    pub cancel: CancellationToken,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            timeout: Duration::from_secs(30),
            max_rows: 1_000_000,
            writable: false,
            cancel: CancellationToken::new(),
        }
    }
}

/// A bound parameter value. Text from a user or a config file is converted by the connector
/// to the type the database expects for that placeholder; insight parameters arrive typed.
/// Serializes as plain JSON (null, "text", 12, "12.50", true, [..]) for the audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Param {
    Null,
    Text(String),
    Int(i64),
    /// An exact decimal in plain notation.
    Number(String),
    Bool(bool),
    /// A multi-select: bound as one array on PostgreSQL (`= ANY($1)`); MySQL and SQLite
    /// get one placeholder per item instead, so a list never reaches them.
    List(Vec<Param>),
}

impl Param {
    /// The value as text (for drivers that convert text themselves); `None` for NULL.
    pub fn text(&self) -> Option<String> {
        match self {
            Param::Null => None,
            Param::Text(t) | Param::Number(t) => Some(t.clone()),
            Param::Int(i) => Some(i.to_string()),
            Param::Bool(b) => Some(b.to_string()),
            Param::List(items) => Some(
                serde_json::to_string(&items.iter().map(Param::text).collect::<Vec<_>>())
                    .unwrap_or_default(),
            ),
        }
    }
}

/// Where result rows go, one at a time, so results of any size stream in constant memory.
pub trait RowSink: Send {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError>;
    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError>;
    /// True once the sink reached its size limit: the row it was just given was not kept,
    /// and the run stops there as at the row cap (reported as truncated).
    fn full(&self) -> bool {
        false
    }
    /// Called every few hundred rows (and at the end): a sink that hands rows to another
    /// thread waits here, which holds the database back instead of buffering without bound.
    fn flush(&mut self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Where [`Connector::copy_csv`] writes the CSV the server sends.
pub trait CopyOut: Send {
    fn write(&mut self, bytes: &[u8]) -> Result<(), ConnectorError>;
    /// Called after every 64 KiB or so and at the end: a sink that hands bytes to a client
    /// waits here, which holds the database back instead of buffering without bound.
    fn flush(&mut self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async { Ok(()) })
    }
}

impl<F: FnMut(&[u8]) -> Result<(), ConnectorError> + Send> CopyOut for F {
    fn write(&mut self, bytes: &[u8]) -> Result<(), ConnectorError> {
        self(bytes)
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub row_count: u64,
    /// True when `max_rows` (or a sink's size limit, see [`RowSink::full`]) stopped the run.
    pub truncated: bool,
    pub elapsed: Duration,
}

/// Pool settings for one connection.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 5,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// An open connection (a pool) to one data source.
pub enum Connector {
    Postgres(postgres::Pg),
    Mysql(mysql::My),
    Sqlite(sqlite::Lite),
}

impl Connector {
    /// Prepares a pool; nothing is dialled until the first run or test.
    pub fn open(cfg: &ConnectionConfig, pool: &PoolOptions) -> Result<Self, ConnectorError> {
        cfg.validate()
            .map_err(|e| ConnectorError::Connect(e.to_string()))?;
        Ok(match cfg {
            ConnectionConfig::Postgres(n) => Connector::Postgres(postgres::Pg::open(n, pool)),
            ConnectionConfig::Mysql(n) => Connector::Mysql(mysql::My::open(n, pool)),
            ConnectionConfig::Sqlite { path } => Connector::Sqlite(sqlite::Lite::open(path, pool)?),
        })
    }

    /// Connects and returns the server's version text.
    pub async fn test(&self) -> Result<String, ConnectorError> {
        match self {
            Connector::Postgres(c) => c.test().await,
            Connector::Mysql(c) => c.test().await,
            Connector::Sqlite(c) => c.test().await,
        }
    }

    /// Runs one statement with bound parameters, streaming rows into `sink`.
    pub async fn run(
        &self,
        sql: &str,
        params: &[Param],
        limits: &RunLimits,
        sink: &mut dyn RowSink,
    ) -> Result<RunSummary, ConnectorError> {
        let sql = sql_text::single_statement(sql)?;
        match self {
            Connector::Postgres(c) => c.run(sql, params, limits, sink).await,
            Connector::Mysql(c) => c.run(sql, params, limits, sink).await,
            Connector::Sqlite(c) => c.run(sql, params, limits, sink).await,
        }
    }

    /// CSV through the server's `COPY` when that gives the same text as the row path
    /// (PostgreSQL, read-only, no parameters, no row cap, column types it can render the
    /// same); `Ok(None)` when not eligible, with nothing written: use [`Connector::run`].
    pub async fn copy_csv(
        &self,
        sql: &str,
        params: &[Param],
        limits: &RunLimits,
        out: &mut dyn CopyOut,
    ) -> Result<Option<postgres::CopySummary>, ConnectorError> {
        let sql = sql_text::single_statement(sql)?;
        match self {
            Connector::Postgres(c)
                if params.is_empty() && !limits.writable && limits.max_rows == u64::MAX =>
            {
                c.copy_csv(sql, limits, out).await
            }
            _ => Ok(None),
        }
    }

    /// A warning when the account can do more than read: superuser or server file and
    /// program access on PostgreSQL; FILE, SUPER or all privileges on MySQL/MariaDB.
    pub async fn privilege_warning(&self) -> Option<String> {
        match self {
            Connector::Postgres(c) => {
                let row: Option<(bool, bool, bool, bool)> = sqlx::query_as(
                    "SELECT r.rolsuper, \
                     pg_has_role(current_user, 'pg_execute_server_program', 'member'), \
                     pg_has_role(current_user, 'pg_read_server_files', 'member'), \
                     pg_has_role(current_user, 'pg_write_server_files', 'member') \
                     FROM pg_roles r WHERE r.rolname = current_user",
                )
                .fetch_optional(&c.pool)
                .await
                .ok()
                .flatten();
                let (sup, prog, read, write) = row?;
                let mut what = vec![];
                if sup {
                    what.push("is a superuser");
                }
                if prog && !sup {
                    what.push("may run programs on the server (pg_execute_server_program)");
                }
                if (read || write) && !sup {
                    what.push("may read or write server files");
                }
                (!what.is_empty()).then(|| {
                    format!(
                        "This account {}. Sightline runs queries read-only, but a role with only the privileges it needs (e.g. pg_read_all_data) is safer.",
                        what.join(" and ")
                    )
                })
            }
            Connector::Mysql(c) => {
                let grants: Vec<String> = sqlx::query_scalar("SHOW GRANTS")
                    .fetch_all(&c.pool)
                    .await
                    .ok()?;
                let all = grants.join("\n").to_ascii_uppercase();
                let risky = all.contains("ALL PRIVILEGES ON *.*")
                    || all.contains(" FILE")
                    || all.contains(",FILE")
                    || all.contains(" SUPER");
                risky.then(|| {
                    "This account has FILE, SUPER or all privileges. Sightline runs queries read-only, but an account with only SELECT on the schemas you need is safer.".to_string()
                })
            }
            Connector::Sqlite(_) => None,
        }
    }

    /// Tables and views with their columns (for autocomplete), at most 20,000 columns.
    pub async fn schema(
        &self,
    ) -> Result<Vec<crate::model::connection::SchemaTable>, ConnectorError> {
        let rows: Vec<(String, String)> = match self {
            Connector::Postgres(c) => sqlx::query_as(
                "SELECT CASE WHEN table_schema = current_schema() THEN table_name \
                 ELSE table_schema || '.' || table_name END, column_name::text \
                 FROM information_schema.columns \
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
                 ORDER BY table_schema <> current_schema(), table_schema, table_name, ordinal_position LIMIT 20000",
            )
            .fetch_all(&c.pool)
            .await
            .map_err(|e| map_sqlx(e, Duration::ZERO, c.cap))?,
            Connector::Mysql(c) => sqlx::query_as(
                "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position LIMIT 20000",
            )
            .fetch_all(&c.pool)
            .await
            .map_err(|e| map_sqlx(e, Duration::ZERO, c.cap))?,
            Connector::Sqlite(c) => sqlx::query_as(
                "SELECT m.name, p.name FROM sqlite_schema m JOIN pragma_table_info(m.name) p \
                 WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' \
                 ORDER BY m.name, p.cid LIMIT 20000",
            )
            .fetch_all(&c.pool)
            .await
            .map_err(|e| map_sqlx(e, Duration::ZERO, 0))?,
        };
        let mut out: Vec<crate::model::connection::SchemaTable> = vec![];
        for (table, column) in rows {
            match out.last_mut() {
                Some(t) if t.name == table => t.columns.push(column),
                _ => out.push(crate::model::connection::SchemaTable {
                    name: table,
                    columns: vec![column],
                }),
            }
        }
        Ok(out)
    }

    pub async fn close(&self) {
        match self {
            Connector::Postgres(c) => c.pool.close().await,
            Connector::Mysql(c) => c.pool.close().await,
            Connector::Sqlite(c) => c.pool.close().await,
        }
    }
}

/// Our column descriptions from the driver's.
pub(crate) fn column_meta<C: sqlx::Column>(columns: &[C]) -> Vec<Column> {
    use sqlx::TypeInfo;
    columns
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            type_name: c.type_info().name().to_string(),
        })
        .collect()
}

/// Parameters for engines that convert text to the column's type themselves (MySQL,
/// SQLite): text as text, integers and booleans as such, decimals as exact text (SQLite
/// gets a float, its only fractional type).
pub(crate) fn text_args<'q, DB: sqlx::Database>(
    params: &[Param],
    decimals_as_float: bool,
) -> Result<DB::Arguments<'q>, ConnectorError>
where
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    use sqlx::Arguments;
    let mut args = DB::Arguments::default();
    for (i, p) in params.iter().enumerate() {
        let added = match p {
            Param::Null => args.add(None::<String>),
            Param::Text(t) => args.add(Some(t.clone())),
            Param::Int(v) => args.add(*v),
            Param::Bool(b) => args.add(*b),
            Param::Number(t) => match t.parse::<f64>() {
                Ok(f) if decimals_as_float => args.add(f),
                _ => args.add(Some(t.clone())),
            },
            Param::List(_) => {
                return Err(ConnectorError::Param {
                    index: i + 1,
                    message: "a list of values needs one placeholder per item".into(),
                })
            }
        };
        added.map_err(|e| ConnectorError::Param {
            index: i + 1,
            message: e.to_string(),
        })?;
    }
    Ok(args)
}

/// Feeds a row stream into the sink until it ends or `max_rows` is reached; returns the
/// rows written and whether the cap stopped it. When the run is cancelled, or runs 1 s past
/// the deadline (the database's own timeout failed to stop it), `kill` asks the database to
/// stop the statement (on its own task) and the stream is read to its end so the connection
/// stays usable; a statement that does not stop within 3 s more (a database that went away)
/// ends with `Abandoned`, and the caller must close that connection.
// The stream, its columns, the sink and limits, the start time, and the connector's own
// kill and row conversion: one call per connector, each argument a different thing.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn drain<R, S>(
    mut rows: S,
    columns: Vec<Column>,
    sink: &mut dyn RowSink,
    limits: &RunLimits,
    started: Instant,
    decode: impl Fn(&R) -> Vec<Value>,
    mut err: impl FnMut(sqlx::Error) -> ConnectorError,
    kill: BoxFuture<'static, ()>,
) -> Result<(u64, bool), Stop>
where
    R: sqlx::Row,
    S: futures::Stream<Item = Result<R, sqlx::Error>> + Unpin,
{
    use futures::TryStreamExt;
    // Columns are announced with the first row: a MySQL `CALL` describes none up front.
    let mut announced = false;
    let mut announce = |sink: &mut dyn RowSink, row: Option<&R>| -> Result<(), Stop> {
        if announced {
            return Ok(());
        }
        announced = true;
        let cols = match row {
            Some(r) if columns.is_empty() => column_meta(r.columns()),
            _ => columns.clone(),
        };
        sink.columns(&cols).map_err(Stop::Error)
    };
    let deadline =
        tokio::time::Instant::from_std(started + limits.timeout + Duration::from_secs(1));
    let mut kill = Some(kill);
    let mut stopped: Option<ConnectorError> = None;
    let mut count = 0u64;
    let mut pending = 0u32;
    let mut last_flush = Instant::now();
    // Created once: a timer or waiter registered per row would cost more than the row.
    let cancelled = limits.cancel.cancelled();
    tokio::pin!(cancelled);
    let past_deadline = tokio::time::sleep_until(deadline);
    tokio::pin!(past_deadline);
    loop {
        let next = match &stopped {
            None => tokio::select! {
                biased;
                _ = &mut cancelled => {
                    stopped = Some(ConnectorError::Cancelled);
                    if let Some(k) = kill.take() { tokio::spawn(k); }
                    continue;
                }
                _ = &mut past_deadline => {
                    stopped = Some(ConnectorError::Timeout(limits.timeout.as_secs()));
                    if let Some(k) = kill.take() { tokio::spawn(k); }
                    continue;
                }
                r = rows.try_next() => r,
            },
            Some(why) => {
                match tokio::time::timeout(Duration::from_secs(3), rows.try_next()).await {
                    Ok(r) => r,
                    Err(_) => return Err(Stop::Abandoned(why.clone())),
                }
            }
        };
        match next {
            Err(e) => return Err(Stop::Error(stopped.unwrap_or_else(|| err(e)))),
            Ok(None) => {
                if let Some(why) = stopped {
                    return Err(Stop::Error(why));
                }
                announce(sink, None)?;
                sink.flush().await.map_err(Stop::Error)?;
                return Ok((count, false));
            }
            Ok(Some(_)) if stopped.is_some() => {}
            Ok(Some(row)) => {
                announce(sink, Some(&row))?;
                if count >= limits.max_rows {
                    sink.flush().await.map_err(Stop::Error)?;
                    return Ok((count, true));
                }
                sink.row(decode(&row)).map_err(Stop::Error)?;
                if sink.full() {
                    sink.flush().await.map_err(Stop::Error)?;
                    return Ok((count, true));
                }
                count += 1;
                pending += 1;
                if pending >= 256
                    || (pending > 0 && last_flush.elapsed() > Duration::from_millis(50))
                {
                    sink.flush().await.map_err(Stop::Error)?;
                    pending = 0;
                    last_flush = Instant::now();
                }
            }
        }
    }
}

/// Why draining stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The run failed (or was cancelled) and the connection is in a known state.
    Error(ConnectorError),
    /// The statement did not stop when asked: the connection must be closed, not pooled.
    Abandoned(ConnectorError),
}

/// Ends a run's transaction: COMMIT for a successful writable run, ROLLBACK otherwise. A
/// connection that cannot be brought back to a clean state, or whose statement never
/// stopped, is closed instead of going back to the pool. (A macro rather than a generic
/// function: sqlx's higher-ranked executor bounds make generic versions non-`Send`.)
macro_rules! finish {
    ($conn:ident, $writable:expr, $streamed:expr, $started:expr, $err:expr) => {{
        match $streamed {
            Err(super::Stop::Abandoned(e)) => {
                drop($conn.detach());
                Err(e)
            }
            streamed => {
                let streamed = streamed.map_err(|s| match s {
                    super::Stop::Error(e) | super::Stop::Abandoned(e) => e,
                });
                let end = if $writable && streamed.is_ok() {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                };
                match sqlx::query(end).execute(&mut *$conn).await {
                    Err(e) => {
                        drop($conn.detach());
                        streamed?;
                        Err($err(e))
                    }
                    Ok(_) => {
                        let (row_count, truncated) = streamed?;
                        Ok(super::RunSummary {
                            row_count,
                            truncated,
                            elapsed: $started.elapsed(),
                        })
                    }
                }
            }
        }
    }};
}
pub(crate) use finish;

/// Rolls back after a failure before the statement ran and evaluates to the error.
macro_rules! abort {
    ($conn:ident, $e:expr) => {{
        let e = $e;
        let _ = sqlx::query("ROLLBACK").execute(&mut *$conn).await;
        e
    }};
}
pub(crate) use abort;

/// Acquires a pooled connection. When the pool times out while it still had room, the
/// reason is a failing connect, which one direct attempt reveals (instead of "busy").
pub(crate) async fn acquire<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    cap: u32,
    limit: Duration,
) -> Result<sqlx::pool::PoolConnection<DB>, ConnectorError> {
    use sqlx::ConnectOptions;
    match pool.acquire().await {
        Ok(c) => Ok(c),
        Err(sqlx::Error::PoolTimedOut) if pool.size() < cap => {
            let options = pool.connect_options();
            match tokio::time::timeout(Duration::from_secs(10), options.connect()).await {
                Ok(Err(e)) => Err(map_sqlx(e, limit, cap)),
                Ok(Ok(_)) => Err(ConnectorError::Busy(cap)),
                Err(_) => Err(ConnectorError::Connect(
                    "no answer from the server within 10 s".into(),
                )),
            }
        }
        Err(e) => Err(map_sqlx(e, limit, cap)),
    }
}

/// Opens one connection outside the pool and runs a version query (the "Test" button).
macro_rules! test_direct {
    ($pool:expr, $sql:expr) => {{
        use sqlx::{ConnectOptions, Connection};
        let options = $pool.connect_options();
        match tokio::time::timeout(std::time::Duration::from_secs(10), options.connect()).await {
            Err(_) => Err(super::ConnectorError::Connect(
                "no answer from the server within 10 s".into(),
            )),
            Ok(Err(e)) => Err(super::map_sqlx(e, std::time::Duration::ZERO, 0)),
            Ok(Ok(mut conn)) => {
                let v: Result<String, _> = sqlx::query_scalar($sql).fetch_one(&mut conn).await;
                let _ = conn.close().await;
                v.map_err(|e| super::map_sqlx(e, std::time::Duration::ZERO, 0))
            }
        }
    }};
}
pub(crate) use test_direct;

/// A failed connect: the reason goes to the log, the user sees [`ConnectorError::Connect`]'s
/// one text.
fn connect_failed(detail: String) -> ConnectorError {
    tracing::warn!(detail = %detail, "could not connect to a database server");
    ConnectorError::Connect(detail)
}

/// Maps a driver error to what the user may see. Connection-level errors are described in
/// our words (driver text can carry host names and user names, never passwords, but we keep
/// it short); SQL errors carry the database's message, code and position.
pub(crate) fn map_sqlx(e: sqlx::Error, timeout: Duration, acquire_cap: u32) -> ConnectorError {
    match e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.to_string());
            let message = d.message().to_string();
            match code.as_deref() {
                // PostgreSQL: read_only_sql_transaction / insufficient_privilege on a write.
                Some("25006") => ConnectorError::ReadOnly {
                    message,
                    sqlstate: code,
                },
                // PostgreSQL: query_canceled by statement_timeout.
                Some("57014") if message.contains("statement timeout") => {
                    ConnectorError::Timeout(timeout.as_secs())
                }
                Some("57014") => ConnectorError::Cancelled,
                // MySQL/MariaDB: read-only transaction; max_execution_time exceeded.
                Some("25000") if message.to_ascii_lowercase().contains("read only") => {
                    ConnectorError::ReadOnly {
                        message,
                        sqlstate: code,
                    }
                }
                // MySQL (3024, HY000) and MariaDB (1969, 70100): the execution-time limit hit.
                Some("HY000" | "70100")
                    if message.contains("max_statement_time")
                        || message.contains("maximum statement execution time") =>
                {
                    ConnectorError::Timeout(timeout.as_secs())
                }
                Some("70100") => ConnectorError::Cancelled,
                // SQLite's result codes are not SQLSTATEs: SQLITE_AUTH (23, our authorizer
                // refusing a write or a forbidden statement) and SQLITE_READONLY (8) read as
                // "read-only"; other errors carry the engine's message without a code.
                _ if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
                    match code.as_deref() {
                        Some("23" | "8") => ConnectorError::ReadOnly {
                            message,
                            sqlstate: None,
                        },
                        _ => ConnectorError::Sql {
                            message,
                            code: None,
                            position: None,
                        },
                    }
                }
                _ => {
                    let position = d
                        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                        .and_then(|pg| match pg.position() {
                            Some(sqlx::postgres::PgErrorPosition::Original(p)) => {
                                u32::try_from(p).ok()
                            }
                            _ => None,
                        });
                    ConnectorError::Sql {
                        message,
                        code,
                        position,
                    }
                }
            }
        }
        sqlx::Error::PoolTimedOut => ConnectorError::Busy(acquire_cap),
        sqlx::Error::Io(io) => connect_failed(format!("network error ({})", io.kind())),
        sqlx::Error::Tls(e) => connect_failed(format!("the TLS handshake failed: {e}")),
        sqlx::Error::Protocol(p) => connect_failed(format!("protocol error: {p}")),
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            ConnectorError::Connect("the connection was closed".into())
        }
        sqlx::Error::ColumnDecode { index, source } => {
            ConnectorError::Output(format!("could not read column {index}: {source}"))
        }
        other => ConnectorError::Connect(other.to_string()),
    }
}
