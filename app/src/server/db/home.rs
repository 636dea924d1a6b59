//! The home page's reads and the per-user marks on insights (opened, starred).
use super::{on_pool, Db};
use chrono::{DateTime, Utc};

/// How far a user got with the first steps (counts; zero means not yet).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Progress {
    /// Runs of the user's on the built-in Demo connection.
    pub demo_runs: i64,
    /// Connections an admin or editor added (not the built-in Demo or Uploads).
    pub own_connections: i64,
    /// Runs of the user's on those connections.
    pub own_runs: i64,
    /// Live insights the user created.
    pub insights: i64,
    /// Alerts the user owns.
    pub alerts: i64,
}

pub async fn progress(db: &Db, user: i64) -> Result<Progress, sqlx::Error> {
    let sql = "SELECT \
        (SELECT COUNT(*) FROM query_runs r JOIN connections c ON c.id = r.connection_id \
           WHERE r.user_id = $1 AND c.builtin = 'demo') AS demo_runs, \
        (SELECT COUNT(*) FROM connections WHERE builtin IS NULL) AS own_connections, \
        (SELECT COUNT(*) FROM query_runs r JOIN connections c ON c.id = r.connection_id \
           WHERE r.user_id = $1 AND c.builtin IS NULL) AS own_runs, \
        (SELECT COUNT(*) FROM insights WHERE created_by = $1 AND deleted_at IS NULL) AS insights, \
        (SELECT COUNT(*) FROM alerts WHERE owner_id = $1) AS alerts";
    on_pool!(db, p => sqlx::query_as::<_, Progress>(sql).bind(user).fetch_one(p).await)
}

/// The id of the built-in Demo connection, if it is still there.
pub async fn demo_connection(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    let sql = "SELECT id FROM connections WHERE builtin = 'demo' AND active ORDER BY id LIMIT 1";
    on_pool!(db, p => sqlx::query_scalar(sql).fetch_optional(p).await)
}

/// Notes that the user opened the insight now.
pub async fn mark_opened(
    db: &Db,
    user: i64,
    insight: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO insight_marks (user_id, insight_id, opened_at) VALUES ($1, $2, $3) \
               ON CONFLICT (user_id, insight_id) DO UPDATE SET opened_at = excluded.opened_at";
    on_pool!(db, p => sqlx::query(sql).bind(user).bind(insight).bind(at).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Stars or unstars the insight for the user.
pub async fn set_favorite(
    db: &Db,
    user: i64,
    insight: i64,
    favorite: bool,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO insight_marks (user_id, insight_id, favorite) VALUES ($1, $2, $3) \
               ON CONFLICT (user_id, insight_id) DO UPDATE SET favorite = excluded.favorite";
    on_pool!(db, p => sqlx::query(sql).bind(user).bind(insight).bind(favorite).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Whether the user starred the insight.
pub async fn is_favorite(db: &Db, user: i64, insight: i64) -> Result<bool, sqlx::Error> {
    let sql = "SELECT favorite FROM insight_marks WHERE user_id = $1 AND insight_id = $2";
    let v: Option<bool> = on_pool!(db, p => sqlx::query_scalar(sql).bind(user).bind(insight).fetch_optional(p).await)?;
    Ok(v.unwrap_or(false))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MarkRow {
    pub id: i64,
    pub name: String,
    pub opened_at: Option<DateTime<Utc>>,
}

/// Live insights the user opened, the latest first.
pub async fn recent(db: &Db, user: i64, limit: i64) -> Result<Vec<MarkRow>, sqlx::Error> {
    let sql = "SELECT i.id, i.name, m.opened_at FROM insight_marks m \
               JOIN insights i ON i.id = m.insight_id \
               WHERE m.user_id = $1 AND m.opened_at IS NOT NULL AND i.deleted_at IS NULL \
               ORDER BY m.opened_at DESC, i.id DESC LIMIT $2";
    on_pool!(db, p => sqlx::query_as::<_, MarkRow>(sql).bind(user).bind(limit).fetch_all(p).await)
}

/// Live insights the user starred, by name.
pub async fn favorites(db: &Db, user: i64) -> Result<Vec<MarkRow>, sqlx::Error> {
    let sql = "SELECT i.id, i.name, m.opened_at FROM insight_marks m \
               JOIN insights i ON i.id = m.insight_id \
               WHERE m.user_id = $1 AND m.favorite AND i.deleted_at IS NULL \
               ORDER BY i.name, i.id";
    on_pool!(db, p => sqlx::query_as::<_, MarkRow>(sql).bind(user).fetch_all(p).await)
}
