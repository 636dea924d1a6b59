//! Column types inferred from values, and a value converted to the chosen type.
use super::{
    preview::{display, format_datetime},
    Cell,
};
use crate::model::import::ColumnType;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

pub(super) const INT: u8 = 1;
pub(super) const REAL: u8 = 2;
const BOOL: u8 = 4;
pub(super) const DATE: u8 = 8;
pub(super) const DATETIME: u8 = 16;

pub(super) fn bit(t: ColumnType) -> u8 {
    match t {
        ColumnType::Integer => INT,
        ColumnType::Real => REAL,
        ColumnType::Boolean => BOOL,
        ColumnType::Date => DATE,
        ColumnType::Datetime => DATETIME,
        ColumnType::Text => 0,
    }
}

/// The types a value fits (text always fits).
pub(super) fn fits_mask(c: &Cell) -> u8 {
    match c {
        Cell::Empty => INT | REAL | BOOL | DATE | DATETIME,
        Cell::Int(_) => INT | REAL,
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => INT | REAL,
        Cell::Float(_) => REAL,
        Cell::Bool(_) => BOOL,
        Cell::Date(_) => DATE | DATETIME,
        Cell::DateTime(_) => DATETIME,
        Cell::Error(_) => 0,
        Cell::Text(s) => {
            let s = s.trim();
            // Leading zeros (zip codes, ids) are kept as text.
            let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
            if digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit()
            {
                0
            } else if parse_int(s).is_some() {
                INT | REAL
            } else if parse_float(s).is_some() {
                REAL
            } else if parse_bool_word(s).is_some() {
                BOOL
            } else if parse_date(s).is_some() {
                DATE | DATETIME
            } else if parse_datetime(s).is_some() {
                DATETIME
            } else {
                0
            }
        }
    }
}

/// Which types every value of each column fits so far.
#[derive(Debug, Clone, Default)]
pub(super) struct Inference {
    pub(super) columns: Vec<(u8, bool)>,
}

impl Inference {
    pub(super) fn add(&mut self, row: &[Cell]) {
        if self.columns.len() < row.len() {
            self.columns
                .resize(row.len(), (INT | REAL | BOOL | DATE | DATETIME, false));
        }
        for (i, c) in row.iter().enumerate() {
            if *c != Cell::Empty {
                let col = &mut self.columns[i];
                col.0 &= fits_mask(c);
                col.1 = true;
            }
        }
    }

    pub(super) fn column(&self, i: usize) -> ColumnType {
        match self.columns.get(i) {
            Some(&(mask, true)) => [
                ColumnType::Integer,
                ColumnType::Real,
                ColumnType::Boolean,
                ColumnType::Date,
                ColumnType::Datetime,
            ]
            .into_iter()
            .find(|t| mask & bit(*t) != 0)
            .unwrap_or(ColumnType::Text),
            _ => ColumnType::Text,
        }
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_float(s: &str) -> Option<f64> {
    // Rust also reads "inf" and "NaN"; a number column does not.
    if !s.bytes().any(|b| b.is_ascii_digit())
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn parse_bool_word(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%Y/%m/%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

/// Date and time, ISO-like; with an offset it is converted to UTC. A plain date is midnight.
pub(super) fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, f) {
            return Some(t.naive_utc());
        }
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    parse_date(s).map(|d| d.and_time(NaiveTime::MIN))
}

/// The value to store for a cell in a column of type `ty`, or why it does not fit.
pub(super) fn convert(c: &Cell, ty: ColumnType) -> Result<rusqlite::types::Value, String> {
    use rusqlite::types::Value as V;
    if *c == Cell::Empty {
        return Ok(V::Null);
    }
    let shown = || display(c).unwrap_or_default();
    let quoted = || {
        let s = shown();
        let cut: String = s.chars().take(60).collect();
        if cut.len() < s.len() {
            format!("'{cut}…'")
        } else {
            format!("'{cut}'")
        }
    };
    match ty {
        ColumnType::Text => Ok(V::Text(shown())),
        ColumnType::Integer => match c {
            Cell::Int(i) => Ok(V::Integer(*i)),
            Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(V::Integer(*f as i64)),
            Cell::Text(s) => parse_int(s.trim())
                .or_else(|| {
                    parse_float(s.trim())
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                })
                .map(V::Integer)
                .ok_or_else(|| format!("{} is not a whole number", quoted())),
            _ => Err(format!("{} is not a whole number", quoted())),
        },
        ColumnType::Real => match c {
            Cell::Int(i) => Ok(V::Real(*i as f64)),
            Cell::Float(f) => Ok(V::Real(*f)),
            Cell::Text(s) => parse_float(s.trim())
                .map(V::Real)
                .ok_or_else(|| format!("{} is not a number", quoted())),
            _ => Err(format!("{} is not a number", quoted())),
        },
        ColumnType::Boolean => {
            let b = match c {
                Cell::Bool(b) => Some(*b),
                Cell::Int(0) => Some(false),
                Cell::Int(1) => Some(true),
                Cell::Float(f) if *f == 0.0 || *f == 1.0 => Some(*f == 1.0),
                Cell::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" | "t" | "y" | "1" => Some(true),
                    "false" | "no" | "f" | "n" | "0" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            b.map(|b| V::Integer(i64::from(b)))
                .ok_or_else(|| format!("{} is not true or false", quoted()))
        }
        ColumnType::Date => {
            let d = match c {
                Cell::Date(d) => Some(*d),
                Cell::DateTime(t) => Some(t.date()),
                Cell::Text(s) => parse_datetime(s.trim()).map(|t| t.date()),
                _ => None,
            };
            d.map(|d| V::Text(d.format("%Y-%m-%d").to_string()))
                .ok_or_else(|| format!("{} is not a date (YYYY-MM-DD)", quoted()))
        }
        ColumnType::Datetime => {
            let t = match c {
                Cell::Date(d) => Some(d.and_time(NaiveTime::MIN)),
                Cell::DateTime(t) => Some(*t),
                Cell::Text(s) => parse_datetime(s.trim()),
                _ => None,
            };
            t.map(|t| V::Text(format_datetime(&t)))
                .ok_or_else(|| format!("{} is not a date and time (YYYY-MM-DD HH:MM:SS)", quoted()))
        }
    }
}

pub(super) fn sql_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "INTEGER",
        ColumnType::Real => "REAL",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Datetime => "DATETIME",
        ColumnType::Text => "TEXT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn infer(values: &[Cell]) -> ColumnType {
        let mut inf = Inference::default();
        for v in values {
            inf.add(std::slice::from_ref(v));
        }
        inf.column(0)
    }

    #[test]
    fn types_are_inferred_from_every_value() {
        assert_eq!(
            infer(&[text("1"), text("-2"), Cell::Empty]),
            ColumnType::Integer
        );
        assert_eq!(infer(&[text("1"), text("2.5")]), ColumnType::Real);
        assert_eq!(infer(&[text("1e3"), Cell::Float(2.0)]), ColumnType::Real);
        assert_eq!(
            infer(&[Cell::Float(2.0), Cell::Int(3)]),
            ColumnType::Integer
        );
        assert_eq!(
            infer(&[text("yes"), text("No"), Cell::Bool(true)]),
            ColumnType::Boolean
        );
        assert_eq!(
            infer(&[
                text("2024-01-31"),
                Cell::Date(NaiveDate::from_ymd_opt(2024, 2, 1).unwrap())
            ]),
            ColumnType::Date
        );
        assert_eq!(
            infer(&[text("2024-01-31"), text("2024-01-31 10:00")]),
            ColumnType::Datetime
        );
        assert_eq!(infer(&[text("2024-01-31T10:00:00Z")]), ColumnType::Datetime);
        assert_eq!(infer(&[text("1"), text("abc")]), ColumnType::Text);
        assert_eq!(
            infer(&[text("00123"), text("1")]),
            ColumnType::Text,
            "leading zeros stay text"
        );
        assert_eq!(infer(&[text("inf"), text("NaN")]), ColumnType::Text);
        assert_eq!(infer(&[Cell::Empty]), ColumnType::Text);
        assert_eq!(infer(&[Cell::Error("#DIV/0!".into())]), ColumnType::Text);
    }

    #[test]
    fn values_convert_or_say_why_not() {
        use rusqlite::types::Value as V;
        assert_eq!(
            convert(&text(" 42 "), ColumnType::Integer),
            Ok(V::Integer(42))
        );
        assert_eq!(
            convert(&text("3.0"), ColumnType::Integer),
            Ok(V::Integer(3))
        );
        assert_eq!(
            convert(&text("abc"), ColumnType::Real),
            Err("'abc' is not a number".into())
        );
        assert_eq!(
            convert(&text("3.5"), ColumnType::Integer),
            Err("'3.5' is not a whole number".into())
        );
        assert_eq!(convert(&text("y"), ColumnType::Boolean), Ok(V::Integer(1)));
        assert_eq!(
            convert(&Cell::Int(0), ColumnType::Boolean),
            Ok(V::Integer(0))
        );
        assert_eq!(
            convert(&text("2024-02-30"), ColumnType::Date),
            Err("'2024-02-30' is not a date (YYYY-MM-DD)".into())
        );
        assert_eq!(
            convert(&text("2024-02-03T04:05:06+02:00"), ColumnType::Datetime),
            Ok(V::Text("2024-02-03 02:05:06".into()))
        );
        assert_eq!(
            convert(&Cell::Float(1.5), ColumnType::Text),
            Ok(V::Text("1.5".into()))
        );
        assert_eq!(
            convert(&Cell::Float(7.0), ColumnType::Text),
            Ok(V::Text("7".into()))
        );
        assert_eq!(convert(&Cell::Empty, ColumnType::Integer), Ok(V::Null));
    }
}
