//! What the workbench reads from SQL text: how many `$n`/`?` values it takes, its `{{name}}`
//! references and the specs they run with, names as they are written in SQL, editor offsets
//! and tab titles.
use super::tabs::NamedValue;
use crate::model::{
    connection::ConnectionKind,
    insight::UrlValues,
    params::{self, ParamKind, ParamSpec, RangePart},
};

/// How many parameter values `sql` takes: the highest `$n`, or (MySQL, SQLite) the number of
/// `?` placeholders, outside strings, quoted identifiers and comments.
pub fn placeholders(sql: &str, question_marks: bool) -> usize {
    let b = sql.as_bytes();
    let (mut i, mut max, mut marks) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'$' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j > start && (start == 1 || !b[start - 2].is_ascii_alphanumeric()) {
                    if let Ok(n) = sql[start..j].parse::<usize>() {
                        max = max.max(n.min(100));
                    }
                }
                i = j.max(i + 1) - 1;
            }
            b'?' if question_marks => marks += 1,
            _ => {}
        }
        i += 1;
    }
    max.max(marks).min(100)
}

pub(super) fn dialect(kind: ConnectionKind) -> &'static str {
    match kind {
        ConnectionKind::Postgres => "postgres",
        ConnectionKind::Mysql => "mysql",
        ConnectionKind::Sqlite => "sqlite",
    }
}

/// The distinct `{{names}}` the SQL uses, in order, and whether each is a date range (used as
/// `{{name.start}}` / `{{name.end}}`). Empty when the SQL has none or does not parse.
pub(super) fn named_refs(sql: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = vec![];
    for r in params::references(sql).unwrap_or_default() {
        let range = matches!(r.part, Some(RangePart::Start | RangePart::End));
        match out.iter_mut().find(|(n, _)| *n == r.name) {
            Some(e) => e.1 |= range,
            None => out.push((r.name, range)),
        }
    }
    out
}

/// A first guess at a new parameter's type from its name (`start_date` is a date).
pub(super) fn guess_kind(name: &str, range: bool) -> ParamKind {
    let n = name.to_ascii_lowercase();
    if range {
        ParamKind::DateRange
    } else if n.ends_with("_at") || n.ends_with("time") {
        ParamKind::DateTime
    } else if n.contains("date") || n.ends_with("day") {
        ParamKind::Date
    } else if n.starts_with("min_") || n.starts_with("max_") || n == "limit" || n == "n" {
        ParamKind::Number
    } else {
        ParamKind::Text
    }
}

/// The specs and URL-form values to run (and save) the SQL with.
pub(super) fn named_request(sql: &str, named: &[NamedValue]) -> (Vec<ParamSpec>, UrlValues) {
    let mut specs = vec![];
    let mut values = UrlValues::new();
    for (name, range) in named_refs(sql) {
        let given = named.iter().find(|n| n.name == name);
        let kind = match (range, given) {
            (true, _) => ParamKind::DateRange,
            (false, Some(g)) if g.kind != ParamKind::DateRange => g.kind,
            _ => guess_kind(&name, false),
        };
        let value = given.map(|g| {
            if kind == ParamKind::DateRange {
                if g.value.is_empty() && g.end.is_empty() {
                    String::new()
                } else {
                    format!("{}~{}", g.value, g.end)
                }
            } else {
                g.value.clone()
            }
        });
        specs.push(ParamSpec::new(name.clone(), kind));
        values.insert(name, vec![value.unwrap_or_default()]);
    }
    (specs, values)
}

/// A name as it can be written in SQL: bare when it is a plain lower-case identifier, else
/// quoted the dialect's way (each part of `schema.table` on its own).
pub(super) fn sql_name(name: &str, kind: ConnectionKind) -> String {
    name.split('.')
        .map(|part| {
            let plain = part
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if plain {
                part.to_string()
            } else if kind == ConnectionKind::Mysql {
                format!("`{}`", part.replace('`', "``"))
            } else {
                format!("\"{}\"", part.replace('"', "\"\""))
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The 0-based UTF-16 offset (as the editor counts) of a 1-based character position.
pub(super) fn utf16_offset(sql: &str, position: u32) -> u32 {
    let n: usize = sql
        .chars()
        .take(position.saturating_sub(1) as usize)
        .map(char::len_utf16)
        .sum();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A tab's name: the start of its first non-empty line.
pub(super) fn tab_title(sql: &str) -> String {
    let line = sql.lines().map(str::trim).find(|l| !l.is_empty());
    match line {
        None => "New query".into(),
        Some(l) if l.chars().count() > 28 => format!("{}…", l.chars().take(27).collect::<String>()),
        Some(l) => l.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_ignore_strings_and_comments() {
        assert_eq!(placeholders("select $1, $2", false), 2);
        assert_eq!(
            placeholders("select '$3', \"$4\" -- $5\n, $1 /* $9 */", false),
            1
        );
        assert_eq!(placeholders("select a$1 from t", false), 0);
        assert_eq!(placeholders("select $10", false), 10);
        assert_eq!(placeholders("", false), 0);
        // MySQL and SQLite count `?`; PostgreSQL's `?` is a JSON operator.
        assert_eq!(placeholders("select ?, '?', ? -- ?", true), 2);
        assert_eq!(placeholders("select j ? 'k' from t", false), 0);
    }

    #[test]
    fn named_parameters_become_specs_and_url_values() {
        let sql = "select {{n}}, {{day}} where x between {{p.start}} and {{p.end}} or y = {{n}}";
        assert_eq!(
            named_refs(sql),
            vec![
                ("n".to_string(), false),
                ("day".to_string(), false),
                ("p".to_string(), true)
            ]
        );
        let named = vec![
            NamedValue {
                name: "n".into(),
                kind: ParamKind::Integer,
                value: "21".into(),
                end: String::new(),
            },
            NamedValue {
                name: "p".into(),
                kind: ParamKind::DateRange,
                value: "2024-01-01".into(),
                end: "2024-01-31".into(),
            },
        ];
        let (specs, values) = named_request(sql, &named);
        let kinds: Vec<(String, ParamKind)> =
            specs.iter().map(|s| (s.name.clone(), s.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("n".to_string(), ParamKind::Integer),
                ("day".to_string(), ParamKind::Date),
                ("p".to_string(), ParamKind::DateRange)
            ]
        );
        assert_eq!(values["n"], vec!["21".to_string()]);
        assert_eq!(values["day"], vec![String::new()]);
        assert_eq!(values["p"], vec!["2024-01-01~2024-01-31".to_string()]);
        // What the server parses: the same values, typed.
        let today = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        assert_eq!(
            params::parse_value(&specs[0], &values["n"], today),
            Ok(params::ParamValue::Integer(21))
        );
        assert!(named_refs("select 1").is_empty());
        assert!(named_refs("select {{unclosed").is_empty());
    }

    #[test]
    fn names_are_quoted_only_when_needed() {
        assert_eq!(sql_name("orders", ConnectionKind::Postgres), "orders");
        assert_eq!(
            sql_name("public.Order Items", ConnectionKind::Postgres),
            "public.\"Order Items\""
        );
        assert_eq!(
            sql_name("Weird`Name", ConnectionKind::Mysql),
            "`Weird``Name`"
        );
        assert_eq!(sql_name("1st", ConnectionKind::Sqlite), "\"1st\"");
    }

    #[test]
    fn error_positions_count_as_the_editor_does() {
        // 1-based characters from the database, 0-based UTF-16 units for CodeMirror.
        assert_eq!(utf16_offset("select x", 8), 7);
        assert_eq!(utf16_offset("select '😀', nope", 14), 14);
        assert_eq!(utf16_offset("", 1), 0);
    }

    #[test]
    fn tabs_are_named_after_their_first_line() {
        assert_eq!(tab_title(""), "New query");
        assert_eq!(tab_title("\n  select 1\nfrom t"), "select 1");
        assert_eq!(
            tab_title("select a_very_long_column_name, another_one from t"),
            "select a_very_long_column_n…"
        );
    }
}
