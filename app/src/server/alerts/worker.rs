//! Alert workers: a scheduler loop that turns due ticks into runs, an apalis queue in the
//! metadata store (SQLite or PostgreSQL) that hands each run to a worker, and a sweeper that
//! hands over runs whose worker died and retries deliveries whose time has come. Started by
//! `sightline serve` (unless `--alert-workers 0`) and alone by `sightline worker`; any number
//! of processes may run them on one store.
//!
//! The apalis job carries only the run id: the run row is the durable record and its lease
//! decides who works on it, so a job delivered twice (apalis re-queues jobs of workers it
//! thinks dead) costs one cheap claim that fails.
use super::engine::{self, Processed, Runtime};
use crate::server::{db::Db, AppState};
use apalis::prelude::*;
use apalis_sql::{postgres::PostgresStorage, sqlite::SqliteStorage, Config};
use serde::{Deserialize, Serialize};
use std::{future::Future, time::Duration};

/// The queue's name in apalis's tables.
const QUEUE: &str = "sightline::alerts::evaluate";
/// How often the scheduler looks for due alerts.
const TICK: Duration = Duration::from_secs(1);
/// How often runs left by dead workers and due delivery retries are looked for.
const SWEEP: Duration = Duration::from_secs(10);
/// A queued run nobody took within this long is queued again (its job was lost).
const STALE_QUEUED: Duration = Duration::from_secs(60);

/// "Evaluate alert run `run_id`."
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluateAlert {
    pub run_id: i64,
}

/// The job queue, in the metadata store.
#[derive(Clone)]
pub enum Queue {
    Sqlite(SqliteStorage<EvaluateAlert>),
    Postgres(PostgresStorage<EvaluateAlert>),
}

impl Queue {
    /// Creates apalis's tables (beside ours; both migrators ignore each other's entries).
    pub async fn open(db: &Db) -> Result<Self, sqlx::Error> {
        let config = Config::new(QUEUE)
            .set_poll_interval(Duration::from_millis(100))
            .set_buffer_size(50);
        Ok(match db {
            Db::Sqlite(pool) => {
                let mut m = SqliteStorage::migrations();
                m.set_ignore_missing(true);
                m.run(pool).await?;
                Queue::Sqlite(SqliteStorage::new_with_config(pool.clone(), config))
            }
            Db::Postgres(pool) => {
                let mut m = PostgresStorage::migrations();
                m.set_ignore_missing(true);
                m.run(pool).await?;
                Queue::Postgres(PostgresStorage::new_with_config(pool.clone(), config))
            }
        })
    }

    /// Hands a run to the workers.
    pub async fn push(&self, run_id: i64) -> Result<(), sqlx::Error> {
        let job = EvaluateAlert { run_id };
        match self.clone() {
            Queue::Sqlite(mut s) => s.push(job).await.map(|_| ()),
            Queue::Postgres(mut s) => s.push(job).await.map(|_| ()),
        }
    }
}

/// The store's queue (its tables created on first use).
pub async fn queue(state: &AppState) -> Result<&Queue, sqlx::Error> {
    state
        .alert_queue
        .get_or_try_init(|| Queue::open(&state.db))
        .await
}

async fn evaluate(
    job: EvaluateAlert,
    state: Data<AppState>,
    rt: Data<Runtime>,
) -> Result<(), Error> {
    match engine::process_run(&state, &rt, job.run_id).await {
        Ok(Processed::Skipped) => {
            tracing::info!(
                run = job.run_id,
                "alert run skipped: the alert was still running"
            );
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => {
            // The run keeps its lease; the sweeper hands it over when the lease ends.
            tracing::warn!(run = job.run_id, error = %e, "alert run failed");
            Err(Error::Failed(std::sync::Arc::new(Box::new(e))))
        }
    }
}

/// Runs the scheduler, the sweeper and `workers` evaluations at once until `shutdown`.
pub async fn run(
    state: AppState,
    workers: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), std::io::Error> {
    let queue = queue(&state)
        .await
        .map_err(|e| std::io::Error::other(format!("opening the alert queue: {e}")))?
        .clone();
    let rt = Runtime::system(state.settings.alerts.lease);
    let workers = workers.max(1);
    tracing::info!(workers, worker = %rt.worker, "alert workers started");
    let scheduler = tokio::spawn(schedule_loop(state.clone(), rt.clone(), queue.clone()));
    let monitor = match queue {
        Queue::Sqlite(storage) => Monitor::new().register(
            WorkerBuilder::new(format!("alerts-{}", rt.worker))
                .concurrency(workers)
                .data(state.clone())
                .data(rt.clone())
                .backend(storage)
                .build_fn(evaluate),
        ),
        Queue::Postgres(storage) => Monitor::new().register(
            WorkerBuilder::new(format!("alerts-{}", rt.worker))
                .concurrency(workers)
                .data(state.clone())
                .data(rt.clone())
                .backend(storage)
                .build_fn(evaluate),
        ),
    };
    let result = monitor
        .shutdown_timeout(Duration::from_secs(30))
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await;
    scheduler.abort();
    tracing::info!("alert workers stopped");
    result
}

/// Every second: due ticks become runs and go to the queue. Every 10 seconds: runs whose
/// worker died (or whose job was lost) go to the queue again, and due retries are sent.
async fn schedule_loop(state: AppState, rt: Runtime, queue: Queue) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sweep = tokio::time::Instant::now() - SWEEP;
    loop {
        tick.tick().await;
        match engine::schedule_due(&state, &rt).await {
            Ok(runs) => push_all(&queue, runs).await,
            // The store may be down for a while: the ticks stay due and are made later.
            Err(e) => tracing::warn!(error = %e, "alert scheduler: the store is unavailable"),
        }
        if last_sweep.elapsed() >= SWEEP {
            last_sweep = tokio::time::Instant::now();
            match engine::orphaned(&state, &rt, STALE_QUEUED).await {
                Ok(runs) => push_all(&queue, runs).await,
                Err(e) => tracing::warn!(error = %e, "alert sweeper: the store is unavailable"),
            }
            if let Err(e) = engine::retry_deliveries(&state, &rt).await {
                tracing::warn!(error = %e, "alert delivery retries failed");
            }
        }
    }
}

async fn push_all(queue: &Queue, runs: Vec<i64>) {
    for id in runs {
        if let Err(e) = queue.push(id).await {
            // The run row stays queued; the sweeper pushes it again.
            tracing::warn!(run = id, error = %e, "could not queue an alert run");
        }
    }
}
