//! `COPY … TO STDOUT (FORMAT csv)` for exports: the statement, and the fixes that make its
//! fields print as the row path prints them (booleans, timestamps in ISO 8601).
use crate::model::query::Column;

/// How a column's CSV field from `COPY` becomes the row path's text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Fix {
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
pub(super) fn copy_statement(sql: &str, columns: &[Column]) -> Option<(String, Vec<Fix>)> {
    if columns.is_empty() {
        return None;
    }
    let first = super::super::sql_text::keywords(sql);
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
pub(super) fn fix_record(row: &[u8], fixes: &[Fix], out: &mut Vec<u8>) {
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
pub(super) fn iso_field(f: &[u8], utc: bool, out: &mut Vec<u8>) {
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
}
