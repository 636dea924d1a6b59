//! Formula injection: text a spreadsheet would run as a formula is neutralized in CSV and
//! kept a string cell in XLSX.
/// Whether CSV exports neutralize cells a spreadsheet would run as formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormulaGuard {
    /// Text starting with `=`, `+`, `-`, `@`, tab or CR (or the full-width `＝＋－＠`) gets a
    /// leading `'`, as OWASP recommends, so a spreadsheet shows it as text. Plain numbers
    /// (`-5`, `+1.5`, `-2e3`) are left alone, and so are values of numeric columns.
    On,
    /// Cells exactly as the database returned them (for programs reading the file).
    Off,
}

impl FormulaGuard {
    pub fn from_setting(on: bool) -> Self {
        if on {
            FormulaGuard::On
        } else {
            FormulaGuard::Off
        }
    }
}

/// Whether a spreadsheet would read `cell` as a formula: it starts with a formula character
/// and is not a plain number (which a spreadsheet reads as that number, harmlessly).
pub fn formula_like(cell: &[u8]) -> bool {
    const WIDE: [&[u8]; 4] = [
        "\u{FF1D}".as_bytes(), // ＝
        "\u{FF0B}".as_bytes(), // ＋
        "\u{FF0D}".as_bytes(), // －
        "\u{FF20}".as_bytes(), // ＠
    ];
    match cell.first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => !plain_number(cell),
        Some(0xEF) => WIDE.iter().any(|w| cell.starts_with(w)),
        _ => false,
    }
}

/// `[+-]digits[.digits][e[+-]digits]`, `[+-].digits`, or `[+-]Infinity`/`NaN`: what numeric
/// columns print.
fn plain_number(cell: &[u8]) -> bool {
    let s = cell
        .strip_prefix(b"+")
        .or_else(|| cell.strip_prefix(b"-"))
        .unwrap_or(cell);
    if s.eq_ignore_ascii_case(b"infinity")
        || s.eq_ignore_ascii_case(b"inf")
        || s.eq_ignore_ascii_case(b"nan")
    {
        return true;
    }
    let (mantissa, exponent) = match s.iter().position(|b| matches!(b, b'e' | b'E')) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &b""[..]),
    };
    let digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
    let mantissa_ok = (!int.is_empty() || !frac.is_empty()) && digits(int) && digits(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e
            .strip_prefix(b"+")
            .or_else(|| e.strip_prefix(b"-"))
            .unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Neutralizes formula-like fields in CSV text as it streams (PostgreSQL's `COPY` output):
/// records are cut at line ends outside quotes, however the bytes are split into chunks.
#[derive(Default)]
pub(super) struct CopyGuard {
    /// The start of a record whose end has not arrived yet.
    pending: Vec<u8>,
    /// Inside a quoted field at the end of `pending`.
    quoted: bool,
}

impl CopyGuard {
    pub(super) fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'"' {
                self.quoted = !self.quoted;
            } else if b == b'\n' && !self.quoted {
                if self.pending.is_empty() {
                    guard_record(&bytes[start..=i], out);
                } else {
                    self.pending.extend_from_slice(&bytes[start..=i]);
                    guard_record(&self.pending, out);
                    self.pending.clear();
                }
                start = i + 1;
            }
        }
        self.pending.extend_from_slice(&bytes[start..]);
    }

    /// The last record when the text did not end with a line break.
    pub(super) fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            guard_record(&self.pending, out);
            self.pending.clear();
        }
        self.quoted = false;
    }
}

/// Appends one CSV record to `out` with a `'` put before the content of every formula-like
/// field (inside its quotes when quoted).
fn guard_record(record: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    loop {
        let start = i;
        let (content, end) = if record.get(i) == Some(&b'"') {
            i += 1;
            while i < record.len() {
                if record[i] == b'"' {
                    if record.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            let content = &record[start + 1..i.min(record.len())];
            i = (i + 1).min(record.len());
            while i < record.len() && !matches!(record[i], b',' | b'\n' | b'\r') {
                i += 1;
            }
            (content, i)
        } else {
            while i < record.len() && !matches!(record[i], b',' | b'\n' | b'\r') {
                i += 1;
            }
            (&record[start..i], i)
        };
        if formula_like(content) {
            if record[start] == b'"' {
                out.extend_from_slice(b"\"'");
                out.extend_from_slice(&record[start + 1..end]);
            } else {
                out.push(b'\'');
                out.extend_from_slice(&record[start..end]);
            }
        } else {
            out.extend_from_slice(&record[start..end]);
        }
        if record.get(end) == Some(&b',') {
            out.push(b',');
            i = end + 1;
        } else {
            out.extend_from_slice(&record[end..]);
            return;
        }
    }
}
