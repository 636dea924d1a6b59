//! Connections: create, edit, test, activate and delete data sources. Passwords are sealed
//! at rest and write-only; a changed target (host, port, database, user, TLS) needs the
//! password again, so a stored secret can never be sent to a host someone just typed in.
use crate::{
    error::AppError,
    model::{
        connection::{
            AllowedHosts, ConnectionConfig, ConnectionEdit, ConnectionForm, ConnectionId,
            ConnectionSummary, SchemaTable, TestOutcome, COLORS,
        },
        Permission, Role,
    },
    server::{
        connectors::{Connector, ConnectorError, PoolOptions},
        crypto::SecretBox,
        db::{audit, connections as repo, connections::ConnectionRow, Db},
        egress::{self, EgressError, EgressPolicy},
        engine::ConnectionSource,
        settings::{Settings, StoreTarget},
        AppState, Principal,
    },
};
use futures::future::BoxFuture;
use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

/// The `builtin` marker of the generated demo connection.
pub const DEMO: &str = "demo";
/// The `builtin` marker of the "Uploads" connection, which holds imported files.
pub const UPLOADS: &str = "uploads";

/// Whether a connection is one of the built-in SQLite files in the data directory (demo,
/// uploads), which are exempt from the SQLite directory setting.
pub fn builtin_file(row: &ConnectionRow) -> bool {
    matches!(row.builtin.as_deref(), Some(DEMO | UPLOADS))
}

fn context(id: ConnectionId) -> String {
    format!("connection:{id}")
}

fn parse_config(row: &ConnectionRow) -> Result<ConnectionConfig, AppError> {
    serde_json::from_str(&row.config).map_err(crate::error::internal)
}

/// A connection with its password opened: only for connecting, never for answers.
pub fn full_config(state: &AppState, row: &ConnectionRow) -> Result<ConnectionConfig, AppError> {
    open_config(&state.secrets, row)
}

fn open_config(secrets: &SecretBox, row: &ConnectionRow) -> Result<ConnectionConfig, AppError> {
    let mut cfg = parse_config(row)?;
    if let (Some(sealed), Some(n)) = (&row.secret, cfg.network_mut()) {
        let id = ConnectionId(row.id);
        n.password = Some(
            secrets
                .open(sealed, &context(id))
                .map_err(crate::error::internal)?,
        );
    }
    Ok(cfg)
}

/// The connections as the engine sees them ([`ConnectionSource`]): rows from the store, and
/// connectors opened with the password unsealed and the egress policy applied.
pub struct Source {
    db: Db,
    settings: Arc<Settings>,
    secrets: Arc<SecretBox>,
}

impl Source {
    pub fn new(db: Db, settings: Arc<Settings>, secrets: Arc<SecretBox>) -> Self {
        Source {
            db,
            settings,
            secrets,
        }
    }
}

impl ConnectionSource for Source {
    fn row(&self, id: ConnectionId) -> BoxFuture<'_, Result<ConnectionRow, AppError>> {
        Box::pin(stored_row(&self.db, id))
    }

    fn open<'a>(&'a self, row: &'a ConnectionRow) -> BoxFuture<'a, Result<Connector, AppError>> {
        Box::pin(async move {
            let cfg = open_config(&self.secrets, row)?;
            open(&self.settings, &cfg, builtin_file(row)).await
        })
    }
}

fn summary(row: &ConnectionRow, me: &Principal) -> ConnectionSummary {
    let cfg = parse_config(row).ok();
    let manage = me.can(Permission::ManageConnections);
    ConnectionSummary {
        id: ConnectionId(row.id),
        name: row.name.clone(),
        kind: cfg
            .as_ref()
            .map(|c| c.kind())
            .unwrap_or(crate::model::connection::ConnectionKind::Postgres),
        color: row.color.clone(),
        active: row.active,
        writable: row.writable,
        demo: row.builtin.as_deref() == Some(DEMO),
        target: if manage {
            cfg.map(|c| c.target())
        } else {
            None
        },
    }
}

pub async fn list(state: &AppState, me: &Principal) -> Result<Vec<ConnectionSummary>, AppError> {
    me.require(Permission::ViewInsights)?;
    Ok(repo::list(&state.db)
        .await?
        .iter()
        .map(|r| summary(r, me))
        .collect())
}

pub async fn row(state: &AppState, id: ConnectionId) -> Result<ConnectionRow, AppError> {
    stored_row(&state.db, id).await
}

async fn stored_row(db: &Db, id: ConnectionId) -> Result<ConnectionRow, AppError> {
    repo::get(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("Connection".into()))
}

pub async fn get(
    state: &AppState,
    me: &Principal,
    id: ConnectionId,
) -> Result<ConnectionEdit, AppError> {
    me.require(Permission::ManageConnections)?;
    let row = row(state, id).await?;
    let mut config = parse_config(&row)?;
    if let Some(n) = config.network_mut() {
        n.password = None;
    }
    Ok(ConnectionEdit {
        id,
        name: row.name.clone(),
        color: row.color.clone(),
        active: row.active,
        writable: row.writable,
        demo: row.builtin.as_deref() == Some(DEMO),
        has_password: row.secret.is_some(),
        config,
    })
}

fn same_target(a: &ConnectionConfig, b: &ConnectionConfig) -> bool {
    match (a, b) {
        (ConnectionConfig::Postgres(x), ConnectionConfig::Postgres(y))
        | (ConnectionConfig::Mysql(x), ConnectionConfig::Mysql(y)) => {
            x.host == y.host
                && x.port == y.port
                && x.database == y.database
                && x.user == y.user
                && x.ssl_mode == y.ssl_mode
        }
        (ConnectionConfig::Sqlite { path: p }, ConnectionConfig::Sqlite { path: q }) => p == q,
        _ => false,
    }
}

/// The form's settings, with the stored password filled in when the form left it empty and
/// points at the same target; `Validation` when the target changed without a password.
async fn form_config(
    state: &AppState,
    form: &ConnectionForm,
) -> Result<(ConnectionConfig, Option<ConnectionRow>), AppError> {
    let mut cfg = form.config()?;
    let existing = match form.id {
        Some(id) => Some(row(state, id).await?),
        None => None,
    };
    if let (Some(row), Some(n)) = (&existing, cfg.network_mut()) {
        if n.password.is_none() && row.secret.is_some() {
            let stored = parse_config(row)?;
            let mut probe = ConnectionConfig::Postgres(n.clone());
            if matches!(stored, ConnectionConfig::Mysql(_)) {
                probe = ConnectionConfig::Mysql(n.clone());
            }
            if !same_target(&stored, &probe) || stored.kind() != form_kind(form, &stored) {
                return Err(AppError::field(
                    "password",
                    "The host, port, database, user or SSL mode changed: enter the password again.",
                ));
            }
            let full = full_config(state, row)?;
            n.password = full.network().and_then(|f| f.password.clone());
        }
    }
    Ok((cfg, existing))
}

fn form_kind(
    form: &ConnectionForm,
    fallback: &ConnectionConfig,
) -> crate::model::connection::ConnectionKind {
    form.config().map(|c| c.kind()).unwrap_or(fallback.kind())
}

/// Checks a target against the server's policy: SQLite only under the allowed directory and
/// never the store; network hosts resolved once and every address judged by the egress
/// policy (loopback and private only when an admin allowed them, link-local and metadata
/// never), and never the metadata store's own database or, unless its host is allowed by
/// name, address or range, its server. Returns the settings to connect with: the host
/// replaced by the checked address, so the driver dials what was checked.
///
/// `verify-full` keeps the name: sqlx 0.8 verifies the certificate against the host it
/// dials and has no separate TLS name (no `hostaddr`), so pinning the address would fail
/// every certificate. There the driver resolves the name again; the new answer must prove,
/// by a certificate for that name from a trusted CA, that it is the host that was checked,
/// before anything but the TLS request is sent.
pub async fn checked(
    settings: &Settings,
    cfg: &ConnectionConfig,
    demo: bool,
) -> Result<ConnectionConfig, AppError> {
    match cfg {
        ConnectionConfig::Sqlite { path } => {
            let canonical = check_sqlite_path(settings, path, demo)?;
            Ok(ConnectionConfig::Sqlite {
                path: canonical.to_string_lossy().into_owned(),
            })
        }
        ConnectionConfig::Postgres(n) | ConnectionConfig::Mysql(n) => {
            let policy = destination_policy(settings);
            let addrs = policy
                .resolve_destination(&n.host, n.port)
                .await
                .map_err(|e| refused_host(&n.host, e))?;
            refuse_store_server(settings, &policy, n, &addrs).await?;
            let mut pinned = cfg.clone();
            if let Some(p) = pinned.network_mut() {
                if p.ssl_mode != crate::model::connection::SslMode::VerifyFull {
                    p.host = addrs[0].ip().to_string();
                }
            }
            Ok(pinned)
        }
    }
}

/// The configured egress policy with the hosts admins allowed on the Connections page.
fn destination_policy(settings: &Settings) -> EgressPolicy {
    let mut policy = settings.egress.clone();
    policy.deny_private = true;
    policy.allow_hosts.extend(settings.connection_allow.get());
    policy
}

/// What the user sees when the policy refuses a host (the address only in the log: a user
/// who cannot use the host need not learn what it resolves to).
fn refused_host(host: &str, e: EgressError) -> AppError {
    tracing::info!(host, reason = %e, "connection host refused by the egress policy");
    let message = match e {
        EgressError::Unresolvable => {
            "The host name could not be resolved: check its spelling.".to_string()
        }
        EgressError::Forbidden(_) => {
            "Connections to link-local, cloud-metadata, unspecified, multicast and reserved addresses are never allowed."
                .to_string()
        }
        EgressError::Private(_) => {
            "This host is a loopback or private address, which connections may reach only when an \
             admin allows it (Connections page, \"Allowed hosts\", or SIGHTLINE_ALLOW_CONNECTION_HOSTS)."
                .to_string()
        }
    };
    AppError::field("host", message)
}

const STORE_DATABASE: &str =
    "That is Sightline's own metadata database; it cannot be added as a connection.";
const STORE_SERVER: &str =
    "That is the server of Sightline's own metadata store: an admin must allow \
     its host by name or address (Connections page, \"Allowed hosts\") before its other databases \
     can be connections.";

/// Refuses the metadata store's database on its server however the server is reached (any
/// name, IPv4 or IPv6, a mapped address, another loopback address, an interface address of
/// this machine), and the rest of that server unless its host is on the allow list.
async fn refuse_store_server(
    settings: &Settings,
    policy: &EgressPolicy,
    n: &crate::model::connection::NetworkConfig,
    addrs: &[std::net::SocketAddr],
) -> Result<(), AppError> {
    let Some(StoreTarget::Postgres {
        host,
        port,
        database,
    }) = &settings.store_target
    else {
        return Ok(());
    };
    if *port != n.port {
        return Ok(());
    }
    let store_ips: Vec<std::net::IpAddr> = if host.starts_with('/') || host.is_empty() {
        // A Unix socket: the store runs on this machine.
        vec![std::net::Ipv4Addr::LOCALHOST.into()]
    } else {
        tokio::net::lookup_host((host.trim_matches(['[', ']']), *port))
            .await
            .map(|a| a.map(|a| a.ip()).collect())
            .unwrap_or_default()
    };
    let same = host.eq_ignore_ascii_case(n.host.trim_matches(['[', ']']))
        || addrs
            .iter()
            .any(|a| store_ips.iter().any(|s| egress::same_server(a.ip(), *s)));
    if !same {
        return Ok(());
    }
    if n.database == *database {
        return Err(AppError::field("database", STORE_DATABASE));
    }
    if !addrs.iter().all(|a| policy.is_listed(&n.host, a.ip())) {
        return Err(AppError::field("host", STORE_SERVER));
    }
    Ok(())
}

fn check_sqlite_path(settings: &Settings, path: &str, demo: bool) -> Result<PathBuf, AppError> {
    let bad = |m: &str| AppError::field("path", m.to_string());
    let canonical =
        std::fs::canonicalize(path).map_err(|_| bad("No SQLite file exists at that path."))?;
    if !canonical.is_file() {
        return Err(bad("That path is not a file."));
    }
    let allowed = if demo {
        // The built-in files live in their own directories of the data dir.
        ["demo", "uploads"]
            .iter()
            .filter_map(|d| std::fs::canonicalize(settings.data_dir.join(d)).ok())
            .find(|d| canonical.starts_with(d))
    } else {
        settings
            .sqlite_dir
            .as_ref()
            .and_then(|d| std::fs::canonicalize(d).ok())
    };
    let Some(allowed) = allowed else {
        return Err(bad(
            "SQLite connections are turned off on this server; an admin can allow a directory with SIGHTLINE_SQLITE_DIR.",
        ));
    };
    if !canonical.starts_with(&allowed) {
        return Err(bad(&format!(
            "SQLite files must be inside {} (SIGHTLINE_SQLITE_DIR).",
            allowed.display()
        )));
    }
    if let Some(StoreTarget::SqliteFile(store)) = &settings.store_target {
        let store = std::fs::canonicalize(store).unwrap_or_else(|_| store.clone());
        let name = canonical.to_string_lossy();
        let s = store.to_string_lossy();
        if name == s
            || name
                .strip_prefix(s.as_ref())
                .is_some_and(|rest| rest.starts_with('-'))
        {
            return Err(bad(
                "That is Sightline's own metadata database; it cannot be added as a connection.",
            ));
        }
    }
    let secrets = std::fs::canonicalize(settings.data_dir.join("secrets")).ok();
    if secrets.is_some_and(|s| canonical.starts_with(s)) {
        return Err(bad("That file is not a SQLite database."));
    }
    Ok(canonical)
}

fn pool_options(settings: &Settings) -> PoolOptions {
    PoolOptions {
        max_connections: settings.runs.pool_size,
        acquire_timeout: settings.runs.queue_timeout,
    }
}

/// Opens a connector for the given settings after the policy checks.
pub async fn open(
    settings: &Settings,
    cfg: &ConnectionConfig,
    demo: bool,
) -> Result<Connector, AppError> {
    let pinned = checked(settings, cfg, demo).await?;
    Connector::open(&pinned, &pool_options(settings)).map_err(unavailable)
}

/// A connector error as the user sees it. Refused, unreachable and silent hosts and servers
/// speaking another protocol all read the same (the detail goes to the log only), so testing
/// connections cannot map which ports answer.
pub fn unavailable(e: ConnectorError) -> AppError {
    match e {
        ConnectorError::Connect(ref detail) => {
            tracing::warn!(detail = %detail, "could not connect to a connection's database");
            AppError::Unavailable(e.to_string())
        }
        ConnectorError::Busy(_) | ConnectorError::Timeout(_) => {
            AppError::Unavailable(e.to_string())
        }
        other => AppError::Conflict(other.to_string()),
    }
}

fn check_name_color(form: &ConnectionForm) -> Result<(String, String), AppError> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(AppError::field(
            "name",
            "Enter a name of up to 80 characters.",
        ));
    }
    let color = if form.color.is_empty() {
        COLORS[0]
    } else {
        form.color.as_str()
    };
    if !COLORS.contains(&color) {
        return Err(AppError::field("color", "Choose one of the colors."));
    }
    Ok((name.to_string(), color.to_string()))
}

/// Creates or updates a connection. Only admins may mark one writable (or keep it so).
pub async fn save(
    state: &AppState,
    me: &Principal,
    form: ConnectionForm,
) -> Result<ConnectionId, AppError> {
    me.require(Permission::ManageConnections)?;
    let (name, color) = check_name_color(&form)?;
    let (cfg, existing) = form_config(state, &form).await?;
    let demo = existing.as_ref().is_some_and(builtin_file);
    checked(&state.settings, &cfg, demo).await?;
    let was_writable = existing.as_ref().is_some_and(|r| r.writable);
    if form.writable != was_writable && me.role != Role::Admin {
        return Err(AppError::field(
            "writable",
            "Only an admin can change whether a connection may write.",
        ));
    }
    if form.writable && matches!(cfg, ConnectionConfig::Sqlite { .. }) {
        return Err(AppError::field(
            "writable",
            "SQLite connections are always read-only.",
        ));
    }
    let password = cfg.network().and_then(|n| n.password.clone());
    let mut stored = cfg.clone();
    if let Some(n) = stored.network_mut() {
        n.password = None;
    }
    let config = serde_json::to_string(&stored).map_err(crate::error::internal)?;
    let kind = cfg.kind().as_str();
    let taken = |e: sqlx::Error| {
        if crate::server::db::is_unique_violation(&e) {
            AppError::field("name", "A connection with that name exists already.")
        } else {
            e.into()
        }
    };
    let id = match &existing {
        Some(row) => {
            let id = ConnectionId(row.id);
            repo::update(
                &state.db,
                id,
                repo::ConnectionUpdate {
                    name: &name,
                    kind,
                    config: &config,
                    color: &color,
                    writable: form.writable,
                },
            )
            .await
            .map_err(taken)?;
            id
        }
        None => repo::insert(
            &state.db,
            repo::NewConnection {
                name: &name,
                kind,
                config: &config,
                color: &color,
                writable: form.writable,
                builtin: None,
                created_by: me.user_id,
            },
        )
        .await
        .map_err(taken)?,
    };
    let sealed = password.map(|p| state.secrets.seal(&p, &context(id)));
    repo::set_secret(&state.db, id, sealed.as_deref()).await?;
    // Settings changed: the next run opens a fresh pool.
    state.engine.reset(id, None).await;
    let what = if existing.is_some() {
        "connection_updated"
    } else {
        "connection_created"
    };
    audit::record(
        &state.db,
        me.user_id,
        what,
        None,
        &format!("{name} ({})", stored.target()),
    )
    .await?;
    Ok(id)
}

pub async fn set_active(
    state: &AppState,
    me: &Principal,
    id: ConnectionId,
    active: bool,
) -> Result<(), AppError> {
    me.require(Permission::ManageConnections)?;
    let row = row(state, id).await?;
    repo::set_active(&state.db, id, active).await?;
    if !active {
        state.engine.reset(id, None).await;
    }
    let what = if active {
        "connection_activated"
    } else {
        "connection_deactivated"
    };
    audit::record(&state.db, me.user_id, what, None, &row.name).await?;
    Ok(())
}

pub async fn delete(state: &AppState, me: &Principal, id: ConnectionId) -> Result<(), AppError> {
    me.require(Permission::ManageConnections)?;
    let row = row(state, id).await?;
    state.engine.reset(id, None).await;
    repo::delete(&state.db, id).await?;
    audit::record(&state.db, me.user_id, "connection_deleted", None, &row.name).await?;
    Ok(())
}

/// Tests the settings in the form (saved or not): connects, reads the version, and warns when
/// the account may do more than read.
pub async fn test(
    state: &AppState,
    me: &Principal,
    form: ConnectionForm,
) -> Result<TestOutcome, AppError> {
    me.require(Permission::ManageConnections)?;
    let (cfg, existing) = form_config(state, &form).await?;
    let demo = existing.as_ref().is_some_and(builtin_file);
    let connector = open(&state.settings, &cfg, demo).await?;
    let start = Instant::now();
    let result = connector.test().await;
    let warning = match &result {
        Ok(_) => connector.privilege_warning().await,
        Err(_) => None,
    };
    connector.close().await;
    let version = result.map_err(unavailable)?;
    Ok(TestOutcome {
        version,
        elapsed_ms: start.elapsed().as_millis() as u64,
        warning,
    })
}

/// A connection string as the form's fields (for the form's paste; nothing is stored).
pub fn parse_url(me: &Principal, url: &str) -> Result<ConnectionForm, AppError> {
    me.require(Permission::ManageConnections)?;
    let mut form = ConnectionForm::default();
    form.fill_from(ConnectionConfig::from_url(url)?);
    Ok(form)
}

/// Tests a saved connection through its pool: the server version, the round trip, and the
/// privilege warning when the account can do more than read.
pub async fn test_saved(
    state: &AppState,
    me: &Principal,
    id: ConnectionId,
) -> Result<TestOutcome, AppError> {
    me.require(Permission::ManageConnections)?;
    let row = row(state, id).await?;
    let pool = state.engine.pool(&row).await?;
    let start = Instant::now();
    let version = pool.connector.test().await.map_err(unavailable)?;
    let elapsed_ms = start.elapsed().as_millis() as u64;
    let warning = pool.connector.privilege_warning().await;
    Ok(TestOutcome {
        version,
        elapsed_ms,
        warning,
    })
}

/// Tables and columns of a connection, for autocomplete.
pub async fn schema(
    state: &AppState,
    me: &Principal,
    id: ConnectionId,
) -> Result<Vec<SchemaTable>, AppError> {
    me.require(Permission::EditInsights)?;
    let row = row(state, id).await?;
    let pool = state.engine.pool(&row).await?;
    pool.connector.schema().await.map_err(unavailable)
}

/// Creates the "Demo" connection with a generated sample database, once per instance (an
/// admin who deletes it does not get it back on the next start).
pub async fn ensure_demo(state: &AppState) -> Result<(), AppError> {
    const FLAG: &str = "demo_created";
    if repo::setting(&state.db, FLAG).await?.is_some() {
        return Ok(());
    }
    let dir = state.settings.data_dir.join("demo");
    std::fs::create_dir_all(&dir).map_err(crate::error::internal)?;
    let path = dir.join("demo.sqlite");
    if !path.is_file() {
        let target = path.clone();
        let today = chrono::Utc::now().date_naive();
        let started = Instant::now();
        let summary = tokio::task::spawn_blocking(move || super::demo::generate(&target, today))
            .await
            .map_err(crate::error::internal)?
            .map_err(crate::error::internal)?;
        tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, tables = ?summary.tables, "demo database generated");
    }
    let canonical = std::fs::canonicalize(&path).map_err(crate::error::internal)?;
    let cfg = ConnectionConfig::Sqlite {
        path: canonical.to_string_lossy().into_owned(),
    };
    let config = serde_json::to_string(&cfg).map_err(crate::error::internal)?;
    let name = if repo::get_by_name(&state.db, "Demo").await?.is_some() {
        "Demo (sample shop)"
    } else {
        "Demo"
    };
    match repo::insert(
        &state.db,
        repo::NewConnection {
            name,
            kind: "sqlite",
            config: &config,
            color: "green",
            writable: false,
            builtin: Some(DEMO),
            created_by: None,
        },
    )
    .await
    {
        Ok(_) => {}
        // Another instance created it at the same moment.
        Err(e) if crate::server::db::is_unique_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    repo::set_setting(&state.db, FLAG, &chrono::Utc::now().to_rfc3339()).await?;
    Ok(())
}

/// Where the admins' allow list lives in the store's settings (one entry a line).
const ALLOW_KEY: &str = "connection_allow_hosts";
/// More entries than anyone maintains by hand.
const MAX_ALLOW_ENTRIES: usize = 200;

/// The admins' allow list as stored (entries that no longer parse are dropped, not trusted).
async fn stored_allow_list(state: &AppState) -> Result<Vec<String>, AppError> {
    let raw = repo::setting(&state.db, ALLOW_KEY)
        .await?
        .unwrap_or_default();
    Ok(raw
        .lines()
        .filter_map(|l| egress::normalize_allow_entry(l).ok())
        .collect())
}

/// Loads the admins' allow list into the settings now, then every 30 s (another instance
/// may have changed it).
pub async fn keep_allow_list_fresh(state: &AppState) {
    async fn load(state: &AppState) {
        match stored_allow_list(state).await {
            Ok(list) => state.settings.connection_allow.set(list),
            Err(e) => tracing::warn!(error = %e, "could not load the allowed connection hosts"),
        }
    }
    load(state).await;
    let state = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(30));
        every.tick().await;
        loop {
            every.tick().await;
            load(&state).await;
        }
    });
}

/// The hosts connections may reach although loopback or private (admins only).
pub async fn allowed_hosts(state: &AppState, me: &Principal) -> Result<AllowedHosts, AppError> {
    me.require(Permission::ManageUsers)?;
    let entries = stored_allow_list(state).await?;
    state.settings.connection_allow.set(entries.clone());
    Ok(AllowedHosts {
        configured: state.settings.egress.allow_hosts.clone(),
        entries,
    })
}

/// Replaces the admins' allow list with `text` (entries separated by commas, spaces or
/// lines). Pools of connections the new list no longer allows are closed.
pub async fn set_allowed_hosts(
    state: &AppState,
    me: &Principal,
    text: String,
) -> Result<AllowedHosts, AppError> {
    me.require(Permission::ManageUsers)?;
    let mut entries: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for raw in text
        .split([',', '\n', '\r', ' ', '\t'])
        .filter(|s| !s.trim().is_empty())
    {
        match egress::normalize_allow_entry(raw) {
            Ok(e) if !entries.contains(&e) => entries.push(e),
            Ok(_) => {}
            Err(why) => errors.push(why),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::field("hosts", errors.join("; ")));
    }
    if entries.len() > MAX_ALLOW_ENTRIES {
        return Err(AppError::field(
            "hosts",
            format!("At most {MAX_ALLOW_ENTRIES} entries; allow a range (CIDR) instead of many addresses."),
        ));
    }
    repo::set_setting(&state.db, ALLOW_KEY, &entries.join("\n")).await?;
    state.settings.connection_allow.set(entries.clone());
    audit::record(
        &state.db,
        me.user_id,
        "connection_hosts_changed",
        None,
        &entries.join(", "),
    )
    .await?;
    // A host taken off the list is not reached again: its pools close now.
    for row in repo::list(&state.db).await? {
        let Ok(cfg) = parse_config(&row) else {
            continue;
        };
        if cfg.network().is_some() && checked(&state.settings, &cfg, false).await.is_err() {
            state.engine.reset(ConnectionId(row.id), None).await;
        }
    }
    Ok(AllowedHosts {
        configured: state.settings.egress.allow_hosts.clone(),
        entries,
    })
}
