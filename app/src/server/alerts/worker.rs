//! Alert workers: a scheduler loop that turns due ticks into runs, an apalis queue in the
//! metadata store (SQLite or PostgreSQL) that hands each run to a worker, and a sweeper that
//! hands over runs whose worker died and retries deliveries whose time has come. Started by
//! `sightline serve` (unless `--alert-workers 0`) and alone by `sightline worker`; any number
//! of processes may run them on one store.
//!
//! An apalis job carries only run ids (up to [`JOB_RUNS`] made by one scheduler batch, so
//! 10,000 alerts due at once are 400 jobs, not 10,000): the run row is the durable record and
//! its lease decides who works on it, so a job delivered twice (apalis re-queues jobs of
//! workers it thinks dead) costs one cheap claim per run that fails. A process evaluates at
//! most `--alert-workers` runs at once, whichever jobs they came in.
use super::engine::{self, Processed, Runtime};
use crate::server::{db::Db, AppState};
use apalis::prelude::*;
use apalis_sql::{postgres::PostgresStorage, sqlite::SqliteStorage, Config};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::sync::Semaphore;

/// The queue's name in apalis's tables.
const QUEUE: &str = "sightline::alerts::evaluate";
/// How often the scheduler looks for due alerts.
const TICK: Duration = Duration::from_secs(1);
/// How often runs left by dead workers and due delivery retries are looked for.
const SWEEP: Duration = Duration::from_secs(10);
/// A queued run nobody took within this long is queued again (its job was lost).
const STALE_QUEUED: Duration = Duration::from_secs(60);

/// Runs per job at most.
pub const JOB_RUNS: usize = 25;

/// "Evaluate these alert runs."
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluateAlerts {
    pub runs: Vec<i64>,
}

/// The process's evaluation slots (`--alert-workers`), shared by its jobs.
#[derive(Clone)]
struct Slots(Arc<Semaphore>);

/// The job queue, in the metadata store.
#[derive(Clone)]
pub enum Queue {
    Sqlite(SqliteStorage<EvaluateAlerts>),
    Postgres(PostgresStorage<EvaluateAlerts>),
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

    /// Hands runs to the workers, [`JOB_RUNS`] per job.
    pub async fn push(&self, runs: &[i64]) -> Result<(), sqlx::Error> {
        for chunk in runs.chunks(JOB_RUNS) {
            let job = EvaluateAlerts {
                runs: chunk.to_vec(),
            };
            match self.clone() {
                Queue::Sqlite(mut s) => s.push(job).await.map(|_| ())?,
                Queue::Postgres(mut s) => s.push(job).await.map(|_| ())?,
            }
        }
        Ok(())
    }
}

/// The store's queue (its tables created on first use).
pub async fn queue(state: &AppState) -> Result<&Queue, sqlx::Error> {
    state
        .alert_queue
        .get_or_try_init(|| Queue::open(&state.db))
        .await
}

/// Processes a job's runs, up to the process's free slots at once. Always `Ok`: a run that
/// failed keeps its lease and the sweeper hands it over when the lease ends (apalis retrying
/// the whole job would only find the other runs done).
async fn evaluate(
    job: EvaluateAlerts,
    state: Data<AppState>,
    rt: Data<Runtime>,
    slots: Data<Slots>,
) -> Result<(), Error> {
    futures::stream::iter(job.runs)
        .map(|run| {
            let (state, rt, slots) = (&*state, &*rt, &*slots);
            async move {
                let Ok(_slot) = slots.0.acquire().await else {
                    return;
                };
                match engine::process_run(state, rt, run).await {
                    Ok(Processed::Skipped) => {
                        tracing::info!(run, "alert run skipped: the alert was still running")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(run, error = %e, "alert run failed"),
                }
            }
        })
        .buffer_unordered(JOB_RUNS)
        .collect::<()>()
        .await;
    Ok(())
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
    let slots = Slots(Arc::new(Semaphore::new(workers)));
    tracing::info!(workers, worker = %rt.worker, "alert workers started");
    let scheduler = tokio::spawn(schedule_loop(state.clone(), rt.clone(), queue.clone()));
    // The same worker on either store's backend (their types differ).
    macro_rules! worker_on {
        ($storage:expr) => {
            Monitor::new().register(
                WorkerBuilder::new(format!("alerts-{}", rt.worker))
                    .concurrency(workers)
                    .data(state.clone())
                    .data(rt.clone())
                    .data(slots.clone())
                    .backend($storage)
                    .build_fn(evaluate),
            )
        };
    }
    let monitor = match queue {
        Queue::Sqlite(storage) => worker_on!(storage),
        Queue::Postgres(storage) => worker_on!(storage),
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

/// Every second: due ticks become runs and go to the queue, batch by batch. Every 10
/// seconds: runs whose worker died (or whose job was lost) go to the queue again, and due
/// retries are sent.
async fn schedule_loop(state: AppState, rt: Runtime, queue: Queue) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sweep = tokio::time::Instant::now() - SWEEP;
    loop {
        tick.tick().await;
        loop {
            match engine::schedule_batch(&state, &rt).await {
                Ok((runs, more)) => {
                    push_all(&queue, &runs).await;
                    if !more {
                        break;
                    }
                }
                // The store may be down for a while: the ticks stay due and are made later.
                Err(e) => {
                    tracing::warn!(error = %e, "alert scheduler: the store is unavailable");
                    break;
                }
            }
        }
        if last_sweep.elapsed() >= SWEEP {
            last_sweep = tokio::time::Instant::now();
            match engine::orphaned(&state, &rt, STALE_QUEUED).await {
                Ok(runs) => push_all(&queue, &runs).await,
                Err(e) => tracing::warn!(error = %e, "alert sweeper: the store is unavailable"),
            }
            if let Err(e) = engine::retry_deliveries(&state, &rt).await {
                tracing::warn!(error = %e, "alert delivery retries failed");
            }
        }
    }
}

async fn push_all(queue: &Queue, runs: &[i64]) {
    if let Err(e) = queue.push(runs).await {
        // The run rows stay queued; the sweeper pushes them again.
        tracing::warn!(runs = runs.len(), error = %e, "could not queue alert runs");
    }
}
