//! Repository for saved connections. The `secret` column holds the sealed password.
use super::{on_pool, Db};
use crate::model::{connection::ConnectionId, UserId};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectionRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub config: String,
    pub secret: Option<String>,
    pub color: String,
    pub active: bool,
    pub writable: bool,
    pub builtin: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, name, kind, config, secret, color, active, writable, builtin, updated_at";

pub struct NewConnection<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub config: &'a str,
    pub color: &'a str,
    pub writable: bool,
    pub builtin: Option<&'a str>,
    pub created_by: Option<UserId>,
}

pub async fn list(db: &Db) -> Result<Vec<ConnectionRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM connections ORDER BY lower(name)");
    on_pool!(db, p => sqlx::query_as::<_, ConnectionRow>(&sql).fetch_all(p).await)
}

pub async fn get(db: &Db, id: ConnectionId) -> Result<Option<ConnectionRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM connections WHERE id = $1");
    on_pool!(db, p => sqlx::query_as::<_, ConnectionRow>(&sql).bind(id.0).fetch_optional(p).await)
}

pub async fn get_by_name(db: &Db, name: &str) -> Result<Option<ConnectionRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM connections WHERE name = $1");
    on_pool!(db, p => sqlx::query_as::<_, ConnectionRow>(&sql).bind(name).fetch_optional(p).await)
}

/// Inserts a connection without its secret (sealed afterwards with the new id as context).
pub async fn insert(db: &Db, c: NewConnection<'_>) -> Result<ConnectionId, sqlx::Error> {
    let now = Utc::now();
    let sql = "INSERT INTO connections (name, kind, config, color, writable, builtin, created_by, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id";
    let id: i64 = on_pool!(db, p => sqlx::query_scalar(sql).bind(c.name).bind(c.kind).bind(c.config)
        .bind(c.color).bind(c.writable).bind(c.builtin).bind(c.created_by.map(|u| u.0)).bind(now)
        .fetch_one(p).await)?;
    Ok(ConnectionId(id))
}

pub struct ConnectionUpdate<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub config: &'a str,
    pub color: &'a str,
    pub writable: bool,
}

pub async fn update(
    db: &Db,
    id: ConnectionId,
    c: ConnectionUpdate<'_>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE connections SET name = $2, kind = $3, config = $4, color = $5, writable = $6, updated_at = $7 WHERE id = $1";
    let n = on_pool!(db, p => sqlx::query(sql).bind(id.0).bind(c.name).bind(c.kind).bind(c.config)
        .bind(c.color).bind(c.writable).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Sets (or clears) the sealed password.
pub async fn set_secret(
    db: &Db,
    id: ConnectionId,
    secret: Option<&str>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE connections SET secret = $2 WHERE id = $1";
    on_pool!(db, p => sqlx::query(sql).bind(id.0).bind(secret).execute(p).await.map(|_| ()))
}

pub async fn set_active(db: &Db, id: ConnectionId, active: bool) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE connections SET active = $2, updated_at = $3 WHERE id = $1";
    let n = on_pool!(db, p => sqlx::query(sql).bind(id.0).bind(active).bind(Utc::now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn delete(db: &Db, id: ConnectionId) -> Result<bool, sqlx::Error> {
    let n = on_pool!(db, p => sqlx::query("DELETE FROM connections WHERE id = $1").bind(id.0)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// A flag in the instance settings table (e.g. "the demo was created once").
pub async fn setting(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    on_pool!(db, p => sqlx::query_scalar("SELECT value FROM app_settings WHERE key = $1").bind(key)
        .fetch_optional(p).await)
}

pub async fn set_setting(db: &Db, key: &str, value: &str) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO app_settings (key, value) VALUES ($1, $2)
               ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    on_pool!(db, p => sqlx::query(sql).bind(key).bind(value).execute(p).await.map(|_| ()))
}
