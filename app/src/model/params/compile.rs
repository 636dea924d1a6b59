//! The compiler: placeholders become the driver's (`$n` or `?`) and values are collected
//! to be bound. This is where values are kept out of the SQL text.
use super::*;

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
pub(super) struct Emitter {
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
pub(super) fn bind(v: &ParamValue) -> Option<BoundValue> {
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
    use crate::model::params::fixtures::*;

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
