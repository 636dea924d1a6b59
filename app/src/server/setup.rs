//! First run: no default account. On an empty store the server logs a one-time setup URL;
//! that page creates the first admin, and then the token and the page are gone.
use crate::{
    error::AppError,
    model::validate,
    server::{
        db::{audit, users},
        AppState,
    },
};
use base64::Engine;
use rand::RngCore;
use std::sync::Mutex;

/// The one-time setup token, held in memory by the instance that printed it.
#[derive(Default)]
pub struct SetupToken(Mutex<Option<String>>);

impl SetupToken {
    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn set(&self, v: Option<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = v;
    }
    /// Constant-time comparison against the held token.
    fn matches(&self, candidate: &str) -> bool {
        let Some(t) = self.get() else { return false };
        let (a, b) = (t.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// On an empty store, makes a token and returns the setup URL to print; `None` otherwise.
pub async fn prepare(state: &AppState) -> Result<Option<String>, AppError> {
    if users::count(&state.db).await? > 0 {
        state.setup.set(None);
        return Ok(None);
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    state.setup.set(Some(token.clone()));
    Ok(Some(format!(
        "{}/setup?token={token}",
        state.settings.public_url.trim_end_matches('/')
    )))
}

/// `NotFound` unless the token is the live one and no account exists yet.
pub async fn check(state: &AppState, token: &str) -> Result<(), AppError> {
    if !state.setup.matches(token) || users::count(&state.db).await? > 0 {
        return Err(AppError::NotFound("Setup page".into()));
    }
    Ok(())
}

/// Creates the first admin and retires the token.
pub async fn create_first_admin(
    state: &AppState,
    token: &str,
    email: &str,
    password: String,
) -> Result<(), AppError> {
    check(state, token).await?;
    let email = validate::email(email)?;
    validate::new_password("password", &password)?;
    let hash = state.passwords.hash(password).await?;
    let id = users::insert_first_admin(&state.db, &email, &hash).await?;
    state.setup.set(None);
    audit::record(&state.db, Some(id), "setup_admin_created", None, &email).await?;
    tracing::info!(user_id = %id, "first admin created; the setup page is now closed");
    Ok(())
}
