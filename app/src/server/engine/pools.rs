//! The open pools, one per connection: each with its concurrency cap and visible queue, and
//! replaced when the connection's settings change.
use super::ConnectionSource;
use crate::{
    error::AppError,
    model::{connection::ConnectionId, run::RunId},
    server::{
        connectors::{Connector, ConnectorError},
        db::connections::ConnectionRow,
        settings::RunSettings,
    },
};
use chrono::{DateTime, Utc};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::Semaphore;

/// An open data source: its pool, the cap on runs at once, and who waits for a turn.
pub struct PoolEntry {
    pub connector: Connector,
    /// Turns on the connection; closed when the pool is retired (see [`Engine::retire`]).
    pub(super) permits: Arc<Semaphore>,
    /// How many turns there are.
    pub(super) size: usize,
    pub(super) queue: Mutex<Vec<RunId>>,
    /// The connection's `updated_at` when opened: a newer row means reopen.
    pub(super) stamp: DateTime<Utc>,
}

impl PoolEntry {
    pub(super) fn position(&self, id: &RunId) -> Option<u32> {
        self.queue
            .lock()
            .ok()?
            .iter()
            .position(|q| q == id)
            .map(|p| p as u32)
    }

    pub(super) fn enqueue(&self, id: &RunId) {
        if let Ok(mut q) = self.queue.lock() {
            q.push(id.clone());
        }
    }

    pub(super) fn dequeue(&self, id: &RunId) {
        if let Ok(mut q) = self.queue.lock() {
            q.retain(|q| q != id);
        }
    }
}

/// The open pools, one per connection, shared by the engine and its running tasks (a run
/// whose pool was retired while it waited moves to the connection's current one).
pub(super) struct Pools {
    pub(super) map: tokio::sync::Mutex<HashMap<ConnectionId, Arc<PoolEntry>>>,
    pub(super) connections: Arc<dyn ConnectionSource>,
    pub(super) settings: RunSettings,
}

impl Pools {
    /// The pool of a connection, opened on first use (after the policy checks) and reopened
    /// when the connection's settings changed.
    pub(super) async fn get(&self, row: &ConnectionRow) -> Result<Arc<PoolEntry>, AppError> {
        let id = ConnectionId(row.id);
        let mut pools = self.map.lock().await;
        if let Some(p) = pools.get(&id) {
            if p.stamp == row.updated_at {
                return Ok(p.clone());
            }
        }
        let connector = self.connections.open(row).await?;
        let size = self.settings.pool_size.max(1) as usize;
        let entry = Arc::new(PoolEntry {
            connector,
            permits: Arc::new(Semaphore::new(size)),
            size,
            queue: Mutex::new(vec![]),
            stamp: row.updated_at,
        });
        if let Some(old) = pools.insert(id, entry.clone()) {
            self.retire(old);
        }
        Ok(entry)
    }

    /// Takes a pool out of service without failing anyone's run: its turns close, which
    /// sends the runs waiting for one to the connection's current pool; the runs on it
    /// finish; its connections close once the last of them is done.
    pub(super) fn retire(&self, old: Arc<PoolEntry>) {
        old.permits.close();
        // A run ends within its timeout (plus the few seconds a stuck statement is given).
        let until = tokio::time::Instant::now() + self.settings.timeout + Duration::from_secs(30);
        tokio::spawn(async move {
            while old.permits.available_permits() < old.size && tokio::time::Instant::now() < until
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            old.connector.close().await;
        });
    }

    /// The current pool of a connection for a run whose pool was retired while it waited:
    /// the connection is read again, so a deleted or deactivated one is not reopened.
    pub(super) async fn successor(
        &self,
        id: ConnectionId,
    ) -> Result<Arc<PoolEntry>, ConnectorError> {
        let row = self
            .connections
            .row(id)
            .await
            .map_err(|e| ConnectorError::Connect(e.to_string()))?;
        if !row.active {
            return Err(ConnectorError::Connect(format!(
                "the connection '{}' was deactivated; an editor can activate it on the Connections page",
                row.name
            )));
        }
        self.get(&row)
            .await
            .map_err(|e| ConnectorError::Connect(e.to_string()))
    }
}
