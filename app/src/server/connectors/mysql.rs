//! MySQL and MariaDB: `START TRANSACTION READ ONLY`, a per-session execution-time limit
//! (`max_execution_time` on MySQL, `max_statement_time` on MariaDB) and `KILL QUERY` as the
//! backstop; parameters are sent as text and converted by the server.
use super::{map_sqlx, ConnectorError, Param, PoolOptions, RowSink, RunLimits, RunSummary};
use crate::model::{
    connection::{NetworkConfig, SslMode},
    query::Value,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use sqlx::{
    mysql::{
        types::MySqlTime, MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow, MySqlSslMode,
    },
    Either, Executor, Row, TypeInfo, ValueRef,
};
use std::time::Instant;

pub struct My {
    pub(super) pool: MySqlPool,
    pub(super) cap: u32,
}

impl My {
    pub fn open(n: &NetworkConfig, pool: &PoolOptions) -> Self {
        let mut opts = MySqlConnectOptions::new()
            .host(&n.host)
            .port(n.port)
            .database(&n.database)
            .username(&n.user)
            .charset("utf8mb4")
            .ssl_mode(match n.ssl_mode {
                SslMode::Disable => MySqlSslMode::Disabled,
                SslMode::Prefer => MySqlSslMode::Preferred,
                SslMode::Require => MySqlSslMode::Required,
                SslMode::VerifyCa => MySqlSslMode::VerifyCa,
                SslMode::VerifyFull => MySqlSslMode::VerifyIdentity,
            });
        if let Some(pw) = &n.password {
            opts = opts.password(pw);
        }
        let cap = pool.max_connections;
        let pool = MySqlPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .test_before_acquire(true)
            // A connection is never handed to a second borrower: MySQL and MariaDB keep
            // user variables, session variables, temporary tables, named locks (GET_LOCK),
            // prepared statements, LAST_INSERT_ID, sequence values and more per session,
            // and the one command that clears them all (COM_RESET_CONNECTION) is not
            // available through sqlx. Closing it (COM_QUIT) ends the session on the server.
            .after_release(|_, _| Box::pin(async { Ok(false) }))
            .connect_lazy_with(opts);
        My { pool, cap }
    }

    pub async fn test(&self) -> Result<String, ConnectorError> {
        super::test_direct!(self.pool, "SELECT VERSION()")
    }

    pub async fn run(
        &self,
        sql: &str,
        params: &[Param],
        limits: &RunLimits,
        sink: &mut dyn RowSink,
    ) -> Result<RunSummary, ConnectorError> {
        if !limits.writable {
            if let Some(what) = super::sql_text::mysql_server_file_access(sql) {
                return Err(ConnectorError::ReadOnly {
                    message: format!("{what} reads or writes files on the database server"),
                    sqlstate: None,
                });
            }
        }
        let start = Instant::now();
        let err = |e| map_sqlx(e, limits.timeout, self.cap);
        let mut conn = super::acquire(&self.pool, self.cap, limits.timeout).await?;
        let (id, version): (u64, String) = sqlx::query_as("SELECT CONNECTION_ID(), VERSION()")
            .fetch_one(&mut *conn)
            .await
            .map_err(err)?;
        let limit = if version.contains("MariaDB") {
            format!(
                "SET SESSION max_statement_time = {:.3}",
                limits.timeout.as_secs_f64()
            )
        } else {
            format!(
                "SET SESSION max_execution_time = {}",
                limits.timeout.as_millis()
            )
        };
        let prepared = futures::FutureExt::boxed(async {
            sqlx::query(&limit).execute(&mut *conn).await?;
            // The session too: DDL commits the open transaction implicitly, and what runs
            // after that must still be read-only.
            let (session, begin) = if limits.writable {
                ("SET SESSION TRANSACTION READ WRITE", "START TRANSACTION")
            } else {
                (
                    "SET SESSION TRANSACTION READ ONLY",
                    "START TRANSACTION READ ONLY",
                )
            };
            sqlx::query(session).execute(&mut *conn).await?;
            sqlx::query(begin).execute(&mut *conn).await?;
            let d = (&mut *conn).describe(sql).await?;
            let n = match d.parameters() {
                Some(Either::Right(n)) => n,
                Some(Either::Left(t)) => t.len(),
                None => 0,
            };
            let cols = super::column_meta(d.columns());
            Ok::<_, sqlx::Error>((cols, n))
        })
        .await;
        let (columns, n) = match prepared {
            Ok(v) => v,
            Err(e) => return Err(super::abort!(conn, err(e))),
        };
        if n != params.len() {
            let e = ConnectorError::Param {
                index: n.min(params.len()) + 1,
                message: format!(
                    "the query has {n} parameter(s) but {} value(s) were given",
                    params.len()
                ),
            };
            return Err(super::abort!(conn, e));
        }
        let args = match super::text_args::<sqlx::MySql>(params, false) {
            Ok(a) => a,
            Err(e) => return Err(super::abort!(conn, e)),
        };
        if limits.cancel.is_cancelled() {
            return Err(super::abort!(conn, ConnectorError::Cancelled));
        }
        // The server's limit covers SELECTs only; past it, and on cancel, we kill the
        // statement from another connection.
        let options = self.pool.connect_options();
        let kill = futures::FutureExt::boxed(async move {
            use sqlx::{ConnectOptions, Connection};
            if let Ok(Ok(mut c)) =
                tokio::time::timeout(std::time::Duration::from_secs(5), options.connect()).await
            {
                // Our own integer, not user input.
                let _ = sqlx::Executor::execute(&mut c, format!("KILL QUERY {id}").as_str()).await;
                let _ = c.close().await;
            }
        });
        let rows = sqlx::query_with(sql, args)
            .persistent(false)
            .fetch(&mut *conn);
        let streamed =
            super::drain(rows, columns, sink, limits, start, decode_row, err, kill).await;
        super::finish!(conn, limits.writable, streamed, start, err)
    }
}

/// `[-]HH:MM:SS[.ffffff]`; MySQL TIME spans -838:59:59 to 838:59:59.
fn mysql_time(t: &MySqlTime) -> String {
    // Not `t.is_negative()`: in sqlx 0.8.6 it returns `is_positive()`.
    let sign = if t.sign().is_negative() { "-" } else { "" };
    let mut s = format!(
        "{sign}{:02}:{:02}:{:02}",
        t.hours(),
        t.minutes(),
        t.seconds()
    );
    if t.microseconds() != 0 {
        s += format!(".{:06}", t.microseconds()).trim_end_matches('0');
    }
    s
}

fn decode_row(row: &MySqlRow) -> Vec<Value> {
    (0..row.columns().len()).map(|i| decode(row, i)).collect()
}

fn decode(row: &MySqlRow, i: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let name = raw.type_info().name().to_string();
    macro_rules! get {
        ($t:ty) => {
            row.try_get::<$t, _>(i)
        };
    }
    let v: Result<Value, sqlx::Error> =
        match name.as_str() {
            "BOOLEAN" => get!(bool).map(Value::Bool),
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
                get!(i64).map(Value::Int)
            }
            n if n.ends_with("UNSIGNED") => get!(u64).map(Value::UInt),
            "BIT" => get!(u64).map(Value::UInt),
            "FLOAT" => get!(f32).map(|f| Value::Float(f.into())),
            "DOUBLE" => get!(f64).map(Value::Float),
            "DECIMAL" => get!(bigdecimal::BigDecimal).map(|d| Value::Decimal(d.to_plain_string())),
            "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM"
            | "SET" => get!(String).map(Value::Text),
            "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB"
            | "GEOMETRY" => get!(Vec<u8>).map(Value::Bytes),
            "JSON" => get!(serde_json::Value).map(Value::Json),
            "DATE" => get!(NaiveDate).map(|d| Value::Date(d.format("%Y-%m-%d").to_string())),
            "TIME" => get!(MySqlTime).map(|t| Value::Time(mysql_time(&t))),
            "DATETIME" => get!(NaiveDateTime)
                .map(|t| Value::Timestamp(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
            "TIMESTAMP" => get!(DateTime<Utc>)
                .map(|t| Value::TimestampTz(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
            _ => Err(sqlx::Error::Decode("unmapped".into())),
        };
    v.or_else(|_| row.try_get::<String, _>(i).map(Value::Text))
        .or_else(|_| row.try_get::<Vec<u8>, _>(i).map(Value::Bytes))
        .unwrap_or(Value::Null)
}
