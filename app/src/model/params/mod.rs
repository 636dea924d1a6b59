//! Insight parameters: their specs, parsing from the URL form, and compiling `{{name}}`
//! placeholders and `[[ … ]]` optional blocks into driver placeholders. Values are always
//! bound, never spliced into SQL text. Shared by the browser and the server.
//!
//! - this file: the types (specs, values, bound values, errors) and limits;
//! - [`spec`]: checking specs before they are saved;
//! - [`value`]: the URL form ↔ typed values, date presets;
//! - [`scan`]: finding placeholders and optional blocks in SQL;
//! - [`compile`]: placeholders → the driver's, values collected to be bound.
use super::connection::ConnectionKind;
use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use std::{
    cmp::Ordering,
    collections::{BTreeMap, HashMap, HashSet},
    ops::Range,
};

mod compile;
#[cfg(test)]
mod fixtures;
mod scan;
mod spec;
mod value;

pub use compile::*;
pub use scan::*;
pub use spec::*;
pub use value::*;

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
