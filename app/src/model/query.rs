//! Query results as the browser and the CLI see them: columns with their database types and
//! cells typed faithfully (numbers stay numbers, `numeric` stays exact, NULL stays null).
use serde::{ser::SerializeSeq, Deserialize, Serialize, Serializer};
use std::borrow::Cow;

/// A result column: its name and the database's name for its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

/// One cell. Serializes to the JSON a person expects: numbers as numbers, exact decimals as
/// JSON numbers with every digit, dates and times as ISO 8601 strings, bytes as `\x…` hex.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// An exact decimal in plain notation (`-12.3400`), or `NaN`/`Infinity`.
    Decimal(String),
    Text(String),
    Bytes(Vec<u8>),
    Json(serde_json::Value),
    /// `2024-05-01`
    Date(String),
    /// `13:45:00` or `13:45:00.123456`, with `+02:00` for `timetz`
    Time(String),
    /// `2024-05-01T13:45:00` (no zone)
    Timestamp(String),
    /// `2024-05-01T11:45:00Z`
    TimestampTz(String),
    /// ISO 8601 duration, e.g. `P1Y2M3DT4H5M6.5S`
    Interval(String),
    Uuid(String),
    Array(Vec<Value>),
}

impl Value {
    /// The text a grid or CSV shows for this value (`None` for NULL).
    pub fn display(&self) -> Option<String> {
        self.text().map(Cow::into_owned)
    }

    /// [`Value::display`] without copying text that is already held as text.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::UInt(u) => Cow::Owned(u.to_string()),
            Value::Float(f) => Cow::Owned(float_text(*f)),
            Value::Decimal(s)
            | Value::Text(s)
            | Value::Date(s)
            | Value::Time(s)
            | Value::Timestamp(s)
            | Value::TimestampTz(s)
            | Value::Interval(s)
            | Value::Uuid(s) => Cow::Borrowed(s.as_str()),
            Value::Bytes(b) => Cow::Owned(hex(b)),
            Value::Json(j) => Cow::Owned(j.to_string()),
            Value::Array(items) => Cow::Owned(serde_json::to_string(items).unwrap_or_default()),
        })
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        f.to_string()
    }
}

/// `\x` followed by lower-case hex, as PostgreSQL prints bytea.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("\\x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// True when `s` is a finite decimal that JSON can carry as a number unchanged.
fn is_json_number(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'))
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (frac.is_empty() != body.contains('.'))
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(f) => s.serialize_str(&float_text(*f)),
            Value::Decimal(d) if is_json_number(d) => {
                match serde_json::value::RawValue::from_string(d.clone()) {
                    Ok(raw) => raw.serialize(s),
                    Err(_) => s.serialize_str(d),
                }
            }
            Value::Json(j) => j.serialize(s),
            Value::Bytes(b) => s.serialize_str(&hex(b)),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            other => s.serialize_str(&other.display().unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialize_faithfully() {
        let row = vec![
            Value::Null,
            Value::Int(-7),
            Value::UInt(u64::MAX),
            Value::Float(1.5),
            Value::Float(f64::NAN),
            Value::Decimal("12345678901234567890.000000000123".into()),
            Value::Decimal("NaN".into()),
            Value::Bytes(vec![0xde, 0xad]),
            Value::Json(serde_json::json!({"a": [1, null]})),
            Value::TimestampTz("2024-05-01T11:45:00Z".into()),
            Value::Array(vec![Value::Int(1), Value::Null]),
        ];
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            r#"[null,-7,18446744073709551615,1.5,"NaN",12345678901234567890.000000000123,"NaN","\\xdead",{"a":[1,null]},"2024-05-01T11:45:00Z",[1,null]]"#
        );
    }

    #[test]
    fn only_plain_decimals_become_json_numbers() {
        for ok in ["0", "-1", "12.50", "0.001"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e5", "NaN", "Infinity", "1.2.3", "+1",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
