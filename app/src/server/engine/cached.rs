//! A finished shared run (the result cache's) copied into the metadata store, so that other
//! processes, and this one after a restart, can take it over (`result_cache` reads it back).
use super::RunHandle;
use crate::server::db::{result_cache as repo, Db};

/// Called when a shared run finished without an error: its snapshot goes to
/// the store for the other processes (when it is small enough to share).
pub(super) async fn keep(db: &Db, bound: u64, key: &str, h: &RunHandle) {
    let Some(insight_id) = key.split(':').next().and_then(|i| i.parse::<i64>().ok()) else {
        return;
    };
    let Some((snapshot, cached)) = h.cached() else {
        return;
    };
    // Too big to share: not worth copying (the copy would be thrown away).
    if snapshot.file_bytes() > bound / 16 {
        return;
    }
    let file = match tokio::task::spawn_blocking(move || snapshot.to_file()).await {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => {
            tracing::warn!(key, error = %e, "could not copy a result for the cache");
            return;
        }
        Err(_) => return,
    };
    if file.len() as u64 > bound / 16 {
        return;
    }
    let meta = serde_json::to_string(&cached).unwrap_or_default();
    let entry = repo::New {
        key,
        insight_id,
        created_ms: cached.computed_at.timestamp_millis(),
        meta: &meta,
        body: &file,
    };
    if let Err(e) = repo::put(db, entry, bound).await {
        tracing::warn!(key, error = %e, "could not store a result in the cache");
    }
}
