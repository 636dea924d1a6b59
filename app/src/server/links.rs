//! One-time account links: an admin invites someone (the link creates their account with the
//! password they choose) or resets someone's password (the link sets a new one and ends their
//! sessions). A link works once, until it expires; only a SHA-256 of its token is stored, and
//! a newer link of the same kind for the same address retires the older one. With SMTP set up
//! (Alerts page) the link also goes out by email; the admin sees it either way, to pass on.
use crate::{
    error::AppError,
    model::{
        user::{AccountLink, LinkInfo, LinkKind},
        validate, Me, Permission, Role, UserId,
    },
    server::{
        alerts::{channels, engine},
        auth::service::start_session,
        db::{
            audit,
            links::{self as repo, NewLink},
            users,
        },
        AppState, Principal,
    },
};
use base64::Engine;
use chrono::{Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tower_sessions::Session;

/// How long an invitation works.
pub const INVITE_DAYS: i64 = 7;
/// How long a password reset works.
pub const RESET_HOURS: i64 = 24;

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn gone() -> AppError {
    AppError::NotFound("Link".into())
}

/// Invites `email` with `role`: a link that creates the account.
pub async fn invite(
    state: &AppState,
    me: &Principal,
    email: &str,
    role: Role,
) -> Result<AccountLink, AppError> {
    me.require(Permission::ManageUsers)?;
    let email = validate::email(email)?;
    if users::find_by_email(&state.db, &email).await?.is_some() {
        return Err(AppError::field(
            "email",
            "An account with this email already exists; reset its password instead.",
        ));
    }
    let expires_at = Utc::now() + Duration::days(INVITE_DAYS);
    let link = make(
        state,
        me,
        LinkKind::Invite,
        &email,
        Some(role),
        None,
        expires_at,
    )
    .await?;
    audit::record(
        &state.db,
        me.user_id,
        "user_invited",
        None,
        &format!("{email} as {role}"),
    )
    .await?;
    Ok(link)
}

/// A link that sets a new password on another user's account.
pub async fn reset(state: &AppState, me: &Principal, id: UserId) -> Result<AccountLink, AppError> {
    me.require(Permission::ManageUsers)?;
    if me.user_id == Some(id) {
        return Err(AppError::Conflict(
            "Change your own password under Account.".into(),
        ));
    }
    let user = users::get(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("User".into()))?;
    let expires_at = Utc::now() + Duration::hours(RESET_HOURS);
    let link = make(
        state,
        me,
        LinkKind::Reset,
        &user.email,
        None,
        Some(id),
        expires_at,
    )
    .await?;
    audit::record(
        &state.db,
        me.user_id,
        "password_reset_link",
        None,
        &user.email,
    )
    .await?;
    Ok(link)
}

async fn make(
    state: &AppState,
    me: &Principal,
    kind: LinkKind,
    email: &str,
    role: Option<Role>,
    user: Option<UserId>,
    expires_at: chrono::DateTime<Utc>,
) -> Result<AccountLink, AppError> {
    let token = new_token();
    repo::insert(
        &state.db,
        NewLink {
            token_hash: &hash(&token),
            kind: kind.as_str(),
            email,
            role: role.map(|r| r.as_str()),
            user_id: user.map(|u| u.0),
            created_by: me.user_id.map(|u| u.0),
            expires_at,
        },
    )
    .await?;
    let url = format!(
        "{}/welcome?token={token}",
        state.settings.public_url.trim_end_matches('/')
    );
    let mut link = AccountLink {
        kind,
        email: email.to_string(),
        url,
        expires_at,
        emailed: false,
        email_error: None,
    };
    match send(state, &link).await {
        Ok(sent) => link.emailed = sent,
        Err(e) => link.email_error = Some(e),
    }
    Ok(link)
}

/// Emails the link when the server has SMTP settings: `Ok(false)` when it has none.
async fn send(state: &AppState, link: &AccountLink) -> Result<bool, String> {
    let Some(smtp) = engine::smtp_settings(state)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(false);
    };
    let (subject, what) = match link.kind {
        LinkKind::Invite => (
            "You are invited to Sightline",
            "You are invited to Sightline. Open this link to choose your password and sign in",
        ),
        LinkKind::Reset => (
            "Set a new Sightline password",
            "An admin started a password reset for your Sightline account. Open this link to \
             choose a new password",
        ),
    };
    let body = format!(
        "{what} (it works once, until {} UTC):\n\n{}\n\nIf you did not expect this, ignore it.\n",
        link.expires_at.format("%Y-%m-%d %H:%M"),
        link.url
    );
    let from = smtp
        .from
        .parse::<lettre::message::Mailbox>()
        .map_err(|_| "the SMTP sender address is not valid".to_string())?;
    let to = link
        .email
        .parse::<lettre::message::Mailbox>()
        .map_err(|_| "the address is not valid for email".to_string())?;
    let email = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .body(body)
        .map_err(|_| "the email could not be built".to_string())?;
    channels::deliver_email(email, &smtp)
        .await
        .map(|_| true)
        .map_err(|e| e.to_string())
}

/// What a live link is for; `NotFound` for any other token.
pub async fn info(state: &AppState, token: &str) -> Result<LinkInfo, AppError> {
    let row = repo::live(&state.db, &hash(token))
        .await?
        .ok_or_else(gone)?;
    Ok(LinkInfo {
        kind: LinkKind::parse(&row.kind).ok_or_else(gone)?,
        email: row.email,
        expires_at: row.expires_at,
    })
}

/// Uses the link: creates the invited account or sets the new password, then signs in.
pub async fn accept(
    state: &AppState,
    session: &Session,
    token: &str,
    password: String,
) -> Result<Me, AppError> {
    // Checked before the link is used up: a too-short password leaves it working.
    info(state, token).await?;
    validate::new_password("password", &password)?;
    let hash_pw = state.passwords.hash(password).await?;
    let row = repo::consume(&state.db, &hash(token))
        .await?
        .ok_or_else(gone)?;
    let (id, epoch, action) = match LinkKind::parse(&row.kind).ok_or_else(gone)? {
        LinkKind::Invite => {
            let role = row
                .role
                .as_deref()
                .and_then(|r| r.parse::<Role>().ok())
                .unwrap_or(Role::Viewer);
            let id = users::insert(&state.db, &row.email, &hash_pw, role).await?;
            (id, 0, "invite_accepted")
        }
        LinkKind::Reset => {
            let id = UserId(row.user_id.ok_or_else(gone)?);
            // Bumps the account's session epoch: every other session of it ends.
            let epoch = users::set_password(&state.db, id, &hash_pw)
                .await?
                .ok_or_else(gone)?;
            state.throttle.succeed(&row.email, None);
            (id, epoch, "password_reset_done")
        }
    };
    let user = users::get(&state.db, id).await?.ok_or_else(gone)?;
    if user.disabled {
        return Err(AppError::Conflict(
            "This account is disabled; ask an admin to enable it.".into(),
        ));
    }
    start_session(state, session, id, epoch).await?;
    audit::record(&state.db, Some(id), action, None, &row.email).await?;
    Ok(user.me())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 random bytes, base64url");
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
        assert!(!hash(&a).contains(&a));
    }
}
