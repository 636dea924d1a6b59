//! Repository for insights, their versions and the folder tree. Saves are versioned in the
//! same transaction as the update, guarded by the version the editor started from.
use super::{on_pool, versions::Versioned, Db};
use crate::model::UserId;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InsightRow {
    pub id: i64,
    pub folder_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub connection_id: Option<i64>,
    pub connection_name: Option<String>,
    pub sql: String,
    pub params: String,
    pub view: String,
    pub drill: String,
    pub cache_minutes: Option<i64>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT i.id, i.folder_id, i.name, i.description, i.connection_id, \
     c.name AS connection_name, i.sql, i.params, i.view, i.drill, i.cache_minutes, i.version, i.updated_at, \
     u.email AS updated_by, i.deleted_at \
     FROM insights i LEFT JOIN connections c ON c.id = i.connection_id \
     LEFT JOIN users u ON u.id = i.updated_by";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FolderRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The stored form of an insight's editable fields (JSON parts already serialized).
pub struct Stored<'a> {
    pub folder_id: Option<i64>,
    pub name: &'a str,
    pub description: &'a str,
    pub connection_id: Option<i64>,
    pub sql: &'a str,
    pub params: &'a str,
    pub view: &'a str,
    pub drill: &'a str,
    pub cache_minutes: Option<i64>,
    /// The whole draft as JSON, kept as the version's body.
    pub body: &'a str,
    pub summary: &'a str,
}

pub async fn get(db: &Db, id: i64) -> Result<Option<InsightRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE i.id = $1");
    on_pool!(db, p => sqlx::query_as::<_, InsightRow>(&sql).bind(id).fetch_optional(p).await)
}

/// Live insights (`trash == false`) or trashed ones.
pub async fn list(db: &Db, trash: bool) -> Result<Vec<InsightRow>, sqlx::Error> {
    let cond = if trash {
        "i.deleted_at IS NOT NULL"
    } else {
        "i.deleted_at IS NULL"
    };
    let sql = format!("{SELECT} WHERE {cond} ORDER BY lower(i.name), i.id LIMIT 5000");
    on_pool!(db, p => sqlx::query_as::<_, InsightRow>(&sql).fetch_all(p).await)
}

/// Live insights whose name, description or SQL contains `q` (case-insensitive).
pub async fn search(db: &Db, q: &str) -> Result<Vec<InsightRow>, sqlx::Error> {
    let pattern = super::contains_pattern(q);
    let sql = format!(
        "{SELECT} WHERE i.deleted_at IS NULL AND (lower(i.name) LIKE $1 ESCAPE '\\' \
         OR lower(i.description) LIKE $1 ESCAPE '\\' OR lower(i.sql) LIKE $1 ESCAPE '\\') \
         ORDER BY lower(i.name), i.id LIMIT 500"
    );
    on_pool!(db, p => sqlx::query_as::<_, InsightRow>(&sql).bind(&pattern).fetch_all(p).await)
}

/// Creates an insight and its first version.
pub async fn insert(db: &Db, s: Stored<'_>, by: UserId) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    let insert = "INSERT INTO insights (folder_id, name, description, connection_id, sql, params, view, drill,
                  version, created_by, updated_by, created_at, updated_at, cache_minutes)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $10, $10, $11) RETURNING id";
    let version = Versioned::Insight.insert_sql();
    on_pool!(db, p => {
        let mut tx = p.begin().await?;
        let id: i64 = sqlx::query_scalar(insert).bind(s.folder_id).bind(s.name).bind(s.description)
            .bind(s.connection_id).bind(s.sql).bind(s.params).bind(s.view).bind(s.drill)
            .bind(by.0).bind(now).bind(s.cache_minutes).fetch_one(&mut *tx).await?;
        sqlx::query(version).bind(id).bind(1_i64).bind(by.0).bind(now).bind(s.summary).bind(s.body)
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    })
}

/// Saves a new version when the insight is still at `base_version` and not trashed; `None`
/// when someone else saved in between (or it is gone).
pub async fn update(
    db: &Db,
    id: i64,
    base_version: i64,
    s: Stored<'_>,
    by: UserId,
) -> Result<Option<i64>, sqlx::Error> {
    let now = Utc::now();
    let update =
        "UPDATE insights SET folder_id = $3, name = $4, description = $5, connection_id = $6,
                  sql = $7, params = $8, view = $9, drill = $10, version = version + 1,
                  updated_by = $11, updated_at = $12, cache_minutes = $13
                  WHERE id = $1 AND version = $2 AND deleted_at IS NULL";
    let version = Versioned::Insight.insert_sql();
    on_pool!(db, p => {
        let mut tx = p.begin().await?;
        let n = sqlx::query(update).bind(id).bind(base_version).bind(s.folder_id).bind(s.name)
            .bind(s.description).bind(s.connection_id).bind(s.sql).bind(s.params).bind(s.view)
            .bind(s.drill).bind(by.0).bind(now).bind(s.cache_minutes).execute(&mut *tx).await?
            .rows_affected();
        if n != 1 {
            return Ok(None);
        }
        let new_version = base_version + 1;
        sqlx::query(version).bind(id).bind(new_version).bind(by.0).bind(now).bind(s.summary)
            .bind(s.body).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(new_version))
    })
}

/// Moves an insight to the trash (`Some(now)`) or back (`None`).
pub async fn set_deleted(db: &Db, id: i64, at: Option<DateTime<Utc>>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE insights SET deleted_at = $2 WHERE id = $1";
    let n = on_pool!(db, p => sqlx::query(sql).bind(id).bind(at).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Moves an insight into a folder (or the root) without a new version of its content.
pub async fn set_folder(db: &Db, id: i64, folder: Option<i64>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE insights SET folder_id = $2 WHERE id = $1 AND deleted_at IS NULL";
    let n = on_pool!(db, p => sqlx::query(sql).bind(id).bind(folder).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

// ---- folders ----

pub async fn folders(db: &Db) -> Result<Vec<FolderRow>, sqlx::Error> {
    let sql = "SELECT id, parent_id, name, deleted_at FROM folders ORDER BY lower(name), id";
    on_pool!(db, p => sqlx::query_as::<_, FolderRow>(sql).fetch_all(p).await)
}

pub async fn insert_folder(
    db: &Db,
    parent: Option<i64>,
    name: &str,
    by: UserId,
) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO folders (parent_id, name, created_by, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $4) RETURNING id";
    on_pool!(db, p => sqlx::query_scalar(sql).bind(parent).bind(name).bind(by.0).bind(Utc::now())
        .fetch_one(p).await)
}

pub async fn update_folder(
    db: &Db,
    id: i64,
    parent: Option<i64>,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE folders SET parent_id = $2, name = $3, updated_at = $4
               WHERE id = $1 AND deleted_at IS NULL";
    let n = on_pool!(db, p => sqlx::query(sql).bind(id).bind(parent).bind(name).bind(Utc::now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Trashes (or restores, with `at = None` and the stamp they were trashed with) the given
/// folders and every live insight in them, in one transaction.
pub async fn set_folders_deleted(
    db: &Db,
    ids: &[i64],
    at: Option<DateTime<Utc>>,
    trashed_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    on_pool!(db, p => {
        let mut tx = p.begin().await?;
        for id in ids {
            match (at, trashed_at) {
                (Some(at), _) => {
                    sqlx::query("UPDATE folders SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                        .bind(id).bind(at).execute(&mut *tx).await?;
                    sqlx::query("UPDATE insights SET deleted_at = $2 WHERE folder_id = $1 AND deleted_at IS NULL")
                        .bind(id).bind(at).execute(&mut *tx).await?;
                    sqlx::query("UPDATE dashboards SET deleted_at = $2 WHERE folder_id = $1 AND deleted_at IS NULL")
                        .bind(id).bind(at).execute(&mut *tx).await?;
                }
                (None, Some(stamp)) => {
                    sqlx::query("UPDATE folders SET deleted_at = NULL WHERE id = $1 AND deleted_at = $2")
                        .bind(id).bind(stamp).execute(&mut *tx).await?;
                    sqlx::query("UPDATE insights SET deleted_at = NULL WHERE folder_id = $1 AND deleted_at = $2")
                        .bind(id).bind(stamp).execute(&mut *tx).await?;
                    sqlx::query("UPDATE dashboards SET deleted_at = NULL WHERE folder_id = $1 AND deleted_at = $2")
                        .bind(id).bind(stamp).execute(&mut *tx).await?;
                }
                (None, None) => {}
            }
        }
        tx.commit().await
    })
}
