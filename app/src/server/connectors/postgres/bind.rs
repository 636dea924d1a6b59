//! Text parameters converted to the types the server inferred for `$1, $2, …` (lists for
//! `= ANY($n)`), never spliced into SQL.
use super::super::{ConnectorError, Param};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use sqlx::{
    encode::IsNull,
    error::BoxDynError,
    postgres::{PgArgumentBuffer, PgArguments, PgTypeInfo, PgTypeKind},
    Arguments, Postgres, TypeInfo,
};
use std::str::FromStr;

/// Converts text parameters to the types the server inferred for `$1, $2, …`.
pub(super) fn bind(params: &[Param], types: &[PgTypeInfo]) -> Result<PgArguments, ConnectorError> {
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
pub(super) fn bind_list(
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
pub(super) struct Untyped {
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

pub(super) fn parse_bool(t: &str) -> Option<bool> {
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

pub(super) fn parse_datetime_tz(t: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(t.trim())
        .ok()
        .or_else(|| parse_naive_datetime(t).map(|n| n.and_utc().fixed_offset()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_must_match() {
        let e = bind(&[Param::Text("1".into())], &[]).unwrap_err();
        assert!(matches!(e, ConnectorError::Param { .. }), "{e:?}");
    }
}
