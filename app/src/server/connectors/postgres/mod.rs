//! PostgreSQL: `BEGIN READ ONLY` + `SET LOCAL statement_timeout` around exactly one statement
//! sent through the extended protocol, always rolled back unless writable; type mapping.
use super::{map_sqlx, ConnectorError, Param, PoolOptions, RowSink, RunLimits, RunSummary};
use crate::model::{
    connection::{NetworkConfig, SslMode},
    query::Column,
};
use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode, PgTypeInfo},
    Either, Executor, Row,
};
use std::time::Instant;

mod bind;
mod copy;
mod decode;

use bind::bind;
use copy::{copy_statement, fix_record, Fix};
use decode::decode_row;

pub struct Pg {
    pub(super) pool: PgPool,
    pub(super) cap: u32,
}

impl Pg {
    pub fn open(n: &NetworkConfig, pool: &PoolOptions) -> Self {
        let mut opts = PgConnectOptions::new_without_pgpass()
            .host(&n.host)
            .port(n.port)
            .database(&n.database)
            .username(&n.user)
            .application_name("sightline")
            .ssl_mode(match n.ssl_mode {
                SslMode::Disable => PgSslMode::Disable,
                SslMode::Prefer => PgSslMode::Prefer,
                SslMode::Require => PgSslMode::Require,
                SslMode::VerifyCa => PgSslMode::VerifyCa,
                SslMode::VerifyFull => PgSslMode::VerifyFull,
            });
        if let Some(pw) = &n.password {
            opts = opts.password(pw);
        }
        // No client-side statement cache: what one run prepared is not kept for the next.
        opts = opts.statement_cache_capacity(0);
        let cap = pool.max_connections;
        let pool = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .test_before_acquire(true)
            .after_release(|conn, _| Box::pin(reset_session(conn)))
            .connect_lazy_with(opts);
        Pg { pool, cap }
    }

    pub async fn test(&self) -> Result<String, ConnectorError> {
        super::test_direct!(self.pool, "SELECT version()")
    }

    pub async fn run(
        &self,
        sql: &str,
        params: &[Param],
        limits: &RunLimits,
        sink: &mut dyn RowSink,
    ) -> Result<RunSummary, ConnectorError> {
        let start = Instant::now();
        let err = |e| map_sqlx(e, limits.timeout, self.cap);
        let mut conn = super::acquire(&self.pool, self.cap, limits.timeout).await?;
        // One round trip of our own fixed text (integers only); the user's statement goes
        // alone through the extended protocol afterwards, so it cannot lift these settings.
        let setup = format!("{}; SELECT pg_backend_pid()", transaction_setup(limits));
        let prepared = futures::FutureExt::boxed(async {
            // A plain string runs as one simple-protocol query (several statements).
            let pid: i32 = (&mut *conn).fetch_one(setup.as_str()).await?.try_get(0)?;
            let described = (&mut *conn).describe(sql).await?;
            let columns: Vec<Column> = super::column_meta(described.columns());
            let types: Vec<PgTypeInfo> = match described.parameters() {
                Some(Either::Left(t)) => t.to_vec(),
                _ => vec![],
            };
            Ok::<_, sqlx::Error>((pid, columns, types))
        })
        .await;
        let (pid, columns, types) = match prepared {
            Ok(v) => v,
            Err(e) => return Err(super::abort!(conn, err(e))),
        };
        let args = match bind(params, &types) {
            Ok(a) => a,
            Err(e) => return Err(super::abort!(conn, e)),
        };
        if limits.cancel.is_cancelled() {
            return Err(super::abort!(conn, ConnectorError::Cancelled));
        }
        let options = self.pool.connect_options();
        let kill = futures::FutureExt::boxed(async move {
            // A separate connection asks the server to cancel the statement.
            use sqlx::{ConnectOptions, Connection};
            if let Ok(Ok(mut c)) =
                tokio::time::timeout(std::time::Duration::from_secs(5), options.connect()).await
            {
                let _ = sqlx::query("SELECT pg_cancel_backend($1)")
                    .bind(pid)
                    .execute(&mut c)
                    .await;
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

/// Brings a connection that goes back to the pool to the state of a fresh one, whatever the
/// run left on it (and whoever borrowed it: runs, insights, exports, dropdowns, alerts):
/// `DISCARD ALL` closes cursors (also `WITH HOLD`), resets every setting, role and session
/// authorization, deallocates prepared statements (`PREPARE` and the driver's own), unlistens,
/// releases session advisory locks, and drops temporary tables and cached sequence values;
/// the random generator gets a new seed.
/// sqlx's statement cache is emptied first, since the statements it names are gone after it.
/// An error (e.g. a transaction still open) makes the pool close the connection instead.
pub(crate) async fn reset_session(conn: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    conn.clear_cached_statements().await?;
    // A plain string is one simple-protocol query, which DISCARD ALL needs (it cannot run
    // in a transaction block).
    conn.execute("DISCARD ALL").await?;
    // The one piece of session state DISCARD ALL keeps: the random generator, which
    // `setseed()` (allowed read-only, not undone by a rollback) makes predictable.
    conn.execute(format!("SELECT setseed({})", random_seed()).as_str())
        .await?;
    Ok(true)
}

/// A seed in [-1, 1] nobody else knows (from the operating system's random source).
fn random_seed() -> String {
    let bits = u64::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .unwrap_or_default(),
    );
    format!(
        "{:.15}",
        (bits >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    )
}

/// How a [`Pg::copy_csv`] ended: bytes written and time taken (COPY does not count rows for us).
#[derive(Debug, Clone, PartialEq)]
pub struct CopySummary {
    pub bytes: u64,
    pub elapsed: std::time::Duration,
}

impl Pg {
    /// CSV with a header straight from the server's `COPY … TO STDOUT`, as `psql \copy` does:
    /// for a read-only statement without parameters whose column types all have a text form
    /// equal to the row path's (checked with `describe`, so the statement parsed alone first).
    /// `Ok(None)` means "not eligible": the caller runs the row path instead, and nothing was
    /// written. The same read-only transaction and statement timeout apply.
    pub async fn copy_csv(
        &self,
        sql: &str,
        limits: &RunLimits,
        out: &mut dyn super::CopyOut,
    ) -> Result<Option<CopySummary>, ConnectorError> {
        use futures::TryStreamExt;
        let start = Instant::now();
        let err = |e| map_sqlx(e, limits.timeout, self.cap);
        let mut conn = super::acquire(&self.pool, self.cap, limits.timeout).await?;
        // `copy_csv` is only called read-only (see `Connector::copy_csv`).
        let setup = format!(
            "{}; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL TimeZone = 'UTC'; \
             SET LOCAL bytea_output = 'hex'",
            transaction_setup(limits)
        );
        let described = futures::FutureExt::boxed(async {
            (&mut *conn).execute(setup.as_str()).await?;
            let d = (&mut *conn).describe(sql).await?;
            Ok::<_, sqlx::Error>(super::column_meta(d.columns()))
        })
        .await;
        let columns = match described {
            Ok(c) => c,
            Err(e) => return Err(super::abort!(conn, err(e))),
        };
        let Some((copy, fixes)) = copy_statement(sql, &columns) else {
            super::abort!(conn, ());
            return Ok(None);
        };
        let mut header = csv::Writer::from_writer(Vec::new());
        let written = header
            .write_record(columns.iter().map(|c| c.name.as_str()))
            .map_err(|e| ConnectorError::Output(e.to_string()))
            .and_then(|_| {
                header
                    .into_inner()
                    .map_err(|e| ConnectorError::Output(e.to_string()))
            })
            .and_then(|h| out.write(&h).map(|_| h.len() as u64));
        let mut bytes = match written {
            Ok(n) => n,
            Err(e) => return Err(super::abort!(conn, e)),
        };
        // The server's own timeout stops the statement; this backstop (1 s later) and a
        // cancel close the connection, which stops a COPY that is still sending.
        let deadline = tokio::time::Instant::from_std(start + limits.timeout)
            + std::time::Duration::from_secs(1);
        let rewrite = fixes.iter().any(|f| *f != Fix::Keep);
        let mut fixed = Vec::with_capacity(256);
        const FLUSH_EVERY: u64 = 64 * 1024;
        let mut unflushed = 0u64;
        let streamed: Result<(), ConnectorError> = async {
            let mut chunks = conn.copy_out_raw(&copy).await.map_err(err)?;
            loop {
                let next = tokio::select! {
                    _ = limits.cancel.cancelled() => return Err(ConnectorError::Cancelled),
                    _ = tokio::time::sleep_until(deadline) => {
                        return Err(ConnectorError::Timeout(limits.timeout.as_secs()))
                    }
                    c = chunks.try_next() => c.map_err(err)?,
                };
                let written = match next {
                    // Each chunk is one row. Most columns pass through as they are.
                    Some(chunk) if !rewrite => {
                        out.write(&chunk)?;
                        chunk.len() as u64
                    }
                    Some(chunk) => {
                        fixed.clear();
                        fix_record(&chunk, &fixes, &mut fixed);
                        out.write(&fixed)?;
                        fixed.len() as u64
                    }
                    None => return out.flush().await,
                };
                bytes += written;
                unflushed += written;
                if unflushed >= FLUSH_EVERY {
                    unflushed = 0;
                    out.flush().await?;
                }
            }
        }
        .await;
        match streamed {
            Ok(()) => {
                if let Err(e) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                    drop(conn.detach());
                    return Err(err(e));
                }
                Ok(Some(CopySummary {
                    bytes,
                    elapsed: start.elapsed(),
                }))
            }
            Err(e @ (ConnectorError::Cancelled | ConnectorError::Timeout(_))) => {
                drop(conn.detach());
                Err(e)
            }
            Err(e) => Err(super::abort!(conn, e)),
        }
    }
}

/// The transaction every run opens: read-only unless writable, with a statement timeout and
/// an idle timeout a little longer, so a forgotten transaction cannot hold locks.
fn transaction_setup(limits: &RunLimits) -> String {
    let ms = limits.timeout.as_millis().max(1);
    let begin = if limits.writable {
        "BEGIN"
    } else {
        "BEGIN READ ONLY"
    };
    format!(
        "{begin}; SET LOCAL statement_timeout = {ms}; \
         SET LOCAL idle_in_transaction_session_timeout = {}",
        ms + 5000
    )
}
