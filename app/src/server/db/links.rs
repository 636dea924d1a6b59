//! One-time account links (invitations, password resets), stored as token hashes.
use super::{on_pool, Db};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub kind: String,
    pub email: String,
    pub role: Option<String>,
    pub user_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

pub struct NewLink<'a> {
    pub token_hash: &'a str,
    pub kind: &'a str,
    pub email: &'a str,
    pub role: Option<&'a str>,
    pub user_id: Option<i64>,
    pub created_by: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

/// Stores a link, retiring the unused links of the same kind for the same address: only the
/// newest invitation or reset of an account works.
pub async fn insert(db: &Db, l: NewLink<'_>) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let retire = "UPDATE account_links SET used_at = $1 \
                  WHERE email = $2 AND kind = $3 AND used_at IS NULL";
    let insert = "INSERT INTO account_links \
                  (token_hash, kind, email, role, user_id, created_by, created_at, expires_at) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_pool!(db, p => async {
        let mut tx = p.begin().await?;
        sqlx::query(retire).bind(now).bind(l.email).bind(l.kind).execute(&mut *tx).await?;
        sqlx::query(insert)
            .bind(l.token_hash).bind(l.kind).bind(l.email).bind(l.role).bind(l.user_id)
            .bind(l.created_by).bind(now).bind(l.expires_at)
            .execute(&mut *tx).await?;
        tx.commit().await
    }.await)
}

/// The live (unused, unexpired) link with this token hash.
pub async fn live(db: &Db, token_hash: &str) -> Result<Option<LinkRow>, sqlx::Error> {
    let sql = "SELECT kind, email, role, user_id, expires_at FROM account_links \
               WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
    on_pool!(db, p => sqlx::query_as::<_, LinkRow>(sql).bind(token_hash).bind(Utc::now()).fetch_optional(p).await)
}

/// Uses the link up, if it is still live: of two concurrent uses, one gets it.
pub async fn consume(db: &Db, token_hash: &str) -> Result<Option<LinkRow>, sqlx::Error> {
    let sql = "UPDATE account_links SET used_at = $2 \
               WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
               RETURNING kind, email, role, user_id, expires_at";
    on_pool!(db, p => sqlx::query_as::<_, LinkRow>(sql).bind(token_hash).bind(Utc::now()).fetch_optional(p).await)
}
