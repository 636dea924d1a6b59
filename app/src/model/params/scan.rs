//! The SQL scanner: finds `{{name}}` placeholders and `[[ … ]]` optional blocks, skipping
//! comments, strings and dollar quotes as each dialect lexes them, and refuses placeholders
//! inside quotes.
use super::*;

/// Lexical rules of the dialect being scanned.
#[derive(Clone, Copy)]
pub(super) struct Lex {
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
pub(super) enum Positional {
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

    pub(super) fn of(dialect: Dialect) -> Lex {
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
pub(super) enum Seg {
    /// SQL text copied unchanged (strings and comments included).
    Text(Range<usize>),
    Param(Ref),
    /// `[[ … ]]` holding at least one placeholder; never nested.
    Block(Vec<Seg>),
}

pub(super) struct Scan {
    pub(super) segs: Vec<Seg>,
    /// The first positional placeholder written by the user: (text, byte offset).
    pub(super) positional: Option<(String, usize)>,
}

impl Scan {
    /// Every placeholder, in order, inside blocks or not.
    pub(super) fn refs(&self) -> Vec<&Ref> {
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

pub(super) fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(sql: &str, pos: usize) -> (usize, usize) {
    let before = &sql[..pos.min(sql.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// Why a `{{` did not start a valid placeholder.
pub(super) enum PlaceholderError {
    Unclosed,
    BadName(String),
}

/// Parses the placeholder starting with `{{` at `i`: its ref and the offset after `}}`.
pub(super) fn placeholder_at(sql: &str, i: usize) -> Result<(Ref, usize), PlaceholderError> {
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
pub(super) fn check_quoted(sql: &str, region: Range<usize>) -> Result<(), BindError> {
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
pub(super) fn skip_quoted(b: &[u8], start: usize, quote: u8, backslash: bool) -> (usize, usize) {
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
pub(super) fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
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
///
/// Longer than the rest on purpose: it is the one loop over the bytes that decides what is
/// SQL text and what is a value's place, and every case (quotes, comments, dollar quotes,
/// blocks, `{{name}}`) sits in one `match` so a reader sees that no byte is judged twice.
/// The skipping of quoted text and comments is in the helpers above.
pub(super) fn scan(sql: &str, lex: Lex) -> Result<Scan, BindError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
