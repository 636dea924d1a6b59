//! A run's task: waits for a slot in its connection's pool, streams the result into its
//! snapshot, and records how it ended.
use super::{cached, handle::RunHandle, pools::Pools, snapshot::SnapshotSink};
use crate::{
    model::run::{RunError, RunState},
    server::{
        connectors::{ConnectorError, Param, RunLimits},
        db::{audit, runs as runs_repo, Db},
        settings::RunSettings,
    },
};
use chrono::Utc;
use std::{path::PathBuf, sync::Arc};

pub(super) struct RunTask {
    pub(super) db: Db,
    pub(super) pools: Arc<Pools>,
    pub(super) handle: Arc<RunHandle>,
    pub(super) sql: String,
    pub(super) params: Vec<Param>,
    pub(super) writable: bool,
    pub(super) connection_name: String,
    pub(super) path: PathBuf,
    pub(super) settings: RunSettings,
}

impl RunTask {
    pub(super) async fn run(self) {
        let h = self.handle.clone();
        let outcome = self.execute().await;
        let (state, error, summary) = match outcome {
            Ok(s) => (RunState::Done, None, Some(s)),
            Err(ConnectorError::Cancelled) => (
                RunState::Cancelled,
                Some(RunError {
                    message: ConnectorError::Cancelled.to_string(),
                    code: None,
                    position: None,
                }),
                None,
            ),
            Err(e) => {
                let (code, position) = match &e {
                    ConnectorError::Sql { code, position, .. } => (code.clone(), *position),
                    // The database's own SQLSTATE (PostgreSQL 25006, MySQL 25000), none
                    // for SQLite or a refusal of ours.
                    ConnectorError::ReadOnly { sqlstate, .. } => (sqlstate.clone(), None),
                    _ => (None, None),
                };
                (
                    RunState::Failed,
                    Some(RunError {
                        message: e.to_string(),
                        code,
                        position,
                    }),
                    None,
                )
            }
        };
        let rows = h
            .snapshot
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|s| s.rows()))
            .unwrap_or(0);
        let elapsed = h
            .status
            .lock()
            .map(|s| s.started.elapsed())
            .unwrap_or_default();
        let truncated = summary.as_ref().is_some_and(|s| s.truncated);
        let by_size = truncated && h.status.lock().is_ok_and(|s| s.truncated_by_size);
        h.set(|s| {
            s.state = state;
            s.error = error.clone();
            s.row_count = rows;
            s.truncated = truncated;
            s.truncated_by_size = by_size;
            s.elapsed = Some(elapsed);
            s.finished_at = Some(Utc::now());
        });
        if state == RunState::Done {
            if let Some(key) = &h.shared {
                cached::keep(&self.db, self.settings.cache_max_bytes, key, &h).await;
            }
        }
        let message = error.as_ref().map(|e| e.message.as_str());
        let elapsed_ms = elapsed.as_millis() as u64;
        // Boxed: proves `Send` at this site (the repository's pool dispatch trips the
        // compiler's higher-ranked `Send` check inside a spawned task otherwise).
        if let Err(e) = futures::FutureExt::boxed(runs_repo::finish(
            &self.db,
            &h.id,
            runs_repo::Finished {
                state,
                error: message,
                row_count: Some(rows),
                truncated,
                elapsed_ms,
            },
        ))
        .await
        {
            tracing::warn!(run = %h.id, error = %e, "could not record the end of a run");
        }
        let detail = serde_json::json!({
            "run": h.id.0,
            "connection": self.connection_name,
            "sql": self.sql,
            "params": self.params,
            "state": state.as_str(),
            "rows": rows,
            "truncated": truncated.then_some(if by_size { "size" } else { "rows" }),
            "elapsed_ms": elapsed_ms,
            "error": message,
        });
        let detail = detail.to_string();
        if let Err(e) = futures::FutureExt::boxed(audit::record(
            &self.db,
            Some(h.owner),
            "query_run",
            None,
            &detail,
        ))
        .await
        {
            tracing::warn!(run = %h.id, error = %e, "could not audit a run");
        }
    }

    pub(super) async fn execute(
        &self,
    ) -> Result<crate::server::connectors::RunSummary, ConnectorError> {
        let h = &self.handle;
        let Some(mut pool) = h.pool() else {
            return Err(ConnectorError::Connect(
                "the run lost its connection".into(),
            ));
        };
        // Wait for a turn: the queue is bounded in time, a cancel is honoured while waiting,
        // and a reset that retires the pool (someone's "Reset session") moves the run to the
        // connection's new pool instead of failing it.
        let deadline = tokio::time::Instant::now() + self.settings.queue_timeout;
        let _permit = loop {
            let turn = tokio::select! {
                biased;
                _ = h.cancel.cancelled() => {
                    pool.dequeue(&h.id);
                    return Err(ConnectorError::Cancelled);
                }
                p = tokio::time::timeout_at(deadline, pool.permits.clone().acquire_owned()) => p,
            };
            match turn {
                Ok(Ok(p)) => break p,
                Ok(Err(_)) => {
                    pool.dequeue(&h.id);
                    let next = self.pools.successor(h.connection).await?;
                    next.enqueue(&h.id);
                    if let Ok(mut p) = h.pool.lock() {
                        *p = Some(next.clone());
                    }
                    h.changed.notify_waiters();
                    pool = next;
                }
                Err(_) => {
                    pool.dequeue(&h.id);
                    return Err(ConnectorError::Busy(self.settings.pool_size));
                }
            }
        };
        pool.dequeue(&h.id);
        h.set(|s| s.state = RunState::Running);
        let (sink, snapshot) =
            SnapshotSink::create(self.path.clone(), self.settings.max_result_bytes);
        if let Ok(mut s) = h.snapshot.lock() {
            *s = Some(snapshot);
        }
        let limits = RunLimits {
            timeout: self.settings.timeout,
            max_rows: self.settings.max_rows,
            writable: self.writable,
            cancel: h.cancel.clone(),
        };
        let mut sink = sink;
        let result = futures::FutureExt::boxed(pool.connector.run(
            &self.sql,
            &self.params,
            &limits,
            &mut sink,
        ))
        .await;
        if sink.truncated_by_size() {
            h.set(|s| s.truncated_by_size = true);
        }
        sink.close().await;
        result
    }
}
