//! Insight parameters: their specs, parsing from the URL form, and compiling `{{name}}`
//! placeholders and `[[ … ]]` optional blocks into driver placeholders. Values are always
//! bound, never spliced into SQL text. Shared by the browser and the server.
use super::connection::ConnectionKind;
use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use std::{
    cmp::Ordering,
    collections::{BTreeMap, HashMap, HashSet},
    ops::Range,
};

/// Most parameters one insight may declare.
pub const MAX_PARAMS: usize = 50;
/// Most values one multi-select parameter may carry.
pub const MAX_LIST_ITEMS: usize = 1000;
/// Most values one compiled query may send. SQLite's default limit, the lowest of the three.
pub const MAX_BOUND_VALUES: usize = 32_766;
/// Longest single value accepted from the URL form, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Longest parameter name: PostgreSQL's identifier limit.
const MAX_NAME_CHARS: usize = 63;
/// Longest number text accepted, and the largest decimal exponent.
const MAX_NUMBER_CHARS: usize = 400;
const MAX_EXPONENT: i64 = 400;

/// What kind of value a parameter takes, and so which input the form shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    #[default]
    Text,
    Number,
    Integer,
    Boolean,
    Date,
    DateTime,
    DateRange,
    Enum,
    Query,
}

/// One choice of an `Enum` parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumOption {
    pub value: String,
    pub label: String,
}

/// A dropdown whose options come from another insight's result (first column = value,
/// second column (if any) = label).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuerySource {
    pub insight_id: i64,
    /// Parameters of the source insight filled from this insight's parameters:
    /// (source param name, this insight's param name), for cascading (country → city).
    #[serde(default)]
    pub depends_on: Vec<(String, String)>,
}

/// A parameter as the insight's author declared it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Identifier used in the SQL as `{{name}}`: `[A-Za-z_][A-Za-z0-9_]{0,62}`.
    pub name: String,
    /// Shown on the form; empty means the name is shown.
    #[serde(default)]
    pub label: String,
    pub kind: ParamKind,
    /// Several values: for `Enum`, `Query` and `Text` (a list of free values).
    #[serde(default)]
    pub multi: bool,
    #[serde(default)]
    pub required: bool,
    /// In URL form (see [`parse_value`]); empty = no default. A date range may default
    /// to a preset such as `last_30_days`, resolved on every run.
    #[serde(default)]
    pub default: Vec<String>,
    /// `Number`/`Integer`: numeric bound; `Date`/`DateTime`/`DateRange`: a date
    /// (`DateTime` also takes a date and time); `Text`: length in characters.
    #[serde(default)]
    pub min: Option<String>,
    #[serde(default)]
    pub max: Option<String>,
    /// `Text` only: a regex the whole value must match (checked on the server only).
    #[serde(default)]
    pub pattern: Option<String>,
    /// `Enum` only.
    #[serde(default)]
    pub options: Vec<EnumOption>,
    /// `Query` only.
    #[serde(default)]
    pub source: Option<QuerySource>,
}

impl ParamSpec {
    /// A spec with only a name and kind set.
    pub fn new(name: impl Into<String>, kind: ParamKind) -> Self {
        ParamSpec {
            name: name.into(),
            label: String::new(),
            kind,
            multi: false,
            required: false,
            default: Vec::new(),
            min: None,
            max: None,
            pattern: None,
            options: Vec::new(),
            source: None,
        }
    }

    /// What the form and messages call this parameter.
    pub fn display_label(&self) -> &str {
        if self.label.trim().is_empty() {
            &self.name
        } else {
            &self.label
        }
    }
}

/// A validated, typed value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ParamValue {
    Null,
    Text(String),
    /// Canonical plain decimal text, e.g. `-12.5` (no exponent, no redundant zeros).
    Number(String),
    Integer(i64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// Inclusive at both ends.
    Range {
        start: NaiveDate,
        end: NaiveDate,
    },
    List(Vec<ParamValue>),
}

impl ParamValue {
    /// True when the value counts as "not given": it drops the optional blocks using it.
    pub fn is_empty(&self) -> bool {
        match self {
            ParamValue::Null => true,
            ParamValue::Text(s) => s.is_empty(),
            ParamValue::List(items) => items.is_empty(),
            _ => false,
        }
    }
}

/// The SQL dialect placeholders are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    Postgres,
    Mysql,
    Sqlite,
}

impl From<ConnectionKind> for Dialect {
    fn from(kind: ConnectionKind) -> Self {
        match kind {
            ConnectionKind::Postgres => Dialect::Postgres,
            ConnectionKind::Mysql => Dialect::Mysql,
            ConnectionKind::Sqlite => Dialect::Sqlite,
        }
    }
}

/// What goes to the driver: the connector converts to the placeholder's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BoundValue {
    Null,
    Text(String),
    Int(i64),
    Number(String),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// PostgreSQL only: one array value (MySQL/SQLite lists are expanded into placeholders).
    List(Vec<BoundValue>),
}

/// SQL with driver placeholders, and the values for them in placeholder order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compiled {
    pub sql: String,
    pub values: Vec<BoundValue>,
}

/// Which end of a date range a placeholder refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangePart {
    Start,
    End,
}

/// One `{{name}}` / `{{name.start}}` occurrence in the SQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref {
    pub name: String,
    pub part: Option<RangePart>,
    /// Byte range of the whole `{{ … }}` in the SQL.
    pub span: Range<usize>,
}

impl Ref {
    /// `name` or `name.start` / `name.end`, as written.
    pub fn display(&self) -> String {
        match self.part {
            None => self.name.clone(),
            Some(RangePart::Start) => format!("{}.start", self.name),
            Some(RangePart::End) => format!("{}.end", self.name),
        }
    }
}

/// Why SQL with parameters could not be compiled. Shown to end users as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum BindError {
    #[error("Parameter {{{{{name}}}}} is inside quotes. Write it bare, e.g. name LIKE '%' || {{{{{name}}}}} || '%' (PostgreSQL/SQLite) or CONCAT('%', {{{{{name}}}}}, '%') (MySQL).")]
    InQuotes { name: String },
    #[error(
        "The {{{{ at line {line}, column {column} is not closed. Write parameters as {{{{name}}}}."
    )]
    Unclosed { line: usize, column: usize },
    #[error("{{{{{text}}}}} at line {line}, column {column} is not a valid parameter. Use a name made of letters, digits and _ such as {{{{start_date}}}}, or {{{{period.start}}}} and {{{{period.end}}}} for a date range.")]
    BadName {
        text: String,
        line: usize,
        column: usize,
    },
    #[error("An optional block [[ starts inside another one at line {line}, column {column}. Close the first block with ]] before opening the next.")]
    NestedBlock { line: usize, column: usize },
    #[error(
        "The optional block [[ at line {line}, column {column} is not closed. End it with ]]."
    )]
    UnclosedBlock { line: usize, column: usize },
    #[error("The SQL uses {{{{{name}}}}} but no parameter {name} is defined. Add it under Parameters or correct the name in the SQL.")]
    Unknown { name: String },
    #[error("{{{{{name}}}}}: only date range parameters have .start and .end. Write {{{{{base}}}}} instead.")]
    PartOnNonRange { name: String, base: String },
    #[error("{{{{{name}}}}} is a date range. Use {{{{{name}.start}}}} and {{{{{name}.end}}}} for its first and last day.")]
    RangeWithoutPart { name: String },
    #[error("{label} is required.")]
    Required { label: String },
    #[error("The SQL uses {{{{name}}}} parameters and also the placeholder {placeholder} at line {line}, column {column}. Use {{{{name}}}} parameters only: mixing the two would send values to the wrong places.")]
    Mixed {
        placeholder: String,
        line: usize,
        column: usize,
    },
    #[error("{label}: {message}")]
    BadValue { label: String, message: String },
    #[error("This run would send {count} values to the database; the limit is {max}. Choose fewer values, or use list parameters fewer times in the SQL.")]
    TooManyValues { count: usize, max: usize },
}

// ---------------------------------------------------------------------------------------------
// Spec validation
// ---------------------------------------------------------------------------------------------

/// True for `[A-Za-z_][A-Za-z0-9_]{0,62}`.
pub fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_CHARS
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Checks the specs an editor saves. The error names the offending parameter (or `params`
/// for the list as a whole) and says what to change. Fields that do not apply to a kind
/// (options on a number, say) are ignored, so switching kinds in the editor never blocks.
pub fn validate_specs(specs: &[ParamSpec]) -> Result<(), (String, String)> {
    if specs.len() > MAX_PARAMS {
        return Err((
            "params".into(),
            format!("An insight can have at most {MAX_PARAMS} parameters."),
        ));
    }
    let mut seen = HashSet::new();
    for spec in specs {
        let err = |m: String| Err((spec.name.clone(), m));
        if !is_valid_name(&spec.name) {
            return err(format!(
                "“{}” is not a valid parameter name. Use letters, digits and _, starting with a letter or _ (at most {MAX_NAME_CHARS} characters), e.g. start_date.",
                clip(&spec.name)
            ));
        }
        // Names differing only in case would be too easy to confuse in SQL.
        if !seen.insert(spec.name.to_ascii_lowercase()) {
            return err(format!(
                "There are two parameters named {}. Give each a different name.",
                spec.name
            ));
        }
        if spec.label.chars().count() > 200 {
            return err("Use a label of at most 200 characters.".into());
        }
        let label = spec.display_label();
        if spec.multi
            && !matches!(
                spec.kind,
                ParamKind::Enum | ParamKind::Query | ParamKind::Text
            )
        {
            return err(format!(
                "{label}: only text, list and query-based parameters can take several values."
            ));
        }
        match spec.kind {
            ParamKind::Enum => {
                if spec.options.is_empty() {
                    return err(format!("{label}: add at least one choice."));
                }
                if spec.options.len() > MAX_LIST_ITEMS {
                    return err(format!("{label}: use at most {MAX_LIST_ITEMS} choices."));
                }
                let mut values = HashSet::new();
                for o in &spec.options {
                    if o.value.trim().is_empty() {
                        return err(format!("{label}: every choice needs a value."));
                    }
                    if !values.insert(o.value.as_str()) {
                        return err(format!(
                            "{label}: the value “{}” is listed twice. Each choice needs its own value.",
                            clip(&o.value)
                        ));
                    }
                }
            }
            ParamKind::Query => {
                let Some(src) = &spec.source else {
                    return err(format!(
                        "{label}: choose the insight whose results fill the list."
                    ));
                };
                if src.insight_id <= 0 {
                    return err(format!(
                        "{label}: choose the insight whose results fill the list."
                    ));
                }
                for (theirs, ours) in &src.depends_on {
                    if !is_valid_name(theirs) {
                        return err(format!(
                            "{label}: “{}” is not a parameter name of the source insight.",
                            clip(theirs)
                        ));
                    }
                    if ours == &spec.name || !specs.iter().any(|s| &s.name == ours) {
                        return err(format!(
                            "{label}: the list depends on “{}”, which is not another parameter of this insight.",
                            clip(ours)
                        ));
                    }
                }
            }
            _ => {}
        }
        validate_bounds(spec)?;
        #[cfg(feature = "ssr")]
        if spec.kind == ParamKind::Text {
            if let Some(p) = spec.pattern.as_deref().filter(|p| !p.is_empty()) {
                if let Err(e) = pattern_regex(p) {
                    return err(format!(
                        "{label}: the pattern is not a valid regular expression ({e})."
                    ));
                }
            }
        }
        validate_default(spec)?;
    }
    Ok(())
}

/// `min`/`max` parse for the kind and `min ≤ max`.
fn validate_bounds(spec: &ParamSpec) -> Result<(), (String, String)> {
    let label = spec.display_label();
    let err = |m: String| Err((spec.name.clone(), m));
    let (min, max) = (nonblank(&spec.min), nonblank(&spec.max));
    match spec.kind {
        ParamKind::Number | ParamKind::Integer => {
            let parse = |b: &str, which: &str| {
                let d = canonical_number(b)
                    .filter(|d| spec.kind == ParamKind::Number || !d.contains('.'))
                    .ok_or_else(|| {
                        (
                            spec.name.clone(),
                            format!("{label}: the {which} must be a number like 10 or -2.5."),
                        )
                    })?;
                Ok::<_, (String, String)>(d)
            };
            let min = min.map(|b| parse(b, "minimum")).transpose()?;
            let max = max.map(|b| parse(b, "maximum")).transpose()?;
            if let (Some(a), Some(b)) = (min, max) {
                if cmp_decimal(&a, &b) == Ordering::Greater {
                    return err(format!("{label}: the minimum is larger than the maximum."));
                }
            }
        }
        ParamKind::Date | ParamKind::DateTime | ParamKind::DateRange => {
            let parse = |b: &str, which: &str| {
                date_bound(spec.kind, b).ok_or_else(|| {
                    (
                        spec.name.clone(),
                        format!("{label}: the {which} must be a date like 2024-05-01."),
                    )
                })
            };
            let min = min.map(|b| parse(b, "earliest date")).transpose()?;
            let max = max.map(|b| parse(b, "latest date")).transpose()?;
            if let (Some(a), Some(b)) = (min, max) {
                if a > b {
                    return err(format!(
                        "{label}: the earliest date is after the latest date."
                    ));
                }
            }
        }
        ParamKind::Text => {
            let parse = |b: &str, which: &str| {
                b.trim().parse::<usize>().map_err(|_| {
                    (
                        spec.name.clone(),
                        format!(
                            "{label}: the {which} length must be a whole number of characters."
                        ),
                    )
                })
            };
            let min = min.map(|b| parse(b, "minimum")).transpose()?;
            let max = max.map(|b| parse(b, "maximum")).transpose()?;
            if let (Some(a), Some(b)) = (min, max) {
                if a > b {
                    return err(format!(
                        "{label}: the minimum length is larger than the maximum length."
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The default parses under the spec. A date range preset is valid whatever today is, so
/// bounds are not checked against it here.
fn validate_default(spec: &ParamSpec) -> Result<(), (String, String)> {
    let items: Vec<&str> = spec
        .default
        .iter()
        .map(String::as_str)
        .filter(|s| !s.trim().is_empty())
        .collect();
    let fail = |m: String| (spec.name.clone(), format!("Default value: {m}"));
    if items.len() > 1 && !spec.multi {
        return Err(fail(format!(
            "{} takes a single value.",
            spec.display_label()
        )));
    }
    if items.len() > MAX_LIST_ITEMS {
        return Err(fail(format!(
            "{}: choose at most {MAX_LIST_ITEMS} values.",
            spec.display_label()
        )));
    }
    // Any fixed day works: presets are always valid and explicit dates don't depend on it.
    let today = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    for item in items {
        if spec.kind == ParamKind::DateRange && preset_range(item.trim(), today).is_some() {
            continue;
        }
        let v = parse_item(spec, item, today).map_err(fail)?;
        check_bounds(spec, &v).map_err(fail)?;
    }
    Ok(())
}

#[cfg(feature = "ssr")]
fn pattern_regex(p: &str) -> Result<regex::Regex, String> {
    if p.len() > 1000 {
        return Err("at most 1000 characters".into());
    }
    regex::RegexBuilder::new(&format!("^(?:{p})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "too complex".to_string(),
            // The syntax error's first line says what is wrong without the ASCII art.
            other => other
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string(),
        })
}

// ---------------------------------------------------------------------------------------------
// Values: URL form ↔ typed values
// ---------------------------------------------------------------------------------------------

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
fn parse_items(spec: &ParamSpec, items: &[&str], today: NaiveDate) -> Result<ParamValue, String> {
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
fn parse_item(spec: &ParamSpec, item: &str, today: NaiveDate) -> Result<ParamValue, String> {
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

fn range_hint() -> String {
    "expected a date range like 2024-01-01~2024-01-31 or a preset such as last_7_days".into()
}

/// Applies `min`, `max` and `pattern` to one parsed item. Unparseable bounds are ignored
/// here: [`validate_specs`] refuses them when the insight is saved.
fn check_bounds(spec: &ParamSpec, v: &ParamValue) -> Result<(), String> {
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
fn date_bound(kind: ParamKind, b: &str) -> Option<NaiveDateTime> {
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
fn item_url(v: &ParamValue) -> String {
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

fn nonblank(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

/// ASCII digits as a number; `None` if any byte is not a digit.
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |n, d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// Exactly `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<NaiveDate> {
    parse_date_bytes(s.as_bytes())
}

fn parse_date_bytes(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(digits(&b[..4])? as i32, digits(&b[5..7])?, digits(&b[8..])?)
}

/// `YYYY-MM-DDTHH:MM`, optionally `:SS` and `.fraction` (up to nanoseconds); `T` or a space.
fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
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
fn canonical_number(s: &str) -> Option<String> {
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
fn cmp_decimal(a: &str, b: &str) -> Ordering {
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

// ---------------------------------------------------------------------------------------------
// Scanning SQL for placeholders and optional blocks
// ---------------------------------------------------------------------------------------------

/// Lexical rules of the dialect being scanned.
#[derive(Clone, Copy)]
struct Lex {
    /// `\` escapes the next character in '…' and "…" (MySQL's default).
    backslash_strings: bool,
    /// `E'…'` strings with backslash escapes, `$tag$…$tag$` strings, nested `/* */`.
    postgres: bool,
    /// `# …` line comments, and `--` only when followed by whitespace (MySQL).
    mysql_comments: bool,
    /// Which positional placeholders the user might have written.
    positional: Positional,
}

#[derive(Clone, Copy, PartialEq)]
enum Positional {
    None,
    /// `$1`
    Dollar,
    /// `?`
    Question,
    /// `?`, `?1`, `:name`, `@name`, `$name`
    Sqlite,
}

impl Lex {
    /// Dialect-neutral scanning for [`references`]: PostgreSQL's rules, the strictest about
    /// what is quoted.
    const GENERIC: Lex = Lex {
        backslash_strings: false,
        postgres: true,
        mysql_comments: false,
        positional: Positional::None,
    };

    fn of(dialect: Dialect) -> Lex {
        match dialect {
            Dialect::Postgres => Lex {
                positional: Positional::Dollar,
                ..Lex::GENERIC
            },
            Dialect::Mysql => Lex {
                backslash_strings: true,
                postgres: false,
                mysql_comments: true,
                positional: Positional::Question,
            },
            Dialect::Sqlite => Lex {
                backslash_strings: false,
                postgres: false,
                mysql_comments: false,
                positional: Positional::Sqlite,
            },
        }
    }
}

/// A piece of scanned SQL.
#[derive(Debug)]
enum Seg {
    /// SQL text copied unchanged (strings and comments included).
    Text(Range<usize>),
    Param(Ref),
    /// `[[ … ]]` holding at least one placeholder; never nested.
    Block(Vec<Seg>),
}

struct Scan {
    segs: Vec<Seg>,
    /// The first positional placeholder written by the user: (text, byte offset).
    positional: Option<(String, usize)>,
}

impl Scan {
    /// Every placeholder, in order, inside blocks or not.
    fn refs(&self) -> Vec<&Ref> {
        let mut out = Vec::new();
        for seg in &self.segs {
            match seg {
                Seg::Param(r) => out.push(r),
                Seg::Block(inner) => out.extend(inner.iter().filter_map(|s| match s {
                    Seg::Param(r) => Some(r),
                    _ => None,
                })),
                Seg::Text(_) => {}
            }
        }
        out
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(sql: &str, pos: usize) -> (usize, usize) {
    let before = &sql[..pos.min(sql.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// Why a `{{` did not start a valid placeholder.
enum PlaceholderError {
    Unclosed,
    BadName(String),
}

/// Parses the placeholder starting with `{{` at `i`: its ref and the offset after `}}`.
fn placeholder_at(sql: &str, i: usize) -> Result<(Ref, usize), PlaceholderError> {
    let body_start = i + 2;
    let close = sql[body_start..]
        .find("}}")
        .map(|p| body_start + p)
        .ok_or(PlaceholderError::Unclosed)?;
    let body = &sql[body_start..close];
    // A newline or another `{{` before the `}}` means this one was left open.
    if body.contains('\n') || body.contains("{{") {
        return Err(PlaceholderError::Unclosed);
    }
    let text = body.trim();
    let (name, part) = match text.split_once('.') {
        None => (text, None),
        Some((n, "start")) => (n, Some(RangePart::Start)),
        Some((n, "end")) => (n, Some(RangePart::End)),
        Some(_) => return Err(PlaceholderError::BadName(clip(text))),
    };
    if !is_valid_name(name) {
        return Err(PlaceholderError::BadName(clip(text)));
    }
    Ok((
        Ref {
            name: name.to_string(),
            part,
            span: i..close + 2,
        },
        close + 2,
    ))
}

/// Refuses a valid-looking placeholder inside a quoted region. Other `{{` there (such as the
/// PostgreSQL array literal '{{1,2},{3,4}}') are ordinary text.
fn check_quoted(sql: &str, region: Range<usize>) -> Result<(), BindError> {
    let inner = &sql[region.clone()];
    let mut from = 0;
    while let Some(p) = inner[from..].find("{{") {
        let at = region.start + from + p;
        if let Ok((r, _)) = placeholder_at(&sql[..region.end], at) {
            return Err(BindError::InQuotes { name: r.display() });
        }
        from += p + 2;
    }
    Ok(())
}

/// End of a quoted region opened at `start` (exclusive of the closing quote), and the offset
/// after it. A doubled quote is an escaped quote; unterminated quotes run to the end.
fn skip_quoted(b: &[u8], start: usize, quote: u8, backslash: bool) -> (usize, usize) {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if backslash => i += 2,
            c if c == quote => {
                if b.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return (i, i + 1);
                }
            }
            _ => i += 1,
        }
    }
    (b.len(), b.len())
}

/// The `$tag$` starting at `i`, if there is one.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_' || b[j] >= 0x80) {
        j += 1;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
            j += 1;
        }
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1)
}

/// Splits SQL into text, placeholders and optional blocks, skipping strings, quoted
/// identifiers and comments. `[[ … ]]` without any placeholder is left as text, so
/// PostgreSQL's `ARRAY[[1,2],[3,4]]` keeps working.
fn scan(sql: &str, lex: Lex) -> Result<Scan, BindError> {
    let b = sql.as_bytes();
    let err_at = |pos: usize| line_col(sql, pos);
    let mut segs = Vec::new();
    // The open block: where `[[` is and what it holds so far.
    let mut block: Option<(usize, Vec<Seg>)> = None;
    let mut positional = None;
    let mut text_start = 0;
    let mut i = 0;

    fn flush(segs: &mut Vec<Seg>, block: &mut Option<(usize, Vec<Seg>)>, from: usize, to: usize) {
        if from < to {
            match block {
                Some((_, inner)) => inner.push(Seg::Text(from..to)),
                None => segs.push(Seg::Text(from..to)),
            }
        }
    }

    while i < b.len() {
        let next = b.get(i + 1).copied();
        match b[i] {
            b'\'' => {
                let e_string = lex.postgres
                    && i > 0
                    && matches!(b[i - 1], b'E' | b'e')
                    && (i < 2 || !is_ident(b[i - 2]));
                let (end, after) = skip_quoted(b, i, b'\'', lex.backslash_strings || e_string);
                check_quoted(sql, i + 1..end)?;
                i = after;
            }
            q @ (b'"' | b'`') => {
                let (end, after) = skip_quoted(b, i, q, q == b'"' && lex.backslash_strings);
                check_quoted(sql, i + 1..end)?;
                i = after;
            }
            b'-' if next == Some(b'-')
                && (!lex.mysql_comments
                    || b.get(i + 2)
                        .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control())) =>
            {
                i = sql[i..].find('\n').map_or(b.len(), |p| i + p + 1);
            }
            b'#' if lex.mysql_comments => {
                i = sql[i..].find('\n').map_or(b.len(), |p| i + p + 1);
            }
            b'/' if next == Some(b'*') => {
                // PostgreSQL block comments nest; the others end at the first `*/`.
                let mut depth = 1;
                i += 2;
                while i < b.len() && depth > 0 {
                    if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else if lex.postgres && b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' if i == 0 || !is_ident(b[i - 1]) => {
                if lex.postgres {
                    if let Some(tag_end) = dollar_tag(b, i) {
                        let tag = &sql[i..tag_end];
                        let (end, after) =
                            sql[tag_end..].find(tag).map_or((b.len(), b.len()), |p| {
                                (tag_end + p, tag_end + p + tag.len())
                            });
                        check_quoted(sql, tag_end..end)?;
                        i = after;
                        continue;
                    }
                }
                let param = match lex.positional {
                    Positional::Dollar => next.is_some_and(|c| c.is_ascii_digit()),
                    Positional::Sqlite => {
                        next.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                    }
                    _ => false,
                };
                if param && positional.is_none() {
                    let len = b[i + 1..]
                        .iter()
                        .take_while(|c| is_ident(**c) && **c != b'$')
                        .count();
                    positional = Some((sql[i..i + 1 + len].to_string(), i));
                }
                i += 1;
            }
            c @ (b'?' | b':' | b'@') => {
                let param = match (lex.positional, c) {
                    (Positional::Question | Positional::Sqlite, b'?') => true,
                    // SQLite's named parameters; `::` never occurs in SQLite.
                    (Positional::Sqlite, _) => {
                        (i == 0 || !is_ident(b[i - 1]))
                            && next.is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                    }
                    _ => false,
                };
                if param && positional.is_none() {
                    let len = b[i + 1..]
                        .iter()
                        .take_while(|c| is_ident(**c) && **c != b'$')
                        .count();
                    positional = Some((sql[i..i + 1 + len].to_string(), i));
                }
                i += 1;
            }
            b'{' if next == Some(b'{') => {
                let (r, after) = placeholder_at(sql, i).map_err(|e| {
                    let (line, column) = err_at(i);
                    match e {
                        PlaceholderError::Unclosed => BindError::Unclosed { line, column },
                        PlaceholderError::BadName(text) => {
                            BindError::BadName { text, line, column }
                        }
                    }
                })?;
                flush(&mut segs, &mut block, text_start, i);
                match &mut block {
                    Some((_, inner)) => inner.push(Seg::Param(r)),
                    None => segs.push(Seg::Param(r)),
                }
                i = after;
                text_start = i;
            }
            b'[' if next == Some(b'[') => {
                if block.is_some() {
                    let (line, column) = err_at(i);
                    return Err(BindError::NestedBlock { line, column });
                }
                flush(&mut segs, &mut block, text_start, i);
                block = Some((i, Vec::new()));
                i += 2;
                text_start = i;
            }
            b']' if next == Some(b']') && block.is_some() => {
                flush(&mut segs, &mut block, text_start, i);
                let Some((open, inner)) = block.take() else {
                    break;
                };
                i += 2;
                text_start = i;
                if inner.iter().any(|s| matches!(s, Seg::Param(_))) {
                    segs.push(Seg::Block(inner));
                } else {
                    segs.push(Seg::Text(open..i));
                }
            }
            _ => i += 1,
        }
    }
    flush(&mut segs, &mut block, text_start, b.len());
    if let Some((open, inner)) = block {
        if inner.iter().any(|s| matches!(s, Seg::Param(_))) {
            let (line, column) = err_at(open);
            return Err(BindError::UnclosedBlock { line, column });
        }
        segs.push(Seg::Text(open..b.len()));
    }
    Ok(Scan { segs, positional })
}

/// Every `{{name}}` / `{{name.start}}` / `{{name.end}}` in the SQL, in order, skipping
/// comments and checking strings, identifiers and blocks as [`compile`] does. Scans with
/// PostgreSQL's quoting rules; [`compile`] uses the target dialect's.
pub fn references(sql: &str) -> Result<Vec<Ref>, BindError> {
    Ok(scan(sql, Lex::GENERIC)?
        .refs()
        .into_iter()
        .cloned()
        .collect())
}

/// The distinct parameter names the SQL uses, in order of first use.
pub fn referenced_names(sql: &str) -> Result<Vec<String>, BindError> {
    let mut seen = HashSet::new();
    Ok(references(sql)?
        .into_iter()
        .filter(|r| seen.insert(r.name.clone()))
        .map(|r| r.name)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Compiling
// ---------------------------------------------------------------------------------------------

/// Replaces placeholders with the dialect's driver placeholders and collects the values.
///
/// * `[[ … ]]` blocks are dropped when a parameter inside has no value, else kept without
///   the brackets.
/// * PostgreSQL: one `$n` per distinct parameter (reused); a list binds as one array, for
///   `= ANY({{x}})`.
/// * MySQL/SQLite: one `?` per occurrence; a list expands to `?, ?, ?`, an empty list to
///   `NULL` (so `IN (NULL)` matches nothing).
///
/// The SQL text depends only on the SQL, the specs and which values are empty (and list
/// lengths for MySQL/SQLite), never on what the values contain. A missing value is `Null`.
pub fn compile(
    sql: &str,
    specs: &[ParamSpec],
    values: &BTreeMap<String, ParamValue>,
    dialect: Dialect,
) -> Result<Compiled, BindError> {
    let scan = scan(sql, Lex::of(dialect))?;
    let by_name: HashMap<&str, &ParamSpec> = specs.iter().map(|s| (s.name.as_str(), s)).collect();
    let spec_of = |r: &Ref| {
        by_name
            .get(r.name.as_str())
            .copied()
            .ok_or_else(|| BindError::Unknown {
                name: r.name.clone(),
            })
    };
    let refs = scan.refs();
    for r in &refs {
        let spec = spec_of(r)?;
        match (spec.kind == ParamKind::DateRange, r.part) {
            (true, None) => {
                return Err(BindError::RangeWithoutPart {
                    name: r.name.clone(),
                })
            }
            (false, Some(_)) => {
                return Err(BindError::PartOnNonRange {
                    name: r.display(),
                    base: r.name.clone(),
                })
            }
            _ => {}
        }
    }
    // User-written positional placeholders would take values meant for ours.
    if let (false, Some((placeholder, pos))) = (refs.is_empty(), &scan.positional) {
        let (line, column) = line_col(sql, *pos);
        return Err(BindError::Mixed {
            placeholder: placeholder.clone(),
            line,
            column,
        });
    }

    let null = ParamValue::Null;
    let value_of = |name: &str| values.get(name).unwrap_or(&null);
    let mut out = Emitter {
        dialect,
        sql: String::with_capacity(sql.len() + 16),
        values: Vec::new(),
        slots: HashMap::new(),
    };
    for seg in &scan.segs {
        match seg {
            Seg::Text(r) => out.sql.push_str(&sql[r.clone()]),
            Seg::Param(r) => {
                let spec = spec_of(r)?;
                let v = value_of(&r.name);
                if spec.required && v.is_empty() {
                    return Err(BindError::Required {
                        label: spec.display_label().to_string(),
                    });
                }
                out.param(r, spec, v)?;
            }
            Seg::Block(inner) => {
                let keep = inner.iter().all(|s| match s {
                    Seg::Param(r) => !value_of(&r.name).is_empty(),
                    _ => true,
                });
                if !keep {
                    continue;
                }
                for s in inner {
                    match s {
                        Seg::Text(r) => out.sql.push_str(&sql[r.clone()]),
                        Seg::Param(r) => out.param(r, spec_of(r)?, value_of(&r.name))?,
                        Seg::Block(_) => {}
                    }
                }
            }
        }
    }
    if out.values.len() > MAX_BOUND_VALUES {
        return Err(BindError::TooManyValues {
            count: out.values.len(),
            max: MAX_BOUND_VALUES,
        });
    }
    Ok(Compiled {
        sql: out.sql,
        values: out.values,
    })
}

/// Builds the compiled SQL and its values.
struct Emitter {
    dialect: Dialect,
    sql: String,
    values: Vec<BoundValue>,
    /// PostgreSQL: the `$n` already given to each (name, part).
    slots: HashMap<(String, Option<RangePart>), usize>,
}

impl Emitter {
    /// Writes the placeholder(s) for one occurrence and records its value(s).
    fn param(&mut self, r: &Ref, spec: &ParamSpec, v: &ParamValue) -> Result<(), BindError> {
        let bad = |m: &str| BindError::BadValue {
            label: spec.display_label().to_string(),
            message: m.to_string(),
        };
        let bound = match (r.part, v) {
            (_, ParamValue::Null) => BoundValue::Null,
            (Some(RangePart::Start), ParamValue::Range { start, .. }) => BoundValue::Date(*start),
            (Some(RangePart::End), ParamValue::Range { end, .. }) => BoundValue::Date(*end),
            (Some(_), _) | (None, ParamValue::Range { .. }) => {
                return Err(bad("expected a date range"))
            }
            (None, v) => bind(v).ok_or_else(|| bad("lists cannot hold lists or date ranges"))?,
        };
        match self.dialect {
            Dialect::Postgres => {
                let key = (r.name.clone(), r.part);
                let n = match self.slots.get(&key) {
                    Some(n) => *n,
                    None => {
                        self.values.push(bound);
                        self.slots.insert(key, self.values.len());
                        self.values.len()
                    }
                };
                self.sql.push('$');
                self.sql.push_str(&n.to_string());
            }
            Dialect::Mysql | Dialect::Sqlite => match bound {
                BoundValue::List(items) if items.is_empty() => self.sql.push_str("NULL"),
                BoundValue::List(items) => {
                    for (k, item) in items.into_iter().enumerate() {
                        self.sql.push_str(if k == 0 { "?" } else { ", ?" });
                        self.values.push(item);
                    }
                }
                other => {
                    self.sql.push('?');
                    self.values.push(other);
                }
            },
        }
        Ok(())
    }
}

/// The driver value for a typed value; `None` for ranges (bound by part) and nested lists.
fn bind(v: &ParamValue) -> Option<BoundValue> {
    Some(match v {
        ParamValue::Null => BoundValue::Null,
        ParamValue::Text(s) => BoundValue::Text(s.clone()),
        ParamValue::Number(s) => BoundValue::Number(s.clone()),
        ParamValue::Integer(i) => BoundValue::Int(*i),
        ParamValue::Bool(b) => BoundValue::Bool(*b),
        ParamValue::Date(d) => BoundValue::Date(*d),
        ParamValue::DateTime(t) => BoundValue::DateTime(*t),
        ParamValue::Range { .. } => return None,
        ParamValue::List(items) => BoundValue::List(
            items
                .iter()
                .map(|i| match i {
                    ParamValue::List(_) => None,
                    other => bind(other),
                })
                .collect::<Option<_>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thursday.
    fn today() -> NaiveDate {
        d("2024-03-14")
    }

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn dt(s: &str) -> NaiveDateTime {
        parse_datetime(s).unwrap()
    }

    fn spec(name: &str, kind: ParamKind) -> ParamSpec {
        ParamSpec::new(name, kind)
    }

    fn labeled(name: &str, label: &str, kind: ParamKind) -> ParamSpec {
        ParamSpec {
            label: label.into(),
            ..spec(name, kind)
        }
    }

    fn status_enum() -> ParamSpec {
        ParamSpec {
            options: ["active", "inactive", "banned"]
                .iter()
                .map(|v| EnumOption {
                    value: v.to_string(),
                    label: v.to_uppercase(),
                })
                .collect(),
            ..labeled("status", "Status", ParamKind::Enum)
        }
    }

    fn raw(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn parse(spec: &ParamSpec, items: &[&str]) -> Result<ParamValue, String> {
        parse_value(spec, &raw(items), today())
    }

    fn values(pairs: &[(&str, ParamValue)]) -> BTreeMap<String, ParamValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn text(s: &str) -> ParamValue {
        ParamValue::Text(s.into())
    }

    fn list(items: &[&str]) -> ParamValue {
        ParamValue::List(items.iter().map(|s| text(s)).collect())
    }

    fn btext(s: &str) -> BoundValue {
        BoundValue::Text(s.into())
    }

    const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite];

    // --- parsing values -----------------------------------------------------------------

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

    // --- validating specs ---------------------------------------------------------------

    #[test]
    fn valid_specs_pass() {
        let specs = vec![
            ParamSpec {
                required: true,
                default: raw(&["last_30_days"]),
                min: Some("2020-01-01".into()),
                ..spec("period", ParamKind::DateRange)
            },
            ParamSpec {
                multi: true,
                default: raw(&["active"]),
                ..status_enum()
            },
            spec("country", ParamKind::Text),
            ParamSpec {
                source: Some(QuerySource {
                    insight_id: 7,
                    depends_on: vec![("country".into(), "country".into())],
                }),
                ..spec("city", ParamKind::Query)
            },
            ParamSpec {
                min: Some("0".into()),
                max: Some("1e6".into()),
                default: raw(&["10.5"]),
                ..spec("amount", ParamKind::Number)
            },
            ParamSpec {
                min: Some("0".into()),
                max: Some("0".into()),
                ..spec("_x1", ParamKind::Integer)
            },
        ];
        assert_eq!(validate_specs(&specs), Ok(()));
    }

    #[test]
    fn invalid_specs_are_refused_with_the_parameter_name() {
        let long = "a".repeat(64);
        let cases: Vec<(Vec<ParamSpec>, &str, &str)> = vec![
            (
                vec![spec("1x", ParamKind::Text)],
                "1x",
                "not a valid parameter name",
            ),
            (
                vec![spec("a-b", ParamKind::Text)],
                "a-b",
                "not a valid parameter name",
            ),
            (
                vec![spec("", ParamKind::Text)],
                "",
                "not a valid parameter name",
            ),
            (
                vec![spec(&long, ParamKind::Text)],
                &long,
                "not a valid parameter name",
            ),
            (
                vec![spec("x", ParamKind::Text), spec("X", ParamKind::Integer)],
                "X",
                "two parameters named X",
            ),
            (
                (0..51)
                    .map(|i| spec(&format!("p{i}"), ParamKind::Text))
                    .collect(),
                "params",
                "at most 50 parameters",
            ),
            (
                vec![spec("s", ParamKind::Enum)],
                "s",
                "add at least one choice",
            ),
            (
                vec![ParamSpec {
                    options: vec![
                        EnumOption {
                            value: "a".into(),
                            label: "A".into(),
                        },
                        EnumOption {
                            value: "a".into(),
                            label: "B".into(),
                        },
                    ],
                    ..spec("s", ParamKind::Enum)
                }],
                "s",
                "listed twice",
            ),
            (
                vec![ParamSpec {
                    multi: true,
                    ..spec("d", ParamKind::Date)
                }],
                "d",
                "several values",
            ),
            (
                vec![ParamSpec {
                    default: raw(&["soon"]),
                    ..labeled("d", "Due", ParamKind::Date)
                }],
                "d",
                "Default value: expected a date like 2024-05-01",
            ),
            (
                vec![ParamSpec {
                    default: raw(&["a", "b"]),
                    ..spec("t", ParamKind::Text)
                }],
                "t",
                "single value",
            ),
            (
                vec![ParamSpec {
                    default: raw(&["20"]),
                    max: Some("10".into()),
                    ..spec("n", ParamKind::Integer)
                }],
                "n",
                "must be at most 10",
            ),
            (
                vec![ParamSpec {
                    default: raw(&["gone"]),
                    ..status_enum()
                }],
                "status",
                "choose one of",
            ),
            (
                vec![ParamSpec {
                    min: Some("5".into()),
                    max: Some("1".into()),
                    ..spec("n", ParamKind::Number)
                }],
                "n",
                "minimum is larger than the maximum",
            ),
            (
                vec![ParamSpec {
                    min: Some("1.5".into()),
                    ..spec("n", ParamKind::Integer)
                }],
                "n",
                "minimum must be a number",
            ),
            (
                vec![ParamSpec {
                    min: Some("2024-02-01".into()),
                    max: Some("2024-01-01".into()),
                    ..spec("d", ParamKind::DateRange)
                }],
                "d",
                "earliest date is after the latest date",
            ),
            (
                vec![ParamSpec {
                    max: Some("yesterday".into()),
                    ..spec("d", ParamKind::Date)
                }],
                "d",
                "latest date must be a date",
            ),
            (
                vec![ParamSpec {
                    min: Some("3".into()),
                    max: Some("2".into()),
                    ..spec("t", ParamKind::Text)
                }],
                "t",
                "minimum length is larger",
            ),
            (
                vec![ParamSpec {
                    min: Some("-1".into()),
                    ..spec("t", ParamKind::Text)
                }],
                "t",
                "whole number of characters",
            ),
            (vec![spec("q", ParamKind::Query)], "q", "choose the insight"),
            (
                vec![ParamSpec {
                    source: Some(QuerySource {
                        insight_id: 3,
                        depends_on: vec![("country".into(), "nope".into())],
                    }),
                    ..spec("q", ParamKind::Query)
                }],
                "q",
                "not another parameter",
            ),
        ];
        for (specs, name, want) in cases {
            let (got_name, msg) = validate_specs(&specs).unwrap_err();
            assert_eq!(got_name, name, "{msg}");
            assert!(msg.contains(want), "{msg:?} should contain {want:?}");
        }
    }

    #[test]
    fn old_spec_json_with_only_name_and_kind_still_loads() {
        let s: ParamSpec = serde_json::from_str(r#"{"name":"d","kind":"date_range"}"#).unwrap();
        assert_eq!(s, spec("d", ParamKind::DateRange));
        let json = serde_json::to_string(&status_enum()).unwrap();
        assert_eq!(
            serde_json::from_str::<ParamSpec>(&json).unwrap(),
            status_enum()
        );
        assert!(json.contains(r#""kind":"enum""#));
    }

    // --- scanning -----------------------------------------------------------------------

    #[test]
    fn references_finds_placeholders_with_spans_and_parts() {
        let sql = "select * from t where a = {{a}} and d between {{ p.start }} and {{p.end}}";
        let refs = references(sql).unwrap();
        assert_eq!(
            refs.iter()
                .map(|r| (r.display(), &sql[r.span.clone()]))
                .collect::<Vec<_>>(),
            [
                ("a".to_string(), "{{a}}"),
                ("p.start".to_string(), "{{ p.start }}"),
                ("p.end".to_string(), "{{p.end}}"),
            ]
        );
        assert_eq!(refs[1].part, Some(RangePart::Start));
        assert_eq!(
            referenced_names("{{b}} {{a}} [[{{b}}]] {{ a }}").unwrap(),
            ["b", "a"]
        );
    }

    #[test]
    fn references_skip_comments_and_leave_other_braces_in_strings_alone() {
        let sql =
            "-- {{a}}\n/* {{b}} /* nested {{c}} */ {{d}} */ select '{{1,2},{3,4}}'::int[][], \
                   ARRAY[[1,2],[3,4]], x[1] from t where y = {{e}}";
        let names: Vec<String> = references(sql)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["e"]);
    }

    #[test]
    fn placeholders_inside_quotes_are_refused_with_advice() {
        for sql in [
            "select * from t where name like '%{{q}}%'",
            "select * from t where name = 'it''s {{q}}'",
            "select * from t where name = E'\\' {{q}}'",
            "select \"{{q}}\" from t",
            "select `{{q}}` from t",
            "select $$ {{q}} $$",
            "select $body$ $$ {{ q }} $body$",
            "select 'unterminated {{q}}",
        ] {
            let e = references(sql).unwrap_err();
            assert_eq!(e, BindError::InQuotes { name: "q".into() }, "{sql}");
            assert_eq!(
                e.to_string(),
                "Parameter {{q}} is inside quotes. Write it bare, e.g. name LIKE '%' || {{q}} || '%' (PostgreSQL/SQLite) or CONCAT('%', {{q}}, '%') (MySQL)."
            );
        }
        assert_eq!(
            references("select '{{p.start}}'"),
            Err(BindError::InQuotes {
                name: "p.start".into()
            })
        );
        // A closed string followed by a placeholder is fine, as is the E'' escape.
        assert_eq!(references("select 'a''b', E'\\'', {{q}}").unwrap().len(), 1);
    }

    #[test]
    fn malformed_placeholders_and_blocks_report_where() {
        assert_eq!(
            references("select 1\nwhere a = {{a"),
            Err(BindError::Unclosed {
                line: 2,
                column: 11
            })
        );
        assert_eq!(
            references("select {{a\n}}"),
            Err(BindError::Unclosed { line: 1, column: 8 })
        );
        assert_eq!(
            references("select {{a {{b}}"),
            Err(BindError::Unclosed { line: 1, column: 8 })
        );
        assert_eq!(
            references("select {{ a-b }}"),
            Err(BindError::BadName {
                text: "a-b".into(),
                line: 1,
                column: 8
            })
        );
        assert!(matches!(
            references("{{p.middle}}"),
            Err(BindError::BadName { .. })
        ));
        assert!(matches!(references("{{}}"), Err(BindError::BadName { .. })));
        assert_eq!(
            references("where 1=1 [[ and a = {{a}} [[ and b = {{b}} ]] ]]"),
            Err(BindError::NestedBlock {
                line: 1,
                column: 28
            })
        );
        assert_eq!(
            references("where 1=1\n  [[ and a = {{a}}"),
            Err(BindError::UnclosedBlock { line: 2, column: 3 })
        );
        let e = references("select {{ a-b }}").unwrap_err().to_string();
        assert!(
            e.starts_with("{{a-b}} at line 1, column 8 is not a valid parameter."),
            "{e}"
        );
        // Non-ASCII before the error counts as one column.
        assert_eq!(
            references("select 'é', {{"),
            Err(BindError::Unclosed {
                line: 1,
                column: 13
            })
        );
    }

    // --- compiling ----------------------------------------------------------------------

    fn specs() -> Vec<ParamSpec> {
        vec![
            spec("a", ParamKind::Integer),
            spec("t", ParamKind::Text),
            spec("p", ParamKind::DateRange),
            ParamSpec {
                multi: true,
                ..status_enum()
            },
            ParamSpec {
                required: true,
                ..labeled("req", "Region", ParamKind::Text)
            },
        ]
    }

    #[test]
    fn postgres_numbers_each_distinct_parameter_once_and_reuses_it() {
        let v = values(&[
            ("a", ParamValue::Integer(5)),
            ("t", text("x")),
            (
                "p",
                ParamValue::Range {
                    start: d("2024-01-01"),
                    end: d("2024-01-31"),
                },
            ),
        ]);
        let c = compile(
            "select {{a}}, {{t}}, {{ a }} where d >= {{p.start}} and d <= {{p.end}} or s >= {{p.start}}",
            &specs(),
            &v,
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(
            c.sql,
            "select $1, $2, $1 where d >= $3 and d <= $4 or s >= $3"
        );
        assert_eq!(
            c.values,
            [
                BoundValue::Int(5),
                btext("x"),
                BoundValue::Date(d("2024-01-01")),
                BoundValue::Date(d("2024-01-31")),
            ]
        );
    }

    #[test]
    fn mysql_and_sqlite_use_one_question_mark_per_occurrence() {
        let v = values(&[("a", ParamValue::Integer(5)), ("t", text("x"))]);
        for dialect in [Dialect::Mysql, Dialect::Sqlite] {
            let c = compile("select {{a}}, {{t}}, {{a}}", &specs(), &v, dialect).unwrap();
            assert_eq!(c.sql, "select ?, ?, ?");
            assert_eq!(
                c.values,
                [BoundValue::Int(5), btext("x"), BoundValue::Int(5)]
            );
        }
    }

    #[test]
    fn lists_bind_as_one_array_on_postgres_and_expand_elsewhere() {
        let v = values(&[("status", list(&["active", "banned"]))]);
        let c = compile("where s = ANY({{status}})", &specs(), &v, Dialect::Postgres).unwrap();
        assert_eq!(c.sql, "where s = ANY($1)");
        assert_eq!(
            c.values,
            [BoundValue::List(vec![btext("active"), btext("banned")])]
        );
        for dialect in [Dialect::Mysql, Dialect::Sqlite] {
            let c = compile(
                "where s in ({{status}}) or t in ({{status}})",
                &specs(),
                &v,
                dialect,
            )
            .unwrap();
            assert_eq!(c.sql, "where s in (?, ?) or t in (?, ?)");
            assert_eq!(
                c.values,
                [
                    btext("active"),
                    btext("banned"),
                    btext("active"),
                    btext("banned")
                ]
            );
        }
        // An empty list matches nothing outside blocks.
        let empty = values(&[("status", ParamValue::List(vec![]))]);
        let c = compile("where s in ({{status}})", &specs(), &empty, Dialect::Mysql).unwrap();
        assert_eq!((c.sql.as_str(), c.values.len()), ("where s in (NULL)", 0));
        let c = compile(
            "where s = ANY({{status}})",
            &specs(),
            &empty,
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(c.values, [BoundValue::List(vec![])]);
    }

    #[test]
    fn optional_blocks_are_kept_with_values_and_dropped_without() {
        let sql = "select * from t where true [[ and a = {{a}} ]][[ and s in ({{status}}) and t = {{t}} ]] order by 1";
        let all = values(&[
            ("a", ParamValue::Integer(1)),
            ("status", list(&["active"])),
            ("t", text("x")),
        ]);
        let c = compile(sql, &specs(), &all, Dialect::Postgres).unwrap();
        assert_eq!(
            c.sql,
            "select * from t where true  and a = $1  and s in ($2) and t = $3  order by 1"
        );
        // `t` missing drops the whole second block, `status` empty would too.
        let some = values(&[("a", ParamValue::Integer(1)), ("status", list(&["active"]))]);
        let c = compile(sql, &specs(), &some, Dialect::Mysql).unwrap();
        assert_eq!(c.sql, "select * from t where true  and a = ?  order by 1");
        assert_eq!(c.values, [BoundValue::Int(1)]);
        let c = compile(
            sql,
            &specs(),
            &values(&[("status", ParamValue::List(vec![])), ("t", text("x"))]),
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(c.sql, "select * from t where true  order by 1");
        assert!(c.values.is_empty());
        // Numbering only counts what is kept.
        let c = compile(
            "[[ a = {{a}} and ]] t = {{t}}",
            &specs(),
            &values(&[("t", text("x"))]),
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(c.sql, " t = $1");
        // A block of plain SQL (PostgreSQL's nested array syntax) stays as written.
        let c = compile(
            "select ARRAY[[1,2],[3,4]]",
            &[],
            &BTreeMap::new(),
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(c.sql, "select ARRAY[[1,2],[3,4]]");
    }

    #[test]
    fn missing_values_bind_null_unless_required() {
        let c = compile(
            "select {{a}}, {{t}}",
            &specs(),
            &BTreeMap::new(),
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(c.values, [BoundValue::Null, BoundValue::Null]);
        let e = compile("select {{req}}", &specs(), &BTreeMap::new(), Dialect::Mysql).unwrap_err();
        assert_eq!(
            e,
            BindError::Required {
                label: "Region".into()
            }
        );
        assert_eq!(e.to_string(), "Region is required.");
        // Inside an optional block a missing required value just drops the block.
        let c = compile(
            "select 1 [[ where r = {{req}} ]]",
            &specs(),
            &BTreeMap::new(),
            Dialect::Mysql,
        )
        .unwrap();
        assert_eq!(c.sql, "select 1 ");
    }

    #[test]
    fn comments_strings_and_dollar_quotes_pass_through_untouched() {
        let v = values(&[("a", ParamValue::Integer(1))]);
        let pg = "select '?', $$ {{x}}? $$, $t$ ' $t$, \"a?\" -- {{a}} ?\n/* {{a}} /* ? */ */ from t where a = {{a}}";
        let c = compile(pg, &specs(), &v, Dialect::Postgres);
        // `{{x}}` inside $$ … $$ is a placeholder in quotes.
        assert_eq!(c, Err(BindError::InQuotes { name: "x".into() }));
        let pg = pg.replace("{{x}}", "{x}");
        let c = compile(&pg, &specs(), &v, Dialect::Postgres).unwrap();
        assert_eq!(c.sql, pg.replace("a = {{a}}", "a = $1"));
        assert_eq!(c.values, [BoundValue::Int(1)]);

        // MySQL: backslash escapes in strings, `#` comments, `--` needs a space.
        let my = "select 'it\\'s ?', \"x\\\" ?\" # {{a}} ?\nfrom t -- {{a}}\nwhere a = {{a}}";
        let c = compile(my, &specs(), &v, Dialect::Mysql).unwrap();
        assert_eq!(c.sql, my.replace("a = {{a}}", "a = ?"));
        assert_eq!(c.values.len(), 1);
        assert_eq!(
            compile("select 1--{{a}}", &specs(), &v, Dialect::Mysql)
                .unwrap()
                .sql,
            "select 1--?"
        );
        // PostgreSQL has no backslash escapes in plain strings, so this string ends at \'.
        assert_eq!(
            compile("select 'a\\', {{a}}", &specs(), &v, Dialect::Postgres)
                .unwrap()
                .sql,
            "select 'a\\', $1"
        );
        assert_eq!(
            compile("select 'a\\', {{a}}'", &specs(), &v, Dialect::Mysql),
            Err(BindError::InQuotes { name: "a".into() })
        );
        // SQLite: `[[` blocks still work; backtick identifiers are skipped.
        let c = compile(
            "select `{x}?` from t [[where a = {{a}}]]",
            &specs(),
            &v,
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(c.sql, "select `{x}?` from t where a = ?");
    }

    #[test]
    fn unknown_parameters_and_misused_ranges_are_refused() {
        let none = BTreeMap::new();
        for dialect in ALL {
            let e = compile("select {{nope}}", &specs(), &none, dialect).unwrap_err();
            assert_eq!(
                e.to_string(),
                "The SQL uses {{nope}} but no parameter nope is defined. Add it under Parameters or correct the name in the SQL."
            );
            // Also inside a block that would be dropped.
            assert!(matches!(
                compile("select 1 [[ {{nope}} ]]", &specs(), &none, dialect),
                Err(BindError::Unknown { .. })
            ));
            let e = compile("select {{p}}", &specs(), &none, dialect).unwrap_err();
            assert_eq!(
                e.to_string(),
                "{{p}} is a date range. Use {{p.start}} and {{p.end}} for its first and last day."
            );
            let e = compile("select {{a.start}}", &specs(), &none, dialect).unwrap_err();
            assert_eq!(
                e.to_string(),
                "{{a.start}}: only date range parameters have .start and .end. Write {{a}} instead."
            );
        }
        // A value of the wrong shape for a range part is refused, not guessed.
        let bad = values(&[("p", ParamValue::Date(d("2024-01-01")))]);
        assert!(matches!(
            compile("{{p.start}}", &specs(), &bad, Dialect::Postgres),
            Err(BindError::BadValue { .. })
        ));
    }

    #[test]
    fn user_written_positional_placeholders_cannot_mix_with_named_ones() {
        let v = values(&[("a", ParamValue::Integer(1))]);
        let e = compile("select $1, {{a}}", &specs(), &v, Dialect::Postgres).unwrap_err();
        assert_eq!(
            e,
            BindError::Mixed {
                placeholder: "$1".into(),
                line: 1,
                column: 8
            }
        );
        assert!(
            e.to_string().contains("Use {{name}} parameters only"),
            "{e}"
        );
        assert!(matches!(
            compile("select {{a}}\n  where b = ?", &specs(), &v, Dialect::Mysql),
            Err(BindError::Mixed {
                line: 2,
                column: 13,
                ..
            })
        ));
        for sql in [
            "select ?1, {{a}}",
            "select :b, {{a}}",
            "select @b, {{a}}",
            "select $b, {{a}}",
        ] {
            assert!(
                matches!(
                    compile(sql, &specs(), &v, Dialect::Sqlite),
                    Err(BindError::Mixed { .. })
                ),
                "{sql}"
            );
        }
        // Not placeholders: PostgreSQL's jsonb `?`, casts, identifiers with `$`, quoted or
        // commented ones, and SQL without named parameters at all.
        for (sql, dialect) in [
            (
                "select j ? 'k', x::int, a$1 from t where a = {{a}}",
                Dialect::Postgres,
            ),
            (
                "select '?', `?`, a from t /* ? */ where a = {{a}} -- ?",
                Dialect::Mysql,
            ),
            ("select '$1', '?' from t where a = {{a}}", Dialect::Sqlite),
        ] {
            assert!(compile(sql, &specs(), &v, dialect).is_ok(), "{sql}");
        }
        assert_eq!(
            compile("select $1", &specs(), &v, Dialect::Postgres)
                .unwrap()
                .sql,
            "select $1"
        );
    }

    #[test]
    fn too_many_values_are_refused() {
        let many: Vec<&str> = vec!["x"; MAX_LIST_ITEMS];
        let v = values(&[("t", list(&many))]);
        let sql = vec!["{{t}}"; 33].join(",");
        let e = compile(&sql, &specs(), &v, Dialect::Sqlite).unwrap_err();
        assert_eq!(
            e,
            BindError::TooManyValues {
                count: 33_000,
                max: MAX_BOUND_VALUES
            }
        );
        // PostgreSQL binds the list once.
        assert_eq!(
            compile(&sql, &specs(), &v, Dialect::Postgres)
                .unwrap()
                .values
                .len(),
            1
        );
    }

    /// SECURITY.md case 11: values never change the SQL text.
    #[test]
    fn hostile_values_never_reach_the_sql_text() {
        let corpus: Vec<String> = vec![
            "' OR '1'='1".into(),
            "1; DROP TABLE users; --".into(),
            "$$ select 1 $$".into(),
            "\u{2019} OR 1=1 --".into(),
            "{{other}}".into(),
            "]] OR 1=1 [[".into(),
            "?".into(),
            "$1".into(),
            "/* */".into(),
            "x".repeat(100 * 1024),
            "a\0b".into(),
            "\\' OR 1=1 #".into(),
            "NULL".into(),
        ];
        let specs = vec![
            spec("q", ParamKind::Text),
            spec("other", ParamKind::Text),
            ParamSpec {
                multi: true,
                ..spec("many", ParamKind::Text)
            },
        ];
        let sql = "select * from users where name = {{q}} [[ and nick = {{ q }} ]] \
                   and tag in ({{many}}) -- {{q}}\n and note = '{x}' /* {{other}} */";
        for dialect in ALL {
            let benign = compile(
                sql,
                &specs,
                &values(&[("q", text("bob")), ("many", list(&["bob", "b"]))]),
                dialect,
            )
            .unwrap();
            for evil in &corpus {
                let v = values(&[("q", text(evil)), ("many", list(&[evil, "b"]))]);
                let c = compile(sql, &specs, &v, dialect).unwrap();
                assert_eq!(c.sql, benign.sql, "{dialect:?} {:?}", clip(evil));
                let expect_many = match dialect {
                    Dialect::Postgres => vec![BoundValue::List(vec![btext(evil), btext("b")])],
                    _ => vec![btext(evil), btext("b")],
                };
                let mut want = vec![btext(evil)];
                if dialect != Dialect::Postgres {
                    want.push(btext(evil));
                }
                want.extend(expect_many);
                assert_eq!(c.values, want, "{dialect:?}");
            }
        }
    }
}
