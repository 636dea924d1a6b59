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
        let cap = pool.max_connections;
        let pool = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .test_before_acquire(true)
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
        let ms = limits.timeout.as_millis().max(1);
        let begin = if limits.writable {
            "BEGIN"
        } else {
            "BEGIN READ ONLY"
        };
        // One round trip of our own fixed text (integers only); the user's statement goes
        // alone through the extended protocol afterwards, so it cannot lift these settings.
        let setup = format!(
            "{begin}; SET LOCAL statement_timeout = {ms}; \
             SET LOCAL idle_in_transaction_session_timeout = {}; SELECT pg_backend_pid()",
            ms + 5000
        );
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
        "DATE" => get!(NaiveDate).map(|d| Value::Date(d.format("%Y-%m-%d").to_string())),
        "TIME" => get!(NaiveTime).map(|t| Value::Time(t.format("%H:%M:%S%.f").to_string())),
        "TIMETZ" => get!(PgTimeTz<NaiveTime, FixedOffset>)
            .map(|t| Value::Time(format!("{}{}", t.time.format("%H:%M:%S%.f"), t.offset))),
        "TIMESTAMP" => get!(NaiveDateTime)
            .map(|t| Value::Timestamp(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
        "TIMESTAMPTZ" => get!(DateTime<Utc>)
            .map(|t| Value::TimestampTz(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
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
        "DATE[]" => get!(Vec<Option<NaiveDate>>)
            .map(|v| arr(v, |d| Value::Date(d.format("%Y-%m-%d").to_string()))),
        "TIMESTAMPTZ[]" => get!(Vec<Option<DateTime<Utc>>>).map(|v| {
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
