//! Lexical checks on SQL text: exactly one statement per run. Quotes, identifiers,
//! comments and PostgreSQL dollar quotes are skipped, so a ';' inside them does not count.

use super::ConnectorError;

/// The statement without trailing semicolons and blanks; `MultipleStatements` when anything
/// but comments and whitespace follows a top-level ';'; an error for empty input.
pub fn single_statement(sql: &str) -> Result<&str, ConnectorError> {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut end_of_first: Option<usize> = None;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = skip_quoted(b, i),
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            b'#' => i = skip_line(b, i), // MySQL comment; never valid elsewhere at top level
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block(b, i),
            b'$' => i = skip_dollar(b, i),
            b';' => {
                end_of_first.get_or_insert(i);
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                if end_of_first.is_some() {
                    return Err(ConnectorError::MultipleStatements);
                }
                i += 1;
            }
        }
    }
    let stmt = &sql[..end_of_first.unwrap_or(sql.len())];
    if stmt.trim().is_empty() || is_only_comments(stmt) {
        return Err(ConnectorError::Sql {
            message: "There is no SQL to run.".into(),
            code: None,
            position: None,
        });
    }
    Ok(stmt.trim_end())
}

/// The SQL with string literals, quoted identifiers and comments blanked out, upper-cased
/// and with runs of whitespace folded: what the keywords are, whatever the literals say.
pub fn keywords(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < b.len() {
        let next = match b[i] {
            b'\'' | b'"' | b'`' => skip_quoted(b, i),
            b'-' if b.get(i + 1) == Some(&b'-') => skip_line(b, i),
            b'#' => skip_line(b, i),
            // MySQL executable comments (`/*! … */`, `/*!50100 … */`, `/*M! … */`) run their
            // content: it is read as code, not skipped.
            b'/' if b.get(i + 1) == Some(&b'*') && executable_comment(&b[i + 2..]).is_some() => {
                i += 2 + executable_comment(&b[i + 2..]).unwrap_or(0);
                if !out.ends_with(' ') {
                    out.push(' ');
                }
                continue;
            }
            b'*' if b.get(i + 1) == Some(&b'/') => i + 2,
            b'/' if b.get(i + 1) == Some(&b'*') => skip_block(b, i),
            b'$' => skip_dollar(b, i),
            c => {
                if c.is_ascii_whitespace() || c == b'(' {
                    if !out.ends_with(' ') {
                        out.push(' ');
                    }
                    if c == b'(' {
                        out.push_str("( ");
                    }
                } else {
                    out.push(c.to_ascii_uppercase() as char);
                }
                i += 1;
                continue;
            }
        };
        if !out.ends_with(' ') {
            out.push(' ');
        }
        i = next.max(i + 1);
    }
    out
}

/// MySQL statements that read or write files on the database server. Refused on read-only
/// runs as a second line behind the account's missing FILE privilege.
pub fn mysql_server_file_access(sql: &str) -> Option<&'static str> {
    let k = format!(" {} ", keywords(sql));
    [
        (" INTO OUTFILE ", "INTO OUTFILE"),
        (" INTO DUMPFILE ", "INTO DUMPFILE"),
        (" LOAD_FILE ( ", "LOAD_FILE()"),
        (" LOAD DATA ", "LOAD DATA"),
        (" LOAD XML ", "LOAD XML"),
    ]
    .into_iter()
    .find(|(needle, _)| k.contains(needle))
    .map(|(_, what)| what)
}

/// The length of an executable comment's marker (`!`, `!50100`, `M!`, `M!100000`) at the
/// start of a block comment's body, or `None` for an ordinary comment.
fn executable_comment(body: &[u8]) -> Option<usize> {
    let marker = match body {
        [b'!', ..] => 1,
        [b'M', b'!', ..] => 2,
        _ => return None,
    };
    Some(
        marker
            + body[marker..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count(),
    )
}

fn is_only_comments(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            b'#' => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block(b, i),
            c if c.is_ascii_whitespace() => i += 1,
            _ => return false,
        }
    }
    true
}

fn skip_quoted(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && q != b'"' {
            // MySQL backslash escapes; harmless over-skipping for standard strings.
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn skip_line(b: &[u8], start: usize) -> usize {
    b[start..]
        .iter()
        .position(|&c| c == b'\n')
        .map(|p| start + p + 1)
        .unwrap_or(b.len())
}

fn skip_block(b: &[u8], start: usize) -> usize {
    // Nested block comments, as PostgreSQL allows.
    let (mut depth, mut i) = (0usize, start);
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// `$tag$ … $tag$` (PostgreSQL); a `$1` placeholder is not a dollar quote.
fn skip_dollar(b: &[u8], start: usize) -> usize {
    let mut j = start + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    if j >= b.len() || b[j] != b'$' || b[start + 1..j].first().is_some_and(|c| c.is_ascii_digit()) {
        return start + 1;
    }
    let tag = &b[start..=j];
    let mut i = j + 1;
    while i + tag.len() <= b.len() {
        if &b[i..i + tag.len()] == tag {
            return i + tag.len();
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_comments_are_read_as_code() {
        for sql in [
            "SELECT 1 /*! INTO OUTFILE '/tmp/x' */",
            "SELECT /*!50000 LOAD_FILE('/etc/passwd') */",
            "SELECT 1 /*M!100000 INTO DUMPFILE '/tmp/y' */",
        ] {
            assert!(mysql_server_file_access(sql).is_some(), "{sql}");
        }
        // Ordinary comments still hide what they say.
        assert_eq!(
            mysql_server_file_access("SELECT 1 /* INTO OUTFILE */"),
            None
        );
    }

    #[test]
    fn one_statement_passes_with_trailing_semicolons() {
        assert_eq!(
            single_statement("select 1;  ;\n -- done\n").unwrap(),
            "select 1"
        );
        assert!(
            !single_statement("select ';' as a, \"x;y\", $$a;b$$, $t$;$t$ -- ;\n")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            single_statement("select $1::int /* ; */").unwrap(),
            "select $1::int /* ; */"
        );
        assert_eq!(
            single_statement("select 'it''s; fine'").unwrap(),
            "select 'it''s; fine'"
        );
    }

    #[test]
    fn more_than_one_statement_is_refused() {
        for sql in [
            "select 1; delete from t",
            "SELECT 1; COMMIT; DELETE FROM t",
            "select 1;/* c */select 2",
            "select $$x$$; drop table t",
            "select 'a'';'; update t set a = 1",
        ] {
            assert_eq!(
                single_statement(sql),
                Err(ConnectorError::MultipleStatements),
                "{sql}"
            );
        }
    }

    #[test]
    fn server_file_access_is_found_outside_literals_only() {
        assert_eq!(
            mysql_server_file_access("select * from t into  outfile '/tmp/x'"),
            Some("INTO OUTFILE")
        );
        assert_eq!(
            mysql_server_file_access("SELECT load_file ('/etc/passwd')"),
            Some("LOAD_FILE()")
        );
        assert_eq!(
            mysql_server_file_access("select 1 into/**/dumpfile '/tmp/x'"),
            Some("INTO DUMPFILE")
        );
        assert_eq!(
            mysql_server_file_access("select 'into outfile', `load_file` from t -- into outfile"),
            None
        );
        assert_eq!(mysql_server_file_access("select outfile from t"), None);
    }

    #[test]
    fn empty_input_is_an_error() {
        for sql in ["", "  ;", "-- nothing", "/* nothing */ ;"] {
            assert!(
                matches!(single_statement(sql), Err(ConnectorError::Sql { .. })),
                "{sql:?}"
            );
        }
    }
}
