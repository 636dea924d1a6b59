//! Sign-in, sign-out, the current principal, and password changes.
use super::rbac::Principal;
use crate::{
    error::AppError,
    model::{validate, AuditEvent, Me, UserId},
    server::{
        db::{audit, users},
        AppState,
    },
};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tower_sessions::Session;

/// What the session remembers about its user. The epoch must match the account's, so bumping
/// the account's epoch (disable, password change) ends every session at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: UserId,
    pub epoch: i64,
}

pub const SESSION_KEY: &str = "auth";

/// The principal behind this session, if it is signed in to an enabled account. A session
/// that no longer qualifies is flushed.
pub async fn principal(state: &AppState, session: &Session) -> Result<Option<Principal>, AppError> {
    let Some(auth) = session.get::<SessionAuth>(SESSION_KEY).await? else {
        return Ok(None);
    };
    match users::get(&state.db, auth.user_id).await? {
        Some(u) if !u.disabled && u.session_epoch == auth.epoch => Ok(Some(Principal {
            user_id: Some(UserId(u.id)),
            role: u.role(),
            email: u.email,
        })),
        _ => {
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Checks the credentials and, on success, starts a fresh session (new id) for the account.
/// Every failure answers the same way, whether the email exists or not.
pub async fn login(
    state: &AppState,
    session: &Session,
    ip: Option<String>,
    email: &str,
    password: &str,
) -> Result<Me, AppError> {
    // Malformed input is refused before it can take memory in the throttle or time in argon2.
    let Ok(key) = validate::email(email) else {
        return Err(AppError::InvalidCredentials);
    };
    if password.chars().count() > validate::MAX_PASSWORD_CHARS {
        return Err(AppError::InvalidCredentials);
    }
    let ip = ip.as_deref();
    state
        .throttle
        .attempt(&key, ip, Instant::now())
        .map_err(AppError::RateLimited)?;
    let password = password.to_string();
    let row = users::find_by_email(&state.db, &key).await?;
    let ok = state
        .passwords
        .verify(
            password.clone(),
            row.as_ref().map(|r| r.password_hash.clone()),
        )
        .await?;
    let row = match row {
        Some(r) if ok && !r.disabled => r,
        other => {
            let uid = other.map(|r| UserId(r.id));
            audit::record(&state.db, uid, "login_failed", ip, "").await?;
            tracing::info!(user_id = ?uid, ip, "sign-in refused");
            return Err(AppError::InvalidCredentials);
        }
    };
    state.throttle.succeed(&key, ip);
    let id = UserId(row.id);
    if super::password::needs_rehash(&row.password_hash) {
        let hash = state.passwords.hash(password).await?;
        users::rehash(&state.db, id, &row.password_hash, &hash).await?;
    }
    start_session(state, session, id, row.session_epoch).await?;
    audit::record(&state.db, Some(id), "login", ip, "").await?;
    tracing::info!(user_id = %id, ip, "signed in");
    Ok(row.me())
}

/// Signs the account in on this session, under a new session id: a session id planted
/// before sign-in is worth nothing after it.
pub async fn start_session(
    state: &AppState,
    session: &Session,
    id: UserId,
    epoch: i64,
) -> Result<(), AppError> {
    session.cycle_id().await?;
    session
        .insert(SESSION_KEY, SessionAuth { user_id: id, epoch })
        .await?;
    users::touch_login(&state.db, id).await?;
    Ok(())
}

/// Ends the session server-side (the stored record is deleted, the cookie cleared).
pub async fn logout(state: &AppState, session: &Session, me: &Principal) -> Result<(), AppError> {
    audit::record(&state.db, me.user_id, "logout", None, "").await?;
    session.flush().await?;
    Ok(())
}

/// Changes the signed-in user's own password. Other sessions of the account end; this one
/// continues under a new id.
pub async fn change_password(
    state: &AppState,
    session: &Session,
    me: &Principal,
    current: String,
    new: String,
) -> Result<(), AppError> {
    let id = me.user_id.ok_or(AppError::Unauthenticated)?;
    // Guessing the current password through a stolen session is throttled like sign-in.
    let throttle_key = format!("password-change:{id}");
    state
        .throttle
        .attempt(&throttle_key, None, Instant::now())
        .map_err(AppError::RateLimited)?;
    let row = users::get(&state.db, id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !state
        .passwords
        .verify(current, Some(row.password_hash))
        .await?
    {
        return Err(AppError::field(
            "current",
            "That is not your current password.",
        ));
    }
    state.throttle.succeed(&throttle_key, None);
    validate::new_password("new", &new)?;
    let hash = state.passwords.hash(new).await?;
    let epoch = users::set_password(&state.db, id, &hash)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    session.cycle_id().await?;
    session
        .insert(SESSION_KEY, SessionAuth { user_id: id, epoch })
        .await?;
    audit::record(&state.db, Some(id), "password_changed", None, "").await?;
    Ok(())
}

/// The signed-in user's recent sign-ins and refused attempts, newest first.
pub async fn recent_sign_ins(
    state: &AppState,
    me: &Principal,
) -> Result<Vec<AuditEvent>, AppError> {
    let id = me.user_id.ok_or(AppError::Unauthenticated)?;
    Ok(audit::recent_for_user(&state.db, id, &["login", "login_failed"], 10).await?)
}
