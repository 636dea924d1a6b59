//! PostgreSQL: `BEGIN READ ONLY` + `SET LOCAL statement_timeout` around exactly one statement
//! sent through the extended protocol, always rolled back unless writable; type mapping.
use super::{map_sqlx, ConnectorError, Param, PoolOptions, RowSink, RunLimits, RunSummary};
use crate::model::{
    connection::{NetworkConfig, SslMode},
    query::{Column, Value},
};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use sqlx::{
    encode::IsNull,
    error::BoxDynError,
    postgres::{
        types::{PgInterval, PgTimeTz},
        PgArgumentBuffer, PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow, PgSslMode,
        PgTypeInfo, PgTypeKind, PgValueRef,
    },
    Arguments, Either, Executor, Postgres, Row, TypeInfo, ValueRef,
};
use std::{str::FromStr, time::Instant};

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

/// How a column's CSV field from `COPY` becomes the row path's text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fix {
    /// Printed the same (integers, numeric, text, uuid, dates, bytea as `\x…`).
    Keep,
    /// `t`/`f` → `true`/`false`.
    Bool,
    /// `2024-05-01 13:45:00.25` → `2024-05-01T13:45:00.250`.
    Timestamp,
    /// `2024-05-01 13:45:00.25+00` → `2024-05-01T13:45:00.250Z` (the session is in UTC).
    TimestampTz,
}

/// `COPY (<sql>) TO STDOUT (FORMAT csv)` and the per-column fixes that turn its fields into
/// the row path's text, or `None` when a column's type has no such fix (the row path runs
/// instead). `sql` already parsed alone as one statement (`describe`), so its strings and
/// comments are closed and its parentheses balanced; the line break before `)` ends a
/// trailing `--` comment.
fn copy_statement(sql: &str, columns: &[Column]) -> Option<(String, Vec<Fix>)> {
    if columns.is_empty() {
        return None;
    }
    let first = super::sql_text::keywords(sql);
    let first = first.split_whitespace().next().unwrap_or("");
    if !matches!(first, "SELECT" | "WITH" | "VALUES" | "TABLE") {
        return None;
    }
    let fixes = columns
        .iter()
        .map(|c| match c.type_name.as_str() {
            "INT2" | "INT4" | "INT8" | "OID" | "NUMERIC" | "TEXT" | "VARCHAR" | "BPCHAR"
            | "NAME" | "CHAR" | "UUID" | "BYTEA" | "DATE" => Some(Fix::Keep),
            "BOOL" => Some(Fix::Bool),
            "TIMESTAMP" => Some(Fix::Timestamp),
            "TIMESTAMPTZ" => Some(Fix::TimestampTz),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((format!("COPY (\n{sql}\n) TO STDOUT (FORMAT csv)"), fixes))
}

/// Appends one CSV record from `COPY` (one `CopyData` message: a row and its line end) to
/// `out`, with the fields that need it rewritten. Quoted fields are copied as they are.
fn fix_record(row: &[u8], fixes: &[Fix], out: &mut Vec<u8>) {
    let mut i = 0;
    for (n, fix) in fixes.iter().enumerate() {
        if n > 0 {
            out.push(b',');
            i += 1; // the comma
        }
        let start = i;
        if row.get(i) == Some(&b'"') {
            i += 1;
            while i < row.len() {
                if row[i] == b'"' {
                    if row.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
        } else {
            while i < row.len() && !matches!(row[i], b',' | b'\n' | b'\r') {
                i += 1;
            }
        }
        let field = &row[start..i.min(row.len())];
        match fix {
            Fix::Bool if field == b"t" => out.extend_from_slice(b"true"),
            Fix::Bool if field == b"f" => out.extend_from_slice(b"false"),
            Fix::Timestamp => iso_field(field, false, out),
            Fix::TimestampTz => iso_field(field, true, out),
            _ => out.extend_from_slice(field),
        }
    }
    out.extend_from_slice(row.get(i..).unwrap_or_default());
}

/// `YYYY-MM-DD HH:MM:SS[.f…][+00]` as chrono's ISO form with 0, 3 or 6 fraction digits;
/// anything else (`infinity`, BC, five-digit years) as PostgreSQL wrote it.
fn iso_field(f: &[u8], utc: bool, out: &mut Vec<u8>) {
    let body = if utc { f.strip_suffix(b"+00") } else { Some(f) };
    let shaped = body.filter(|b| {
        b.len() >= 19 && b[10] == b' ' && b[4] == b'-' && b[..4].iter().all(u8::is_ascii_digit)
    });
    let Some(b) = shaped else {
        out.extend_from_slice(f);
        return;
    };
    out.extend_from_slice(&b[..10]);
    out.push(b'T');
    out.extend_from_slice(&b[11..19]);
    if let Some(frac) = b
        .get(20..)
        .filter(|d| b.get(19) == Some(&b'.') && !d.is_empty())
    {
        let mut digits = [b'0'; 6];
        let n = frac.len().min(6);
        digits[..n].copy_from_slice(&frac[..n]);
        out.push(b'.');
        out.extend_from_slice(if digits[3..] == *b"000" {
            &digits[..3]
        } else {
            &digits
        });
    }
    if utc {
        out.push(b'Z');
    }
}

/// Converts text parameters to the types the server inferred for `$1, $2, …`.
fn bind(params: &[Param], types: &[PgTypeInfo]) -> Result<PgArguments, ConnectorError> {
    if params.len() != types.len() {
        return Err(ConnectorError::Param {
            index: params.len().min(types.len()) + 1,
            message: format!(
                "the query has {} parameter(s) but {} value(s) were given",
                types.len(),
                params.len()
            ),
        });
    }
    let mut args = PgArguments::default();
    for (i, (p, ty)) in params.iter().zip(types).enumerate() {
        let bad = |what: &str| ConnectorError::Param {
            index: i + 1,
            message: format!("expected {what} ({})", ty.name()),
        };
        let owned = match p {
            Param::Null => {
                args.add(Untyped {
                    text: None,
                    ty: ty.clone(),
                })
                .map_err(|e| bad(&e.to_string()))?;
                continue;
            }
            Param::List(items) => {
                bind_list(&mut args, items, ty, i + 1)?;
                continue;
            }
            other => other.text().unwrap_or_default(),
        };
        let text = owned.as_str();
        let added = match ty.name() {
            "BOOL" => args.add(parse_bool(text).ok_or_else(|| bad("true or false"))?),
            "INT2" => args.add(text.trim().parse::<i16>().map_err(|_| bad("a whole number"))?),
            "INT4" => args.add(text.trim().parse::<i32>().map_err(|_| bad("a whole number"))?),
            "INT8" => args.add(text.trim().parse::<i64>().map_err(|_| bad("a whole number"))?),
            "FLOAT4" => args.add(text.trim().parse::<f32>().map_err(|_| bad("a number"))?),
            "FLOAT8" => args.add(text.trim().parse::<f64>().map_err(|_| bad("a number"))?),
            "NUMERIC" => args.add(bigdecimal::BigDecimal::from_str(text.trim()).map_err(|_| bad("a number"))?),
            "DATE" => args.add(NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| bad("a date like 2024-05-01"))?),
            "TIME" => args.add(NaiveTime::from_str(text.trim()).map_err(|_| bad("a time like 13:45:00"))?),
            "TIMESTAMP" => args.add(parse_naive_datetime(text).ok_or_else(|| bad("a timestamp like 2024-05-01T13:45:00"))?),
            "TIMESTAMPTZ" => args.add(parse_datetime_tz(text).ok_or_else(|| bad("a timestamp like 2024-05-01T13:45:00Z"))?),
            "UUID" => args.add(uuid::Uuid::parse_str(text.trim()).map_err(|_| bad("a UUID"))?),
            "JSON" | "JSONB" => args.add(serde_json::from_str::<serde_json::Value>(text).map_err(|_| bad("JSON"))?),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "UNKNOWN" => args.add(text.to_string()),
            _ if matches!(ty.kind(), PgTypeKind::Enum(_)) => args.add(Untyped { text: Some(text.to_string()), ty: ty.clone() }),
            other => {
                return Err(ConnectorError::Param {
                    index: i + 1,
                    message: format!("values of type {other} cannot be passed as parameters yet; cast it, e.g. ${}::text", i + 1),
                })
            }
        };
        added.map_err(|e| bad(&e.to_string()))?;
    }
    Ok(args)
}

/// A multi-select bound as one array of the element type the server inferred (for
/// `col = ANY($1)`); NULL items stay NULL.
fn bind_list(
    args: &mut PgArguments,
    items: &[Param],
    ty: &PgTypeInfo,
    index: usize,
) -> Result<(), ConnectorError> {
    let bad = |what: &str| ConnectorError::Param {
        index,
        message: format!("expected a list of {what} ({})", ty.name()),
    };
    let texts: Vec<Option<String>> = items.iter().map(Param::text).collect();
    macro_rules! list {
        ($what:expr, $parse:expr) => {{
            let parsed: Option<Vec<_>> = texts
                .iter()
                .map(|t| match t {
                    None => Some(None),
                    Some(t) => ($parse)(t.trim()).map(Some),
                })
                .collect();
            args.add(parsed.ok_or_else(|| bad($what))?)
        }};
    }
    let element = ty.name().strip_suffix("[]").unwrap_or("");
    let added = match element {
        "BOOL" => list!("true or false", parse_bool),
        "INT2" => list!("whole numbers", |t: &str| t.parse::<i16>().ok()),
        "INT4" => list!("whole numbers", |t: &str| t.parse::<i32>().ok()),
        "INT8" => list!("whole numbers", |t: &str| t.parse::<i64>().ok()),
        "FLOAT4" => list!("numbers", |t: &str| t.parse::<f32>().ok()),
        "FLOAT8" => list!("numbers", |t: &str| t.parse::<f64>().ok()),
        "NUMERIC" => list!("numbers", |t: &str| bigdecimal::BigDecimal::from_str(t).ok()),
        "DATE" => list!("dates", |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()),
        "TIMESTAMP" => list!("timestamps", parse_naive_datetime),
        "TIMESTAMPTZ" => list!("timestamps", parse_datetime_tz),
        "UUID" => list!("UUIDs", |t: &str| uuid::Uuid::parse_str(t).ok()),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "UNKNOWN" => {
            args.add(texts.clone())
        }
        _ => {
            return Err(ConnectorError::Param {
                index,
                message: format!(
                    "a list cannot be passed where the database expects {}; use it as `column = ANY(…)`, casting the column if needed (`column::text = ANY(…)`)",
                    ty.name()
                ),
            })
        }
    };
    added.map_err(|e| bad(&e.to_string()))
}

/// A value whose binary form is its text (enum labels) or NULL, sent with the exact type the
/// server inferred for the placeholder.
struct Untyped {
    text: Option<String>,
    ty: PgTypeInfo,
}

impl sqlx::Type<Postgres> for Untyped {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("text")
    }
    fn compatible(_: &PgTypeInfo) -> bool {
        true
    }
}

impl sqlx::Encode<'_, Postgres> for Untyped {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        match &self.text {
            Some(t) => {
                buf.extend_from_slice(t.as_bytes());
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }
    fn produces(&self) -> Option<PgTypeInfo> {
        Some(self.ty.clone())
    }
}

fn parse_bool(t: &str) -> Option<bool> {
    match t.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" | "on" => Some(true),
        "false" | "f" | "0" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

pub(crate) fn parse_naive_datetime(t: &str) -> Option<NaiveDateTime> {
    let t = t.trim();
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y-%m-%d").map(|d| d.and_time(NaiveTime::MIN)))
        .ok()
}

fn parse_datetime_tz(t: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(t.trim())
        .ok()
        .or_else(|| parse_naive_datetime(t).map(|n| n.and_utc().fixed_offset()))
}

/// One row as typed values.
fn decode_row(row: &PgRow) -> Vec<Value> {
    (0..row.columns().len()).map(|i| decode(row, i)).collect()
}

fn decode(row: &PgRow, i: usize) -> Value {
    let raw = match row.try_get_raw(i) {
        Ok(r) => r,
        Err(_) => return Value::Null,
    };
    if raw.is_null() {
        return Value::Null;
    }
    let ty = raw.type_info();
    macro_rules! get {
        ($t:ty) => {
            row.try_get::<$t, _>(i)
        };
    }
    let v: Result<Value, sqlx::Error> = match ty.name() {
        "BOOL" => get!(bool).map(Value::Bool),
        "INT2" => get!(i16).map(|v| Value::Int(v.into())),
        "INT4" => get!(i32).map(|v| Value::Int(v.into())),
        "INT8" => get!(i64).map(Value::Int),
        "OID" => get!(sqlx::postgres::types::Oid).map(|v| Value::UInt(v.0.into())),
        "FLOAT4" => get!(f32).map(|v| Value::Float(v.into())),
        "FLOAT8" => get!(f64).map(Value::Float),
        "NUMERIC" => Ok(numeric(&raw)),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "CHAR" | "XML" => {
            get!(String).map(Value::Text)
        }
        "UUID" => get!(uuid::Uuid).map(|u| Value::Uuid(u.to_string())),
        "JSON" | "JSONB" => get!(serde_json::Value).map(Value::Json),
        "BYTEA" => get!(Vec<u8>).map(Value::Bytes),
        // Our own decoding: sqlx's panics on ±infinity and on dates chrono cannot hold.
        "DATE" => Ok(date_text(&raw)
            .map(Value::Date)
            .unwrap_or_else(|| fallback(&raw, &ty))),
        "TIME" => get!(NaiveTime).map(|t| Value::Time(t.format("%H:%M:%S%.f").to_string())),
        "TIMETZ" => get!(PgTimeTz<NaiveTime, FixedOffset>)
            .map(|t| Value::Time(format!("{}{}", t.time.format("%H:%M:%S%.f"), t.offset))),
        "TIMESTAMP" => Ok(timestamp_text(&raw, false)
            .map(Value::Timestamp)
            .unwrap_or_else(|| fallback(&raw, &ty))),
        "TIMESTAMPTZ" => Ok(timestamp_text(&raw, true)
            .map(Value::TimestampTz)
            .unwrap_or_else(|| fallback(&raw, &ty))),
        "INTERVAL" => get!(PgInterval).map(|iv| Value::Interval(iso_duration(&iv))),
        "BOOL[]" => get!(Vec<Option<bool>>).map(|v| arr(v, Value::Bool)),
        "INT2[]" => get!(Vec<Option<i16>>).map(|v| arr(v, |x| Value::Int(x.into()))),
        "INT4[]" => get!(Vec<Option<i32>>).map(|v| arr(v, |x| Value::Int(x.into()))),
        "INT8[]" => get!(Vec<Option<i64>>).map(|v| arr(v, Value::Int)),
        "FLOAT4[]" => get!(Vec<Option<f32>>).map(|v| arr(v, |x| Value::Float(x.into()))),
        "FLOAT8[]" => get!(Vec<Option<f64>>).map(|v| arr(v, Value::Float)),
        "NUMERIC[]" => get!(Vec<Option<bigdecimal::BigDecimal>>)
            .map(|v| arr(v, |d| Value::Decimal(d.to_plain_string()))),
        "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => {
            get!(Vec<Option<String>>).map(|v| arr(v, Value::Text))
        }
        "UUID[]" => get!(Vec<Option<uuid::Uuid>>).map(|v| arr(v, |u| Value::Uuid(u.to_string()))),
        // sqlx panics on an infinite element; such an array is shown as PostgreSQL's text.
        "DATE[]" => guarded(|| get!(Vec<Option<NaiveDate>>))
            .map(|v| arr(v, |d| Value::Date(d.format("%Y-%m-%d").to_string()))),
        "TIMESTAMPTZ[]" => guarded(|| get!(Vec<Option<DateTime<Utc>>>)).map(|v| {
            arr(v, |t| {
                Value::TimestampTz(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            })
        }),
        "JSONB[]" | "JSON[]" => get!(Vec<Option<serde_json::Value>>).map(|v| arr(v, Value::Json)),
        _ => Err(sqlx::Error::Decode("unmapped".into())),
    };
    v.unwrap_or_else(|_| fallback(&raw, &ty))
}

fn arr<T>(items: Vec<Option<T>>, f: impl Fn(T) -> Value) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|x| x.map(&f).unwrap_or(Value::Null))
            .collect(),
    )
}

/// `numeric` exactly, including NaN and ±Infinity, formatted straight from the binary form
/// (base-10000 digits) with the column's display scale, as psql prints it.
fn numeric(raw: &PgValueRef<'_>) -> Value {
    Value::Decimal(
        raw.as_bytes()
            .ok()
            .and_then(numeric_text)
            .unwrap_or_else(|| "NaN".into()),
    )
}

/// Text of a binary `numeric`: header ndigits, weight, sign, dscale (2 bytes each), then
/// `ndigits` base-10000 digits, the first worth 10000^weight.
fn numeric_text(b: &[u8]) -> Option<String> {
    let word = |i: usize| b.get(i..i + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(2)? as i16);
    let sign = word(4)?;
    let dscale = usize::from(word(6)?);
    match sign {
        0x0000 | 0x4000 => {}
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => return Some("NaN".into()),
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Option<_>>()?;
    if digits.iter().any(|&d| d > 9999) {
        return None;
    }
    let digit = |pos: i64| -> u16 {
        // pos: exponent of 10000 this group is worth.
        let idx = weight - pos;
        usize::try_from(idx)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut out = String::with_capacity(8 + 4 * ndigits + dscale);
    if sign == 0x4000 && digits.iter().any(|&d| d != 0) {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        let mut buf = itoa::Buffer::new();
        out.push_str(buf.format(digit(weight)));
        for pos in (0..weight).rev() {
            push_padded(&mut out, digit(pos));
        }
    }
    if dscale > 0 {
        out.push('.');
        let start = out.len();
        let mut pos = -1i64;
        while out.len() - start < dscale {
            push_padded(&mut out, digit(pos));
            pos -= 1;
        }
        out.truncate(start + dscale);
    }
    Some(out)
}

/// A base-10000 digit as four decimal digits.
fn push_padded(out: &mut String, d: u16) {
    let d = d.min(9999);
    for div in [1000, 100, 10, 1] {
        out.push(char::from(b'0' + ((d / div) % 10) as u8));
    }
}

/// Types without a mapping: enum labels and other text-like values read as text; anything
/// else is shown as its raw bytes.
/// A decode that may panic inside sqlx (chrono overflow) as an error instead.
fn guarded<T>(f: impl FnOnce() -> Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(sqlx::Error::Decode("out of range".into())))
}

/// 2000-01-01 00:00, PostgreSQL's epoch for binary dates and timestamps.
fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
}

/// A binary `timestamp`/`timestamptz` (microseconds since the epoch) as ISO 8601, with
/// `infinity`/`-infinity` as PostgreSQL writes them; `None` when chrono cannot hold it.
fn timestamp_text(raw: &PgValueRef<'_>, utc: bool) -> Option<String> {
    if raw.format() != sqlx::postgres::PgValueFormat::Binary {
        return None;
    }
    let us = i64::from_be_bytes(raw.as_bytes().ok()?.try_into().ok()?);
    match us {
        i64::MAX => return Some("infinity".into()),
        i64::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let t = pg_epoch().checked_add_signed(chrono::TimeDelta::microseconds(us))?;
    Some(if utc {
        t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
    })
}

/// A binary `date` (days since the epoch) as `YYYY-MM-DD`, or `infinity`/`-infinity`.
fn date_text(raw: &PgValueRef<'_>) -> Option<String> {
    if raw.format() != sqlx::postgres::PgValueFormat::Binary {
        return None;
    }
    let days = i32::from_be_bytes(raw.as_bytes().ok()?.try_into().ok()?);
    match days {
        i32::MAX => return Some("infinity".into()),
        i32::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let d = pg_epoch()
        .date()
        .checked_add_signed(chrono::TimeDelta::days(days.into()))?;
    Some(d.format("%Y-%m-%d").to_string())
}

fn fallback(raw: &PgValueRef<'_>, ty: &PgTypeInfo) -> Value {
    let bytes = raw.as_bytes().unwrap_or_default();
    match (ty.kind(), std::str::from_utf8(bytes)) {
        (PgTypeKind::Enum(_), Ok(s)) => Value::Text(s.to_string()),
        (_, Ok(s)) if !s.chars().any(|c| c.is_control()) => Value::Text(s.to_string()),
        _ => Value::Bytes(bytes.to_vec()),
    }
}

/// ISO 8601 duration from PostgreSQL's (months, days, microseconds).
fn iso_duration(iv: &PgInterval) -> String {
    let (y, mo) = (iv.months / 12, iv.months % 12);
    let us = iv.microseconds;
    let neg = us < 0;
    let us = us.unsigned_abs();
    let (h, rem) = (us / 3_600_000_000, us % 3_600_000_000);
    let (m, rem) = (rem / 60_000_000, rem % 60_000_000);
    let (s, frac) = (rem / 1_000_000, rem % 1_000_000);
    let mut out = String::from("P");
    if y != 0 {
        out += &format!("{y}Y");
    }
    if mo != 0 {
        out += &format!("{mo}M");
    }
    if iv.days != 0 {
        out += &format!("{}D", iv.days);
    }
    if us != 0 {
        let sign = if neg { "-" } else { "" };
        out.push('T');
        if h != 0 {
            out += &format!("{sign}{h}H");
        }
        if m != 0 {
            out += &format!("{sign}{m}M");
        }
        if s != 0 || frac != 0 {
            let secs = if frac == 0 {
                s.to_string()
            } else {
                format!("{s}.{frac:06}").trim_end_matches('0').to_string()
            };
            out += &format!("{sign}{secs}S");
        }
    }
    if out == "P" {
        out += "T0S";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_fields_become_the_row_path_text() {
        let fixes = [
            Fix::Keep,
            Fix::Bool,
            Fix::TimestampTz,
            Fix::Timestamp,
            Fix::Bool,
            Fix::TimestampTz,
        ];
        let mut out = vec![];
        fix_record(
            b"1,t,2024-03-01 00:00:00.25+00,2024-01-01 10:00:00.1234,,infinity\n",
            &fixes,
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1,true,2024-03-01T00:00:00.250Z,2024-01-01T10:00:00.123400,,infinity\n"
        );
        let mut out = vec![];
        let fixes = [Fix::Keep, Fix::Bool, Fix::TimestampTz];
        fix_record(
            b"\"a,\"\"b\"\"\n\",f,2024-03-01 00:00:04+00\n",
            &fixes,
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a,\"\"b\"\"\n\",false,2024-03-01T00:00:04Z\n"
        );
    }

    #[test]
    fn intervals_print_as_iso_8601() {
        let iv = |months, days, microseconds| {
            iso_duration(&PgInterval {
                months,
                days,
                microseconds,
            })
        };
        assert_eq!(
            iv(14, 3, 4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000),
            "P1Y2M3DT4H5M6.5S"
        );
        assert_eq!(iv(0, 0, 0), "PT0S");
        assert_eq!(iv(0, -1, -90_000_000), "P-1DT-1M-30S");
    }

    #[test]
    fn numerics_print_from_their_binary_form() {
        // (ndigits, weight, sign, dscale, digits) -> text
        let bin = |weight: i16, sign: u16, dscale: u16, digits: &[u16]| {
            let mut b = vec![];
            for w in [digits.len() as u16, weight as u16, sign, dscale]
                .into_iter()
                .chain(digits.iter().copied())
            {
                b.extend_from_slice(&w.to_be_bytes());
            }
            numeric_text(&b).unwrap()
        };
        assert_eq!(bin(0, 0, 0, &[]), "0");
        assert_eq!(bin(0, 0, 2, &[]), "0.00");
        assert_eq!(bin(0, 0, 2, &[1, 5000]), "1.50");
        assert_eq!(bin(0, 0x4000, 2, &[12, 3400]), "-12.34");
        assert_eq!(bin(1, 0, 0, &[1]), "10000");
        assert_eq!(bin(2, 0, 0, &[12, 3456]), "1234560000");
        assert_eq!(bin(-1, 0, 6, &[1]), "0.000100");
        assert_eq!(bin(-2, 0, 9, &[5]), "0.000000050");
        assert_eq!(bin(-3, 0, 9, &[5000]), "0.000000005");
        assert_eq!(bin(-1, 0, 2, &[1234]), "0.12");
        assert_eq!(
            bin(4, 0, 12, &[1234, 5678, 9012, 3456, 7890, 0, 0, 123]),
            "12345678901234567890.000000000123"
        );
        assert_eq!(bin(0, 0xC000, 0, &[]), "NaN");
        assert_eq!(bin(0, 0xD000, 0, &[]), "Infinity");
        assert_eq!(bin(0, 0xF000, 0, &[]), "-Infinity");
        assert!(numeric_text(&[0, 1]).is_none());
    }

    #[test]
    fn parameter_counts_must_match() {
        let e = bind(&[Param::Text("1".into())], &[]).unwrap_err();
        assert!(matches!(e, ConnectorError::Param { .. }), "{e:?}");
    }
}
