//! Helpers shared by the parameter tests.
use super::*;

/// Thursday.
pub(super) fn today() -> NaiveDate {
    d("2024-03-14")
}

pub(super) fn d(s: &str) -> NaiveDate {
    parse_date(s).unwrap()
}

pub(super) fn dt(s: &str) -> NaiveDateTime {
    parse_datetime(s).unwrap()
}

pub(super) fn spec(name: &str, kind: ParamKind) -> ParamSpec {
    ParamSpec::new(name, kind)
}

pub(super) fn labeled(name: &str, label: &str, kind: ParamKind) -> ParamSpec {
    ParamSpec {
        label: label.into(),
        ..spec(name, kind)
    }
}

pub(super) fn status_enum() -> ParamSpec {
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

pub(super) fn raw(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub(super) fn parse(spec: &ParamSpec, items: &[&str]) -> Result<ParamValue, String> {
    parse_value(spec, &raw(items), today())
}

pub(super) fn values(pairs: &[(&str, ParamValue)]) -> BTreeMap<String, ParamValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub(super) fn text(s: &str) -> ParamValue {
    ParamValue::Text(s.into())
}

pub(super) fn list(items: &[&str]) -> ParamValue {
    ParamValue::List(items.iter().map(|s| text(s)).collect())
}

pub(super) fn btext(s: &str) -> BoundValue {
    BoundValue::Text(s.into())
}

pub(super) const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite];
