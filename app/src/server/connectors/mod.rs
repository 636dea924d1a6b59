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
use std::time::Duration;

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
    #[error("This connection is read-only, so the statement was refused ({0}). An admin can mark a connection writable.")]
    ReadOnly(String),
    #[error("Run one statement at a time: remove everything after the first ';'.")]
    MultipleStatements,
    #[error("The query ran longer than the {0} s limit and was stopped.")]
    Timeout(u64),
    #[error("Could not connect to the database: {0}")]
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
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            timeout: Duration::from_secs(30),
            max_rows: 1_000_000,
            writable: false,
        }
    }
}

/// A bound parameter value as given by a user or a config file: text the connector converts
/// to the type the database expects for that placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Text(String),
}

/// Where result rows go, one at a time, so results of any size stream in constant memory.
pub trait RowSink: Send {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError>;
    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError>;
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub row_count: u64,
    /// True when `max_rows` stopped the run.
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

/// Parameters as text (or NULL), for engines that convert text to the column's type
/// themselves (MySQL, SQLite).
pub(crate) fn text_args<'q, DB: sqlx::Database>(
    params: &[Param],
) -> Result<DB::Arguments<'q>, ConnectorError>
where
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    use sqlx::Arguments;
    let mut args = DB::Arguments::default();
    for (i, p) in params.iter().enumerate() {
        let v = match p {
            Param::Null => None,
            Param::Text(t) => Some(t.clone()),
        };
        args.add(v).map_err(|e| ConnectorError::Param {
            index: i + 1,
            message: e.to_string(),
        })?;
    }
    Ok(args)
}

/// Feeds a row stream into the sink until it ends or `max_rows` is reached; returns the
/// rows written and whether the cap stopped it.
pub(crate) async fn drain<R, S>(
    mut rows: S,
    sink: &mut dyn RowSink,
    max_rows: u64,
    decode: impl Fn(&R) -> Vec<Value>,
    mut err: impl FnMut(sqlx::Error) -> ConnectorError,
) -> Result<(u64, bool), ConnectorError>
where
    S: futures::Stream<Item = Result<R, sqlx::Error>> + Unpin,
{
    use futures::TryStreamExt;
    let mut count = 0u64;
    while let Some(row) = rows.try_next().await.map_err(&mut err)? {
        if count >= max_rows {
            return Ok((count, true));
        }
        sink.row(decode(&row))?;
        count += 1;
    }
    Ok((count, false))
}

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
                Some("25006") => ConnectorError::ReadOnly(message),
                // PostgreSQL: query_canceled by statement_timeout.
                Some("57014") if message.contains("statement timeout") => {
                    ConnectorError::Timeout(timeout.as_secs())
                }
                Some("57014") => ConnectorError::Cancelled,
                // MySQL/MariaDB: read-only transaction; max_execution_time exceeded.
                Some("25000") if message.to_ascii_lowercase().contains("read only") => {
                    ConnectorError::ReadOnly(message)
                }
                // MySQL (3024, HY000) and MariaDB (1969, 70100): the execution-time limit hit.
                Some("HY000" | "70100")
                    if message.contains("max_statement_time")
                        || message.contains("maximum statement execution time") =>
                {
                    ConnectorError::Timeout(timeout.as_secs())
                }
                Some("70100") => ConnectorError::Cancelled,
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
        sqlx::Error::Io(io) => ConnectorError::Connect(format!("network error ({})", io.kind())),
        sqlx::Error::Tls(_) => {
            ConnectorError::Connect("the TLS handshake failed; check the SSL mode".into())
        }
        sqlx::Error::Protocol(p) => ConnectorError::Connect(format!("protocol error: {p}")),
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            ConnectorError::Connect("the connection was closed".into())
        }
        sqlx::Error::ColumnDecode { index, source } => {
            ConnectorError::Output(format!("could not read column {index}: {source}"))
        }
        other => ConnectorError::Connect(other.to_string()),
    }
}
