//! The execution engine: one pool per connection with a concurrency cap and a visible queue,
//! runs that stream into server-side snapshots, cancellation that reaches the database, and
//! expiry of old results.
mod cached;
mod handle;
mod pools;
pub mod snapshot;
mod task;

pub use handle::RunHandle;
use handle::Status;
pub use pools::PoolEntry;
use pools::Pools;
use task::RunTask;

use crate::{
    error::AppError,
    model::{
        connection::ConnectionId,
        run::{Page, RunId, RunState, RunView, Sort, MAX_PAGE},
        UserId,
    },
    server::{
        connectors::{Connector, ConnectorError, Param, RunLimits},
        db::{connections::ConnectionRow, runs as runs_repo, Db},
        settings::RunSettings,
    },
};
use futures::future::BoxFuture;
use snapshot::Snapshot;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What the engine needs of the connections service, which implements it: a connection's
/// current row, and a connector for a row (its password opened, the egress policy applied).
/// The engine never reaches up into the services for these.
pub trait ConnectionSource: Send + Sync {
    /// The connection as stored now (a deleted one is an error).
    fn row(&self, id: ConnectionId) -> BoxFuture<'_, Result<ConnectionRow, AppError>>;
    /// A connector (pool) for `row`, after the policy checks.
    fn open<'a>(&'a self, row: &'a ConnectionRow) -> BoxFuture<'a, Result<Connector, AppError>>;
}

/// Finished results kept per user (each is a file in the data directory).
const KEEP_PER_USER: usize = 10;
/// Finished shared results (the result cache's) kept in this process at most.
const KEEP_SHARED: usize = 500;

pub struct Engine {
    pools: Arc<Pools>,
    runs: Mutex<HashMap<RunId, Arc<RunHandle>>>,
    /// The newest shared run of each result-cache key.
    shared: Mutex<HashMap<String, RunId>>,
    /// One lock per result-cache key being looked up or started, so two cold requests for
    /// the same result start one run.
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    dir: PathBuf,
    settings: RunSettings,
    /// The metadata store: run records, the audit, the stored result cache.
    db: Db,
}

impl Engine {
    /// `dir` holds the snapshots; whatever a previous process left there is removed.
    pub fn new(
        dir: PathBuf,
        settings: RunSettings,
        db: Db,
        connections: Arc<dyn ConnectionSource>,
    ) -> Self {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let _ = std::fs::create_dir_all(&dir);
        Engine {
            pools: Arc::new(Pools {
                map: tokio::sync::Mutex::new(HashMap::new()),
                connections,
                settings: settings.clone(),
            }),
            runs: Mutex::new(HashMap::new()),
            shared: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
            dir,
            settings,
            db,
        }
    }

    pub fn settings(&self) -> &RunSettings {
        &self.settings
    }

    /// The pool of a connection, opened on first use (after the policy checks) and reopened
    /// when the connection's settings changed.
    pub async fn pool(&self, row: &ConnectionRow) -> Result<Arc<PoolEntry>, AppError> {
        self.pools.get(row).await
    }

    /// Drops a connection's pool so the next run starts on fresh connections. The runs of
    /// `only` (or everyone's, when `None`) on it are cancelled; others finish on the old pool,
    /// which closes once they are done, or, still waiting for a turn, move to the new one.
    pub async fn reset(&self, id: ConnectionId, only: Option<UserId>) {
        let handles: Vec<Arc<RunHandle>> = self
            .runs
            .lock()
            .map(|r| {
                r.values()
                    .filter(|h| h.connection == id && only.is_none_or(|u| h.owner == u))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for h in handles {
            h.cancel.cancel();
        }
        if let Some(old) = self.pools.map.lock().await.remove(&id) {
            self.pools.retire(old);
        }
    }

    /// Starts a run; it waits for a turn on its connection, then streams into a snapshot.
    pub async fn start(
        &self,
        owner: UserId,
        row: &ConnectionRow,
        sql: String,
        params: Vec<Param>,
        writable: bool,
    ) -> Result<Arc<RunHandle>, AppError> {
        self.start_inner(owner, row, sql, params, writable, None)
            .await
    }

    /// Starts a read-only run under a result-cache key: any viewer of the insight may read
    /// it, later requests for the key join or reuse it, and once done it is kept in the
    /// cache store (see `server::result_cache`). Call while holding [`Self::flight`].
    pub async fn start_shared(
        &self,
        owner: UserId,
        row: &ConnectionRow,
        sql: String,
        params: Vec<Param>,
        key: String,
    ) -> Result<Arc<RunHandle>, AppError> {
        self.start_inner(owner, row, sql, params, false, Some(key))
            .await
    }

    // `start` and `start_shared`'s arguments, and which of the two.
    async fn start_inner(
        &self,
        owner: UserId,
        row: &ConnectionRow,
        sql: String,
        params: Vec<Param>,
        writable: bool,
        shared: Option<String>,
    ) -> Result<Arc<RunHandle>, AppError> {
        let pool = self.pool(row).await?;
        let id = RunId(uuid::Uuid::new_v4().to_string());
        runs_repo::insert(
            &self.db,
            runs_repo::NewRun {
                id: &id,
                user: owner,
                connection: ConnectionId(row.id),
                connection_name: &row.name,
                sql: &sql,
                params: &params,
            },
        )
        .await?;
        let handle = Arc::new(RunHandle {
            id: id.clone(),
            owner,
            connection: ConnectionId(row.id),
            shared: shared.clone(),
            status: Mutex::new(Status {
                state: RunState::Queued,
                error: None,
                row_count: 0,
                truncated: false,
                truncated_by_size: false,
                started: Instant::now(),
                elapsed: None,
                finished_at: None,
            }),
            cancel: CancellationToken::new(),
            snapshot: Mutex::new(None),
            pool: Mutex::new(Some(pool.clone())),
            last_access: Mutex::new(Instant::now()),
            changed: Notify::new(),
            store_touched: Mutex::new(None),
        });
        pool.enqueue(&id);
        if let Ok(mut runs) = self.runs.lock() {
            runs.insert(id.clone(), handle.clone());
            // The key points at the new run only once the run is findable (`expire` drops
            // keys whose run is gone); the lock on `runs` keeps `expire` out meanwhile.
            if let Some(key) = &shared {
                if let Ok(mut m) = self.shared.lock() {
                    m.insert(key.clone(), id.clone());
                }
            }
            // Each user keeps their newest finished results; older snapshots are deleted.
            // (Shared results are the cache's: they go when nobody read them for the TTL.)
            let mut finished: Vec<(Instant, RunId)> = runs
                .values()
                .filter(|h| h.owner == owner && h.shared.is_none() && h.state().finished())
                .map(|h| {
                    (
                        h.last_access
                            .lock()
                            .map(|t| *t)
                            .unwrap_or_else(|_| Instant::now()),
                        h.id.clone(),
                    )
                })
                .collect();
            if finished.len() > KEEP_PER_USER {
                finished.sort_by_key(|(t, _)| *t);
                for (_, old) in &finished[..finished.len() - KEEP_PER_USER] {
                    runs.remove(old);
                }
            }
        }
        let task = RunTask {
            db: self.db.clone(),
            pools: self.pools.clone(),
            handle: handle.clone(),
            sql,
            params,
            writable,
            connection_name: row.name.clone(),
            path: self.dir.join(format!("{id}.sqlite")),
            settings: self.settings.clone(),
        };
        tokio::spawn(task.run());
        Ok(handle)
    }

    /// Runs a statement straight into `sink`, without a snapshot or a run record: exports
    /// (no row cap) and parameter dropdowns. It takes a turn on the connection like any run.
    // The run's inputs (statement, values, cap, cancel) and where its rows go.
    pub async fn run_direct(
        &self,
        row: &ConnectionRow,
        sql: &str,
        params: &[Param],
        max_rows: u64,
        cancel: CancellationToken,
        sink: &mut dyn crate::server::connectors::RowSink,
    ) -> Result<crate::server::connectors::RunSummary, ConnectorError> {
        let (pool, _permit, limits) = self.direct(row, max_rows, cancel).await?;
        futures::FutureExt::boxed(pool.connector.run(sql, params, &limits, sink)).await
    }

    /// Like [`run_direct`](Self::run_direct) without a row cap, as CSV from the server's own
    /// `COPY` when the connection and statement allow it (see [`Connector::copy_csv`]);
    /// `Ok(None)` with nothing written when they do not.
    pub async fn copy_csv_direct(
        &self,
        row: &ConnectionRow,
        sql: &str,
        params: &[Param],
        cancel: CancellationToken,
        out: &mut dyn crate::server::connectors::CopyOut,
    ) -> Result<Option<crate::server::connectors::postgres::CopySummary>, ConnectorError> {
        let (pool, _permit, limits) = self.direct(row, u64::MAX, cancel).await?;
        futures::FutureExt::boxed(pool.connector.copy_csv(sql, params, &limits, out)).await
    }

    /// The connection's pool, a slot in it, and read-only limits for a direct run.
    async fn direct(
        &self,
        row: &ConnectionRow,
        max_rows: u64,
        cancel: CancellationToken,
    ) -> Result<(Arc<PoolEntry>, tokio::sync::OwnedSemaphorePermit, RunLimits), ConnectorError>
    {
        let mut pool = self
            .pool(row)
            .await
            .map_err(|e| ConnectorError::Connect(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + self.settings.queue_timeout;
        let permit = loop {
            match tokio::time::timeout_at(deadline, pool.permits.clone().acquire_owned()).await {
                Ok(Ok(p)) => break p,
                // Retired by a reset while waiting: wait on the connection's current pool.
                Ok(Err(_)) => pool = self.pools.successor(ConnectionId(row.id)).await?,
                Err(_) => return Err(ConnectorError::Busy(self.settings.pool_size)),
            }
        };
        let limits = RunLimits {
            timeout: self.settings.timeout,
            max_rows,
            writable: false,
            cancel,
        };
        Ok((pool, permit, limits))
    }

    /// The lock of one result-cache key: held while looking the key up and starting its
    /// run, so concurrent cold requests for the same result cause one database run.
    pub async fn flight(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .flights
            .lock()
            .map(|mut f| f.entry(key.to_string()).or_default().clone())
            .unwrap_or_default();
        lock.lock_owned().await
    }

    /// The newest shared run of a result-cache key in this process (running or finished).
    pub fn shared_run(&self, key: &str) -> Option<Arc<RunHandle>> {
        let id = self.shared.lock().ok()?.get(key).cloned()?;
        let h = self.runs.lock().ok()?.get(&id).cloned()?;
        h.touch();
        Some(h)
    }

    /// Takes a finished result from the cache store into this process: `file` is its
    /// snapshot, written here as a new run that any viewer of the insight may read.
    pub async fn adopt(
        &self,
        owner: UserId,
        connection: ConnectionId,
        key: String,
        file: Vec<u8>,
        cached: snapshot::Cached,
    ) -> Result<Arc<RunHandle>, AppError> {
        let id = RunId(uuid::Uuid::new_v4().to_string());
        let path = self.dir.join(format!("{id}.sqlite"));
        let (rows, truncated, by_size, elapsed_ms, computed) = (
            cached.rows,
            cached.truncated,
            cached.truncated_by_size,
            cached.elapsed_ms,
            cached.computed_at,
        );
        let snapshot =
            tokio::task::spawn_blocking(move || Snapshot::open_complete(path, file, cached))
                .await
                .map_err(crate::error::internal)?
                .map_err(crate::error::internal)?;
        let handle = Arc::new(RunHandle {
            id: id.clone(),
            owner,
            connection,
            shared: Some(key.clone()),
            status: Mutex::new(Status {
                state: RunState::Done,
                error: None,
                row_count: rows,
                truncated,
                truncated_by_size: by_size,
                started: Instant::now(),
                elapsed: Some(Duration::from_millis(elapsed_ms)),
                finished_at: Some(computed),
            }),
            cancel: CancellationToken::new(),
            snapshot: Mutex::new(Some(snapshot)),
            pool: Mutex::new(None),
            last_access: Mutex::new(Instant::now()),
            changed: Notify::new(),
            store_touched: Mutex::new(None),
        });
        if let Ok(mut runs) = self.runs.lock() {
            runs.insert(id.clone(), handle.clone());
            if let Ok(mut m) = self.shared.lock() {
                m.insert(key, id);
            }
        }
        Ok(handle)
    }

    /// A run of this user, or a shared one (the result cache's); others' runs look missing.
    /// A shared run's id is only handed out after the insight's checks, but whoever holds
    /// the id may page it until it expires, as with a link to a result.
    pub fn get(&self, owner: UserId, id: &RunId) -> Result<Arc<RunHandle>, AppError> {
        let h = self
            .runs
            .lock()
            .ok()
            .and_then(|r| r.get(id).cloned())
            .filter(|h| h.owner == owner || h.shared.is_some())
            .ok_or_else(|| {
                AppError::NotFound(
                    "That result expired or never existed; run the query again. A result".into(),
                )
            })?;
        h.touch();
        Ok(h)
    }

    /// The run's view to answer a start with: with its first `page_size` rows when they are
    /// quick to get (a second at most); the browser follows up otherwise. 0 asks for no page
    /// (a quarter of a second's wait for a quick finish).
    pub async fn first_view(&self, h: &RunHandle, page_size: u32) -> Result<RunView, AppError> {
        let page_size = page_size.min(MAX_PAGE);
        let wait = Duration::from_millis(if page_size > 0 { 1000 } else { 250 });
        self.wait(h, u64::from(page_size.max(1)), wait).await;
        let mut view = h.view();
        if page_size > 0 && view.row_count > 0 {
            view.page = Some(self.page(h, 0, page_size, None).await?);
        }
        Ok(view)
    }

    /// Waits until the run finished, `rows` rows are readable, or `wait` passed.
    pub async fn wait(&self, h: &RunHandle, rows: u64, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let notified = h.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let v = h.view();
            if v.state.finished() || (rows > 0 && v.row_count >= rows) {
                return;
            }
            tokio::select! {
                _ = &mut notified => {}
                // Rows arrive without a notification per batch; look again shortly.
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
            if tokio::time::Instant::now() >= until {
                return;
            }
        }
    }

    pub async fn page(
        &self,
        h: &RunHandle,
        offset: u64,
        limit: u32,
        sort: Option<Sort>,
    ) -> Result<Page, AppError> {
        let Some(snapshot) = h.snapshot.lock().ok().and_then(|s| s.clone()) else {
            return Ok(Page {
                offset,
                rows: vec![],
            });
        };
        tokio::task::spawn_blocking(move || snapshot.page(offset, limit, sort))
            .await
            .map_err(crate::error::internal)?
            .map_err(crate::error::internal)
    }

    /// Asks a run to stop; returns once the database confirmed (or 10 s passed).
    pub async fn cancel(&self, h: &RunHandle) -> RunView {
        h.cancel.cancel();
        self.wait(h, 0, Duration::from_secs(10)).await;
        h.view()
    }

    /// Removes results nobody read for the TTL, and cancels running queries whose owner
    /// stopped asking about them (the browser tab was closed).
    pub fn expire(&self, abandoned_after: Duration) {
        let now = Instant::now();
        let mut expired = vec![];
        let current: std::collections::HashSet<RunId> = self
            .shared
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        if let Ok(mut runs) = self.runs.lock() {
            runs.retain(|_, h| {
                let idle = h.last_access.lock().map(|t| now - *t).unwrap_or_default();
                let finished = h.state().finished();
                if !finished && idle > abandoned_after {
                    h.cancel.cancel();
                }
                // A shared result that a newer run of its key replaced (a Refresh) is kept
                // only while someone still pages it.
                let ttl = if h.shared.is_some() && !current.contains(&h.id) {
                    abandoned_after
                } else {
                    self.settings.snapshot_ttl
                };
                let keep = !finished || idle < ttl;
                if !keep {
                    expired.push(h.clone());
                }
                keep
            });
            // At most KEEP_SHARED finished shared results, the least recently read go first.
            let mut shared: Vec<(Instant, RunId)> = runs
                .values()
                .filter(|h| h.shared.is_some() && h.state().finished())
                .map(|h| {
                    (
                        h.last_access.lock().map(|t| *t).unwrap_or(now),
                        h.id.clone(),
                    )
                })
                .collect();
            if shared.len() > KEEP_SHARED {
                shared.sort_by_key(|(t, _)| *t);
                for (_, id) in &shared[..shared.len() - KEEP_SHARED] {
                    if let Some(h) = runs.remove(id) {
                        expired.push(h);
                    }
                }
            }
            if let Ok(mut shared) = self.shared.lock() {
                shared.retain(|_, id| runs.contains_key(id));
            }
        }
        if let Ok(mut flights) = self.flights.lock() {
            flights.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        drop(expired);
    }
}
