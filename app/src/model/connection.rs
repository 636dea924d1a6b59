//! Connection settings as typed fields per kind. A connection string is parsed into the same
//! fields and validated; no user string ever reaches a driver as is.
use crate::error::{AppError, FieldError};
use serde::{Deserialize, Serialize};

/// TLS requirement for PostgreSQL and MySQL connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub const ALL: [SslMode; 5] = [
        SslMode::Prefer,
        SslMode::Disable,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    /// The name in connection strings and in the form (`verify-full`).
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => SslMode::Disable,
            "prefer" | "allow" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// Host-based settings shared by PostgreSQL and MySQL/MariaDB.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// Write-only: filled when saving, never sent back to the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default)]
    pub ssl_mode: SslMode,
}

impl std::fmt::Debug for NetworkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ssl_mode", &self.ssl_mode)
            .finish()
    }
}

/// What a connection points at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ConnectionConfig {
    Postgres(NetworkConfig),
    Mysql(NetworkConfig),
    Sqlite { path: String },
}

impl ConnectionConfig {
    /// Parses `postgres://user:pass@host:port/db?sslmode=…`, `mysql://…` (or `mariadb://…`),
    /// or `sqlite:///absolute/path.db` into typed fields, then validates them. Only the
    /// `sslmode` option is accepted; anything else is refused rather than passed on.
    pub fn from_url(raw: &str) -> Result<Self, AppError> {
        let bad = |m: &str| AppError::field("url", m.to_string());
        let url = url::Url::parse(raw.trim())
            .map_err(|_| bad("That is not a connection URL, e.g. postgres://user@host:5432/db."))?;
        let cfg = match url.scheme() {
            "postgres" | "postgresql" | "mysql" | "mariadb" => {
                let pg = matches!(url.scheme(), "postgres" | "postgresql");
                let mut ssl_mode = SslMode::default();
                for (k, v) in url.query_pairs() {
                    match k.as_ref() {
                        "sslmode" | "ssl-mode" => {
                            ssl_mode = SslMode::parse(&v.to_ascii_lowercase())
                                .ok_or_else(|| bad("sslmode must be disable, prefer, require, verify-ca or verify-full."))?
                        }
                        other => return Err(bad(&format!("The option '{other}' is not supported; only sslmode is."))),
                    }
                }
                let decode = |s: &str| {
                    percent_decode(s).ok_or_else(|| bad("The URL has an invalid %-escape."))
                };
                let net = NetworkConfig {
                    host: url
                        .host_str()
                        .unwrap_or("")
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string(),
                    port: url.port().unwrap_or(if pg { 5432 } else { 3306 }),
                    database: decode(url.path().trim_start_matches('/'))?,
                    user: decode(url.username())?,
                    password: url.password().map(decode).transpose()?,
                    ssl_mode,
                };
                if pg {
                    ConnectionConfig::Postgres(net)
                } else {
                    ConnectionConfig::Mysql(net)
                }
            }
            "sqlite" => {
                if url.query().is_some() {
                    return Err(bad(
                        "SQLite URLs take no options: sqlite:///path/to/file.db",
                    ));
                }
                ConnectionConfig::Sqlite {
                    path: percent_decode(url.path())
                        .ok_or_else(|| bad("The URL has an invalid %-escape."))?,
                }
            }
            other => {
                return Err(bad(&format!(
                    "Unsupported kind '{other}': use postgres://, mysql:// or sqlite://."
                )))
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Field checks: no separators or control characters that could smuggle options into a
    /// driver, sane lengths, a port.
    pub fn validate(&self) -> Result<(), AppError> {
        let mut errs = Vec::new();
        match self {
            ConnectionConfig::Postgres(n) | ConnectionConfig::Mysql(n) => {
                let forbidden = |s: &str| {
                    s.chars()
                        .any(|c| c.is_control() || c.is_whitespace() || "=;?&#/\\'\"".contains(c))
                };
                if n.host.is_empty()
                    || n.host.len() > 253
                    || forbidden(&n.host)
                    || n.host.starts_with('-')
                {
                    errs.push(FieldError::new("host", "Enter a host name or IP address."));
                }
                if n.port == 0 {
                    errs.push(FieldError::new("port", "Enter a port between 1 and 65535."));
                }
                if n.database.is_empty() || n.database.len() > 128 || forbidden(&n.database) {
                    errs.push(FieldError::new(
                        "database",
                        "Enter a database name (no spaces, quotes or ; = ? & / characters).",
                    ));
                }
                if n.user.is_empty() || n.user.len() > 128 || forbidden(&n.user) {
                    errs.push(FieldError::new(
                        "user",
                        "Enter a user name (no spaces, quotes or ; = ? & / characters).",
                    ));
                }
                if n.password
                    .as_deref()
                    .is_some_and(|p| p.contains('\0') || p.len() > 1024)
                {
                    errs.push(FieldError::new(
                        "password",
                        "The password may not contain NUL characters.",
                    ));
                }
            }
            ConnectionConfig::Sqlite { path } => {
                if !path.starts_with('/')
                    || path.contains('\0')
                    || path.contains('?')
                    || path.len() > 4096
                {
                    errs.push(FieldError::new(
                        "path",
                        "Enter the absolute path of a SQLite file.",
                    ));
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(errs))
        }
    }
}

impl ConnectionConfig {
    pub fn kind(&self) -> ConnectionKind {
        match self {
            ConnectionConfig::Postgres(_) => ConnectionKind::Postgres,
            ConnectionConfig::Mysql(_) => ConnectionKind::Mysql,
            ConnectionConfig::Sqlite { .. } => ConnectionKind::Sqlite,
        }
    }

    /// Where it points, without secrets: `user@host:port/db` or the file path.
    pub fn target(&self) -> String {
        match self {
            ConnectionConfig::Postgres(n) | ConnectionConfig::Mysql(n) => {
                let host = if n.host.contains(':') {
                    format!("[{}]", n.host)
                } else {
                    n.host.clone()
                };
                format!("{}@{}:{}/{}", n.user, host, n.port, n.database)
            }
            ConnectionConfig::Sqlite { path } => path.clone(),
        }
    }

    pub fn network(&self) -> Option<&NetworkConfig> {
        match self {
            ConnectionConfig::Postgres(n) | ConnectionConfig::Mysql(n) => Some(n),
            ConnectionConfig::Sqlite { .. } => None,
        }
    }

    pub fn network_mut(&mut self) -> Option<&mut NetworkConfig> {
        match self {
            ConnectionConfig::Postgres(n) | ConnectionConfig::Mysql(n) => Some(n),
            ConnectionConfig::Sqlite { .. } => None,
        }
    }
}

/// Id of a saved connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct ConnectionId(pub i64);

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The database engine of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionKind {
    Postgres,
    Mysql,
    Sqlite,
}

impl ConnectionKind {
    pub const ALL: [ConnectionKind; 3] = [
        ConnectionKind::Postgres,
        ConnectionKind::Mysql,
        ConnectionKind::Sqlite,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Postgres => "postgres",
            ConnectionKind::Mysql => "mysql",
            ConnectionKind::Sqlite => "sqlite",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ConnectionKind::Postgres => "PostgreSQL",
            ConnectionKind::Mysql => "MySQL / MariaDB",
            ConnectionKind::Sqlite => "SQLite",
        }
    }
    pub fn default_port(self) -> u16 {
        match self {
            ConnectionKind::Postgres => 5432,
            ConnectionKind::Mysql => 3306,
            ConnectionKind::Sqlite => 0,
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The colors a connection can be tagged with (a CSS class each).
pub const COLORS: [&str; 8] = [
    "slate", "blue", "green", "amber", "red", "violet", "teal", "pink",
];

/// A connection as listed. `target` and `warning` are only filled for people who may manage
/// connections; viewers see name, kind, color and status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSummary {
    pub id: ConnectionId,
    pub name: String,
    pub kind: ConnectionKind,
    pub color: String,
    pub active: bool,
    pub writable: bool,
    pub demo: bool,
    pub target: Option<String>,
}

/// A connection opened for editing (editors and admins): its settings without the password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionEdit {
    pub id: ConnectionId,
    pub name: String,
    pub color: String,
    pub active: bool,
    pub writable: bool,
    pub demo: bool,
    /// Settings with `password` always `None`.
    pub config: ConnectionConfig,
    pub has_password: bool,
}

/// The fields of the connection form, flat so a plain HTML form can post them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionForm {
    #[serde(default)]
    pub id: Option<ConnectionId>,
    pub name: String,
    #[serde(default)]
    pub color: String,
    /// postgres, mysql or sqlite; ignored when `url` is given.
    #[serde(default)]
    pub kind: String,
    /// A connection string, parsed into the fields below when not empty.
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub database: String,
    #[serde(default)]
    pub user: String,
    /// Empty keeps the stored password (only allowed while host, port and database stay).
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub ssl_mode: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub writable: bool,
}

impl ConnectionForm {
    /// Puts parsed settings into the fields (kind, host, port, database, user, password when
    /// the string has one, SSL mode or file path) and empties the connection string, so that
    /// what is saved is what the fields show.
    pub fn fill_from(&mut self, cfg: ConnectionConfig) {
        self.kind = cfg.kind().as_str().into();
        match cfg {
            ConnectionConfig::Postgres(n) | ConnectionConfig::Mysql(n) => {
                self.host = n.host;
                self.port = n.port.to_string();
                self.database = n.database;
                self.user = n.user;
                if let Some(p) = n.password {
                    self.password = p;
                }
                self.ssl_mode = n.ssl_mode.as_str().into();
            }
            ConnectionConfig::Sqlite { path } => self.path = path,
        }
        self.url.clear();
    }

    /// Takes the connection fields of `parsed` (a form filled from a connection string),
    /// keeping this form's name, color, id and writable flag, and a typed password when the
    /// string has none.
    pub fn take_connection(&mut self, parsed: ConnectionForm) {
        self.kind = parsed.kind;
        self.host = parsed.host;
        self.port = parsed.port;
        self.database = parsed.database;
        self.user = parsed.user;
        if !parsed.password.is_empty() {
            self.password = parsed.password;
        }
        self.ssl_mode = parsed.ssl_mode;
        self.path = parsed.path;
        self.url.clear();
    }

    /// The typed settings the form describes (validated).
    pub fn config(&self) -> Result<ConnectionConfig, AppError> {
        if !self.url.trim().is_empty() {
            return ConnectionConfig::from_url(&self.url);
        }
        let kind = ConnectionKind::parse(self.kind.trim()).ok_or_else(|| {
            AppError::field("kind", "Choose PostgreSQL, MySQL / MariaDB or SQLite.")
        })?;
        let cfg = match kind {
            ConnectionKind::Sqlite => ConnectionConfig::Sqlite {
                path: self.path.trim().to_string(),
            },
            _ => {
                let port = if self.port.trim().is_empty() {
                    kind.default_port()
                } else {
                    self.port
                        .trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| {
                            AppError::field("port", "Enter a port between 1 and 65535.")
                        })?
                };
                let ssl_mode = if self.ssl_mode.trim().is_empty() {
                    SslMode::default()
                } else {
                    SslMode::parse(self.ssl_mode.trim())
                        .ok_or_else(|| AppError::field("ssl_mode", "Choose an SSL mode."))?
                };
                let net = NetworkConfig {
                    host: self.host.trim().to_string(),
                    port,
                    database: self.database.trim().to_string(),
                    user: self.user.trim().to_string(),
                    password: (!self.password.is_empty()).then(|| self.password.clone()),
                    ssl_mode,
                };
                if kind == ConnectionKind::Postgres {
                    ConnectionConfig::Postgres(net)
                } else {
                    ConnectionConfig::Mysql(net)
                }
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Loopback and private hosts connections may reach, besides public ones (admins only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllowedHosts {
    /// From the server's configuration (`SIGHTLINE_ALLOW_CONNECTION_HOSTS`): read-only here.
    pub configured: Vec<String>,
    /// Added by admins on the Connections page: host names, addresses, CIDR ranges.
    pub entries: Vec<String>,
}

/// What "Test" found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// The server's version text.
    pub version: String,
    /// Round trip of the test, in milliseconds.
    pub elapsed_ms: u64,
    /// Set when the account can do more than reading (superuser, file access, …).
    pub warning: Option<String>,
}

/// A table or view of a connection and its columns (for autocomplete and the schema list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaTable {
    /// `schema.table`, or `table` for the default schema.
    pub name: String,
    pub columns: Vec<String>,
}

/// Decodes %-escapes; `None` when an escape is malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let h = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_typed_fields() {
        let c = ConnectionConfig::from_url(
            "postgres://ann:p%40ss@db.example.com:6543/shop?sslmode=require",
        )
        .unwrap();
        assert_eq!(
            c,
            ConnectionConfig::Postgres(NetworkConfig {
                host: "db.example.com".into(),
                port: 6543,
                database: "shop".into(),
                user: "ann".into(),
                password: Some("p@ss".into()),
                ssl_mode: SslMode::Require,
            })
        );
        assert!(
            matches!(ConnectionConfig::from_url("mariadb://root@127.0.0.1/test").unwrap(),
            ConnectionConfig::Mysql(n) if n.port == 3306 && n.password.is_none())
        );
        assert_eq!(
            ConnectionConfig::from_url("sqlite:///var/data/demo.db").unwrap(),
            ConnectionConfig::Sqlite {
                path: "/var/data/demo.db".into()
            }
        );
    }

    #[test]
    fn injection_through_fields_or_options_is_refused() {
        for bad in [
            "postgres://u@h/db?options=-c%20statement_timeout%3D0",
            "postgres://u@h/db?sslrootcert=/etc/passwd",
            "postgres://u@h/db%3Bhost%3Devil",
            "postgres://u@h/db%20host=evil",
            "postgres://u%3Dx@h/db",
            "postgres://u@h/db%00",
            "mysql://u@h/db?allowLoadLocalInfile=true",
            "sqlite:///etc/passwd?mode=rwc",
            "sqlite::memory:",
            "file:/etc/passwd",
            "postgres://u@/db",
        ] {
            assert!(
                ConnectionConfig::from_url(bad).is_err(),
                "{bad} must be refused"
            );
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        let c = ConnectionConfig::from_url("postgres://ann:hunter2secret@h/db").unwrap();
        assert!(!format!("{c:?}").contains("hunter2secret"));
    }

    #[test]
    fn a_pasted_string_fills_the_fields() {
        let mut f = ConnectionForm {
            name: "Sales".into(),
            kind: "sqlite".into(),
            url: "postgres://ann:p%40ss@db.example.com:6543/sales?sslmode=verify-full".into(),
            ..Default::default()
        };
        let cfg = ConnectionConfig::from_url(&f.url).unwrap();
        f.fill_from(cfg.clone());
        assert_eq!(
            (
                f.kind.as_str(),
                f.host.as_str(),
                f.port.as_str(),
                f.database.as_str()
            ),
            ("postgres", "db.example.com", "6543", "sales")
        );
        assert_eq!((f.user.as_str(), f.password.as_str()), ("ann", "p@ss"));
        assert_eq!(f.ssl_mode, "verify-full");
        assert!(f.url.is_empty(), "the string is not kept beside the fields");
        assert_eq!(f.name, "Sales", "the name stays");
        // The fields now describe the same connection the string did.
        assert_eq!(f.config().unwrap(), cfg);
        // The browser's side: the parsed fields go into the open form.
        let mut open = ConnectionForm {
            name: "Open".into(),
            password: "typed".into(),
            url: "x".into(),
            ..Default::default()
        };
        let mut parsed = ConnectionForm::default();
        parsed.fill_from(ConnectionConfig::from_url("mysql://u@h:3307/d").unwrap());
        open.take_connection(parsed);
        assert_eq!(
            (open.name.as_str(), open.kind.as_str(), open.port.as_str()),
            ("Open", "mysql", "3307")
        );
        assert_eq!((open.password.as_str(), open.url.as_str()), ("typed", ""));
        // No password in the string keeps one typed earlier.
        f.fill_from(ConnectionConfig::from_url("mariadb://root@127.0.0.1/test").unwrap());
        assert_eq!(
            (f.kind.as_str(), f.port.as_str(), f.password.as_str()),
            ("mysql", "3306", "p@ss")
        );
        assert_eq!(f.ssl_mode, "prefer");
        for m in SslMode::ALL {
            assert_eq!(SslMode::parse(m.as_str()), Some(m));
        }
    }
}
