//! A run as the services hold it: its state, progress, snapshot and cancel.
use super::pools::PoolEntry;
use super::snapshot::{self, Snapshot};
use crate::model::{
    connection::ConnectionId,
    run::{RunError, RunId, RunState, RunView},
    UserId,
};
use chrono::{DateTime, Utc};
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub(super) struct Status {
    pub(super) state: RunState,
    pub(super) error: Option<RunError>,
    pub(super) row_count: u64,
    pub(super) truncated: bool,
    pub(super) truncated_by_size: bool,
    pub(super) started: Instant,
    pub(super) elapsed: Option<Duration>,
    /// When the run finished (or, for a result taken from the cache store, when the rows
    /// were read from the database).
    pub(super) finished_at: Option<DateTime<Utc>>,
}

/// One run, alive while its snapshot is.
pub struct RunHandle {
    pub id: RunId,
    pub owner: UserId,
    pub connection: ConnectionId,
    /// The result-cache key of a run any viewer of its insight may read (`None`: the
    /// owner's own run).
    pub shared: Option<String>,
    pub(super) status: Mutex<Status>,
    pub(super) cancel: CancellationToken,
    pub(super) snapshot: Mutex<Option<Arc<Snapshot>>>,
    /// The pool whose turn it waits for or runs on (a reset may move a waiting run).
    /// (None for a result taken from the cache store: it never ran here.)
    pub(super) pool: Mutex<Option<Arc<PoolEntry>>>,
    pub(super) last_access: Mutex<Instant>,
    pub(super) changed: Notify,
    /// When this process last told the cache store that the result was served.
    pub(super) store_touched: Mutex<Option<Instant>>,
}

impl RunHandle {
    /// True at most once per `every`: time to tell the cache store the result was served
    /// (its least-recently-used order), without a write per hit.
    pub fn store_touch_due(&self, every: Duration) -> bool {
        let Ok(mut t) = self.store_touched.lock() else {
            return false;
        };
        let due = t.is_none_or(|at| at.elapsed() >= every);
        if due {
            *t = Some(Instant::now());
        }
        due
    }

    pub(super) fn touch(&self) {
        if let Ok(mut t) = self.last_access.lock() {
            *t = Instant::now();
        }
    }

    pub(super) fn pool(&self) -> Option<Arc<PoolEntry>> {
        self.pool.lock().ok().and_then(|p| p.clone())
    }

    pub(super) fn set(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
        self.changed.notify_waiters();
    }

    pub fn view(&self) -> RunView {
        let snapshot = self.snapshot.lock().ok().and_then(|s| s.clone());
        let pool = self.pool();
        let s = self.status.lock().expect("run status lock");
        let (columns, rows) = match &snapshot {
            Some(snap) => (snap.columns(), snap.rows()),
            None => (vec![], 0),
        };
        RunView {
            id: self.id.clone(),
            state: s.state,
            queue_position: (s.state == RunState::Queued)
                .then(|| pool.and_then(|p| p.position(&self.id)))
                .flatten(),
            columns,
            row_count: if s.state.finished() {
                s.row_count.max(rows)
            } else {
                rows
            },
            truncated: s.truncated,
            truncated_by_size: s.truncated_by_size,
            elapsed_ms: s.elapsed.unwrap_or_else(|| s.started.elapsed()).as_millis() as u64,
            error: s.error.clone(),
            page: None,
            computed_at: self.shared.as_ref().and(s.finished_at),
        }
    }

    /// The finished snapshot and what the cache store keeps beside it.
    pub fn cached(&self) -> Option<(Arc<Snapshot>, snapshot::Cached)> {
        let snapshot = self.snapshot.lock().ok()?.clone()?;
        let s = self.status.lock().ok()?;
        if s.state != RunState::Done {
            return None;
        }
        let cached = snapshot::Cached {
            columns: snapshot.columns(),
            rows: snapshot.rows(),
            truncated: s.truncated,
            truncated_by_size: s.truncated_by_size,
            elapsed_ms: s.elapsed.unwrap_or_default().as_millis() as u64,
            computed_at: s.finished_at?,
        };
        Some((snapshot, cached))
    }

    /// Finished without an error, and when its rows were read.
    pub fn done_at(&self) -> Option<DateTime<Utc>> {
        self.status
            .lock()
            .ok()
            .filter(|s| s.state == RunState::Done)
            .and_then(|s| s.finished_at)
    }

    pub(super) fn state(&self) -> RunState {
        self.status
            .lock()
            .map(|s| s.state)
            .unwrap_or(RunState::Failed)
    }
}
