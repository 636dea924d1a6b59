//! Repository for dashboards and their versions. A save is a new version in the same
//! transaction as the update, guarded by the version the editor started from.
use super::{on_pool, versions::Versioned, Db};
use crate::model::UserId;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DashboardRow {
    pub id: i64,
    pub folder_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub body: String,
    pub version: i64,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT d.id, d.folder_id, d.name, d.description, d.body, d.version, \
     d.owner_id, o.email AS owner, d.updated_at, u.email AS updated_by, d.deleted_at \
     FROM dashboards d LEFT JOIN users o ON o.id = d.owner_id \
     LEFT JOIN users u ON u.id = d.updated_by";

/// The stored form of a draft: its listed fields and the whole draft as JSON.
pub struct Stored<'a> {
    pub folder_id: Option<i64>,
    pub name: &'a str,
    pub description: &'a str,
    pub body: &'a str,
    pub summary: &'a str,
}

pub async fn get(db: &Db, id: i64) -> Result<Option<DashboardRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE d.id = $1");
    on_pool!(db, p => sqlx::query_as::<_, DashboardRow>(&sql).bind(id).fetch_optional(p).await)
}

/// Live dashboards (`trash == false`) or trashed ones; with `q`, those whose name or
/// description contains it (case-insensitive).
pub async fn list(db: &Db, trash: bool, q: Option<&str>) -> Result<Vec<DashboardRow>, sqlx::Error> {
    let cond = if trash {
        "d.deleted_at IS NOT NULL"
    } else {
        "d.deleted_at IS NULL"
    };
    let pattern = q.map(super::contains_pattern);
    let search = if pattern.is_some() {
        " AND (lower(d.name) LIKE $1 ESCAPE '\\' OR lower(d.description) LIKE $1 ESCAPE '\\')"
    } else {
        ""
    };
    let sql = format!("{SELECT} WHERE {cond}{search} ORDER BY lower(d.name), d.id LIMIT 5000");
    on_pool!(db, p => {
        let mut query = sqlx::query_as::<_, DashboardRow>(&sql);
        if let Some(pat) = &pattern {
            query = query.bind(pat);
        }
        query.fetch_all(p).await
    })
}

/// Creates a dashboard (owned by `by`) and its first version.
pub async fn insert(db: &Db, s: Stored<'_>, by: UserId) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    let insert = "INSERT INTO dashboards (folder_id, name, description, body, version, owner_id,
                  updated_by, created_at, updated_at)
                  VALUES ($1, $2, $3, $4, 1, $5, $5, $6, $6) RETURNING id";
    let version = Versioned::Dashboard.insert_sql();
    on_pool!(db, p => {
        let mut tx = p.begin().await?;
        let id: i64 = sqlx::query_scalar(insert).bind(s.folder_id).bind(s.name).bind(s.description)
            .bind(s.body).bind(by.0).bind(now).fetch_one(&mut *tx).await?;
        sqlx::query(version).bind(id).bind(1_i64).bind(by.0).bind(now).bind(s.summary).bind(s.body)
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    })
}

/// Saves a new version when the dashboard is still at `base_version` and not trashed;
/// `None` when someone else saved in between (or it is gone).
pub async fn update(
    db: &Db,
    id: i64,
    base_version: i64,
    s: Stored<'_>,
    by: UserId,
) -> Result<Option<i64>, sqlx::Error> {
    let now = Utc::now();
    let update = "UPDATE dashboards SET folder_id = $3, name = $4, description = $5, body = $6,
                  version = version + 1, updated_by = $7, updated_at = $8
                  WHERE id = $1 AND version = $2 AND deleted_at IS NULL";
    let version = Versioned::Dashboard.insert_sql();
    on_pool!(db, p => {
        let mut tx = p.begin().await?;
        let n = sqlx::query(update).bind(id).bind(base_version).bind(s.folder_id).bind(s.name)
            .bind(s.description).bind(s.body).bind(by.0).bind(now)
            .execute(&mut *tx).await?.rows_affected();
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

/// Moves a dashboard to the trash (`Some(now)`) or back (`None`).
pub async fn set_deleted(db: &Db, id: i64, at: Option<DateTime<Utc>>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE dashboards SET deleted_at = $2 WHERE id = $1";
    let n = on_pool!(db, p => sqlx::query(sql).bind(id).bind(at).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
