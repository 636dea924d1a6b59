//! PostgreSQL values decoded into the typed cells of a result: numerics from their binary
//! form, timestamps and intervals as ISO 8601, arrays, and text for the rest.
use crate::model::query::Value;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use sqlx::{
    postgres::{
        types::{PgInterval, PgTimeTz},
        PgRow, PgTypeInfo, PgTypeKind, PgValueRef,
    },
    Row, TypeInfo, ValueRef,
};

/// One row as typed values.
pub(super) fn decode_row(row: &PgRow) -> Vec<Value> {
    (0..row.columns().len()).map(|i| decode(row, i)).collect()
}

pub(super) fn decode(row: &PgRow, i: usize) -> Value {
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

pub(super) fn arr<T>(items: Vec<Option<T>>, f: impl Fn(T) -> Value) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|x| x.map(&f).unwrap_or(Value::Null))
            .collect(),
    )
}

/// `numeric` exactly, including NaN and ±Infinity, formatted straight from the binary form
/// (base-10000 digits) with the column's display scale, as psql prints it.
pub(super) fn numeric(raw: &PgValueRef<'_>) -> Value {
    Value::Decimal(
        raw.as_bytes()
            .ok()
            .and_then(numeric_text)
            .unwrap_or_else(|| "NaN".into()),
    )
}

/// Text of a binary `numeric`: header ndigits, weight, sign, dscale (2 bytes each), then
/// `ndigits` base-10000 digits, the first worth 10000^weight.
pub(super) fn numeric_text(b: &[u8]) -> Option<String> {
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
pub(super) fn push_padded(out: &mut String, d: u16) {
    let d = d.min(9999);
    for div in [1000, 100, 10, 1] {
        out.push(char::from(b'0' + ((d / div) % 10) as u8));
    }
}

/// Types without a mapping: enum labels and other text-like values read as text; anything
/// else is shown as its raw bytes.
/// A decode that may panic inside sqlx (chrono overflow) as an error instead.
pub(super) fn guarded<T>(f: impl FnOnce() -> Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(sqlx::Error::Decode("out of range".into())))
}

/// 2000-01-01 00:00, PostgreSQL's epoch for binary dates and timestamps.
pub(super) fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
}

/// A binary `timestamp`/`timestamptz` (microseconds since the epoch) as ISO 8601, with
/// `infinity`/`-infinity` as PostgreSQL writes them; `None` when chrono cannot hold it.
pub(super) fn timestamp_text(raw: &PgValueRef<'_>, utc: bool) -> Option<String> {
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
pub(super) fn date_text(raw: &PgValueRef<'_>) -> Option<String> {
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

pub(super) fn fallback(raw: &PgValueRef<'_>, ty: &PgTypeInfo) -> Value {
    let bytes = raw.as_bytes().unwrap_or_default();
    match (ty.kind(), std::str::from_utf8(bytes)) {
        (PgTypeKind::Enum(_), Ok(s)) => Value::Text(s.to_string()),
        (_, Ok(s)) if !s.chars().any(|c| c.is_control()) => Value::Text(s.to_string()),
        _ => Value::Bytes(bytes.to_vec()),
    }
}

/// ISO 8601 duration from PostgreSQL's (months, days, microseconds).
pub(super) fn iso_duration(iv: &PgInterval) -> String {
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
}
