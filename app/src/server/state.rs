//! `AppState`: everything a request handler or job needs, cheap to clone.
use super::{
    auth::{password::Passwords, throttle::LoginThrottle},
    db::Db,
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
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, db: Db, settings: Settings) -> Self {
        Self {
            leptos_options,
            db,
            settings: Arc::new(settings),
            passwords: Arc::new(Passwords::new()),
            throttle: Arc::new(LoginThrottle::default()),
            setup: Arc::new(SetupToken::default()),
        }
    }
}
