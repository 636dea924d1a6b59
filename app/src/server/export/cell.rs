//! One XLSX cell: numbers kept numbers only when Excel keeps every digit, dates as dates,
//! text cut at Excel's limit, and column widths from the first rows.
use super::{xlsx::Styles, BodySender, Chunk, XLSX_CHUNK, XLSX_MAX_TEXT};
use crate::model::query::{Column, Value};
use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use rust_xlsxwriter::{ColNum, RowNum, Worksheet, XlsxError};
use std::{
    borrow::Cow,
    io::{self, Write},
};

/// Widths from the header and the first row's kinds, so dates show instead of `####`.
pub(super) fn set_widths(
    sheet: &mut Worksheet,
    columns: &[Column],
    first: &[Value],
) -> Result<(), XlsxError> {
    for (col, c) in columns.iter().enumerate() {
        let kind = match first.get(col) {
            Some(Value::Date(_)) => 12,
            Some(Value::Timestamp(_) | Value::TimestampTz(_)) => 20,
            _ => 10,
        };
        let width = (c.name.chars().count() + 2).clamp(kind, 50);
        let col = ColNum::try_from(col).map_err(|_| XlsxError::RowColumnLimitError)?;
        sheet.set_column_width(col, width as f64)?;
    }
    Ok(())
}

/// Writes one cell as the Excel type that keeps it faithful; returns a rough count of the
/// XML it adds.
pub(super) fn write_cell(
    sheet: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    v: Value,
    styles: &Styles,
) -> Result<usize, XlsxError> {
    const CELL: usize = 48;
    let text = match v {
        Value::Null => return Ok(0),
        Value::Bool(b) => {
            sheet.write_boolean(row, col, b)?;
            return Ok(CELL);
        }
        Value::Int(i) => match exact_int(i.unsigned_abs(), i < 0) {
            Some(n) => return number(sheet, row, col, n),
            None => i.to_string(),
        },
        Value::UInt(u) => match exact_int(u, false) {
            Some(n) => return number(sheet, row, col, n),
            None => u.to_string(),
        },
        Value::Float(f) if f.is_finite() => return number(sheet, row, col, f),
        Value::Decimal(d) => match exact_number(&d) {
            Some(n) => return number(sheet, row, col, n),
            None => d,
        },
        Value::Date(s) => match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) if excel_year(d.year()) => {
                sheet.write_datetime_with_format(row, col, d, &styles.date)?;
                return Ok(CELL);
            }
            _ => s,
        },
        Value::Timestamp(s) => match parse_timestamp(&s).filter(|t| excel_year(t.year())) {
            Some(t) => {
                sheet.write_datetime_with_format(row, col, t, &styles.datetime)?;
                return Ok(CELL);
            }
            None => s,
        },
        Value::TimestampTz(s) => match DateTime::parse_from_rfc3339(&s)
            .map(|t| t.naive_utc())
            .ok()
            .filter(|t| excel_year(t.year()))
        {
            Some(t) => {
                sheet.write_datetime_with_format(row, col, t, &styles.datetime)?;
                return Ok(CELL);
            }
            None => s,
        },
        Value::Text(s) | Value::Time(s) | Value::Interval(s) | Value::Uuid(s) => s,
        other => other.text().map(Cow::into_owned).unwrap_or_default(),
    };
    let len = text.len();
    sheet.write_string(row, col, excel_text(text))?;
    Ok(CELL + len)
}

pub(super) fn number(
    sheet: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    n: f64,
) -> Result<usize, XlsxError> {
    sheet.write_number(row, col, n)?;
    Ok(48)
}

/// Excel's calendar runs from 1900 to 9999.
fn excel_year(year: i32) -> bool {
    (1900..=9999).contains(&year)
}

fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
}

/// An integer as a number when Excel keeps every digit (at most 15 significant).
pub(super) fn exact_int(magnitude: u64, negative: bool) -> Option<f64> {
    if magnitude < 1_000_000_000_000_000 {
        let n = magnitude as f64;
        return Some(if negative { -n } else { n });
    }
    let mut buf = itoa::Buffer::new();
    let n = exact_number(buf.format(magnitude))?;
    Some(if negative { -n } else { n })
}

/// A plain decimal as a number when an `f64` (and Excel, which shows 15 digits) keeps it
/// exactly: at most 15 significant digits, within Excel's range.
pub(super) fn exact_number(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !plain(int) || !plain(frac) {
        return None;
    }
    let digits = || int.bytes().chain(frac.bytes());
    let total = int.len() + frac.len();
    let significant = match digits().position(|b| b != b'0') {
        None => 0,
        Some(first) => {
            let trailing = digits().rev().take_while(|&b| b == b'0').count();
            total - first - trailing
        }
    };
    if significant > 15 {
        return None;
    }
    let n: f64 = text.parse().ok()?;
    if n == 0.0 {
        return Some(0.0); // not -0
    }
    (1e-307..1e308).contains(&n.abs()).then_some(n)
}

/// Text Excel accepts: cut at its cell limit, ending with "…".
pub(super) fn excel_text(mut s: String) -> String {
    // UTF-8 is never shorter than UTF-16 in units, so short byte lengths need no count.
    if s.len() <= XLSX_MAX_TEXT {
        return s;
    }
    let mut units = 0;
    let mut cut = None;
    for (i, ch) in s.char_indices() {
        units += ch.len_utf16();
        if units > XLSX_MAX_TEXT - 1 && cut.is_none() {
            cut = Some(i);
        }
        if units > XLSX_MAX_TEXT {
            break;
        }
    }
    if units <= XLSX_MAX_TEXT {
        return s;
    }
    if let Some(i) = cut {
        s.truncate(i);
    }
    s.push('…');
    s
}

/// The zip stream into the body, in chunks; blocks the writer thread while the client lags.
pub(super) struct ChunkWriter {
    pub(super) buf: Vec<u8>,
    pub(super) body: BodySender,
}

impl ChunkWriter {
    pub(super) fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(XLSX_CHUNK));
        self.body.sent(chunk.len());
        self.body
            .tx
            .blocking_send(Chunk::Data(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the download was cancelled"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= XLSX_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    /// Chunks go out when full, the rest after the save: small flushes would mean small chunks.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
