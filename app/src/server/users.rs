//! Account administration: list, create, change role, disable. Admins only.
use crate::{
    error::AppError,
    model::{validate, NewUser, Permission, Role, User, UserId},
    server::{
        db::{audit, users},
        AppState, Principal,
    },
};

pub async fn list(state: &AppState, me: &Principal) -> Result<Vec<User>, AppError> {
    me.require(Permission::ManageUsers)?;
    Ok(users::list(&state.db)
        .await?
        .into_iter()
        .map(User::from)
        .collect())
}

/// Creates an account with an initial password the admin passes on.
pub async fn create(state: &AppState, me: &Principal, input: NewUser) -> Result<User, AppError> {
    me.require(Permission::ManageUsers)?;
    let email = validate::email(&input.email)?;
    validate::new_password("password", &input.password)?;
    let hash = state.passwords.hash(input.password).await?;
    let id = users::insert(&state.db, &email, &hash, input.role).await?;
    audit::record(
        &state.db,
        me.user_id,
        "user_created",
        None,
        &format!("{email} as {}", input.role),
    )
    .await?;
    users::get(&state.db, id)
        .await?
        .map(User::from)
        .ok_or_else(|| AppError::NotFound("User".into()))
}

/// Changes someone's role. The change applies on their next request.
pub async fn set_role(
    state: &AppState,
    me: &Principal,
    id: UserId,
    role: Role,
) -> Result<(), AppError> {
    me.require(Permission::ManageUsers)?;
    if me.user_id == Some(id) {
        return Err(AppError::Conflict(
            "You cannot change your own role; ask another admin.".into(),
        ));
    }
    let target = users::get(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("User".into()))?;
    // The repository checks and changes in one locked transaction.
    if !users::set_role(&state.db, id, role).await? {
        return Err(last_admin());
    }
    audit::record(
        &state.db,
        me.user_id,
        "user_role_changed",
        None,
        &format!("{} to {role}", target.email),
    )
    .await?;
    Ok(())
}

/// Disables (every session ends at once) or re-enables an account.
pub async fn set_disabled(
    state: &AppState,
    me: &Principal,
    id: UserId,
    disabled: bool,
) -> Result<(), AppError> {
    me.require(Permission::ManageUsers)?;
    if me.user_id == Some(id) {
        return Err(AppError::Conflict(
            "You cannot disable your own account.".into(),
        ));
    }
    let target = users::get(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("User".into()))?;
    if !users::set_disabled(&state.db, id, disabled).await? {
        return Err(last_admin());
    }
    let action = if disabled {
        "user_disabled"
    } else {
        "user_enabled"
    };
    audit::record(&state.db, me.user_id, action, None, &target.email).await?;
    Ok(())
}

/// Sets a new password for the account with this email (operator's reset at the command line).
pub async fn reset_password(
    state: &AppState,
    me: &Principal,
    email: &str,
    password: String,
) -> Result<(), AppError> {
    me.require(Permission::ManageUsers)?;
    let email = validate::email(email)?;
    validate::new_password("password", &password)?;
    let row = users::find_by_email(&state.db, &email)
        .await?
        .ok_or_else(|| AppError::NotFound("User".into()))?;
    let hash = state.passwords.hash(password).await?;
    users::set_password(&state.db, UserId(row.id), &hash).await?;
    state.throttle.succeed(&email, None);
    audit::record(&state.db, me.user_id, "password_reset", None, &email).await?;
    Ok(())
}

fn last_admin() -> AppError {
    AppError::Conflict("Sightline needs at least one active admin.".into())
}
