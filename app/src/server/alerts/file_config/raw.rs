//! The alerts file as written: its shape, and deserializers that refuse unknown fields, name
//! the accepted values and substitute `${VAR}` from the environment.
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) connections: Named<ConnectionSpec>,
    #[serde(default)]
    pub(super) channels: Named<ChannelSpec>,
    #[serde(default)]
    pub(super) egress: EgressSpec,
    #[serde(default)]
    pub(super) smtp: Option<SmtpSpec>,
    /// The state file, relative to the config file's folder.
    #[serde(default)]
    pub(super) state: Option<Text>,
    /// Link back to Sightline (or a runbook) put in every message.
    #[serde(default)]
    pub(super) link: Option<Text>,
    /// The time zone of schedules that name none (default UTC).
    #[serde(default)]
    pub(super) timezone: Option<TimeZoneName>,
    pub(super) alerts: Vec<AlertSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertSpec {
    pub(super) name: Name,
    pub(super) connection: String,
    /// Used as written: values go in `params` (`$1`, `?`), never spliced into the SQL.
    pub(super) sql: String,
    #[serde(default)]
    pub(super) params: Vec<ParamSpec>,
    pub(super) rule: RuleSpec,
    #[serde(default)]
    pub(super) schedule: Option<CronText>,
    #[serde(default)]
    pub(super) timezone: Option<TimeZoneName>,
    #[serde(default)]
    pub(super) pending_for: u32,
    #[serde(default)]
    pub(super) cooldown: Option<Seconds>,
    #[serde(default)]
    pub(super) channels: Vec<String>,
    #[serde(default)]
    pub(super) link: Option<Text>,
    #[serde(default)]
    pub(super) timeout: Option<Seconds>,
    #[serde(default)]
    pub(super) max_rows: Option<u64>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EgressSpec {
    /// Hosts allowed despite the SSRF policy (plain http, loopback, private addresses).
    #[serde(default)]
    pub(super) allow_hosts: Vec<Text>,
}

/// A connection: its URL, parsed and checked where it is written.
pub(super) struct ConnectionSpec(pub(super) ConnectionConfig);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnection {
    pub(super) url: Text,
}

impl<'de> Deserialize<'de> for ConnectionSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(
            d,
            "a connection such as { url: \"postgres://…\" }",
            |r: RawConnection| {
                ConnectionConfig::from_url(&r.url.0)
                    .map(ConnectionSpec)
                    .map_err(|e| format!("url: {e}"))
            },
        )
    }
}

/// A channel: `{ kind: slack|email|webhook, … }` with only that kind's fields.
pub(super) struct ChannelSpec(pub(super) ChannelConfig);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChannel {
    pub(super) kind: ChannelKind,
    #[serde(default)]
    pub(super) url: Option<Text>,
    #[serde(default)]
    pub(super) secret: Option<Text>,
    #[serde(default)]
    pub(super) to: Option<Vec<Text>>,
    #[serde(default)]
    pub(super) subject: Option<Text>,
}

impl<'de> Deserialize<'de> for ChannelSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(
            d,
            "a channel such as { kind: slack, url: … }",
            |r: RawChannel| {
                let kind = r.kind.as_str();
                let not_for = |field: &str, set: bool| {
                    if set {
                        Err(format!("`{field}` is not a setting of {kind} channels"))
                    } else {
                        Ok(())
                    }
                };
                let url = || {
                    r.url
                        .clone()
                        .map(|u| u.0)
                        .ok_or_else(|| format!("{kind} channels need `url`"))
                };
                let config = match r.kind {
                    ChannelKind::Slack => {
                        not_for("secret", r.secret.is_some())?;
                        not_for("to", r.to.is_some())?;
                        not_for("subject", r.subject.is_some())?;
                        ChannelConfig::Slack { url: url()? }
                    }
                    ChannelKind::Webhook => {
                        not_for("to", r.to.is_some())?;
                        not_for("subject", r.subject.is_some())?;
                        ChannelConfig::Webhook {
                            url: url()?,
                            secret: r.secret.clone().map(|s| s.0),
                        }
                    }
                    ChannelKind::Email => {
                        not_for("url", r.url.is_some())?;
                        not_for("secret", r.secret.is_some())?;
                        let to = r.to.clone().ok_or("email channels need `to`")?;
                        ChannelConfig::Email {
                            to: to.into_iter().map(|t| t.0).collect(),
                            subject: r.subject.clone().map(|s| s.0),
                        }
                    }
                };
                Ok(ChannelSpec(config))
            },
        )
    }
}

/// The server's SMTP settings for email channels.
pub(super) struct SmtpSpec(pub(super) SmtpSettings);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub(super) host: Text,
    #[serde(default)]
    pub(super) port: Option<u16>,
    #[serde(default)]
    pub(super) tls: SmtpTls,
    #[serde(default)]
    pub(super) username: Option<Text>,
    #[serde(default)]
    pub(super) password: Option<Text>,
    pub(super) from: Text,
    #[serde(default)]
    pub(super) timeout: Option<Seconds>,
}

impl<'de> Deserialize<'de> for SmtpSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(d, "SMTP settings { host, port, tls, … }", |r: RawSmtp| {
            if r.host.0.trim().is_empty() {
                return Err("host is empty".into());
            }
            Ok(SmtpSpec(SmtpSettings {
                host: r.host.0,
                port: r.port.unwrap_or(match r.tls {
                    SmtpTls::None => 25,
                    SmtpTls::Starttls => 587,
                    SmtpTls::Tls => 465,
                }),
                tls: r.tls,
                username: r.username.map(|u| u.0).filter(|u| !u.is_empty()),
                password: r.password.map(|p| p.0),
                from: r.from.0,
                timeout: Duration::from_secs(r.timeout.map_or(30, |t| t.0.max(1))),
            }))
        })
    }
}

/// A rule, written as `app::model::alert::Rule` is serialized, but strict: a field that
/// does not belong to the rule's kind is an error rather than ignored.
pub(super) struct RuleSpec(pub(super) Rule);

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RuleKind {
    Threshold,
    AnyRows,
    NoRows,
    PerRow,
    Always,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) kind: RuleKind,
    #[serde(default)]
    pub(super) column: Option<String>,
    #[serde(default)]
    pub(super) selector: Option<Selector>,
    #[serde(default)]
    pub(super) op: Option<Op>,
    #[serde(default)]
    pub(super) value: Option<f64>,
    #[serde(default)]
    pub(super) key_column: Option<String>,
    #[serde(default)]
    pub(super) condition: Option<RawCondition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    pub(super) column: String,
    pub(super) op: Op,
    pub(super) value: f64,
}

impl<'de> Deserialize<'de> for RuleSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(
            d,
            "a rule such as { kind: threshold, … }",
            |r: RawRule| {
                let (kind, allowed): (&str, &[&str]) = match r.kind {
                    RuleKind::Threshold => ("threshold", &["column", "selector", "op", "value"]),
                    RuleKind::AnyRows => ("any_rows", &[]),
                    RuleKind::NoRows => ("no_rows", &[]),
                    RuleKind::PerRow => ("per_row", &["key_column", "condition"]),
                    RuleKind::Always => ("always", &[]),
                };
                let present = [
                    ("column", r.column.is_some()),
                    ("selector", r.selector.is_some()),
                    ("op", r.op.is_some()),
                    ("value", r.value.is_some()),
                    ("key_column", r.key_column.is_some()),
                    ("condition", r.condition.is_some()),
                ];
                if let Some((field, _)) =
                    present.iter().find(|(f, set)| *set && !allowed.contains(f))
                {
                    return Err(format!("`{field}` is not a setting of {kind} rules"));
                }
                let need = |what: &str| format!("{kind} rules need `{what}`");
                Ok(RuleSpec(match r.kind {
                    RuleKind::Threshold => Rule::Threshold(Threshold {
                        column: r.column.ok_or_else(|| need("column"))?,
                        selector: r.selector.unwrap_or_default(),
                        op: r.op.ok_or_else(|| need("op"))?,
                        value: r.value.ok_or_else(|| need("value"))?,
                    }),
                    RuleKind::AnyRows => Rule::AnyRows,
                    RuleKind::NoRows => Rule::NoRows,
                    RuleKind::Always => Rule::Always,
                    RuleKind::PerRow => Rule::PerRow {
                        key_column: r.key_column.ok_or_else(|| need("key_column"))?,
                        condition: r.condition.map(|c| RowCondition {
                            column: c.column,
                            op: c.op,
                            value: c.value,
                        }),
                    },
                }))
            },
        )
    }
}

/// Deserializes `R` from a mapping, then converts it with `f`; an error from `f` is
/// reported at the mapping's position in the file.
pub(super) fn checked_map<'de, D, R, T, F>(
    d: D,
    expecting: &'static str,
    f: F,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    R: Deserialize<'de>,
    F: FnOnce(R) -> Result<T, String>,
{
    struct V<R, F>(F, &'static str, PhantomData<R>);
    impl<'de, R, T, F> Visitor<'de> for V<R, F>
    where
        R: Deserialize<'de>,
        F: FnOnce(R) -> Result<T, String>,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.1)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            let raw = R::deserialize(MapAccessDeserializer::new(map))?;
            (self.0)(raw).map_err(de::Error::custom)
        }
    }
    d.deserialize_map(V(f, expecting, PhantomData))
}

/// A mapping of names to `T`, in file order; a name given twice is an error.
pub(super) struct Named<T>(pub(super) Vec<(String, T)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Named<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named<T>, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some(name) = map.next_key::<Name>()? {
                    if out.iter().any(|(n, _)| *n == name.0) {
                        return Err(de::Error::custom(format!(
                            "\"{}\" is defined twice",
                            name.0
                        )));
                    }
                    let value = map.next_value::<T>()?;
                    out.push((name.0, value));
                }
                Ok(Named(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A name of an alert, connection or channel: one line of printable text.
pub(super) struct Name(pub(super) String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_with(d, "a name", |s| {
            let s = s.trim();
            if s.is_empty() {
                Err("a name cannot be empty".into())
            } else if s.chars().count() > 100 {
                Err("a name has at most 100 characters".into())
            } else if s.chars().any(char::is_control) {
                Err("a name cannot contain control characters".into())
            } else {
                Ok(Name(s.to_string()))
            }
        })
    }
}

/// A string value with `${VAR}` references replaced from the environment, checked where it
/// is written so an unset variable is reported at its line and column. `$${` is a literal
/// `${`; a `$` not followed by `{` stays as it is.
#[derive(Clone)]
pub(super) struct Text(pub(super) String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_with(d, "a string", |s| substitute(s, env_var).map(Text))
    }
}

pub(super) fn env_var(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "the environment variable {name} is not valid UTF-8"
        )),
    }
}

/// Replaces `${NAME}` with `lookup(NAME)`. Errors name the variable, never a value.
pub(super) fn substitute(
    raw: &str,
    lookup: impl Fn(&str) -> Result<Option<String>, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or("`${` is not closed by `}` (write `$${` for a literal `${`)")?;
            let name = &after[..end];
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "`${{{name}}}` is not a variable reference: names are letters, digits and _ \
                     (write `$${{` for a literal `${{`)"
                ));
            }
            match lookup(name)? {
                Some(v) => out.push_str(&v),
                None => {
                    return Err(format!(
                        "unknown variable ${{{name}}}: it is not set in the environment"
                    ))
                }
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A query parameter: a string (with `${VAR}`), a number, a boolean, null, or a list of those.
pub(super) struct ParamSpec(pub(super) Param);

impl<'de> Deserialize<'de> for ParamSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ParamSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ParamSpec, E> {
                substitute(s, env_var)
                    .map(|t| ParamSpec(Param::Text(t)))
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ParamSpec, E> {
                Ok(ParamSpec(Param::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ParamSpec, E> {
                Ok(ParamSpec(
                    i64::try_from(v).map_or(Param::Number(v.to_string()), Param::Int),
                ))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ParamSpec, E> {
                if v.is_finite() {
                    Ok(ParamSpec(Param::Number(v.to_string())))
                } else {
                    Err(E::custom("a parameter must be a finite number"))
                }
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ParamSpec, E> {
                Ok(ParamSpec(Param::Bool(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ParamSpec, E> {
                Ok(ParamSpec(Param::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<ParamSpec, E> {
                Ok(ParamSpec(Param::Null))
            }
            /// A list, for `= ANY($1)` on PostgreSQL (one placeholder per item elsewhere).
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ParamSpec, A::Error> {
                let mut items = Vec::new();
                while let Some(ParamSpec(p)) = seq.next_element()? {
                    if matches!(p, Param::List(_)) {
                        return Err(de::Error::custom("a list parameter cannot hold lists"));
                    }
                    items.push(p);
                }
                Ok(ParamSpec(Param::List(items)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration in seconds: a number of seconds, or `90s`, `5m`, `2h`, `1d`.
pub(super) struct Seconds(pub(super) u64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 90s, 5m, 2h or 1d")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                u64::try_from(v)
                    .map(Seconds)
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Seconds, E> {
                parse_duration(s).map(Seconds).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

pub(super) fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let bad = || format!("\"{s}\" is not a duration: write e.g. 90s, 5m, 2h or 1d");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// A 5-field cron expression or `@hourly`-style nickname, checked where it is written.
pub(super) struct CronText(pub(super) String);

impl<'de> Deserialize<'de> for CronText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_with(d, "a cron expression such as \"*/5 * * * *\"", |s| {
            Schedule::new(s, DEFAULT_TIMEZONE)
                .map(|s| CronText(s.cron))
                .map_err(|e| e.to_string())
        })
    }
}

/// An IANA time zone name, checked where it is written.
pub(super) struct TimeZoneName(pub(super) String);

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_with(d, "a time zone such as Europe/Paris", |s| {
            Schedule::new("0 0 * * *", s)
                .map(|s| TimeZoneName(s.timezone))
                .map_err(|e| e.to_string())
        })
    }
}

/// Reads a string and converts it inside the visitor, so that the parser reports an error
/// at the string's own line and column.
pub(super) fn string_with<'de, D, T, F>(d: D, expecting: &'static str, f: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    struct V<F>(F, &'static str);
    impl<'de, T, F: FnOnce(&str) -> Result<T, String>> Visitor<'de> for V<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.1)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
            (self.0)(s).map_err(E::custom)
        }
    }
    d.deserialize_str(V(f, expecting))
}
