//! `AppState`: everything a request handler or job needs, cheap to clone.
use super::{
    auth::{password::Passwords, throttle::LoginThrottle},
    crypto::SecretBox,
    db::Db,
    engine::Engine,
    import::Imports,
    settings::Settings,
    setup::SetupToken,
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub settings: Arc<Settings>,
    pub passwords: Arc<Passwords>,
    pub throttle: Arc<LoginThrottle>,
    pub setup: Arc<SetupToken>,
    /// Seals and opens stored credentials.
    pub secrets: Arc<SecretBox>,
    /// Pools, runs and result snapshots.
    pub engine: Arc<Engine>,
    /// Uploaded files and the imports loading them.
    pub imports: Arc<Imports>,
    /// The alert job queue in the metadata store, opened on first use.
    pub alert_queue: Arc<tokio::sync::OnceCell<super::alerts::worker::Queue>>,
    /// Downloads whose page follows their progress.
    pub exports: Arc<super::export::Exports>,
}

impl AppState {
    pub fn new(
        leptos_options: LeptosOptions,
        db: Db,
        settings: Settings,
        encryption_key: &[u8],
    ) -> Self {
        let settings = Arc::new(settings);
        let secrets = Arc::new(SecretBox::new(encryption_key));
        let connections =
            super::connections::Source::new(db.clone(), settings.clone(), secrets.clone());
        let engine = Engine::new(
            settings.data_dir.join("results"),
            settings.runs.clone(),
            db.clone(),
            Arc::new(connections),
        );
        Self {
            secrets,
            engine: Arc::new(engine),
            imports: Arc::new(Imports::new(settings.data_dir.join("imports"))),
            alert_queue: Arc::default(),
            exports: Arc::default(),
            leptos_options,
            db,
            settings,
            passwords: Arc::new(Passwords::new()),
            throttle: Arc::new(LoginThrottle::default()),
            setup: Arc::new(SetupToken::default()),
        }
    }
}
