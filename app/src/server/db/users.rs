//! Repository for user accounts.
use super::{is_unique_violation, on_pool, Db};
use crate::{
    error::AppError,
    model::{Me, Role, User, UserId},
};
use chrono::{DateTime, Utc};

/// A `users` row. Holds the password hash, so it is not `Serialize` and never leaves the server.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub session_epoch: i64,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn role(&self) -> Role {
        // The CHECK constraint keeps this column to the three names; fall back to the least
        // privilege if a row were ever edited by hand.
        self.role.parse().unwrap_or(Role::Viewer)
    }
    pub fn me(&self) -> Me {
        Me {
            id: UserId(self.id),
            email: self.email.clone(),
            role: self.role(),
        }
    }
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            role: r.role(),
            email: r.email,
            disabled: r.disabled,
            created_at: r.created_at,
            last_login_at: r.last_login_at,
        }
    }
}

const COLUMNS: &str =
    "id, email, password_hash, role, disabled, session_epoch, created_at, last_login_at";

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    on_pool!(db, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(p).await)
}

pub async fn count_active_admins(db: &Db) -> Result<i64, sqlx::Error> {
    on_pool!(db, p => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE").fetch_one(p).await)
}

pub async fn get(db: &Db, id: UserId) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    on_pool!(db, p => sqlx::query_as::<_, UserRow>(&sql).bind(id.0).fetch_optional(p).await)
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
    on_pool!(db, p => sqlx::query_as::<_, UserRow>(&sql).bind(email).fetch_optional(p).await)
}

pub async fn list(db: &Db) -> Result<Vec<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY email");
    on_pool!(db, p => sqlx::query_as::<_, UserRow>(&sql).fetch_all(p).await)
}

/// Inserts an account; a taken email is a `Conflict`.
pub async fn insert(db: &Db, email: &str, hash: &str, role: Role) -> Result<UserId, AppError> {
    let now = Utc::now();
    let sql = "INSERT INTO users (email, password_hash, role, disabled, session_epoch, created_at, updated_at) \
               VALUES ($1, $2, $3, FALSE, 0, $4, $4) RETURNING id";
    let r = on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql)
        .bind(email).bind(hash).bind(role.as_str()).bind(now).fetch_one(p).await);
    match r {
        Ok(id) => Ok(UserId(id)),
        Err(e) if is_unique_violation(&e) => Err(AppError::field(
            "email",
            "An account with this email already exists.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Creates the first admin, once per store: the `instance_setup` row makes a second
/// (or concurrent) attempt fail, even across several server instances.
pub async fn insert_first_admin(db: &Db, email: &str, hash: &str) -> Result<UserId, AppError> {
    let now = Utc::now();
    let r: Result<i64, sqlx::Error> = on_pool!(db, p => async {
        let mut tx = p.begin().await?;
        sqlx::query("INSERT INTO instance_setup (id, completed_at) VALUES (1, $1)")
            .bind(now).execute(&mut *tx).await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *tx).await?;
        if existing > 0 {
            return Err(sqlx::Error::RowNotFound);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, role, disabled, session_epoch, created_at, updated_at) \
             VALUES ($1, $2, 'admin', FALSE, 0, $3, $3) RETURNING id")
            .bind(email).bind(hash).bind(now).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    }.await);
    match r {
        Ok(id) => Ok(UserId(id)),
        Err(e) if is_unique_violation(&e) || matches!(e, sqlx::Error::RowNotFound) => {
            Err(AppError::NotFound("Setup page".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Changes a role. Takes effect on the user's next request (roles are read per request).
/// Returns `false`, changing nothing, when it would leave no active admin.
pub async fn set_role(db: &Db, id: UserId, role: Role) -> Result<bool, sqlx::Error> {
    guarded_change(db, id, AccountChange::Role(role)).await
}

/// Disables (bumping the session epoch, so every session ends at once) or enables an
/// account. Returns `false`, changing nothing, when it would leave no active admin.
pub async fn set_disabled(db: &Db, id: UserId, disabled: bool) -> Result<bool, sqlx::Error> {
    guarded_change(db, id, AccountChange::Disabled(disabled)).await
}

#[derive(Clone, Copy)]
enum AccountChange {
    Role(Role),
    Disabled(bool),
}

/// Applies a role or status change in one transaction that first locks every admin row (a
/// write lock on SQLite), then refuses to remove the last active admin. Two admins demoting
/// each other at once cannot both succeed.
async fn guarded_change(db: &Db, id: UserId, change: AccountChange) -> Result<bool, sqlx::Error> {
    let removes_admin = matches!(change, AccountChange::Role(r) if r != Role::Admin)
        || matches!(change, AccountChange::Disabled(true));
    let now = Utc::now();
    on_pool!(db, p => {
        let mut tx = p.begin().await?;
        if removes_admin {
            sqlx::query("UPDATE users SET updated_at = updated_at WHERE role = 'admin'").execute(&mut *tx).await?;
            let target_is_active_admin: Option<bool> =
                sqlx::query_scalar("SELECT role = 'admin' AND disabled = FALSE FROM users WHERE id = $1")
                    .bind(id.0).fetch_optional(&mut *tx).await?;
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE AND id <> $1")
                .bind(id.0).fetch_one(&mut *tx).await?;
            if target_is_active_admin == Some(true) && others == 0 {
                return Ok(false);
            }
        }
        let done = match change {
            AccountChange::Role(role) => sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
                .bind(role.as_str()).bind(now).bind(id.0).execute(&mut *tx).await?,
            AccountChange::Disabled(d) => sqlx::query(
                "UPDATE users SET disabled = $1, session_epoch = session_epoch + 1, updated_at = $2 WHERE id = $3")
                .bind(d).bind(now).bind(id.0).execute(&mut *tx).await?,
        };
        if done.rows_affected() != 1 {
            return Err(sqlx::Error::RowNotFound);
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// Stores a new password hash and ends every session of the account (returns the new epoch).
pub async fn set_password(db: &Db, id: UserId, hash: &str) -> Result<Option<i64>, sqlx::Error> {
    let sql =
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1, updated_at = $2 \
               WHERE id = $3 RETURNING session_epoch";
    on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(hash).bind(Utc::now()).bind(id.0)
        .fetch_optional(p).await)
}

/// Replaces the hash without ending sessions (a transparent rehash at sign-in), unless the
/// password changed in the meantime.
pub async fn rehash(db: &Db, id: UserId, old: &str, new: &str) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
        .bind(new).bind(id.0).bind(old).execute(p).await.map(|_| ()))
}

pub async fn touch_login(db: &Db, id: UserId) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
        .bind(Utc::now()).bind(id.0).execute(p).await.map(|_| ()))
}
