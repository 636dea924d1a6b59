//! Repository for the result cache: finished results of saved insights (their snapshot
//! files) that every web process may reuse. Times are milliseconds since 1970 (UTC).
use super::{on_pool, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub created_ms: i64,
    pub meta: String,
    pub body: Vec<u8>,
}

/// The entry under `key` computed at or after `since_ms`.
pub async fn get(db: &Db, key: &str, since_ms: i64) -> Result<Option<Entry>, sqlx::Error> {
    let sql = "SELECT created_ms, meta, body FROM result_cache WHERE key = $1 AND created_ms >= $2";
    on_pool!(db, p => sqlx::query_as::<_, Entry>(sql).bind(key).bind(since_ms).fetch_optional(p).await)
}

pub struct New<'a> {
    pub key: &'a str,
    pub insight_id: i64,
    pub created_ms: i64,
    pub meta: &'a str,
    pub body: &'a [u8],
}

/// Stores (or replaces) an entry, then removes the least recently used ones until the
/// cache holds at most `max_bytes`.
pub async fn put(db: &Db, e: New<'_>, max_bytes: u64) -> Result<(), sqlx::Error> {
    let upsert =
        "INSERT INTO result_cache (key, insight_id, created_ms, used_ms, bytes, meta, body)
                  VALUES ($1, $2, $3, $3, $4, $5, $6)
                  ON CONFLICT (key) DO UPDATE SET insight_id = excluded.insight_id,
                  created_ms = excluded.created_ms, used_ms = excluded.used_ms,
                  bytes = excluded.bytes, meta = excluded.meta, body = excluded.body
                  WHERE result_cache.created_ms <= excluded.created_ms";
    on_pool!(db, p => {
        sqlx::query(upsert).bind(e.key).bind(e.insight_id).bind(e.created_ms)
            .bind(e.body.len() as i64).bind(e.meta).bind(e.body).execute(p).await?;
        Ok::<(), sqlx::Error>(())
    })?;
    evict(db, max_bytes).await
}

/// Least recently used first out, until the entries take at most `max_bytes`.
pub async fn evict(db: &Db, max_bytes: u64) -> Result<(), sqlx::Error> {
    let total = "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM result_cache";
    let oldest = "SELECT key, bytes FROM result_cache ORDER BY used_ms, key LIMIT 200";
    let delete = "DELETE FROM result_cache WHERE key = $1";
    on_pool!(db, p => {
        let mut over: i64 = sqlx::query_scalar::<_, i64>(total).fetch_one(p).await?
            - max_bytes.min(i64::MAX as u64) as i64;
        while over > 0 {
            let rows: Vec<(String, i64)> = sqlx::query_as(oldest).fetch_all(p).await?;
            if rows.is_empty() {
                break;
            }
            for (key, bytes) in rows {
                if over <= 0 {
                    break;
                }
                sqlx::query(delete).bind(&key).execute(p).await?;
                over -= bytes;
            }
        }
        Ok(())
    })
}

/// Marks an entry as just served (its place in the least-recently-used order).
pub async fn touch(db: &Db, key: &str, now_ms: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE result_cache SET used_ms = $2 WHERE key = $1 AND used_ms < $2";
    on_pool!(db, p => sqlx::query(sql).bind(key).bind(now_ms).execute(p).await.map(|_| ()))
}

/// Drops entries computed before `before_ms` (older than any cache time allows).
pub async fn purge_older(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    let sql = "DELETE FROM result_cache WHERE created_ms < $1";
    on_pool!(db, p => sqlx::query(sql).bind(before_ms).execute(p).await.map(|r| r.rows_affected()))
}

/// Drops the entries of one insight.
pub async fn forget_insight(db: &Db, insight_id: i64) -> Result<u64, sqlx::Error> {
    let sql = "DELETE FROM result_cache WHERE insight_id = $1";
    on_pool!(db, p => sqlx::query(sql).bind(insight_id).execute(p).await.map(|r| r.rows_affected()))
}

/// Entries and bytes held, for tests and the admin's view of the store.
pub async fn usage(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    let sql = "SELECT COUNT(*), CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM result_cache";
    on_pool!(db, p => sqlx::query_as::<_, (i64, i64)>(sql).fetch_one(p).await)
}
