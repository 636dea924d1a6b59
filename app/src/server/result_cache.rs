//! The result cache: a saved insight's run is shared by everyone who asks for the same rows
//! within its cache time, so a board opened by a hundred people runs each tile once.
//!
//! - **Key**: what decides the rows: the insight and its version, the connection and the
//!   time its settings last changed, the compiled SQL and the bound values (hashed).
//! - **Access**: a result is only handed out after the caller passed the same checks as a
//!   fresh run ([`crate::server::insights::prepare`] and the permission check before it), so the key needs
//!   nothing per user as long as whoever may open an insight sees all of its rows. Object
//!   permissions that depend on the viewer must join the key.
//! - **One run for concurrent cold requests**: the key's lock ([`Engine::flight`]) is held
//!   while looking up and starting, so the second request joins the first one's run.
//! - **Every process**: a finished result's snapshot file goes to the metadata store
//!   (`result_cache` table), from which another process (or this one after a restart) takes
//!   it; within a process the snapshot is read where it is.
//! - **Bounded**: entries larger than a sixteenth of the bound stay in their process only;
//!   the store keeps at most `--result-cache-mb`, least recently used first out (a process
//!   reports its hits once a minute per result), and nothing older than the longest cache
//!   time. In a process, a result replaced by a newer run of its key goes once nobody read
//!   it for two minutes, and at most 500 finished shared results are kept.
//!
//! [`Engine::flight`]: crate::server::engine::Engine::flight
use crate::{
    error::AppError,
    model::{
        dashboard::DashboardId,
        run::{CacheUse, DEFAULT_CACHE_MINUTES, MAX_CACHE_MINUTES},
        UserId,
    },
    server::{
        dashboards,
        db::result_cache as repo,
        engine::{snapshot::Cached, RunHandle},
        insights::Prepared,
        AppState,
    },
};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The key of a prepared run: `<insight id>:<hash of what decides its rows>`.
pub fn key(p: &Prepared) -> String {
    let decided = serde_json::json!([
        1, // the key's own format
        p.insight.id,
        p.insight.version,
        p.connection.id,
        p.connection.updated_at,
        p.sql,
        p.params,
    ]);
    let hash = Sha256::digest(decided.to_string().as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}:{hex}", p.insight.id)
}

/// How long results are reused for this run (`None`: read the database now).
async fn minutes(state: &AppState, p: &Prepared, cache: CacheUse) -> Result<Option<u32>, AppError> {
    let own = p
        .insight
        .cache_minutes
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(DEFAULT_CACHE_MINUTES);
    Ok(match cache {
        CacheUse::Fresh => None,
        CacheUse::Reuse => Some(own),
        CacheUse::Board(d) => {
            Some(dashboards::tile_cache_minutes(state, DashboardId(d), own).await?)
        }
    }
    .map(|m| m.min(MAX_CACHE_MINUTES)))
}

fn fresh_enough(at: DateTime<Utc>, minutes: u32, now: DateTime<Utc>) -> bool {
    now - at < Duration::minutes(i64::from(minutes))
}

/// Runs a prepared insight through the cache: a result computed within its cache time (in
/// this process or in the store), the run of the same rows already under way, or a new run
/// that the next requests will share. A cache time of 0 gives the caller a run of their own.
pub async fn run(
    state: &AppState,
    owner: UserId,
    p: Prepared,
    cache: CacheUse,
) -> Result<Arc<RunHandle>, AppError> {
    run_at(state, owner, p, cache, Utc::now()).await
}

/// [`run`] as if it were `now` (tests move the clock past a cache time).
pub async fn run_at(
    state: &AppState,
    owner: UserId,
    p: Prepared,
    cache: CacheUse,
    now: DateTime<Utc>,
) -> Result<Arc<RunHandle>, AppError> {
    let minutes = minutes(state, &p, cache).await?;
    let engine = &state.engine;
    if minutes == Some(0) {
        return engine
            .start(owner, &p.connection, p.sql, p.params, false)
            .await;
    }
    let key = key(&p);
    let _flight = engine.flight(&key).await;
    if let Some(h) = engine.shared_run(&key) {
        // The same rows are being read: join (a Refresh too, rather than a second run).
        if !h.view().state.finished() {
            return Ok(h);
        }
        if let (Some(m), Some(at)) = (minutes, h.done_at()) {
            if fresh_enough(at, m, now) {
                // The store's least-recently-used order hears of hits here too, once a
                // minute per result at most, off the request's path.
                if h.store_touch_due(std::time::Duration::from_secs(60)) {
                    let (db, key) = (state.db.clone(), key.clone());
                    tokio::spawn(async move {
                        let _ = repo::touch(&db, &key, Utc::now().timestamp_millis()).await;
                    });
                }
                return Ok(h);
            }
        }
    }
    if let Some(m) = minutes {
        let since = (now - Duration::minutes(i64::from(m))).timestamp_millis();
        if let Some(entry) = repo::get(&state.db, &key, since).await? {
            match adopt(state, owner, &p, &key, entry).await {
                Ok(h) => return Ok(h),
                Err(e) => {
                    tracing::warn!(key, error = %e, "a cached result could not be used; running again")
                }
            }
        }
    }
    engine
        .start_shared(owner, &p.connection, p.sql, p.params, key)
        .await
}

async fn adopt(
    state: &AppState,
    owner: UserId,
    p: &Prepared,
    key: &str,
    entry: repo::Entry,
) -> Result<Arc<RunHandle>, AppError> {
    let cached: Cached = serde_json::from_str(&entry.meta).map_err(crate::error::internal)?;
    let h = state
        .engine
        .adopt(
            owner,
            crate::model::connection::ConnectionId(p.connection.id),
            key.to_string(),
            entry.body,
            cached,
        )
        .await?;
    if let Err(e) = repo::touch(&state.db, key, Utc::now().timestamp_millis()).await {
        tracing::warn!(key, error = %e, "could not mark a cached result as used");
    }
    Ok(h)
}

/// Drops stored results older than any cache time allows (run now and then).
pub async fn purge(state: &AppState) {
    let before = Utc::now() - Duration::minutes(i64::from(MAX_CACHE_MINUTES));
    if let Err(e) = repo::purge_older(&state.db, before.timestamp_millis()).await {
        tracing::warn!(error = %e, "could not purge old cached results");
    }
}

/// Forgets the stored results of an insight (saved as a new version, or deleted): their keys
/// name a version nobody will ask for again.
pub async fn forget_insight(state: &AppState, insight_id: i64) {
    if let Err(e) = repo::forget_insight(&state.db, insight_id).await {
        tracing::warn!(insight_id, error = %e, "could not drop an insight's cached results");
    }
}
