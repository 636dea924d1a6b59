//! Values: the URL form (`p_name=…`, repeated for lists) parsed into typed values against
//! their spec (date presets resolved against today), and typed values back to the URL form.
use super::*;

/// Date range presets for the form: (id accepted by [`parse_value`], label).
pub const DATE_RANGE_PRESETS: &[(&str, &str)] = &[
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("last_7_days", "Last 7 days"),
    ("last_30_days", "Last 30 days"),
    ("last_90_days", "Last 90 days"),
    ("this_week", "This week"),
    ("last_week", "Last week"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
    ("this_year", "This year"),
    ("last_year", "Last year"),
];

/// The inclusive dates a preset stands for on `today`; `None` for an unknown id. Weeks
/// start on Monday; "this …" periods end today.
pub fn preset_range(id: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let days_ago = |n: u64| today.checked_sub_days(Days::new(n));
    let month_start = today.with_day(1)?;
    let quarter_start = NaiveDate::from_ymd_opt(today.year(), (today.month0() / 3) * 3 + 1, 1)?;
    let week_start = days_ago(u64::from(today.weekday().num_days_from_monday()))?;
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1)?;
    Some(match id.to_ascii_lowercase().as_str() {
        "today" => (today, today),
        "yesterday" => (days_ago(1)?, days_ago(1)?),
        "last_7_days" => (days_ago(6)?, today),
        "last_30_days" => (days_ago(29)?, today),
        "last_90_days" => (days_ago(89)?, today),
        "this_week" => (week_start, today),
        "last_week" => (
            week_start.checked_sub_days(Days::new(7))?,
            week_start.checked_sub_days(Days::new(1))?,
        ),
        "this_month" => (month_start, today),
        "last_month" => (
            month_start.checked_sub_months(Months::new(1))?,
            month_start.pred_opt()?,
        ),
        "this_quarter" => (quarter_start, today),
        "last_quarter" => (
            quarter_start.checked_sub_months(Months::new(3))?,
            quarter_start.pred_opt()?,
        ),
        "this_year" => (year_start, today),
        "last_year" => (
            NaiveDate::from_ymd_opt(today.year() - 1, 1, 1)?,
            year_start.pred_opt()?,
        ),
        _ => return None,
    })
}

/// Parses a parameter's URL form (every value of `p_<name>`, in order) into a typed value.
///
/// * Absent (`raw` empty) → the default if there is one, else `Null`.
/// * Present but blank (`p_x=`) → `Null`, so a user can clear a parameter that has a
///   default; a required parameter falls back to its default instead.
/// * `Null` for a required parameter is an error.
///
/// A value of only whitespace counts as blank. Messages name the parameter's label.
pub fn parse_value(
    spec: &ParamSpec,
    raw: &[String],
    today: NaiveDate,
) -> Result<ParamValue, String> {
    let label = spec.display_label();
    let given: Vec<&str> = raw
        .iter()
        .map(String::as_str)
        .filter(|s| !s.trim().is_empty())
        .collect();
    if given.is_empty() {
        let has_default = spec.default.iter().any(|s| !s.trim().is_empty());
        if has_default && (raw.is_empty() || spec.required) {
            let default: Vec<&str> = spec
                .default
                .iter()
                .map(String::as_str)
                .filter(|s| !s.trim().is_empty())
                .collect();
            return parse_items(spec, &default, today);
        }
        if spec.required {
            return Err(format!("{label} is required."));
        }
        return Ok(ParamValue::Null);
    }
    parse_items(spec, &given, today)
}

/// Parses non-blank items: one for a scalar, up to [`MAX_LIST_ITEMS`] for a multi.
pub(super) fn parse_items(
    spec: &ParamSpec,
    items: &[&str],
    today: NaiveDate,
) -> Result<ParamValue, String> {
    let label = spec.display_label();
    if !spec.multi {
        let [item] = items else {
            return Err(format!("{label}: expected a single value."));
        };
        let v = parse_item(spec, item, today).map_err(|m| format!("{label}: {m}"))?;
        check_bounds(spec, &v).map_err(|m| format!("{label}: {m}"))?;
        return Ok(v);
    }
    if items.len() > MAX_LIST_ITEMS {
        return Err(format!("{label}: choose at most {MAX_LIST_ITEMS} values."));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let v = parse_item(spec, item, today).map_err(|m| format!("{label}: {m}"))?;
        check_bounds(spec, &v).map_err(|m| format!("{label}: {m}"))?;
        // Duplicates are dropped; the URL form is a canonical key for equality.
        if seen.insert(item_url(&v)) {
            out.push(v);
        }
    }
    Ok(ParamValue::List(out))
}

/// Parses one non-blank item by kind. The message does not yet name the parameter.
pub(super) fn parse_item(
    spec: &ParamSpec,
    item: &str,
    today: NaiveDate,
) -> Result<ParamValue, String> {
    if item.len() > MAX_VALUE_BYTES {
        return Err("the value is too long.".into());
    }
    let t = item.trim();
    Ok(match spec.kind {
        // Free text is kept as typed; only NUL is refused (no database stores it in text).
        ParamKind::Text | ParamKind::Query => {
            if item.contains('\0') {
                return Err("the value may not contain NUL characters.".into());
            }
            ParamValue::Text(item.to_string())
        }
        ParamKind::Number => ParamValue::Number(
            canonical_number(t).ok_or_else(|| "expected a number like -12.5".to_string())?,
        ),
        ParamKind::Integer => match t.parse::<i64>() {
            Ok(i) => ParamValue::Integer(i),
            Err(e)
                if matches!(
                    e.kind(),
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
                ) =>
            {
                return Err("that number is too large.".into())
            }
            Err(_) => return Err("expected a whole number like 42".into()),
        },
        ParamKind::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => ParamValue::Bool(true),
            "false" | "0" | "no" | "off" => ParamValue::Bool(false),
            _ => return Err("expected true or false".into()),
        },
        ParamKind::Date => ParamValue::Date(
            parse_date(t).ok_or_else(|| "expected a date like 2024-05-01".to_string())?,
        ),
        ParamKind::DateTime => ParamValue::DateTime(
            parse_datetime(t)
                .ok_or_else(|| "expected a date and time like 2024-05-01T13:45".to_string())?,
        ),
        ParamKind::DateRange => {
            let (start, end) = if let Some((a, b)) = t.split_once('~') {
                match (parse_date(a.trim()), parse_date(b.trim())) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return Err(range_hint()),
                }
            } else if let Some(d) = parse_date(t) {
                (d, d)
            } else {
                preset_range(t, today).ok_or_else(range_hint)?
            };
            if start > end {
                return Err(format!(
                    "the start date {start} is after the end date {end}."
                ));
            }
            ParamValue::Range { start, end }
        }
        ParamKind::Enum => {
            let found = spec
                .options
                .iter()
                .find(|o| o.value == item)
                .or_else(|| spec.options.iter().find(|o| o.value == t));
            match found {
                Some(o) => ParamValue::Text(o.value.clone()),
                None => {
                    let mut names: Vec<&str> = spec
                        .options
                        .iter()
                        .take(10)
                        .map(|o| {
                            if o.label.is_empty() {
                                o.value.as_str()
                            } else {
                                o.label.as_str()
                            }
                        })
                        .collect();
                    if spec.options.len() > 10 {
                        names.push("…");
                    }
                    return Err(format!("choose one of: {}.", names.join(", ")));
                }
            }
        }
    })
}

pub(super) fn range_hint() -> String {
    "expected a date range like 2024-01-01~2024-01-31 or a preset such as last_7_days".into()
}

/// Applies `min`, `max` and `pattern` to one parsed item. Unparseable bounds are ignored
/// here: [`validate_specs`] refuses them when the insight is saved.
pub(super) fn check_bounds(spec: &ParamSpec, v: &ParamValue) -> Result<(), String> {
    let (min, max) = (nonblank(&spec.min), nonblank(&spec.max));
    let number = match v {
        ParamValue::Integer(i) => Some(i.to_string()),
        ParamValue::Number(n) => Some(n.clone()),
        _ => None,
    };
    let midnight = |d: &NaiveDate| d.and_time(NaiveTime::MIN);
    let span = match v {
        ParamValue::Date(d) => Some((midnight(d), midnight(d))),
        ParamValue::DateTime(t) => Some((*t, *t)),
        ParamValue::Range { start, end } => Some((midnight(start), midnight(end))),
        _ => None,
    };
    if let Some(d) = number {
        if let Some(m) = min.and_then(canonical_number) {
            if cmp_decimal(&d, &m) == Ordering::Less {
                return Err(format!("must be at least {m}."));
            }
        }
        if let Some(m) = max.and_then(canonical_number) {
            if cmp_decimal(&d, &m) == Ordering::Greater {
                return Err(format!("must be at most {m}."));
            }
        }
    }
    if let Some((first, last)) = span {
        if let Some(b) = min {
            if date_bound(spec.kind, b).is_some_and(|m| first < m) {
                return Err(format!("must be on or after {}.", b.trim()));
            }
        }
        if let Some(b) = max {
            // A date-only maximum includes that whole day.
            let limit = match parse_date(b.trim()) {
                Some(d) => d.and_hms_nano_opt(23, 59, 59, 999_999_999),
                None => date_bound(spec.kind, b),
            };
            if limit.is_some_and(|m| last > m) {
                return Err(format!("must be on or before {}.", b.trim()));
            }
        }
    }
    if let (ParamKind::Text, ParamValue::Text(s)) = (spec.kind, v) {
        let n = s.chars().count();
        if let Some(m) = min.and_then(|b| b.trim().parse::<usize>().ok()) {
            if n < m {
                return Err(format!("enter at least {m} characters."));
            }
        }
        if let Some(m) = max.and_then(|b| b.trim().parse::<usize>().ok()) {
            if n > m {
                return Err(format!("enter at most {m} characters."));
            }
        }
        #[cfg(feature = "ssr")]
        if let Some(p) = nonblank(&spec.pattern) {
            let re = pattern_regex(p).map_err(|_| {
                "the parameter's pattern is invalid; ask the insight's author to fix it."
                    .to_string()
            })?;
            if !re.is_match(s) {
                return Err(format!("the value must match the pattern {p}."));
            }
        }
    }
    Ok(())
}

/// A `min`/`max` date bound: a date, or for `DateTime` also a date and time.
pub(super) fn date_bound(kind: ParamKind, b: &str) -> Option<NaiveDateTime> {
    let b = b.trim();
    parse_date(b)
        .map(|d| d.and_time(NaiveTime::MIN))
        .or_else(|| {
            (kind == ParamKind::DateTime)
                .then(|| parse_datetime(b))
                .flatten()
        })
}

/// The URL form of a value: what [`parse_value`] turns back into the same value. `Null` is
/// one blank item (present but empty), so a cleared parameter stays cleared. Ranges are
/// written as explicit `start~end` dates, also when they came from a preset.
pub fn to_url(_spec: &ParamSpec, v: &ParamValue) -> Vec<String> {
    match v {
        ParamValue::Null => vec![String::new()],
        ParamValue::List(items) => items.iter().map(item_url).collect(),
        other => vec![item_url(other)],
    }
}

/// The URL text of one scalar value.
pub(super) fn item_url(v: &ParamValue) -> String {
    match v {
        ParamValue::Null => String::new(),
        ParamValue::Text(s) | ParamValue::Number(s) => s.clone(),
        ParamValue::Integer(i) => i.to_string(),
        ParamValue::Bool(b) => b.to_string(),
        ParamValue::Date(d) => d.format("%Y-%m-%d").to_string(),
        ParamValue::DateTime(t) => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        ParamValue::Range { start, end } => {
            format!("{}~{}", start.format("%Y-%m-%d"), end.format("%Y-%m-%d"))
        }
        // Lists don't nest; write the items joined so the key stays unique.
        ParamValue::List(items) => items.iter().map(item_url).collect::<Vec<_>>().join(","),
    }
}

pub(super) fn nonblank(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

/// ASCII digits as a number; `None` if any byte is not a digit.
pub(super) fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |n, d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// Exactly `YYYY-MM-DD`.
pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    parse_date_bytes(s.as_bytes())
}

pub(super) fn parse_date_bytes(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(digits(&b[..4])? as i32, digits(&b[5..7])?, digits(&b[8..])?)
}

/// `YYYY-MM-DDTHH:MM`, optionally `:SS` and `.fraction` (up to nanoseconds); `T` or a space.
pub(super) fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 16 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    let date = parse_date_bytes(&b[..10])?;
    let (h, m) = (digits(&b[11..13])?, digits(&b[14..16])?);
    let (mut sec, mut nano) = (0, 0);
    let rest = &b[16..];
    if !rest.is_empty() {
        if rest.len() < 3 || rest[0] != b':' {
            return None;
        }
        sec = digits(&rest[1..3])?;
        let frac = &rest[3..];
        if !frac.is_empty() {
            if frac[0] != b'.' || frac.len() < 2 || frac.len() > 10 {
                return None;
            }
            nano = digits(&frac[1..])? * 10u32.pow(10 - frac.len() as u32);
        }
    }
    Some(date.and_time(NaiveTime::from_hms_nano_opt(h, m, sec, nano)?))
}

/// Parses a decimal in plain (`-12.50`, `.5`) or scientific (`1e3`) notation into canonical
/// plain text: no exponent, no leading or trailing zeros, `0` for zero. NaN and infinity are
/// not numbers here.
pub(super) fn canonical_number(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() > MAX_NUMBER_CHARS {
        return None;
    }
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(p) => (&rest[..p], Some(&rest[p + 1..])),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |x: &str| x.bytes().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let exp: i64 = match exp {
        None => 0,
        Some(e) => {
            let body = e.strip_prefix(['+', '-']).unwrap_or(e);
            if body.is_empty() || body.len() > 4 || !all_digits(body) {
                return None;
            }
            e.parse().ok()?
        }
    };
    if exp.abs() > MAX_EXPONENT {
        return None;
    }
    // value = 0.<digits> × 10^point
    let all = format!("{int}{frac}");
    let lead = all.bytes().take_while(|&c| c == b'0').count();
    let digits = all[lead..].trim_end_matches('0');
    if digits.is_empty() {
        return Some("0".into());
    }
    let point = int.len() as i64 + exp - lead as i64;
    let len = digits.len() as i64;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= len {
        format!("{digits}{}", "0".repeat((point - len) as usize))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    Some(if neg { format!("-{body}") } else { body })
}

/// Orders two canonical decimals (as made by [`canonical_number`]).
pub(super) fn cmp_decimal(a: &str, b: &str) -> Ordering {
    let split = |s: &str| {
        let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        (neg, i.to_string(), f.to_string())
    };
    let (an, ai, af) = split(a);
    let (bn, bi, bf) = split(b);
    // Canonical form: integer parts have no leading zeros and fractions no trailing zeros,
    // so length then text orders integer parts, and plain text orders fractions.
    let abs = ai.len().cmp(&bi.len()).then(ai.cmp(&bi)).then(af.cmp(&bf));
    match (an, bn) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => abs,
        (true, true) => abs.reverse(),
    }
}

/// At most 40 characters of a user string, for messages.
pub fn clip(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(40).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::fixtures::*;

    #[test]
    fn every_kind_parses_valid_input() {
        use ParamValue as V;
        let cases: Vec<(ParamSpec, &str, ParamValue)> = vec![
            (spec("t", ParamKind::Text), " a b ", text(" a b ")),
            (spec("t", ParamKind::Text), "O'Brien", text("O'Brien")),
            (
                spec("n", ParamKind::Number),
                "-12.5",
                V::Number("-12.5".into()),
            ),
            (spec("n", ParamKind::Number), " 42 ", V::Number("42".into())),
            (spec("i", ParamKind::Integer), "-42", V::Integer(-42)),
            (spec("i", ParamKind::Integer), "+7", V::Integer(7)),
            (
                spec("i", ParamKind::Integer),
                "9223372036854775807",
                V::Integer(i64::MAX),
            ),
            (spec("b", ParamKind::Boolean), "true", V::Bool(true)),
            (spec("b", ParamKind::Boolean), "YES", V::Bool(true)),
            (spec("b", ParamKind::Boolean), "1", V::Bool(true)),
            (spec("b", ParamKind::Boolean), "on", V::Bool(true)),
            (spec("b", ParamKind::Boolean), "False", V::Bool(false)),
            (spec("b", ParamKind::Boolean), "no", V::Bool(false)),
            (spec("b", ParamKind::Boolean), "0", V::Bool(false)),
            (
                spec("d", ParamKind::Date),
                "2024-02-29",
                V::Date(d("2024-02-29")),
            ),
            (
                spec("t", ParamKind::DateTime),
                "2024-05-01T13:45",
                V::DateTime(d("2024-05-01").and_hms_opt(13, 45, 0).unwrap()),
            ),
            (
                spec("t", ParamKind::DateTime),
                "2024-05-01 13:45:07",
                V::DateTime(d("2024-05-01").and_hms_opt(13, 45, 7).unwrap()),
            ),
            (
                spec("t", ParamKind::DateTime),
                "2024-05-01T13:45:07.25",
                V::DateTime(d("2024-05-01").and_hms_milli_opt(13, 45, 7, 250).unwrap()),
            ),
            (
                spec("r", ParamKind::DateRange),
                "2024-01-01~2024-01-31",
                V::Range {
                    start: d("2024-01-01"),
                    end: d("2024-01-31"),
                },
            ),
            (
                spec("r", ParamKind::DateRange),
                "2024-01-05",
                V::Range {
                    start: d("2024-01-05"),
                    end: d("2024-01-05"),
                },
            ),
            (status_enum(), "inactive", text("inactive")),
            (spec("q", ParamKind::Query), "Paris", text("Paris")),
        ];
        for (s, input, want) in cases {
            assert_eq!(parse(&s, &[input]), Ok(want), "{:?} {input:?}", s.kind);
        }
    }

    #[test]
    fn every_kind_rejects_invalid_input_with_a_message_naming_the_parameter() {
        let cases: Vec<(ParamSpec, &str, &str)> = vec![
            (
                labeled("n", "Amount", ParamKind::Number),
                "12,5",
                "Amount: expected a number like -12.5",
            ),
            (
                labeled("n", "Amount", ParamKind::Number),
                "NaN",
                "Amount: expected a number",
            ),
            (
                labeled("n", "Amount", ParamKind::Number),
                "inf",
                "Amount: expected a number",
            ),
            (
                labeled("n", "Amount", ParamKind::Number),
                "1e",
                "Amount: expected a number",
            ),
            (
                labeled("n", "Amount", ParamKind::Number),
                "1e99999",
                "Amount: expected a number",
            ),
            (
                labeled("n", "Amount", ParamKind::Number),
                "--1",
                "Amount: expected a number",
            ),
            (
                labeled("n", "Amount", ParamKind::Number),
                ".",
                "Amount: expected a number",
            ),
            (
                labeled("i", "Count", ParamKind::Integer),
                "1.5",
                "Count: expected a whole number like 42",
            ),
            (
                labeled("i", "Count", ParamKind::Integer),
                "1e3",
                "Count: expected a whole number",
            ),
            (
                labeled("i", "Count", ParamKind::Integer),
                "9223372036854775808",
                "Count: that number is too large.",
            ),
            (
                labeled("b", "Active", ParamKind::Boolean),
                "maybe",
                "Active: expected true or false",
            ),
            (
                labeled("d", "Start date", ParamKind::Date),
                "2024-5-1",
                "Start date: expected a date like 2024-05-01",
            ),
            (
                labeled("d", "Start date", ParamKind::Date),
                "2023-02-29",
                "Start date: expected a date like 2024-05-01",
            ),
            (
                labeled("d", "Start date", ParamKind::Date),
                "01/05/2024",
                "Start date: expected a date",
            ),
            (
                labeled("d", "Start date", ParamKind::Date),
                "2024-01-0١",
                "Start date: expected a date",
            ),
            (
                labeled("t", "At", ParamKind::DateTime),
                "2024-05-01",
                "At: expected a date and time like 2024-05-01T13:45",
            ),
            (
                labeled("t", "At", ParamKind::DateTime),
                "2024-05-01T25:00",
                "At: expected a date and time",
            ),
            (
                labeled("t", "At", ParamKind::DateTime),
                "2024-05-01T13:45:07.",
                "At: expected a date and time",
            ),
            (
                labeled("t", "At", ParamKind::DateTime),
                "2024-05-01T13:45Z",
                "At: expected a date and time",
            ),
            (
                labeled("r", "Period", ParamKind::DateRange),
                "2024-01-01~",
                "Period: expected a date range like 2024-01-01~2024-01-31",
            ),
            (
                labeled("r", "Period", ParamKind::DateRange),
                "last_8_days",
                "Period: expected a date range",
            ),
            (
                labeled("r", "Period", ParamKind::DateRange),
                "2024-02-01~2024-01-01",
                "Period: the start date 2024-02-01 is after the end date 2024-01-01.",
            ),
            (
                status_enum(),
                "deleted",
                "Status: choose one of: ACTIVE, INACTIVE, BANNED.",
            ),
            (status_enum(), "ACTIVE", "Status: choose one of"),
            (
                labeled("t", "Name", ParamKind::Text),
                "a\0b",
                "Name: the value may not contain NUL characters.",
            ),
        ];
        for (s, input, want) in cases {
            let got = parse(&s, &[input]).unwrap_err();
            assert!(
                got.starts_with(want),
                "{input:?}: got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn numbers_are_canonical_plain_decimals() {
        for (input, want) in [
            ("0", "0"),
            ("-0", "0"),
            ("-0.000", "0"),
            ("007", "7"),
            ("12.50", "12.5"),
            ("-12.5", "-12.5"),
            ("+3", "3"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e3", "1000"),
            ("1E+3", "1000"),
            ("-2.5e-3", "-0.0025"),
            ("123.456e1", "1234.56"),
            ("0.00120e2", "0.12"),
            (
                "12345678901234567890.123456789",
                "12345678901234567890.123456789",
            ),
        ] {
            assert_eq!(canonical_number(input).as_deref(), Some(want), "{input}");
        }
        for (a, b, want) in [
            ("1", "2", Ordering::Less),
            ("10", "9", Ordering::Greater),
            ("-10", "-9", Ordering::Less),
            ("-1", "0", Ordering::Less),
            ("0.5", "0.45", Ordering::Greater),
            ("0.5", "0.5", Ordering::Equal),
            ("-0.5", "-0.45", Ordering::Less),
        ] {
            assert_eq!(cmp_decimal(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn absent_values_take_the_default_and_blank_values_clear_it() {
        let mut s = labeled("region", "Region", ParamKind::Text);
        assert_eq!(parse(&s, &[]), Ok(ParamValue::Null));
        assert_eq!(parse(&s, &[""]), Ok(ParamValue::Null));
        assert_eq!(parse(&s, &["  ", ""]), Ok(ParamValue::Null));
        s.default = raw(&["EU"]);
        assert_eq!(parse(&s, &[]), Ok(text("EU")));
        assert_eq!(
            parse(&s, &[""]),
            Ok(ParamValue::Null),
            "a cleared field stays cleared"
        );
        assert_eq!(parse(&s, &["US"]), Ok(text("US")));
        s.required = true;
        assert_eq!(
            parse(&s, &[""]),
            Ok(text("EU")),
            "required falls back to the default"
        );
        s.default.clear();
        assert_eq!(parse(&s, &[]), Err("Region is required.".into()));
        assert_eq!(parse(&s, &[" "]), Err("Region is required.".into()));
        assert_eq!(
            parse(&s, &["a", "b"]),
            Err("Region: expected a single value.".into())
        );
    }

    #[test]
    fn defaults_parse_like_values_and_presets_resolve_against_today() {
        let s = ParamSpec {
            default: raw(&["last_7_days"]),
            ..spec("period", ParamKind::DateRange)
        };
        assert_eq!(
            parse(&s, &[]),
            Ok(ParamValue::Range {
                start: d("2024-03-08"),
                end: d("2024-03-14")
            })
        );
        let s = ParamSpec {
            default: raw(&["10"]),
            ..spec("n", ParamKind::Integer)
        };
        assert_eq!(parse(&s, &[]), Ok(ParamValue::Integer(10)));
        let s = ParamSpec {
            multi: true,
            default: raw(&["active", "banned"]),
            ..status_enum()
        };
        assert_eq!(parse(&s, &[]), Ok(list(&["active", "banned"])));
    }

    #[test]
    fn every_preset_resolves_relative_to_today() {
        let want = [
            ("today", "2024-03-14", "2024-03-14"),
            ("yesterday", "2024-03-13", "2024-03-13"),
            ("last_7_days", "2024-03-08", "2024-03-14"),
            ("last_30_days", "2024-02-14", "2024-03-14"),
            ("last_90_days", "2023-12-16", "2024-03-14"),
            ("this_week", "2024-03-11", "2024-03-14"),
            ("last_week", "2024-03-04", "2024-03-10"),
            ("this_month", "2024-03-01", "2024-03-14"),
            ("last_month", "2024-02-01", "2024-02-29"),
            ("this_quarter", "2024-01-01", "2024-03-14"),
            ("last_quarter", "2023-10-01", "2023-12-31"),
            ("this_year", "2024-01-01", "2024-03-14"),
            ("last_year", "2023-01-01", "2023-12-31"),
        ];
        assert_eq!(want.len(), DATE_RANGE_PRESETS.len());
        let s = spec("period", ParamKind::DateRange);
        for ((id, start, end), (preset, _label)) in want.iter().zip(DATE_RANGE_PRESETS) {
            assert_eq!(id, preset, "presets are listed in this order");
            let range = ParamValue::Range {
                start: d(start),
                end: d(end),
            };
            assert_eq!(parse(&s, &[id]), Ok(range.clone()), "{id}");
            assert_eq!(
                parse(&s, &[&id.to_uppercase()]),
                Ok(range),
                "{id} upper-case"
            );
        }
        // Week and quarter edges: on a Monday this_week is one day; in May the quarter is Q2.
        assert_eq!(
            preset_range("this_week", d("2024-03-11")),
            Some((d("2024-03-11"), d("2024-03-11")))
        );
        assert_eq!(
            preset_range("last_week", d("2024-03-10")),
            Some((d("2024-02-26"), d("2024-03-03")))
        );
        assert_eq!(
            preset_range("this_quarter", d("2024-05-20")),
            Some((d("2024-04-01"), d("2024-05-20")))
        );
        assert_eq!(
            preset_range("last_quarter", d("2024-05-20")),
            Some((d("2024-01-01"), d("2024-03-31")))
        );
        assert_eq!(
            preset_range("last_month", d("2024-01-31")),
            Some((d("2023-12-01"), d("2023-12-31")))
        );
        assert_eq!(preset_range("next_week", today()), None);
    }

    #[test]
    fn multi_values_are_deduplicated_in_order_and_capped() {
        let s = ParamSpec {
            multi: true,
            ..status_enum()
        };
        assert_eq!(
            parse(&s, &["banned", "active", "banned", "", "active"]),
            Ok(list(&["banned", "active"]))
        );
        assert!(parse(&s, &["active", "nope"])
            .unwrap_err()
            .starts_with("Status: choose one of"));
        let t = ParamSpec {
            multi: true,
            ..labeled("tags", "Tags", ParamKind::Text)
        };
        assert_eq!(parse(&t, &["a", " b", "a"]), Ok(list(&["a", " b"])));
        let many: Vec<String> = (0..=MAX_LIST_ITEMS).map(|i| i.to_string()).collect();
        assert_eq!(
            parse_value(&t, &many, today()),
            Err("Tags: choose at most 1000 values.".into())
        );
        assert!(parse_value(&t, &many[1..], today()).is_ok());
        // One value is still a list.
        assert_eq!(parse(&t, &["x"]), Ok(list(&["x"])));
    }

    #[test]
    fn min_and_max_apply_to_every_kind_that_has_them() {
        let bounded = |kind, min: &str, max: &str| ParamSpec {
            min: Some(min.into()),
            max: Some(max.into()),
            ..labeled("x", "X", kind)
        };
        let n = bounded(ParamKind::Number, "-1.5", "1e2");
        assert!(parse(&n, &["-1.5"]).is_ok());
        assert!(parse(&n, &["100"]).is_ok());
        assert_eq!(
            parse(&n, &["-1.51"]),
            Err("X: must be at least -1.5.".into())
        );
        assert_eq!(
            parse(&n, &["100.001"]),
            Err("X: must be at most 100.".into())
        );

        let i = bounded(ParamKind::Integer, "1", "10");
        assert!(parse(&i, &["10"]).is_ok());
        assert_eq!(parse(&i, &["0"]), Err("X: must be at least 1.".into()));
        assert_eq!(parse(&i, &["11"]), Err("X: must be at most 10.".into()));

        let t = bounded(ParamKind::Text, "2", "3");
        assert!(
            parse(&t, &["éé"]).is_ok(),
            "lengths count characters, not bytes"
        );
        assert_eq!(
            parse(&t, &["a"]),
            Err("X: enter at least 2 characters.".into())
        );
        assert_eq!(
            parse(&t, &["abcd"]),
            Err("X: enter at most 3 characters.".into())
        );

        let dd = bounded(ParamKind::Date, "2024-01-01", "2024-12-31");
        assert!(parse(&dd, &["2024-12-31"]).is_ok());
        assert_eq!(
            parse(&dd, &["2023-12-31"]),
            Err("X: must be on or after 2024-01-01.".into())
        );
        assert_eq!(
            parse(&dd, &["2025-01-01"]),
            Err("X: must be on or before 2024-12-31.".into())
        );

        let t = bounded(ParamKind::DateTime, "2024-01-01T08:00", "2024-12-31");
        assert!(
            parse(&t, &["2024-12-31T23:59:59"]).is_ok(),
            "a date maximum includes the day"
        );
        assert!(parse(&t, &["2024-01-01T07:59"]).is_err());
        assert!(parse(&t, &["2025-01-01T00:00"]).is_err());

        let r = bounded(ParamKind::DateRange, "2024-01-01", "2024-03-10");
        assert!(parse(&r, &["2024-01-01~2024-03-10"]).is_ok());
        assert!(parse(&r, &["2023-12-31~2024-01-05"])
            .unwrap_err()
            .contains("on or after"));
        assert!(parse(&r, &["this_month"])
            .unwrap_err()
            .contains("on or before 2024-03-10"));

        let multi = ParamSpec {
            multi: true,
            ..bounded(ParamKind::Text, "2", "3")
        };
        assert!(
            parse(&multi, &["ab", "a"]).is_err(),
            "bounds apply to each item"
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn pattern_must_match_the_whole_value() {
        let s = ParamSpec {
            pattern: Some("[A-Z]{2}|EU".into()),
            ..labeled("c", "Country", ParamKind::Text)
        };
        assert_eq!(parse(&s, &["FR"]), Ok(text("FR")));
        assert_eq!(parse(&s, &["EU"]), Ok(text("EU")));
        assert_eq!(
            parse(&s, &["FRA"]),
            Err("Country: the value must match the pattern [A-Z]{2}|EU.".into())
        );
        assert!(parse(&s, &["xFR"]).is_err());
        assert!(validate_specs(&[ParamSpec {
            pattern: Some("[a-".into()),
            ..spec("c", ParamKind::Text)
        }])
        .unwrap_err()
        .1
        .contains("not a valid regular expression"));
    }

    #[test]
    fn url_form_round_trips_for_every_kind() {
        let n = NaiveDate::from_ymd_opt;
        let cases: Vec<(ParamSpec, ParamValue)> = vec![
            (spec("t", ParamKind::Text), text("O'Brien & co ~ 100%")),
            (spec("t", ParamKind::Text), text(" padded ")),
            (
                spec("n", ParamKind::Number),
                ParamValue::Number("-0.0025".into()),
            ),
            (
                spec("n", ParamKind::Number),
                ParamValue::Number("1000".into()),
            ),
            (spec("i", ParamKind::Integer), ParamValue::Integer(i64::MIN)),
            (spec("b", ParamKind::Boolean), ParamValue::Bool(true)),
            (spec("b", ParamKind::Boolean), ParamValue::Bool(false)),
            (
                spec("d", ParamKind::Date),
                ParamValue::Date(d("2024-02-29")),
            ),
            (
                spec("dt", ParamKind::DateTime),
                ParamValue::DateTime(dt("2024-05-01T13:45")),
            ),
            (
                spec("dt", ParamKind::DateTime),
                ParamValue::DateTime(
                    n(2024, 5, 1)
                        .unwrap()
                        .and_hms_nano_opt(1, 2, 3, 123_456_789)
                        .unwrap(),
                ),
            ),
            (
                spec("dt", ParamKind::DateTime),
                ParamValue::DateTime(
                    n(2024, 5, 1)
                        .unwrap()
                        .and_hms_milli_opt(1, 2, 3, 500)
                        .unwrap(),
                ),
            ),
            (
                spec("r", ParamKind::DateRange),
                ParamValue::Range {
                    start: d("2024-01-01"),
                    end: d("2024-12-31"),
                },
            ),
            (status_enum(), text("banned")),
            (spec("q", ParamKind::Query), text("Zürich")),
            (
                ParamSpec {
                    multi: true,
                    ..status_enum()
                },
                list(&["banned", "active"]),
            ),
            (
                ParamSpec {
                    multi: true,
                    ..spec("q", ParamKind::Query)
                },
                list(&["Lyon", "Paris"]),
            ),
            (
                ParamSpec {
                    multi: true,
                    ..spec("t", ParamKind::Text)
                },
                list(&["a,b", "c~d"]),
            ),
        ];
        for (s, v) in cases {
            let url = to_url(&s, &v);
            assert_eq!(parse_value(&s, &url, today()), Ok(v.clone()), "{url:?}");
            // Null survives too, even over a default.
            let with_default = ParamSpec {
                default: to_url(&s, &v),
                ..s.clone()
            };
            let null = to_url(&with_default, &ParamValue::Null);
            assert_eq!(
                parse_value(&with_default, &null, today()),
                Ok(ParamValue::Null)
            );
        }
        // A preset comes back as explicit dates.
        let s = spec("r", ParamKind::DateRange);
        let v = parse(&s, &["last_month"]).unwrap();
        assert_eq!(to_url(&s, &v), raw(&["2024-02-01~2024-02-29"]));
    }
}
