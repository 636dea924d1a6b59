//! Parameter specs as an author declares them: names, kinds, bounds, defaults and
//! patterns are checked before an insight (or a dashboard filter) is saved.
use super::*;

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
pub(super) fn validate_bounds(spec: &ParamSpec) -> Result<(), (String, String)> {
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
pub(super) fn validate_default(spec: &ParamSpec) -> Result<(), (String, String)> {
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
pub(super) fn pattern_regex(p: &str) -> Result<regex::Regex, String> {
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

/// Specs for the `{{names}}` the SQL uses, keeping the ones already defined.
pub fn specs_for_sql(sql: &str, existing: &[ParamSpec]) -> Vec<ParamSpec> {
    let mut out: Vec<ParamSpec> = vec![];
    if let Ok(refs) = references(sql) {
        for r in refs {
            if out.iter().any(|s| s.name == r.name) {
                continue;
            }
            out.push(
                existing
                    .iter()
                    .find(|s| s.name == r.name)
                    .cloned()
                    .unwrap_or_else(|| {
                        let mut s = ParamSpec::new(&r.name, ParamKind::Text);
                        if r.part.is_some() {
                            s.kind = ParamKind::DateRange;
                        }
                        s
                    }),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::fixtures::*;

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

    #[test]
    fn specs_follow_the_sql_keeping_the_ones_defined() {
        let mut country = spec("country", ParamKind::Enum);
        country.label = "Country".into();
        let unused = spec("gone", ParamKind::Number);
        let got = specs_for_sql(
            "select * from t where c = {{country}} and d between {{p.start}} and {{p.end}} and x = {{x}} or c = {{country}}",
            &[unused, country.clone()],
        );
        let names: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["country", "p", "x"]);
        assert_eq!(got[0], country, "a defined spec is kept as it is");
        assert_eq!(
            got[1].kind,
            ParamKind::DateRange,
            "p.start / p.end make a date range"
        );
        assert_eq!(got[2].kind, ParamKind::Text);
        assert!(
            specs_for_sql("select {{", &[]).is_empty(),
            "SQL that does not scan proposes nothing"
        );
    }
}
