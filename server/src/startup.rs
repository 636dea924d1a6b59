//! Start-up: keys, metadata store, state, router, listener. `Application::build` is what
//! `sightline serve` and the integration tests both run.
use crate::{config::ServeArgs, routes, secrets};
use anyhow::{Context, Result};
use app::server::{
    alerts::channels::{SmtpSettings, SmtpTls},
    connections,
    db::{runs, sessions::MetaSessionStore, Db, StoreLocation},
    egress::EgressPolicy,
    settings::{AlertSettings, RunSettings, Settings, StoreTarget},
    setup, AppState,
};
use leptos::config::LeptosOptions;
use std::{net::SocketAddr, str::FromStr, time::Duration};
use tokio::net::TcpListener;
use tower_sessions::{
    cookie::{Key, SameSite},
    Expiry, SessionManagerLayer,
};
use tower_sessions_sqlx_store::sqlx;

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    pub state: AppState,
    pub addr: SocketAddr,
    /// The one-time setup URL when the store has no account yet.
    pub setup_url: Option<String>,
}

/// Opens and migrates the metadata store named by the arguments.
/// The metadata store as a connection target, so it can be refused as a data source.
fn store_target(location: &StoreLocation) -> Option<StoreTarget> {
    match location {
        StoreLocation::SqliteFile(p) => Some(StoreTarget::SqliteFile(p.clone())),
        StoreLocation::Postgres(url) => {
            let o = sqlx::postgres::PgConnectOptions::from_str(url).ok()?;
            Some(StoreTarget::Postgres {
                host: o.get_host().to_string(),
                port: o.get_port(),
                database: o.get_database().unwrap_or(o.get_username()).to_string(),
            })
        }
    }
}

pub async fn open_store(store: &crate::config::StoreArgs) -> Result<(Db, StoreLocation)> {
    let location = StoreLocation::resolve(store.database_url.as_deref(), &store.data_dir)
        .map_err(anyhow::Error::msg)?;
    let db = connect_with_retry(&location).await?;
    db.migrate()
        .await
        .context("applying metadata-store migrations")?;
    Ok((db, location))
}

/// The store may still be starting (containers, reboots): retry for a while with backoff.
async fn connect_with_retry(location: &StoreLocation) -> Result<Db> {
    let mut delay = Duration::from_millis(250);
    for attempt in 1.. {
        match Db::connect(location).await {
            Ok(db) => return Ok(db),
            Err(e)
                if attempt < 8 && matches!(e, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut) =>
            {
                tracing::warn!(store = ?location, attempt, error = %e, "metadata store not reachable yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                return Err(e).with_context(|| format!("opening the metadata store {location:?}"))
            }
        }
    }
    unreachable!("the retry loop returns")
}

/// The run-time settings from the command line and environment.
fn settings(args: &ServeArgs, location: &StoreLocation, public_url: String) -> Result<Settings> {
    let e = &args.engine;
    let a = &e.alerts;
    let smtp = match &a.smtp_host {
        None => None,
        Some(host) => Some(SmtpSettings {
            host: host.clone(),
            port: a.smtp_port,
            tls: match a.smtp_tls.to_ascii_lowercase().as_str() {
                "none" => SmtpTls::None,
                "tls" => SmtpTls::Tls,
                "starttls" => SmtpTls::Starttls,
                other => {
                    anyhow::bail!("SIGHTLINE_SMTP_TLS must be starttls, tls or none, not {other:?}")
                }
            },
            username: a.smtp_username.clone(),
            password: std::env::var("SIGHTLINE_SMTP_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
            from: a.smtp_from.clone().context(
                "SIGHTLINE_SMTP_FROM (the sender address) is required with SIGHTLINE_SMTP_HOST",
            )?,
            timeout: Duration::from_secs(30),
        }),
    };
    let trimmed = |hosts: &[String]| -> Vec<String> {
        hosts
            .iter()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .collect()
    };
    Ok(Settings {
        trust_proxy_headers: args.trust_proxy_headers,
        public_url,
        data_dir: args.store.data_dir.clone(),
        sqlite_dir: e.sqlite_dir.clone(),
        egress: EgressPolicy {
            deny_private: true,
            allow_hosts: trimmed(&e.allow_hosts),
        },
        connection_allow: Default::default(),
        csv_formula_guard: e.csv_formula_guard,
        store_target: store_target(location),
        runs: RunSettings {
            timeout: Duration::from_secs(e.query_timeout.max(1)),
            max_rows: e.max_rows.max(1),
            max_result_bytes: e.max_result_mb.max(1).saturating_mul(1 << 20),
            chart_points: e.chart_points.clamp(10, 1_000_000),
            pool_size: e.pool_size.clamp(1, 100),
            queue_timeout: Duration::from_secs(e.queue_timeout),
            snapshot_ttl: Duration::from_secs(e.result_ttl.max(1) * 60),
            cache_max_bytes: e.result_cache_mb.saturating_mul(1 << 20),
        },
        max_upload_bytes: e.max_upload_mb.max(1).saturating_mul(1 << 20),
        max_import_unpacked_bytes: e.max_import_unpacked_mb.max(1).saturating_mul(1 << 20),
        max_import_cells: e.max_import_cells.max(1),
        alerts: AlertSettings {
            allow_hosts: trimmed(&a.alert_allow_hosts),
            smtp,
            workers: a.alert_workers,
            lease: Duration::from_secs(a.alert_lease.max(5)),
            min_interval: Duration::from_secs(a.alert_min_interval.saturating_mul(60)),
            max_per_user: a.alert_max_per_user,
            evaluate_per_minute: a.alert_evaluate_per_minute.max(1),
        },
    })
}

/// `sightline worker`: alert workers on the store, without the web server.
pub async fn run_worker(args: ServeArgs) -> Result<()> {
    create_private_dir(&args.store.data_dir)?;
    let keys = secrets::load(&args.store.data_dir).context("loading keys")?;
    let (db, location) = open_store(&args.store).await?;
    let public_url = args.public_url.clone().unwrap_or_default();
    let settings = settings(&args, &location, public_url)?;
    let options = LeptosOptions::builder().output_name("sightline").build();
    let state = AppState::new(options, db.clone(), settings, &keys.encryption);
    let workers = args.engine.alerts.alert_workers.max(1);
    connections::keep_allow_list_fresh(&state).await;
    app::server::alerts::worker::run(state, workers, shutdown_signal()).await?;
    db.close().await;
    Ok(())
}

impl Application {
    pub async fn build(args: ServeArgs) -> Result<Self> {
        create_private_dir(&args.store.data_dir)?;
        let keys = secrets::load(&args.store.data_dir).context("loading keys")?;
        let (db, location) = open_store(&args.store).await?;

        let listener = TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("binding {}", args.bind))?;
        let addr = listener.local_addr()?;
        let public_url = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let secure = public_url.starts_with("https://");

        let site_assets = crate::assets::load(&args.site_root);
        let leptos_options = LeptosOptions::builder()
            .output_name("sightline")
            .site_root(args.site_root.to_string_lossy().to_string())
            .site_pkg_dir(site_assets.pkg.clone())
            .site_addr(addr)
            .build();
        let settings = settings(&args, &location, public_url)?;
        let state = AppState::new(leptos_options, db.clone(), settings, &keys.encryption);
        if matches!(location, StoreLocation::SqliteFile(_)) {
            // One process owns an embedded store: runs it left unfinished ended with it.
            runs::fail_unfinished(&db)
                .await
                .context("closing unfinished runs")?;
        }
        connections::keep_allow_list_fresh(&state).await;
        if !args.engine.no_demo {
            if let Err(err) = connections::ensure_demo(&state).await {
                tracing::warn!(error = %err, "could not create the demo database");
            }
        }
        tokio::spawn({
            let state = state.clone();
            async move {
                let mut every = tokio::time::interval(Duration::from_secs(15));
                let mut ticks = 0u64;
                loop {
                    every.tick().await;
                    // Runs nobody has asked about for 2 minutes were left by a closed tab.
                    state.engine.expire(Duration::from_secs(120));
                    ticks += 1;
                    if ticks % 240 == 1 {
                        app::server::result_cache::purge(&state).await;
                    }
                }
            }
        });
        tracing::info!(store = ?location, "metadata store ready");
        let workers = args.engine.alerts.alert_workers;
        if workers > 0 {
            tokio::spawn({
                let state = state.clone();
                async move {
                    if let Err(e) =
                        app::server::alerts::worker::run(state, workers, shutdown_signal()).await
                    {
                        tracing::error!(error = %e, "alert workers stopped");
                    }
                }
            });
        }

        let store = MetaSessionStore::new(db);
        tokio::spawn({
            let store = store.clone();
            async move {
                use tower_sessions::ExpiredDeletion;
                if let Err(e) = store
                    .continuously_delete_expired(Duration::from_secs(3600))
                    .await
                {
                    tracing::warn!(error = %e, "expired-session clean-up stopped");
                }
            }
        });
        let sessions = SessionManagerLayer::new(store)
            .with_name(if secure {
                "__Host-sightline"
            } else {
                "sightline_session"
            })
            .with_secure(secure)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(time::Duration::hours(12)))
            .with_signed(Key::derive_from(&keys.session));

        let setup_url = setup::prepare(&state)
            .await
            .map_err(|e| anyhow::anyhow!("preparing setup: {e}"))?;
        let site = crate::middleware::SiteOrigin::from_public_url(args.public_url.as_deref());
        let router = routes::router(state.clone(), sessions, site, site_assets);
        Ok(Self {
            listener,
            router,
            state,
            addr,
            setup_url,
        })
    }

    /// Serves until SIGINT or SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> Result<()> {
        let db = self.state.db.clone();
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        db.close().await;
        Ok(())
    }
}

/// The data directory holds the store and keys: only its owner may enter it.
pub fn create_private_dir(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private (chmod 700)", dir.display()))?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
